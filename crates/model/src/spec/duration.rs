//! Human durations in specs (`90s`, `30m`, `6h`, `2d`, `1h30m`), as whole seconds.

/// Parses a duration such as `45s`, `30m`, `6h`, `2d` or `1h30m` into seconds. A bare number
/// is seconds. Returns a message fit to follow the field's path on error.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write e.g. 30m, 6h or 2d".to_string());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(secs);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "invalid duration '{t}': unknown unit '{c}' (use s, m, h, d or w, e.g. 6h)"
                ));
            }
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("invalid duration '{t}': a number must precede '{c}'"))?;
        digits.clear();
        total = total
            .checked_add(n.saturating_mul(unit))
            .ok_or_else(|| format!("invalid duration '{t}': too large"))?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "invalid duration '{t}': '{digits}' has no unit (use s, m, h, d or w)"
        ));
    }
    Ok(total)
}

/// Formats seconds the way [`parse_duration`] reads them (`1h30m`, `45s`).
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        if rest >= unit {
            out.push_str(&format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
    }

    #[test]
    fn rejects_bad_units_and_dangling_numbers() {
        assert!(
            parse_duration("5x")
                .unwrap_err()
                .contains("unknown unit 'x'")
        );
        assert!(parse_duration("1h30").unwrap_err().contains("has no unit"));
        assert!(
            parse_duration("h")
                .unwrap_err()
                .contains("a number must precede")
        );
    }

    #[test]
    fn format_round_trips() {
        for s in [1, 59, 60, 3600, 5400, 90_061] {
            assert_eq!(parse_duration(&format_duration(s)), Ok(s));
        }
    }
}
