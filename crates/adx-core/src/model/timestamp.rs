//! Timestamps in text: epoch milliseconds or RFC 3339.

/// Parses epoch milliseconds (`1732672800123`) or RFC 3339 (`2026-11-27T03:00:00.123Z`).
pub fn parse_timestamp_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            parse_timestamp_millis("1732672800123"),
            Some(1_732_672_800_123)
        );
        assert_eq!(
            parse_timestamp_millis("2024-11-27T02:00:00.123Z"),
            Some(1_732_672_800_123)
        );
        assert_eq!(
            parse_timestamp_millis("2024-11-27T03:00:00.123+01:00"),
            Some(1_732_672_800_123)
        );
        assert_eq!(parse_timestamp_millis("-5"), Some(-5));
        assert_eq!(parse_timestamp_millis("yesterday"), None);
        assert_eq!(parse_timestamp_millis("2024-11-27"), None);
    }
}
