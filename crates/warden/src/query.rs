//! What a client asks of a list or a read, typed: the query string is
//! parsed once, at the HTTP edge (api and ui), into a [`ListQuery`] or an
//! expansion list, and a cursor is decoded into the values it carries, so
//! authz decides on values, never on raw text. It must not decide what a
//! caller may sort, search, filter or expand by: authz checks every name
//! against the resource and the caller.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A list request: which page, in which order, narrowed how, expanded how.
///
/// ```
/// let query = warden::ListQuery::parse("limit=5&sort=-created_at&filter=row.published").unwrap();
/// assert_eq!(query.limit, Some(5));
/// assert_eq!(query.sort, Some(warden::SortKey { field: "created_at".into(), descending: true }));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// Rows per page; `None` for the resource's page size. Capped at the
    /// resource's `max_page_size`.
    pub limit: Option<u32>,
    /// `None` sorts by key, ascending.
    pub sort: Option<SortKey>,
    /// Where the previous page ended (its `next`).
    pub cursor: Option<Cursor>,
    /// A condition in the rule language over `row.<field>`.
    pub filter: Option<String>,
    /// Text looked for, case-insensitively, in the searchable fields.
    pub search: Option<String>,
    /// Relations to expand, each once, in first-mention order.
    pub expand: Vec<String>,
}

/// A sort field and direction (`field`, `+field` or `-field` in a URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// Where a page ended: the last row's sort value (absent when sorted by
/// key; JSON null when that value was null) and its key. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<Json>,
    #[serde(rename = "k")]
    pub key: Json,
}

/// A query string that names no valid request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// The list query string as sent.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawList {
    limit: Option<String>,
    cursor: Option<String>,
    sort: Option<String>,
    filter: Option<String>,
    search: Option<String>,
    expand: Option<String>,
}

/// The read query string as sent.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRead {
    expand: Option<String>,
}

impl ListQuery {
    /// Parses `limit`, `cursor`, `sort`, `filter`, `search` and `expand`;
    /// anything else, a NUL anywhere, a limit that is not a whole number
    /// from 1, or a cursor no list made is an error.
    pub fn parse(query: &str) -> Result<ListQuery, QueryError> {
        let raw: RawList = serde_urlencoded::from_str(query).map_err(|e| {
            QueryError(format!(
                "{e}; parameters are limit, cursor, sort, filter, search, expand"
            ))
        })?;
        let parts = [
            &raw.limit,
            &raw.cursor,
            &raw.sort,
            &raw.filter,
            &raw.search,
            &raw.expand,
        ];
        if parts
            .iter()
            .any(|p| p.as_deref().is_some_and(|p| p.contains('\0')))
        {
            return Err(QueryError(
                "query parameters cannot contain NUL characters".to_owned(),
            ));
        }
        Ok(ListQuery {
            limit: raw.limit.as_deref().map(parse_limit).transpose()?,
            sort: raw.sort.as_deref().and_then(SortKey::parse),
            cursor: raw.cursor.as_deref().map(Cursor::decode).transpose()?,
            filter: raw.filter,
            search: raw.search,
            expand: parse_expand(raw.expand.as_deref()),
        })
    }
}

/// The relations a read's query string (`expand` only) asks for.
pub fn parse_read_query(query: &str) -> Result<Vec<String>, QueryError> {
    let raw: RawRead = serde_urlencoded::from_str(query)
        .map_err(|e| QueryError(format!("{e}; the parameter is expand")))?;
    Ok(parse_expand(raw.expand.as_deref()))
}

fn parse_limit(text: &str) -> Result<u32, QueryError> {
    match text.parse::<u32>() {
        Ok(0) | Err(_) => Err(QueryError(format!(
            "limit must be a whole number from 1, got `{text}`"
        ))),
        Ok(n) => Ok(n),
    }
}

impl SortKey {
    /// `field`, `+field` or `-field`; `None` when blank.
    pub fn parse(text: &str) -> Option<SortKey> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match text.strip_prefix('-') {
            Some(field) => SortKey {
                field: field.to_owned(),
                descending: true,
            },
            None => SortKey {
                field: text.strip_prefix('+').unwrap_or(text).to_owned(),
                descending: false,
            },
        })
    }

    /// As a URL writes it: `field` or `-field`.
    pub fn to_param(&self) -> String {
        match self.descending {
            true => format!("-{}", self.field),
            false => self.field.clone(),
        }
    }
}

impl Cursor {
    /// The text a page's `next` carries.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The values `text` (a page's `next`) carries.
    pub fn decode(text: &str) -> Result<Cursor, QueryError> {
        let invalid = || QueryError("the cursor is not one this list returned".to_owned());
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

/// The `expand` parameter as relation names, each once, in first-mention
/// order: `owner` repeated thousands of times costs one expansion.
pub fn parse_expand(expand: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in expand.into_iter().flat_map(|e| e.split(',')).map(str::trim) {
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_query_is_typed_once() {
        let query = ListQuery::parse("limit=5&sort=-title&search=x&expand=owner,owner,tags")
            .expect("parses");
        assert_eq!(query.limit, Some(5));
        assert_eq!(
            query.sort.as_ref().map(SortKey::to_param).as_deref(),
            Some("-title")
        );
        assert_eq!(query.expand, ["owner", "tags"]);
        assert_eq!(query.search.as_deref(), Some("x"));
    }

    #[test]
    fn bad_list_queries_are_errors() {
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=x",
            "cursor=%%",
            "cursor=e30",
            "color=red",
            "search=a%00b",
        ] {
            assert!(ListQuery::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_read_query("limit=1").is_err());
    }

    #[test]
    fn a_cursor_round_trips() {
        let cursor = Cursor {
            sort: Some(Json::from("b")),
            key: Json::from(7),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }
}
