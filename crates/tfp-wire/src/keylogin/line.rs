//! One line of OpenSSH's `authorized_keys` format (sshd(8), "AUTHORIZED_KEYS
//! FILE FORMAT"): `[options] type base64 [comment]`. The options are returned
//! as written; what they mean is the server's to judge.

use super::blob::{PublicKey, MAX_KEY_BLOB};
use super::{decode_b64, FrameError};

/// The longest line read (sshd's own bound on a key line is 16 KiB; an RSA
/// key of 16384 bits with options fits in 4 KiB).
pub const MAX_LINE: usize = 8192;
/// The most options one line may carry.
pub const MAX_OPTIONS: usize = 32;

/// An option: its name (lower-cased) and its quoted value, unescaped.
pub type KeyOption = (String, Option<String>);

/// A key line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    /// The options before the key, as written.
    pub options: Vec<KeyOption>,
    /// The key.
    pub key: PublicKey,
    /// Its blob.
    pub blob: Vec<u8>,
    /// The comment after the key (may be empty).
    pub comment: String,
}

/// Why a line was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// The options do not parse (an unclosed quote, too many).
    Options,
    /// No key after the options.
    NoKey,
    /// The type word and the blob's type differ.
    TypeMismatch,
    /// The Base64 or the blob.
    Key(FrameError),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::TooLong => write!(f, "longer than {MAX_LINE} bytes"),
            LineError::Options => write!(f, "its options do not parse"),
            LineError::NoKey => write!(f, "no key"),
            LineError::TypeMismatch => write!(f, "the type word is not the key's type"),
            LineError::Key(e) => write!(f, "the key: {e}"),
        }
    }
}

/// Whether a word names a key type (so no options stand before it).
fn is_type_word(w: &str) -> bool {
    w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-")
}

/// Splits the options at the head of `s`: returns them and the rest of the line.
fn options(s: &str) -> Result<(Vec<KeyOption>, &str), LineError> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && !matches!(b[i], b'=' | b',' | b' ' | b'\t') {
            i += 1;
        }
        let name = s[start..i].to_ascii_lowercase();
        if name.is_empty() {
            return Err(LineError::Options);
        }
        let mut value = None;
        if i < b.len() && b[i] == b'=' {
            if b.get(i + 1) != Some(&b'"') {
                return Err(LineError::Options);
            }
            i += 2;
            let mut v = String::new();
            loop {
                match b.get(i) {
                    None => return Err(LineError::Options),
                    Some(b'"') => break,
                    Some(b'\\') if b.get(i + 1) == Some(&b'"') => {
                        v.push('"');
                        i += 2;
                    }
                    Some(_) => {
                        // a whole character (the line is UTF-8)
                        let ch = s[i..].chars().next().ok_or(LineError::Options)?;
                        v.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            i += 1;
            value = Some(v);
        }
        out.push((name, value));
        if out.len() > MAX_OPTIONS {
            return Err(LineError::Options);
        }
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b' ' | b'\t') => return Ok((out, &s[i..])),
            _ => return Err(LineError::Options),
        }
    }
}

/// Parses a line: `Ok(None)` for a blank line or a comment.
pub fn parse(line: &str) -> Result<Option<KeyLine>, LineError> {
    if line.len() > MAX_LINE {
        return Err(LineError::TooLong);
    }
    let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let first = line.split([' ', '\t']).next().unwrap_or("");
    let (opts, rest) = if is_type_word(first) {
        (Vec::new(), line)
    } else {
        options(line)?
    };
    let mut words = rest.trim_start_matches([' ', '\t']).splitn(3, [' ', '\t']);
    let kind = words.next().filter(|w| !w.is_empty()).ok_or(LineError::NoKey)?;
    let b64 = words.next().filter(|w| !w.is_empty()).ok_or(LineError::NoKey)?;
    let comment = words.next().unwrap_or("").trim().to_string();
    let blob = decode_b64(b64.as_bytes(), MAX_KEY_BLOB).map_err(LineError::Key)?;
    let key = PublicKey::parse(&blob).map_err(|e| LineError::Key(FrameError::Blob(e)))?;
    if key.type_name() != kind {
        return Err(LineError::TypeMismatch);
    }
    Ok(Some(KeyLine {
        options: opts,
        key,
        blob,
        comment,
    }))
}

/// A line for `authorized_keys`: the options as given (already in the
/// file's syntax), the type, the Base64 blob, the comment.
pub fn render(options: &str, key_blob: &[u8], key: &PublicKey, comment: &str) -> String {
    let mut s = String::new();
    if !options.is_empty() {
        s.push_str(options);
        s.push(' ');
    }
    s.push_str(key.type_name());
    s.push(' ');
    s.push_str(&super::encode_b64(key_blob));
    if !comment.is_empty() {
        s.push(' ');
        s.push_str(comment);
    }
    s
}
