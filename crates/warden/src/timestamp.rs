//! The clock, and the one textual form of a timestamp: fixed-width RFC
//! 3339 in UTC with microseconds (`2026-11-21T10:00:00.000000Z`), so text
//! order is time order in every backend. Every reading of the current time
//! comes from here. Parsing and formatting only; no storage here.

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses any RFC 3339 timestamp (any offset) into UTC.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// The canonical text of a time.
pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Rewrites any RFC 3339 timestamp into the canonical text.
pub fn normalize(text: &str) -> Option<String> {
    parse(text).map(format)
}

/// The current time as canonical text.
pub fn now() -> String {
    format(Utc::now())
}

/// The current time in Unix seconds (tokens, sessions).
pub fn unix_seconds() -> i64 {
    Utc::now().timestamp()
}

/// The current time in Unix milliseconds (attempt budgets).
pub fn unix_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_offsets_to_fixed_width_utc() {
        assert_eq!(
            normalize("2026-11-21T12:00:00+02:00").as_deref(),
            Some("2026-11-21T10:00:00.000000Z")
        );
        assert_eq!(
            normalize("2026-11-21T10:00:00.5Z").as_deref(),
            Some("2026-11-21T10:00:00.500000Z")
        );
        assert_eq!(now().len(), "2026-11-21T10:00:00.000000Z".len());
        assert_eq!(normalize("yesterday"), None);
    }
}
