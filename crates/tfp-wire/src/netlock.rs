//! Arguments of the NETLOCK family (document 2.5.1, "NETLOCK" to "NETMUTREL"):
//! `NETLOCK <timeout> <path>`, `NETUNLOCK <lock-id>`, `NETMUTACQ_TRY <path> <token>`.
//!
//! Pure parsing, fuzzed (`fuzz/src/lib.rs::netlock`). The reference splits at the
//! first space: the timeout has none, so a NETLOCK path may hold spaces; a NETMUT
//! path may not (the token is everything after the first space, as the Python
//! client sends it).

/// Longest accepted NETLOCK timeout: one week, like `idle_timeout`. A longer one
/// would keep a lock alive past any sensible idle limit.
pub const MAX_TIMEOUT_MS: u64 = 7 * 24 * 3600 * 1000;

/// Longest NETMUT token. The reference compares the first 255 bytes of the file;
/// a longer token could never match what it wrote, so it is refused outright.
pub const MAX_TOKEN: usize = 255;

/// Why an argument was refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgError {
    /// A part is absent or empty (`FAILED 16`).
    Missing,
    /// The timeout is not a decimal number of seconds in 0.001..=one week.
    BadTimeout,
    /// The lock id is not a small decimal number.
    BadId,
    /// The token is longer than [`MAX_TOKEN`] or holds a NUL byte.
    BadToken,
}

/// `NETLOCK` / `NETLOCK_TRY` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockArgs<'a> {
    /// Activity timeout in milliseconds (at least 1).
    pub timeout_ms: u64,
    /// The path, not yet resolved.
    pub path: &'a [u8],
}

/// Parses `<seconds>[.<fraction>] <path>`. The Python client sends `str(timeout)`,
/// so `3`, `3.3` and `3.0` are all seen; digits past the millisecond are dropped.
pub fn parse_lock(arg: &[u8]) -> Result<LockArgs<'_>, ArgError> {
    let (t, path) = split_first_space(arg).ok_or(ArgError::Missing)?;
    if t.is_empty() || path.is_empty() {
        return Err(ArgError::Missing);
    }
    let timeout_ms = parse_seconds(t).ok_or(ArgError::BadTimeout)?;
    Ok(LockArgs { timeout_ms, path })
}

/// Formats a timeout the way [`parse_lock`] reads it (for the round-trip check).
pub fn format_timeout(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn parse_seconds(t: &[u8]) -> Option<u64> {
    let (int, frac) = match t.iter().position(|&b| b == b'.') {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, &b""[..]),
    };
    if int.is_empty() || int.len() > 10 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = int.iter().fold(0u64, |a, b| a * 10 + u64::from(b - b'0'));
    let mut ms = 0u64;
    for i in 0..3 {
        ms = ms * 10 + frac.get(i).map_or(0, |b| u64::from(b - b'0'));
    }
    let total = secs.checked_mul(1000)?.checked_add(ms)?;
    (1..=MAX_TIMEOUT_MS).contains(&total).then_some(total)
}

/// Parses a NETUNLOCK id: decimal, below `slots`.
pub fn parse_id(arg: &[u8], slots: usize) -> Result<usize, ArgError> {
    if arg.is_empty() {
        return Err(ArgError::Missing);
    }
    if arg.len() > 3 || !arg.iter().all(u8::is_ascii_digit) {
        return Err(ArgError::BadId);
    }
    let id = arg.iter().fold(0usize, |a, b| a * 10 + usize::from(b - b'0'));
    if id < slots {
        Ok(id)
    } else {
        Err(ArgError::BadId)
    }
}

/// `NETMUTACQ_TRY` / `NETMUTREL` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutArgs<'a> {
    /// The mutex file, not yet resolved.
    pub path: &'a [u8],
    /// The token, compared byte for byte with the file's content.
    pub token: &'a [u8],
}

/// Parses `<path> <token>`.
pub fn parse_mut(arg: &[u8]) -> Result<MutArgs<'_>, ArgError> {
    let (path, token) = split_first_space(arg).ok_or(ArgError::Missing)?;
    if path.is_empty() || token.is_empty() {
        return Err(ArgError::Missing);
    }
    if token.len() > MAX_TOKEN || token.contains(&0) {
        return Err(ArgError::BadToken);
    }
    Ok(MutArgs { path, token })
}

fn split_first_space(arg: &[u8]) -> Option<(&[u8], &[u8])> {
    arg.iter().position(|&b| b == b' ').map(|i| (&arg[..i], &arg[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_args() {
        assert_eq!(
            parse_lock(b"3 a/b c").unwrap(),
            LockArgs {
                timeout_ms: 3000,
                path: b"a/b c"
            }
        );
        assert_eq!(parse_lock(b"3.3 f").unwrap().timeout_ms, 3300);
        assert_eq!(parse_lock(b"0.0015 f").unwrap().timeout_ms, 1);
        assert_eq!(parse_lock(b"604800 f").unwrap().timeout_ms, MAX_TIMEOUT_MS);
        assert_eq!(parse_lock(b"604800.001 f"), Err(ArgError::BadTimeout));
        assert_eq!(parse_lock(b"0 f"), Err(ArgError::BadTimeout));
        assert_eq!(parse_lock(b"-1 f"), Err(ArgError::BadTimeout));
        assert_eq!(parse_lock(b"1e3 f"), Err(ArgError::BadTimeout));
        assert_eq!(parse_lock(b".5 f"), Err(ArgError::BadTimeout));
        assert_eq!(parse_lock(b"99999999999 f"), Err(ArgError::BadTimeout));
        assert_eq!(parse_lock(b"3"), Err(ArgError::Missing));
        assert_eq!(parse_lock(b"3 "), Err(ArgError::Missing));
        assert_eq!(parse_lock(b""), Err(ArgError::Missing));
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id(b"0", 8), Ok(0));
        assert_eq!(parse_id(b"7", 8), Ok(7));
        assert_eq!(parse_id(b"8", 8), Err(ArgError::BadId));
        assert_eq!(parse_id(b"-1", 8), Err(ArgError::BadId));
        assert_eq!(parse_id(b"", 8), Err(ArgError::Missing));
        assert_eq!(parse_id(b"00000000001", 8), Err(ArgError::BadId));
    }

    #[test]
    fn mut_args() {
        assert_eq!(
            parse_mut(b"m tok en").unwrap(),
            MutArgs {
                path: b"m",
                token: b"tok en"
            }
        );
        assert_eq!(parse_mut(b"m"), Err(ArgError::Missing));
        assert_eq!(parse_mut(b"m "), Err(ArgError::Missing));
        assert_eq!(
            parse_mut(&[b"m ".as_slice(), &[b'x'; 256]].concat()),
            Err(ArgError::BadToken)
        );
        assert_eq!(parse_mut(b"m a\0b"), Err(ArgError::BadToken));
    }
}
