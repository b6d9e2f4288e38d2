//! Text from the other side made fit for a terminal or a log line: the one
//! rule `tf` shows server text with and `tfd` shows client names with (in
//! `tfd ctl` and in its log).
//!
//! A name or a FAILED text holding `ESC ]0;…BEL` retitles a terminal, `ESC
//! [2K ESC [1A` erases and rewrites lines already shown (the scp
//! CVE-2019-6109/6110 class), and a bidi override or a zero-width mark makes
//! `\u{200b}alice` read as `alice`. So, as `ls -q`/`ls -b` and OpenSSH's
//! `snmprintf` do, control characters never pass raw: `\n`, `\r` and `\t`
//! show as those two characters, every other control (C0, DEL, C1) and the
//! invisible characters that reorder or hide text (bidi overrides, zero-width
//! marks, the BOM) as `\u{…}`, and bytes that are not UTF-8 as `\xHH`.
//! A backslash itself shows as `\\`, so that no two names show alike: the
//! byte 0xff shows as `\xff` and the four characters `\xff` as `\\xff`, and
//! a script acting on `tf -i` or `--json` acts on the file that was meant.
//! Everything printable, in any script, is shown as it is. [`unescape`] reads
//! the shown form back (what an operator copies from `tfd ctl bans`).

/// `bytes` (a name) with every control and text-hiding character escaped,
/// and each backslash doubled: two names never show alike.
pub fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c, true);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// [`shown`] for a name already decoded.
pub fn shown_str(text: &str) -> String {
    shown(text.as_bytes())
}

/// A message (a sentence that may already hold names made [`shown`])
/// made fit for a terminal: controls and text-hiding characters escaped as
/// [`shown`] escapes them, backslashes left as they are, so a message shown
/// twice reads the same and the names in it keep their one escaping.
pub fn shown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_char(&mut out, c, false);
    }
    out
}

fn push_char(out: &mut String, c: char, name: bool) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' if name => out.push_str("\\\\"),
        c if c.is_control() || hides_text(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// Invisible characters that change how the text around them reads: bidi
/// embeddings, overrides and isolates, zero-width marks, the BOM.
pub fn hides_text(c: char) -> bool {
    matches!(c as u32, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
}

/// The bytes a [`shown`] text stands for: `\\`, `\n`, `\r`, `\t`, `\u{…}`
/// and `\xHH` read back; any other backslash is kept as it is. None when the text
/// holds no escape (it stands for itself).
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    if !text.contains('\\') {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let tail = &rest[i + 1..];
        let (bytes, used): (Vec<u8>, usize) = match tail.as_bytes().first() {
            Some(b'\\') => (b"\\".to_vec(), 1),
            Some(b'n') => (b"\n".to_vec(), 1),
            Some(b'r') => (b"\r".to_vec(), 1),
            Some(b't') => (b"\t".to_vec(), 1),
            Some(b'x') => match tail.get(1..3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => (vec![b], 3),
                None => (b"\\".to_vec(), 0),
            },
            Some(b'u') if tail[1..].starts_with('{') => {
                let c = tail[2..]
                    .find('}')
                    .and_then(|end| u32::from_str_radix(&tail[2..2 + end], 16).ok().map(|v| (v, end)))
                    .and_then(|(v, end)| char::from_u32(v).map(|c| (c, end)));
                match c {
                    Some((c, end)) => (c.to_string().into_bytes(), end + 3),
                    None => (b"\\".to_vec(), 0),
                }
            }
            _ => (b"\\".to_vec(), 0),
        };
        out.extend_from_slice(&bytes);
        rest = &tail[used..];
    }
    out.extend_from_slice(rest.as_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_reads_back() {
        for raw in [
            &b"\xe2\x80\x8balice"[..],
            "evil\u{202e}txt.exe".as_bytes(),
            "\u{feff}bom".as_bytes(),
            b"a\x1b]0;x\x07\n\r\tz",
            b"bad\xff\xfe",
            "名前 ñandú".as_bytes(),
            b"amb\\xff.txt",
            b"a\\\\b\\",
        ] {
            let s = shown(raw);
            assert!(!s.chars().any(|c| c.is_control() || hides_text(c)), "{s:?}");
            assert_eq!(unescape(&s).unwrap_or_else(|| s.clone().into_bytes()), raw, "{s}");
        }
        assert_eq!(shown("\u{200b}alice".as_bytes()), "\\u{200b}alice");
        assert_eq!(unescape("plain"), None);
        // a literal backslash and the byte it could be mistaken for differ
        assert_eq!(shown(b"amb\xff.txt"), "amb\\xff.txt");
        assert_eq!(shown(b"amb\\xff.txt"), "amb\\\\xff.txt");
        assert_eq!(unescape("a\\qb\\u{zz}\\x4"), Some(b"a\\qb\\u{zz}\\x4".to_vec()));
        // a message holding a shown name is shown again unchanged
        let msg = format!("{}: gone", shown(b"a\\b\xff\x1b"));
        assert_eq!(shown_text(&msg), msg);
        assert_eq!(shown_text("x\x1by\\"), "x\\u{1b}y\\");
    }
}
