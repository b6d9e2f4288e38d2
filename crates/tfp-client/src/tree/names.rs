//! The names a server sends back, judged before any local use: a download
//! creates only what a name below the asked directory can reach.

use super::MAX_DEPTH;

/// Longest component (NAME_MAX) and path (PATH_MAX) a name may have.
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4096;

/// Why a name from a server is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Nothing at all.
    Empty,
    /// Starts with `/`.
    Absolute,
    /// A `..` component: it would climb out of the target.
    DotDot,
    /// A `.` or empty component (`a/./b`, `a//b`): never what a listing sends.
    OddComponent,
    /// A control character or NUL (a terminal escape, or a name the kernel
    /// would cut short).
    Control,
    /// More than [`MAX_DEPTH`] components.
    TooDeep,
    /// A component over NAME_MAX, or the whole over PATH_MAX.
    TooLong,
    /// LSR's form of a name that is not its real one: a listing shows each
    /// control character as `?`, and the server has no TFDLIST to give the
    /// bytes (nothing answers to the form shown).
    Hidden,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Empty => "an empty name",
            Refused::Absolute => "an absolute path",
            Refused::DotDot => "a '..' component",
            Refused::OddComponent => "an empty or '.' component",
            Refused::Control => "a control character or NUL",
            Refused::TooDeep => "deeper than 256 directories",
            Refused::TooLong => "a component over 255 bytes or a path over 4096",
            Refused::Hidden => {
                "no file answers to that form: the listing shows a character it cannot carry (a control \
                 character) as '?', and this server has no TFDLIST to name it by its bytes"
            }
        })
    }
}

/// Checks `rel`, a path a server named relative to the directory asked for.
pub fn check(rel: &[u8]) -> Result<(), Refused> {
    if rel.iter().any(|&b| b < 0x20 || b == 0x7f) && !rel.is_empty() {
        return Err(Refused::Control);
    }
    check_remote(rel)
}

/// [`check`] but for control characters other than NUL: for a name only
/// sent back to the server (a pattern's match to remove or list), never
/// made here.
pub fn check_remote(rel: &[u8]) -> Result<(), Refused> {
    if rel.is_empty() {
        return Err(Refused::Empty);
    }
    if rel.contains(&0) {
        return Err(Refused::Control);
    }
    if rel[0] == b'/' {
        return Err(Refused::Absolute);
    }
    if rel.len() > PATH_MAX {
        return Err(Refused::TooLong);
    }
    let mut depth = 0;
    for comp in rel.split(|&b| b == b'/') {
        match comp {
            b".." => return Err(Refused::DotDot),
            b"" | b"." => return Err(Refused::OddComponent),
            c if c.len() > NAME_MAX => return Err(Refused::TooLong),
            _ => depth += 1,
        }
    }
    if depth > MAX_DEPTH {
        return Err(Refused::TooDeep);
    }
    Ok(())
}

/// Why the server would refuse to store `path` under that name, or `None`:
/// tfd refuses a new name holding a control character (a byte below 0x20,
/// 0x7f, or a C1 control, U+0080 to U+009F, which a UTF-8 terminal obeys as
/// it does ESC; doc/compatibility.md), and a reference server would write it
/// into listings that break on it. An upload asks first, so the name is
/// refused here, named escaped with its character, and nothing is sent.
pub fn unstorable(path: &[u8]) -> Option<String> {
    let at = (0..path.len()).find(|&i| {
        matches!(path[i..], [b, ..] if b < 0x20 || b == 0x7f) || matches!(path[i..], [0xc2, 0x80..=0x9f, ..])
    })?;
    let len = if path[at] == 0xc2 { 2 } else { 1 };
    Some(format!(
        "its name holds a control character ({}), which the server does not store",
        shown(&path[at..at + len])
    ))
}

/// A name fit for a message: control characters and invalid UTF-8 escaped,
/// so a hostile name cannot drive the terminal.
pub fn shown(name: &[u8]) -> String {
    crate::escape::shown(name)
}

/// `a/b` joined to `dir` ("" is the served root).
pub fn rjoin(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let d = dir.strip_suffix(b"/").unwrap_or(dir);
    if d.is_empty() {
        return name.to_vec();
    }
    [d, b"/", name].concat()
}

/// Whether `path` lies strictly below `dir`.
pub(crate) fn below(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_server_cannot_store_are_named_with_their_character() {
        for ok in [&b"a/b c"[..], "é/日本".as_bytes(), b"a?b", b"x\x80y"] {
            assert_eq!(unstorable(ok), None, "{}", shown(ok));
        }
        let why = unstorable(b"d/new\nline").unwrap();
        assert!(why.contains("(\\n)") && why.contains("does not store"), "{why}");
        assert!(unstorable(b"e\x1bc").unwrap().contains("(\\u{1b})"));
        assert!(unstorable(b"del\x7f").is_some());
        // a C1 control (U+009B, a CSI to a UTF-8 terminal), as tfd refuses it;
        // a letter whose UTF-8 holds the same byte is fine
        assert!(unstorable("csi\u{9b}2J".as_bytes()).unwrap().contains("(\\u{9b})"));
        assert_eq!(unstorable("café ŀ".as_bytes()), None);
        assert!(unstorable(b"t\tab").unwrap().contains("(\\t)"));
    }

    #[test]
    fn names_below_the_target_pass() {
        for ok in [
            &b"a"[..],
            b"a/b c/d",
            "é/日本".as_bytes(),
            b".hidden",
            b"a..b",
            b"...",
            b"a/.b",
        ] {
            assert_eq!(check(ok), Ok(()), "{}", shown(ok));
        }
        let deep = vec!["d"; MAX_DEPTH].join("/");
        assert_eq!(check(deep.as_bytes()), Ok(()));
    }

    #[test]
    fn names_that_could_leave_the_target_are_refused() {
        let cases: [(&[u8], Refused); 14] = [
            (b"", Refused::Empty),
            (b"/etc/passwd", Refused::Absolute),
            (b"/", Refused::Absolute),
            (b"..", Refused::DotDot),
            (b"../x", Refused::DotDot),
            (b"a/../../x", Refused::DotDot),
            (b"a/..", Refused::DotDot),
            (b".", Refused::OddComponent),
            (b"a/./b", Refused::OddComponent),
            (b"a//b", Refused::OddComponent),
            (b"a/", Refused::OddComponent),
            (b"a\0b", Refused::Control),
            (b"a\nb", Refused::Control),
            (b"\x1b[2Jx", Refused::Control),
        ];
        for (name, why) in cases {
            assert_eq!(check(name), Err(why), "{}", shown(name));
        }
        assert_eq!(check(b"x\x7f"), Err(Refused::Control));
        let deep = vec!["d"; MAX_DEPTH + 1].join("/");
        assert_eq!(check(deep.as_bytes()), Err(Refused::TooDeep));
        assert_eq!(check(&[b'a'; 256]), Err(Refused::TooLong));
        assert_eq!(check(&[b'a'; 5000]), Err(Refused::TooLong));
    }

    #[test]
    fn shown_names_carry_no_control_characters() {
        assert_eq!(shown(b"a\x1b[2J\n"), "a\\u{1b}[2J\\n");
    }
}
