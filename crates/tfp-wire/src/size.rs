//! The one size grammar of tfd's files: bytes, or a number with a K, M, G or T
//! suffix (powers of 1024, either case), optionally followed by `B` or `iB`
//! (`10M`, `10MB` and `10MiB` are the same 10485760 bytes: an operator who writes
//! `MB` means the same as `M`, and refusing it only sent them to the manual). The
//! config file and the user file (quotas) read sizes the same way, so `1T` means
//! the same in both.

/// Parses a size; None for anything else (a sign, a fraction, blanks, an
/// unknown suffix, or a product beyond `u64`).
pub fn parse_size(value: &str) -> Option<u64> {
    // `MB`, `MiB` (any case) are `M`; a bare `B` after the digits is bytes
    let lower = value.to_ascii_lowercase();
    let value = if let Some(v) = lower.strip_suffix("ib").or_else(|| lower.strip_suffix('b')) {
        match v.as_bytes().last() {
            Some(b'k' | b'm' | b'g' | b't') => &value[..v.len()],
            Some(b'0'..=b'9') if !lower.ends_with("ib") => &value[..v.len()],
            _ => return None,
        }
    } else {
        value
    };
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
        // as tfd.conf(5) documents: B and iB after the unit change nothing
        assert_eq!(parse_size("10MB"), Some(10 << 20));
        assert_eq!(parse_size("10MiB"), Some(10 << 20));
        assert_eq!(parse_size("10mib"), Some(10 << 20));
        assert_eq!(parse_size("2KB"), Some(2048));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("1TB"), Some(1 << 40));
        assert_eq!(parse_size("512B"), Some(512));
        for bad in [
            "",
            "K",
            "-1",
            "+1",
            "1.5M",
            "4MBB",
            "4iB",
            "4 MB",
            "MB",
            "B",
            "4Mi",
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
