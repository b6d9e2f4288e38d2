//! Text a server sent, made fit for a terminal: the one function every place
//! `tf` prints server text goes through (listings, FSTAT fields, FAILED
//! texts, ECHO, names in errors and progress lines, the shell's prompt).
//!
//! A server is the other side: a name or a FAILED text holding `ESC ]0;…BEL`
//! retitles the user's terminal, `ESC [2K ESC [1A` erases and rewrites lines
//! already shown (the scp CVE-2019-6109/6110 class). So, as `ls -q`/`ls -b`
//! and OpenSSH's `snmprintf` do, control characters never pass raw: `\n`,
//! `\r` and `\t` show as those two characters, every other control (C0, DEL,
//! C1) and the invisible characters that reorder or hide text (bidi
//! overrides, zero-width marks) as `\u{…}`, and bytes that are not UTF-8 as
//! `\xHH`. Everything printable, in any script, is shown as it is. The rule
//! is [`tfp_wire::escape`]'s, which tfd's ctl and log use too.

use tfp_wire::Status;

/// The rule itself lives in tfp-wire, shared with tfd (its ctl and its log).
pub use tfp_wire::escape::{shown, shown_str, shown_text};

/// A local path made fit for a terminal by the same rule: a local name can
/// hold an escape sequence as well as a server's can (`Path::display` passes
/// it raw).
pub fn path(p: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    shown(p.as_os_str().as_bytes())
}

/// A status as the server sent it (`OK …`, `FAILED n : …`, `UNKNOWN`, or the
/// frame itself), escaped for a terminal.
pub fn status_text(st: &Status) -> String {
    match st {
        Status::Ok(d) if d.is_empty() => "OK".into(),
        Status::Ok(d) => format!("OK {}", shown(d)),
        Status::Failed(n, t) => format!("FAILED {n} : {}", shown_text(t)),
        Status::Unknown => "UNKNOWN".into(),
        Status::Other(d) => shown(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_printables_kept() {
        assert_eq!(shown(b"a\x1b]0;pwned\x07b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(shown(b"x\x1b[2K\x1b[1Ay"), "x\\u{1b}[2K\\u{1b}[1Ay");
        assert_eq!(shown(b"l1\nl2\r\tend\x7f"), "l1\\nl2\\r\\tend\\u{7f}");
        assert_eq!(shown("\u{9b}31m".as_bytes()), "\\u{9b}31m");
        assert_eq!(shown("evil\u{202e}txt.exe".as_bytes()), "evil\\u{202e}txt.exe");
        assert_eq!(shown(b"bad\xff\xfeutf8"), "bad\\xff\\xfeutf8");
        assert_eq!(
            shown("it's \"ñandú\" 名前 a\\b".as_bytes()),
            "it's \"ñandú\" 名前 a\\\\b"
        );
        for b in 0u8..=255 {
            let s = shown(&[b'a', b, b'z']);
            assert!(!s.chars().any(char::is_control), "{b:#x}: {s:?}");
            // a message built from shown text may be shown again: no change
            assert_eq!(shown_text(&s), s);
        }
    }

    #[test]
    fn statuses_are_escaped() {
        let st = Status::Failed(5, "no\x1b[31m way".into());
        assert_eq!(status_text(&st), "FAILED 5 : no\\u{1b}[31m way");
        assert_eq!(status_text(&Status::Ok(b"\x07".to_vec())), "OK \\u{7}");
        assert_eq!(status_text(&Status::Other(b"\x1bc".to_vec())), "\\u{1b}c");
    }
}
