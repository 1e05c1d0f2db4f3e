//! Tokens -> AST by recursive descent. Grammar, lowest precedence first:
//!
//! ```text
//! or      = and ("||" and)*
//! and     = compare ("&&" compare)*
//! compare = unary (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") unary)?
//! unary   = "!" unary | primary
//! primary = literal | "[" list "]" | "(" or ")" | "exists" "(" name "where" or ")"
//!         | name "(" args ")" | name ("." name)*
//! ```
//!
//! Comparisons do not chain (`a < b < c` is an error). The parser knows no
//! schema; it only builds syntax.

use crate::ast::{BinaryOp, Expr, ExprKind, Ident, Span};
use crate::diagnostic::Diagnostic;
use crate::lexer::{Lexed, Token, tokenize};

/// Deep enough for any hand-written rule, shallow enough for any stack.
const MAX_DEPTH: usize = 64;

/// Parses one rule. `rule` names the text in diagnostics.
pub fn parse(rule: &str, text: &str) -> Result<Expr, Diagnostic> {
    let tokens = tokenize(text);
    let mut parser = Parser {
        rule,
        tokens,
        pos: 0,
        depth: 0,
        end: text.len(),
    };
    let expr = parser.or()?;
    match parser.peek() {
        None => Ok(expr),
        Some(_) => {
            let (token, span) = parser.next_token()?;
            Err(Diagnostic::new(
                rule,
                span,
                format!("unexpected {} after the end of the rule", token.describe()),
            )
            .label("expected `&&`, `||` or the end of the rule"))
        }
    }
}

