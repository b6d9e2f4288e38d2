//! TFDSTAGES' lines: one stage of the user's each, `<counted> <written>
//! <size> <mtime> <n> <stage path> <m> <target path>\n`, the paths raw
//! (any byte) after their length in bytes; `0` and nothing for a target the
//! stage did not record.

/// The longest number word a line holds (`i64::MIN` has 20 characters).
const MAX_WORD: usize = 24;

/// One stage as TFDSTAGES lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The stage's own path, relative to the directory listed
    /// (`dir/.tfd-part-s<16 hex>`): what TFDSTAGEDROP takes.
    pub path: Vec<u8>,
    /// The path of the file it is a stage of, relative to the directory
    /// listed; None for a stage whose server did not record it.
    pub target: Option<Vec<u8>>,
    /// Its apparent size: what the quota counts.
    pub counted: u64,
    /// The bytes written into it so far.
    pub written: u64,
    /// The size of the file being uploaded.
    pub size: u64,
    /// When it was last written (seconds since the epoch).
    pub mtime: i64,
}

impl Listed {
    /// Appends its line to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let target = self.target.as_deref().unwrap_or_default();
        out.extend_from_slice(
            format!(
                "{} {} {} {} {} ",
                self.counted,
                self.written,
                self.size,
                self.mtime,
                self.path.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.path);
        out.extend_from_slice(format!(" {} ", target.len()).as_bytes());
        out.extend_from_slice(target);
        out.push(b'\n');
    }
}

/// The lines of a listing, in order; None: one that does not parse (an
/// empty stage path included).
pub fn parse(mut text: &[u8]) -> Option<Vec<Listed>> {
    let mut out = Vec::new();
    while !text.is_empty() {
        let counted = word(&mut text)?.parse().ok()?;
        let written = word(&mut text)?.parse().ok()?;
        let size = word(&mut text)?.parse().ok()?;
        let mtime = word(&mut text)?.parse().ok()?;
        let path = raw(&mut text, b' ')?;
        let target = raw(&mut text, b'\n')?;
        if path.is_empty() {
            return None;
        }
        out.push(Listed {
            path,
            target: (!target.is_empty()).then_some(target),
            counted,
            written,
            size,
            mtime,
        });
    }
    Some(out)
}

/// The lines of `stages`, one after the other.
pub fn encode(stages: &[Listed]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in stages {
        s.encode_into(&mut out);
    }
    out
}

/// The next word, up to a space within [`MAX_WORD`] bytes.
fn word<'a>(text: &mut &'a [u8]) -> Option<&'a str> {
    let sp = text.iter().take(MAX_WORD).position(|&b| b == b' ')?;
    let w = std::str::from_utf8(&text[..sp]).ok()?;
    *text = &text[sp + 1..];
    Some(w)
}

/// A length, then that many raw bytes, then `after`.
fn raw(text: &mut &[u8], after: u8) -> Option<Vec<u8>> {
    let len: usize = word(text)?.parse().ok()?;
    let v = text.get(..len)?.to_vec();
    if text.get(len) != Some(&after) {
        return None;
    }
    *text = &text[len + 1..];
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_odd_names() {
        let text = b"4096 4096 8192 1700000000 31 d e/.tfd-part-s0123456789abcdef 5 d e/x\n10 0 10 5 27 .tfd-part-sfedcba9876543210 0 \n";
        let v = parse(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].path, b"d e/.tfd-part-s0123456789abcdef");
        assert_eq!(v[0].target.as_deref(), Some(&b"d e/x"[..]));
        assert_eq!((v[0].counted, v[0].written, v[0].size), (4096, 4096, 8192));
        assert_eq!(v[1].target, None);
        assert_eq!(encode(&v), text);
        assert_eq!(parse(b"").unwrap(), []);
        for bad in [
            &b"1 2 3 4 99 short 0 \n"[..],
            b"x 2 3 4 1 a 0 \n",
            b"1 2 3 4 0  0 \n",
            b"1 2 3 4 1 a 0 ",
            b"1 2 3 4 1 a 1 b",
            b"1 2 3 4 1 a 1 b\nx",
            b"1 2 3 1000000000000000000000000 1 a 0 \n",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn lines_round_trip_any_bytes() {
        let s = Listed {
            path: b"\n \xff.tfd-part-s0".to_vec(),
            target: Some(b" \n".to_vec()),
            counted: u64::MAX,
            written: 0,
            size: 1,
            mtime: i64::MIN,
        };
        assert_eq!(parse(&encode(&[s.clone(), s.clone()])), Some(vec![s.clone(), s]));
    }
}
