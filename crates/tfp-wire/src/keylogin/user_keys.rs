//! Users' own keys (doc/compatibility.md "Users' own keys"): a user proves
//! their password before LOGIN, then lists, adds and removes the keys of
//! their own `authorized_keys` file, when the server allows it
//! (`user_keys yes`). Only over the secure transport.
//!
//! - `TFDUSERKEYS <user> <password>`: the proof, answered as LOGIN is
//!   (`OK`, `FAILED 37`), counted as LOGIN counts; the session is not
//!   logged in by it;
//! - `TFDUSERKEYLIST`: `OK <n>` then `n` lines ([`Listed`]);
//! - `TFDUSERKEYADD <line>`: one `authorized_keys` line without options
//!   ([`check_line`]), answered `OK` or `OK present`;
//! - `TFDUSERKEYDEL <fingerprint|comment>`: `OK <n>`, the lines removed.
//!
//! Every parser takes arbitrary bytes, never panics and reads no more than
//! its bound.

use super::line::{self, KeyLine, LineError};

/// The proof of the password, before LOGIN.
pub const PROVE: &str = "TFDUSERKEYS";
/// The listing of the proven user's keys.
pub const LIST: &str = "TFDUSERKEYLIST";
/// A key added to them.
pub const ADD: &str = "TFDUSERKEYADD";
/// Keys removed from them.
pub const DEL: &str = "TFDUSERKEYDEL";
/// The most keys a user's file may hold for an ADD to be taken.
pub const MAX_KEYS: usize = 32;
/// The longest comment a user adds (bytes).
pub const MAX_COMMENT: usize = 256;
/// The most lines a listing carries (a file root filled may hold more).
pub const MAX_LISTED: usize = 256;
/// The longest comment a listing shows (characters, after escaping).
pub const MAX_SHOWN: usize = 300;

/// A key of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The type, as in an `authorized_keys` line.
    pub type_name: String,
    /// Its size in bits.
    pub bits: usize,
    /// The comment, escaped (no control character), maybe empty.
    pub comment: String,
}

/// The reply to `TFDUSERKEYLIST`: `OK <n>`, then one line a key,
/// `<fingerprint> <type> <bits> <comment>`. At most [`MAX_LISTED`] keys.
pub fn list_reply(keys: &[Listed]) -> Vec<u8> {
    let keys = &keys[..keys.len().min(MAX_LISTED)];
    let mut out = format!("OK {}", keys.len());
    for k in keys {
        let comment: String = crate::escape::shown(k.comment.as_bytes())
            .chars()
            .take(MAX_SHOWN)
            .collect();
        out.push_str(&format!("\n{} {} {} {comment}", k.fingerprint, k.type_name, k.bits));
    }
    out.into_bytes()
}

/// Reads the reply to `TFDUSERKEYLIST`; anything but a well-formed listing
/// is `None`.
pub fn parse_list(reply: &[u8]) -> Option<Vec<Listed>> {
    let text = std::str::from_utf8(reply).ok()?;
    let mut lines = text.split('\n');
    let n: usize = lines.next()?.strip_prefix("OK ")?.parse().ok()?;
    if n > MAX_LISTED {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for l in lines {
        let mut w = l.splitn(4, ' ');
        let (fp, kind, bits) = (w.next()?, w.next()?, w.next()?);
        let comment = w.next().unwrap_or("");
        if !fp.starts_with("SHA256:") || kind.is_empty() || comment.chars().any(char::is_control) {
            return None;
        }
        out.push(Listed {
            fingerprint: fp.to_string(),
            type_name: kind.to_string(),
            bits: bits.parse().ok()?,
            comment: comment.to_string(),
        });
    }
    (out.len() == n).then_some(out)
}

/// Why a line a user sent is not added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddError {
    /// Not UTF-8, or a control character (a second line, say).
    Text,
    /// Not a key line, or a key tfd does not take.
    Line(LineError),
    /// Blank, or a comment line.
    Empty,
    /// Options before the key: a user adds none.
    Options,
    /// A comment longer than [`MAX_COMMENT`].
    Comment,
}

