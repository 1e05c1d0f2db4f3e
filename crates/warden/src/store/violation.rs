//! Recognises constraint violations in database errors (unique, foreign
//! key, not null) and names the fields involved, for honest 409/422
//! answers. Only reads errors; never retries or hides them.

use super::StoreError;
use sqlx::error::ErrorKind;

/// A write the database refused because of a constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// These fields' values are already taken.
    Unique(Vec<String>),
    /// A reference points at a row that does not exist (or a row is still
    /// referenced).
    ForeignKey,
    /// A required field was null.
    NotNull(Vec<String>),
}

impl StoreError {
    /// The constraint this error reports, if it is a constraint violation.
    pub fn violation(&self) -> Option<Violation> {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return None;
        };
        let fields = || columns_from_message(db.message(), pg_detail(db.as_ref()).as_deref());
        // SQLite reports a restricted delete with an extended code sqlx
        // does not classify; its message is unambiguous.
        if db.message().contains("FOREIGN KEY constraint failed") {
            return Some(Violation::ForeignKey);
        }
        match db.kind() {
            ErrorKind::UniqueViolation => Some(Violation::Unique(fields())),
            ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
            ErrorKind::NotNullViolation => Some(Violation::NotNull(fields())),
            _ => None,
        }
    }
}

fn pg_detail(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|e| {
            e.detail()
                .map(str::to_owned)
                .or_else(|| e.column().map(|c| format!("Key ({c})=")))
        })
}

/// SQLite: "UNIQUE constraint failed: posts.a, posts.b";
/// PostgreSQL detail: "Key (a, b)=(1, 2) already exists."
fn columns_from_message(message: &str, detail: Option<&str>) -> Vec<String> {
    if let Some(detail) = detail
        && let Some(start) = detail.find("Key (")
        && let Some(end) = detail[start..].find(")=")
    {
        return detail[start + 5..start + end]
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_owned())
            .collect();
    }
    match message.split_once("failed: ") {
        Some((_, columns)) => columns
            .split(',')
            .map(|c| c.trim().rsplit('.').next().unwrap_or("").to_owned())
            .filter(|c| !c.is_empty())
            .collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::columns_from_message;

    #[test]
    fn names_columns_from_both_backends() {
        assert_eq!(
            columns_from_message(
                "UNIQUE constraint failed: votes.post_id, votes.user_id",
                None
            ),
            vec!["post_id", "user_id"]
        );
        assert_eq!(
            columns_from_message("duplicate key", Some("Key (email)=(a@b.c) already exists.")),
            vec!["email"]
        );
        assert!(columns_from_message("FOREIGN KEY constraint failed", None).is_empty());
    }
}
