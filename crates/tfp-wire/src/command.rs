//! Splitting a command frame into its name and arguments. Pure: no I/O, fuzzable.
//!
//! There is no quoting on the wire (wire-notes §3.0): the document's double quotes
//! are typography. Separators are one space after the name, ` | ` between paths, and
//! "first space" elsewhere.

/// The longest command name the reference accepts.
pub const MAX_NAME: usize = 31;

/// A command frame split at its first space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The name, upper-cased (names are case-insensitive). Empty or over-long names
    /// never match a command.
    pub name: String,
    /// Everything after the first space; empty when the name stands alone (never
    /// stale bytes, unlike the reference).
    pub arg: &'a [u8],
}

/// Splits a frame into name and argument.
pub fn split(frame: &[u8]) -> Request<'_> {
    let (name, arg) = match frame.iter().position(|&b| b == b' ') {
        Some(i) => (&frame[..i], &frame[i + 1..]),
        None => (frame, &frame[frame.len()..]),
    };
    let name = if name.len() <= MAX_NAME && name.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(name).to_ascii_uppercase()
    } else {
        String::new()
    };
    Request { name, arg }
}

/// Splits at the first ` | ` (COPY, CPDIR, RENAM, RMSECDIR, INJAIL, KEEPALIVE…).
pub fn split_pipe(arg: &[u8]) -> Option<(&[u8], &[u8])> {
    find(arg, b" | ").map(|i| (&arg[..i], &arg[i + 3..]))
}

/// The separator between LSV2's and LSRV2's two paths.
pub const LSV2_SEP: &[u8] = b"@||@";

/// Splits `<dir>@||@<file>` (LSV2, LSRV2) at the first separator.
pub fn split_lsv2(arg: &[u8]) -> Option<(&[u8], &[u8])> {
    find(arg, LSV2_SEP).map(|i| (&arg[..i], &arg[i + LSV2_SEP.len()..]))
}

/// Splits at the first space (CHMOD, CHOWN, XDEL, LOGIN, SNDFILE…).
pub fn split_space(arg: &[u8]) -> Option<(&[u8], &[u8])> {
    arg.iter().position(|&b| b == b' ').map(|i| (&arg[..i], &arg[i + 1..]))
}

/// The first occurrence of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses a decimal integer the strict way: optional surrounding blanks, an optional
/// sign, at least one digit, nothing else, and no overflow.
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_args_kept() {
        let r = split(b"echo Hello World");
        assert_eq!(r.name, "ECHO");
        assert_eq!(r.arg, b"Hello World");
    }

    #[test]
    fn missing_space_means_empty_argument() {
        let r = split(b"MKDIR");
        assert_eq!(r.name, "MKDIR");
        assert!(r.arg.is_empty());
        assert!(split(b"MKDIR ").arg.is_empty());
    }

    #[test]
    fn bad_names_match_nothing() {
        assert_eq!(split(&[b'A'; 32]).name, "");
        assert_eq!(split(b"EC\x00HO x").name, "");
        assert_eq!(split(b"").name, "");
        assert_eq!(split(b" x").name, "");
    }

    #[test]
    fn separators() {
        assert_eq!(split_pipe(b"a b | c | d"), Some((&b"a b"[..], &b"c | d"[..])));
        assert_eq!(split_pipe(b"a|b"), None);
        assert_eq!(split_lsv2(b"d x@||@o@||@p"), Some((&b"d x"[..], &b"o@||@p"[..])));
        assert_eq!(split_lsv2(b"@||@"), Some((&b""[..], &b""[..])));
        assert_eq!(split_lsv2(b"d@|@o"), None);
        assert_eq!(split_space(b"user pass word"), Some((&b"user"[..], &b"pass word"[..])));
        assert_eq!(split_space(b"user"), None);
        assert_eq!(parse_i64(b" 42 "), Some(42));
        assert_eq!(parse_i64(b"4x"), None);
        assert_eq!(parse_i64(b"99999999999999999999"), None);
    }
}
