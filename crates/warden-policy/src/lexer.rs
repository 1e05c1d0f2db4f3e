//! Rule text -> tokens with spans. Knows nothing of grammar or names.

use crate::ast::Span;
use logos::Logos;

#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(skip r"[ \t\r\n]+")]
pub enum Token {
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(".")]
    Dot,
    #[token("!")]
    Bang,
    #[token("-")]
    Minus,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("null")]
    Null,
    #[token("in")]
    In,
    #[token("where")]
    Where,
    #[token("exists")]
    Exists,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_owned())]
    Ident(String),
    #[regex(r"[0-9]+", priority = 3, callback = |lex| lex.slice().to_owned())]
    Int(String),
    #[regex(r"[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?", |lex| lex.slice().to_owned())]
    Float(String),
    #[regex(r#""([^"\\]|\\.)*""#, |lex| unescape(lex.slice()))]
    #[regex(r#"'([^'\\]|\\.)*'"#, |lex| unescape(lex.slice()))]
    Str(Option<String>),
}

/// Removes the quotes and resolves `\\`, `\"`, `\'`, `\n`, `\t`; `None` for
/// any other escape, which the parser reports.
fn unescape(quoted: &str) -> Option<String> {
    let inner = &quoted[1..quoted.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            _ => return None,
        }
    }
    Some(out)
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("name `{name}`"),
            Token::Int(text) | Token::Float(text) => format!("number `{text}`"),
            Token::Str(_) => "a string".to_owned(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Dot => ".",
            Token::Bang => "!",
            Token::Minus => "-",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::True => "true",
            Token::False => "false",
            Token::Null => "null",
            Token::In => "in",
            Token::Where => "where",
            Token::Exists => "exists",
            Token::Ident(_) | Token::Int(_) | Token::Float(_) | Token::Str(_) => "",
        }
    }
}

/// A token or the span of text that is not one.
pub type Lexed = Result<(Token, Span), Span>;

pub fn tokenize(text: &str) -> Vec<Lexed> {
    Token::lexer(text)
        .spanned()
        .map(|(token, span)| token.map(|t| (t, span.clone())).map_err(|()| span))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokenize(text).into_iter().map(|t| t.expect("token").0).collect()
    }

    #[test]
    fn lexes_operators_and_literals() {
        assert_eq!(
            kinds("row.x >= 1.5 && 'a\\'b' != \"c\" || !in_stock"),
            vec![
                Token::Ident("row".into()),
                Token::Dot,
                Token::Ident("x".into()),
                Token::Ge,
                Token::Float("1.5".into()),
                Token::AndAnd,
                Token::Str(Some("a'b".into())),
                Token::NotEq,
                Token::Str(Some("c".into())),
                Token::OrOr,
                Token::Bang,
                Token::Ident("in_stock".into()),
            ]
        );
    }

    #[test]
    fn keywords_are_not_identifier_prefixes() {
        assert_eq!(kinds("inside"), vec![Token::Ident("inside".into())]);
        assert_eq!(kinds("in"), vec![Token::In]);
    }

    #[test]
    fn bad_escape_is_reported_as_none() {
        assert_eq!(kinds(r#""\q""#), vec![Token::Str(None)]);
    }

    #[test]
    fn stray_character_is_an_error_span() {
        let lexed = tokenize("a # b");
        assert_eq!(lexed[1], Err(2..3));
    }
}