struct Parser<'a> {
    rule: &'a str,
    tokens: Vec<Lexed>,
    pos: usize,
    depth: usize,
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Lexed> {
        self.tokens.get(self.pos)
    }

    fn peek_token(&self) -> Option<&Token> {
        match self.tokens.get(self.pos) {
            Some(Ok((token, _))) => Some(token),
            _ => None,
        }
    }

    fn next_token(&mut self) -> Result<(Token, Span), Diagnostic> {
        match self.tokens.get(self.pos).cloned() {
            Some(Ok(pair)) => {
                self.pos += 1;
                Ok(pair)
            }
            Some(Err(span)) => Err(Diagnostic::new(self.rule, span, "unexpected character")
                .label("not part of the rule language")
                .help("strings need quotes: 'text' or \"text\"")),
            None => Err(self.eof("the rule ends too early")),
        }
    }

    fn eof(&self, message: &str) -> Diagnostic {
        Diagnostic::new(self.rule, self.end..self.end, message).label("something is missing here")
    }

    fn eat(&mut self, expected: &Token) -> bool {
        if self.peek_token() == Some(expected) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, expected: Token, what: &str) -> Result<Span, Diagnostic> {
        let (token, span) = self.next_token().map_err(|d| {
            if d.span.start == self.end {
                self.eof(&format!("expected {what}"))
            } else {
                d
            }
        })?;
        if token == expected {
            Ok(span)
        } else {
            Err(Diagnostic::new(
                self.rule,
                span,
                format!("expected {what}, found {}", token.describe()),
            )
            .label(format!("expected {what}")))
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(
                Diagnostic::new(self.rule, span, "the rule nests too deeply")
                    .label(format!("more than {MAX_DEPTH} levels"))
                    .help("split it into named rules, or write `row.x in [a, b, c]` instead of a long chain of `||`"),
            );
        }
        Ok(())
    }

    /// A chain `a || b || c` becomes a tree as deep as it is long, so each
    /// link counts against the depth limit like a level of nesting.
    fn or(&mut self) -> Result<Expr, Diagnostic> {
        let start = self.depth;
        let mut left = self.and()?;
        while self.eat(&Token::OrOr) {
            self.enter(left.span.clone())?;
            let right = self.and()?;
            left = binary(BinaryOp::Or, left, right);
        }
        self.depth = start;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, Diagnostic> {
        let start = self.depth;
        let mut left = self.compare()?;
        while self.eat(&Token::AndAnd) {
            self.enter(left.span.clone())?;
            let right = self.compare()?;
            left = binary(BinaryOp::And, left, right);
        }
        self.depth = start;
        Ok(left)
    }

    fn compare(&mut self) -> Result<Expr, Diagnostic> {
        let left = self.unary()?;
        let Some(op) = self.peek_token().and_then(comparison) else {
            return Ok(left);
        };
        self.pos += 1;
        let right = self.unary()?;
        if let Some(next) = self.peek_token().and_then(comparison) {
            let span = match self.peek() {
                Some(Ok((_, span))) => span.clone(),
                _ => right.span.clone(),
            };
            return Err(Diagnostic::new(
                self.rule,
                span,
                format!(
                    "comparisons do not chain: `{}` follows `{}`",
                    next.symbol(),
                    op.symbol()
                ),
            )
            .label("second comparison")
            .help("join the comparisons with `&&`"));
        }
        Ok(binary(op, left, right))
    }

    fn unary(&mut self) -> Result<Expr, Diagnostic> {
        if let Some(Ok((Token::Bang, span))) = self.peek().cloned() {
            self.pos += 1;
            self.enter(span.clone())?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = span.start..inner.span.end;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, Diagnostic> {
        let (token, span) = self.next_token()?;
        let kind = match token {
            Token::Null => ExprKind::Null,
            Token::True => ExprKind::Bool(true),
            Token::False => ExprKind::Bool(false),
            Token::Int(digits) => ExprKind::Int(self.int(&digits, false, &span)?),
            Token::Float(digits) => ExprKind::Float(self.float(&digits, &span)?),
            Token::Minus => return self.negative(span),
            Token::Str(Some(text)) => ExprKind::Text(text),
            Token::Str(None) => {
                return Err(Diagnostic::new(self.rule, span, "unknown escape in string")
                    .label("this string")
                    .help(r#"the escapes are \\ \" \' \n \t"#));
            }
            Token::LParen => {
                self.enter(span.clone())?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.expect(Token::RParen, "`)`")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: span.start..close.end,
                });
            }
            Token::LBracket => return self.list(span),
            Token::Exists => return self.exists(span),
            Token::Ident(name) => return self.name(Ident { name, span }),
            other => {
                return Err(Diagnostic::new(
                    self.rule,
                    span,
                    format!("expected a value, found {}", other.describe()),
                )
                .label("expected a value"));
            }
        };
        Ok(Expr { kind, span })
    }

    fn int(&self, digits: &str, negative: bool, span: &Span) -> Result<i64, Diagnostic> {
        let text = if negative {
            format!("-{digits}")
        } else {
            digits.to_owned()
        };
        text.parse().map_err(|_| {
            Diagnostic::new(self.rule, span.clone(), "integer literal out of range")
                .label("does not fit in 64 bits")
        })
    }

    fn float(&self, digits: &str, span: &Span) -> Result<f64, Diagnostic> {
        match digits.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(
                Diagnostic::new(self.rule, span.clone(), "float literal out of range")
                    .label("not a finite number"),
            ),
        }
    }

    fn negative(&mut self, minus: Span) -> Result<Expr, Diagnostic> {
        let (token, span) = self.next_token()?;
        let full = minus.start..span.end;
        let kind = match token {
            Token::Int(digits) => ExprKind::Int(self.int(&digits, true, &full)?),
            Token::Float(digits) => ExprKind::Float(-self.float(&digits, &full)?),
            other => {
                return Err(Diagnostic::new(
                    self.rule,
                    span,
                    format!("expected a number after `-`, found {}", other.describe()),
                )
                .label("`-` only negates number literals"));
            }
        };
        Ok(Expr { kind, span: full })
    }

    fn list(&mut self, open: Span) -> Result<Expr, Diagnostic> {
        let mut items = Vec::new();
        if let Some(close) = self.close_bracket() {
            return Ok(Expr {
                kind: ExprKind::List(items),
                span: open.start..close.end,
            });
        }
        self.enter(open.clone())?;
        loop {
            items.push(self.or()?);
            if self.eat(&Token::Comma) {
                if let Some(close) = self.close_bracket() {
                    self.depth -= 1;
                    return Ok(Expr {
                        kind: ExprKind::List(items),
                        span: open.start..close.end,
                    });
                }
                continue;
            }
            let close = self.expect(Token::RBracket, "`,` or `]`")?;
            self.depth -= 1;
            return Ok(Expr {
                kind: ExprKind::List(items),
                span: open.start..close.end,
            });
        }
    }

    fn close_bracket(&mut self) -> Option<Span> {
        match self.peek() {
            Some(Ok((Token::RBracket, span))) => {
                let span = span.clone();
                self.pos += 1;
                Some(span)
            }
            _ => None,
        }
    }

    fn exists(&mut self, keyword: Span) -> Result<Expr, Diagnostic> {
        self.expect(Token::LParen, "`(` after `exists`")?;
        let resource = self.ident("a resource name")?;
        self.expect(Token::Where, "`where` after the resource name")?;
        self.enter(keyword.clone())?;
        let condition = self.or()?;
        self.depth -= 1;
        let close = self.expect(Token::RParen, "`)` to close `exists(`")?;
        Ok(Expr {
            kind: ExprKind::Exists(resource, Box::new(condition)),
            span: keyword.start..close.end,
        })
    }

    fn ident(&mut self, what: &str) -> Result<Ident, Diagnostic> {
        match self.next_token()? {
            (Token::Ident(name), span) => Ok(Ident { name, span }),
            (other, span) => Err(Diagnostic::new(
                self.rule,
                span,
                format!("expected {what}, found {}", other.describe()),
            )
            .label(format!("expected {what}"))),
        }
    }

    fn name(&mut self, first: Ident) -> Result<Expr, Diagnostic> {
        if self.eat(&Token::LParen) {
            return self.call(first);
        }
        if self.peek_token() != Some(&Token::Dot) {
            let span = first.span.clone();
            let kind = if is_path_root(&first.name) {
                ExprKind::Path(vec![first])
            } else {
                ExprKind::RuleRef(first)
            };
            return Ok(Expr { kind, span });
        }
        let start = first.span.start;
        let mut segments = vec![first];
        while self.eat(&Token::Dot) {
            segments.push(self.ident("a field name after `.`")?);
        }
        let end = segments.last().map_or(start, |s| s.span.end);
        Ok(Expr {
            kind: ExprKind::Path(segments),
            span: start..end,
        })
    }

    fn call(&mut self, function: Ident) -> Result<Expr, Diagnostic> {
        let mut args = Vec::new();
        self.enter(function.span.clone())?;
        if !self.eat(&Token::RParen) {
            loop {
                args.push(self.or()?);
                if self.eat(&Token::Comma) {
                    continue;
                }
                self.expect(Token::RParen, "`,` or `)`")?;
                break;
            }
        }
        self.depth -= 1;
        let end = self.tokens[..self.pos]
            .last()
            .and_then(|t| t.as_ref().ok())
            .map_or(function.span.end, |(_, span)| span.end);
        let start = function.span.start;
        Ok(Expr {
            kind: ExprKind::Call(function, args),
            span: start..end,
        })
    }
}

/// The names that start a path rather than name a rule.
pub(crate) fn is_path_root(name: &str) -> bool {
    matches!(name, "user" | "row" | "new" | "it")
}

fn comparison(token: &Token) -> Option<BinaryOp> {
    Some(match token {
        Token::EqEq => BinaryOp::Eq,
        Token::NotEq => BinaryOp::Ne,
        Token::Lt => BinaryOp::Lt,
        Token::Le => BinaryOp::Le,
        Token::Gt => BinaryOp::Gt,
        Token::Ge => BinaryOp::Ge,
        Token::In => BinaryOp::In,
        _ => return None,
    })
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    let span = left.span.start..right.span.end;
    Expr {
        kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Expr {
        parse("test", text).unwrap_or_else(|d| panic!("{text}: {d}"))
    }

    fn err(text: &str) -> Diagnostic {
        parse("test", text).expect_err(text)
    }

    #[test]
    fn precedence_or_below_and_below_compare() {
        let e = ok("a || b && row.x == 1");
        let ExprKind::Binary(BinaryOp::Or, _, right) = e.kind else {
            panic!("{e:?}")
        };
        let ExprKind::Binary(BinaryOp::And, _, cmp) = right.kind else {
            panic!()
        };
        assert!(matches!(cmp.kind, ExprKind::Binary(BinaryOp::Eq, _, _)));
    }

    #[test]
    fn paths_calls_rule_refs_and_exists() {
        assert!(matches!(ok("row.tea.user_id").kind, ExprKind::Path(ref p) if p.len() == 3));
        assert!(matches!(ok("user").kind, ExprKind::Path(ref p) if p.len() == 1));
        assert!(matches!(ok("is_owner").kind, ExprKind::RuleRef(_)));
        assert!(
            matches!(ok("has_scope('admin:write')").kind, ExprKind::Call(_, ref a) if a.len() == 1)
        );
        assert!(matches!(ok("f()").kind, ExprKind::Call(_, ref a) if a.is_empty()));
        let e = ok("exists(acl where it.user_id == user.id)");
        assert!(matches!(e.kind, ExprKind::Exists(ref r, _) if r.name == "acl"));
        assert_eq!(e.span, 0..39);
    }

    #[test]
    fn literals() {
        assert_eq!(ok("-42").kind, ExprKind::Int(-42));
        assert_eq!(ok("-9223372036854775808").kind, ExprKind::Int(i64::MIN));
        assert_eq!(ok("2.5").kind, ExprKind::Float(2.5));
        assert_eq!(ok("'x'").kind, ExprKind::Text("x".into()));
        assert_eq!(ok("null").kind, ExprKind::Null);
        assert!(matches!(ok("[1, 2,]").kind, ExprKind::List(ref l) if l.len() == 2));
        assert!(matches!(ok("[]").kind, ExprKind::List(ref l) if l.is_empty()));
    }

    #[test]
    fn parentheses_keep_outer_span() {
        let e = ok("!(a)");
        assert_eq!(e.span, 0..4);
    }

    #[test]
    fn errors_point_at_the_problem() {
        let d = err("row.x == ");
        assert_eq!(d.span, 9..9);
        assert_eq!(d.message, "the rule ends too early");
        let d = err("row.x = 1");
        assert_eq!(d.span, 6..7);
        assert_eq!(d.message, "unexpected character");
        let d = err("a < b < c");
        assert!(d.message.contains("do not chain"), "{}", d.message);
        assert_eq!(d.span, 6..7);
        let d = err("a b");
        assert!(d.message.contains("unexpected name `b`"), "{}", d.message);
        let d = err("99999999999999999999");
        assert_eq!(d.message, "integer literal out of range");
        let d = err("exists(acl it.x)");
        assert!(d.message.contains("expected `where`"), "{}", d.message);
        let d = err("- x");
        assert!(d.message.contains("after `-`"), "{}", d.message);
        let d = err("(a");
        assert!(d.message.contains("expected `)`"), "{}", d.message);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}a{}", "(".repeat(500), ")".repeat(500));
        assert!(err(&text).message.contains("nests too deeply"));
        let text = format!("{}a", "!".repeat(500));
        assert!(err(&text).message.contains("nests too deeply"));
        let text = vec!["row.id == 1"; 300].join(" || ");
        assert!(err(&text).message.contains("nests too deeply"));
        let text = vec!["a"; 300].join(" && ");
        assert!(err(&text).message.contains("nests too deeply"));
        ok(&vec!["row.id == 1"; 40].join(" || "));
    }
}