impl std::fmt::Display for AddError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AddError::Text => write!(f, "The key line is not one line of UTF-8 text."),
            AddError::Line(e) => write!(f, "The key line is refused: {e}."),
            AddError::Empty => write!(f, "No key given."),
            AddError::Options => write!(f, "A key added by its user takes no options."),
            AddError::Comment => write!(f, "The key's comment is longer than {MAX_COMMENT} bytes."),
        }
    }
}

/// `TFDUSERKEYADD`'s argument: one `authorized_keys` line of a key tfd
/// takes, with no options, no control character and a comment of at most
/// [`MAX_COMMENT`] bytes.
pub fn check_line(arg: &[u8]) -> Result<KeyLine, AddError> {
    if arg.len() > line::MAX_LINE {
        return Err(AddError::Line(LineError::TooLong));
    }
    let text = std::str::from_utf8(arg).map_err(|_| AddError::Text)?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(AddError::Text);
    }
    let k = line::parse(text).map_err(AddError::Line)?.ok_or(AddError::Empty)?;
    if !k.options.is_empty() {
        return Err(AddError::Options);
    }
    if k.comment.len() > MAX_COMMENT {
        return Err(AddError::Comment);
    }
    Ok(k)
}

/// The frame `TFDUSERKEYS <user> <password>` (wipe it after sending).
pub fn prove_frame(user: &str, password: &[u8]) -> Vec<u8> {
    [PROVE.as_bytes(), b" ", user.as_bytes(), b" ", password].concat()
}

/// The frame `TFDUSERKEYADD <line>`.
pub fn add_frame(line: &str) -> Vec<u8> {
    format!("{ADD} {line}").into_bytes()
}

/// The frame `TFDUSERKEYDEL <fingerprint|comment>`.
pub fn del_frame(which: &str) -> Vec<u8> {
    format!("{DEL} {which}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBUGJWgL3NGHb5yylWdDcduCOeO7nV0e+3leoRvhcs6g alice@ed";

    #[test]
    fn lines_a_user_may_add() {
        let k = check_line(ED.as_bytes()).unwrap();
        assert_eq!(k.comment, "alice@ed");
        for (bad, why) in [
            (format!("from=\"*\" {ED}"), AddError::Options),
            (format!("{ED}\nssh-ed25519 x"), AddError::Text),
            (String::new(), AddError::Empty),
            ("# just a comment".into(), AddError::Empty),
            (format!("{ED} {}", "c".repeat(MAX_COMMENT)), AddError::Comment),
        ] {
            assert_eq!(check_line(bad.as_bytes()).err(), Some(why), "{bad:?}");
        }
        assert!(matches!(check_line(b"ssh-ed25519 AAAA"), Err(AddError::Line(_))));
        assert!(matches!(
            check_line(&[b'a'; 9000]),
            Err(AddError::Line(LineError::TooLong))
        ));
        assert_eq!(check_line(&[0xff, b' ']), Err(AddError::Text));
    }

    #[test]
    fn listings_round_trip_and_escape_comments() {
        let keys = vec![
            Listed {
                fingerprint: "SHA256:abc".into(),
                type_name: "ssh-ed25519".into(),
                bits: 256,
                comment: "alice laptop".into(),
            },
            Listed {
                fingerprint: "SHA256:def".into(),
                type_name: "ssh-rsa".into(),
                bits: 3072,
                comment: String::new(),
            },
        ];
        assert_eq!(parse_list(&list_reply(&keys)), Some(keys.clone()));
        assert_eq!(parse_list(b"OK 0"), Some(vec![]));
        let mut evil = keys[..1].to_vec();
        evil[0].comment = "a\nSHA256:x ssh-rsa 1 forged".into();
        let got = parse_list(&list_reply(&evil)).unwrap();
        assert_eq!(got.len(), 1);
        assert!(!got[0].comment.contains('\n'));
        for bad in [
            &b"OK 2\nSHA256:a t 1 c"[..],
            b"OK x",
            b"FAILED 37",
            b"OK 1\nMD5:a t 1 c",
            b"OK 999",
        ] {
            assert_eq!(parse_list(bad), None, "{bad:?}");
        }
    }
}
