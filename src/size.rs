//! The one size grammar of tfd's files: bytes, or a number with a K, M, G or T
//! suffix (powers of 1024, either case). The config file and the user file
//! (quotas) read sizes the same way, so `1T` means the same in both.
#![forbid(unsafe_code)]

/// Parses a size; None for anything else (a sign, a fraction, blanks, an
/// unknown suffix, or a product beyond `u64`).
pub fn parse_size(value: &str) -> Option<u64> {
    let (digits, unit) = match value.as_bytes().last()? {
        b'k' | b'K' => (value.get(..value.len() - 1)?, 1u64 << 10),
        b'm' | b'M' => (value.get(..value.len() - 1)?, 1 << 20),
        b'g' | b'G' => (value.get(..value.len() - 1)?, 1 << 30),
        b't' | b'T' => (value.get(..value.len() - 1)?, 1 << 40),
        _ => (value, 1),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// The shortest exact form of a size (`1G` rather than `1073741824`).
pub fn format_size(n: u64) -> String {
    for (suffix, unit) in [("T", 1u64 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if n >= unit && n % unit == 0 {
            return format!("{}{suffix}", n / unit);
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("4M"), Some(4 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("3T"), Some(3 << 40));
        for bad in [
            "",
            "K",
            "-1",
            "+1",
            "1.5M",
            "4MB",
            " 1",
            "99999999999999999999G",
            "18014398509481984K",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(format_size(1 << 20), "1M");
        assert_eq!(format_size(1500), "1500");
        assert_eq!(format_size(2 << 40), "2T");
        assert_eq!(format_size(0), "0");
    }
}
