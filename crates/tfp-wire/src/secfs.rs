//! TFPSFS (the document's "TFProtocol Secure Filesystem") in pure form: the
//! permission bits, the metadata file's text format and the SETFSPERM-family
//! arguments. No I/O, so the parser that reads files the reference server wrote is
//! fuzzed alone (`fuzz/fuzz_targets/secfs.rs`); `fsys::secfs` does the file work.
//!
//! The format is the reference server's, so a directory it made secure keeps its
//! permissions: one entry per line, `identity:mask\n`, the identity everything
//! before the line's first `:`, the mask the decimal digits after it. The empty
//! identity is "everybody else". The first line naming an identity is the one
//! that counts (the reference reads with `fgets` + `strchr` + `atoi`).

/// Set identities and their masks (SETFSPERM).
pub const SETPERM: u32 = 1;
/// Remove identities (REMFSPERM).
pub const REMPERM: u32 = 2;
/// Read files in the directory.
pub const RFILE: u32 = 4;
/// Write (create, truncate, …) files in the directory.
pub const WFILE: u32 = 8;
/// List the directory.
pub const LDIR: u32 = 16;
/// Remove directories in the directory.
pub const RMDIR: u32 = 32;
/// Make directories in the directory.
pub const MKDIR: u32 = 64;
/// Delete files in the directory.
pub const DFILE: u32 = 128;
/// STAT files and directories in the directory.
pub const STAT: u32 = 256;
/// Update timestamps of files and directories in the directory.
pub const FDUPD: u32 = 512;
/// Change UNIX permissions (CHMOD, CHOWN) in the directory.
pub const UXPERM: u32 = 1024;
/// List the directory recursively.
pub const LRDIR: u32 = 2048;

/// The bits that concern a directory's contents rather than an entry in its
/// parent: a command needing only these does not also answer to the parent.
pub const CONTENT_BITS: u32 = LDIR | LRDIR;

/// The "everybody else" identity.
pub const EVERYBODY: &[u8] = b"";

/// Longest identity tfd writes into a metadata file: the reference reads lines
/// with a 2048-byte `fgets`, so a longer one would split into two entries there.
pub const MAX_ID: usize = 1024;

/// Largest metadata file read; a bigger one is not something either server wrote
/// and reads as unusable (every check fails closed).
pub const MAX_META: usize = 1 << 20;

/// One directory's permissions, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Perms {
    entries: Vec<(Vec<u8>, u32)>,
}

/// Why a SETFSPERM/REMFSPERM/GETFSPERM argument was refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgError {
    /// No space between the identity part and the path (`FAILED 16`).
    Missing,
    /// SETFSPERM: no `:` in the identity part, a mask that is not a decimal
    /// 32-bit number, or an identity that cannot be stored (the command's own code).
    Bad,
}

/// The reference's `atoi` on a mask: leading blanks, an optional sign, digits up
/// to the first other byte. A sign, overflow or no digit reads as 0 (no
/// permission): fail closed on anything the reference itself never writes.
fn atoi_mask(s: &[u8]) -> u32 {
    let s = match s.iter().position(|b| !matches!(b, b' ' | b'\t')) {
        Some(i) => &s[i..],
        None => return 0,
    };
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&s[..digits])
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0)
}

impl Perms {
    /// Reads a metadata file's bytes. Lines without `:` are ignored, as the
    /// reference does; nothing here can fail.
    pub fn parse(data: &[u8]) -> Perms {
        let mut entries = Vec::new();
        for line in data.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(i) = line.iter().position(|&b| b == b':') {
                entries.push((line[..i].to_vec(), atoi_mask(&line[i + 1..])));
            }
        }
        Perms { entries }
    }

    /// The file's bytes: `identity:mask\n` per entry, one entry per identity.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (id, mask) in &self.entries {
            out.extend_from_slice(id);
            out.push(b':');
            out.extend_from_slice(mask.to_string().as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// True when no identity is set: the next SETFSPERM is "the first time" and
    /// names the owner (the reference tests the file's size the same way).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The identity's mask (the first entry naming it), if it has one.
    pub fn get(&self, id: &[u8]) -> Option<u32> {
        self.entries.iter().find(|(i, _)| i == id).map(|(_, m)| *m)
    }

    /// Sets the identity's mask: its first entry takes the new mask and any later
    /// duplicate goes (decisions.md: the new mask, not the reference's old one), or
    /// a new entry is appended.
    pub fn set(&mut self, id: &[u8], mask: u32) {
        match self.entries.iter().position(|(i, _)| i == id) {
            Some(first) => {
                self.entries[first].1 = mask;
                let mut n = 0;
                self.entries.retain(|(i, _)| {
                    n += 1;
                    n - 1 == first || i != id
                });
            }
            None => self.entries.push((id.to_vec(), mask)),
        }
    }

    /// Removes every entry of the identity; true if there was one.
    pub fn remove(&mut self, id: &[u8]) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(i, _)| i != id);
        self.entries.len() != before
    }

    /// Whether a session with identity `id` (None: it never sent SETFSID) may do
    /// something needing every bit of `need` here: its own entry decides when it
    /// has one (no falling through, the document), else the everybody-else entry,
    /// else nothing is allowed.
    pub fn allows(&self, id: Option<&[u8]>, need: u32) -> bool {
        let mask = id.and_then(|i| self.get(i)).or_else(|| self.get(EVERYBODY));
        mask.is_some_and(|m| m & need == need)
    }

    /// Whether `id` itself (never everybody-else, never a session without SETFSID)
    /// holds `bit`: the rule for SETFSPERM and REMFSPERM.
    pub fn own_entry_allows(&self, id: Option<&[u8]>, bit: u32) -> bool {
        id.and_then(|i| self.get(i)).is_some_and(|m| m & bit == bit)
    }

    /// The entries, in file order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], u32)> {
        self.entries.iter().map(|(i, m)| (i.as_slice(), *m))
    }
}

/// An identity that can be written into a metadata file line and read back as
/// itself: no `:` (it ends the identity), no line break, no NUL, bounded.
pub fn storable_id(id: &[u8]) -> bool {
    id.len() <= MAX_ID && !id.iter().any(|&b| matches!(b, b':' | b'\n' | b'\r' | 0))
}

/// Splits `secID rest` at the first space (REMFSPERM, GETFSPERM; the
/// everybody-else identity is the empty one before the space).
pub fn split_id(arg: &[u8]) -> Result<(&[u8], &[u8]), ArgError> {
    let i = arg.iter().position(|&b| b == b' ').ok_or(ArgError::Missing)?;
    Ok((&arg[..i], &arg[i + 1..]))
}

/// Parses SETFSPERM's `secID:mask path` into identity, mask and path. The
/// identity ends at the first `:` (as the reference reads it back); the mask is
/// strictly a decimal `u32` (the reference wrote whatever followed, and read a
/// typo as 0).
pub fn parse_setfsperm(arg: &[u8]) -> Result<(&[u8], u32, &[u8]), ArgError> {
    let (tok, path) = split_id(arg)?;
    let colon = tok.iter().position(|&b| b == b':').ok_or(ArgError::Bad)?;
    let (id, mask) = (&tok[..colon], &tok[colon + 1..]);
    if !storable_id(id) || mask.is_empty() || mask.len() > 10 || !mask.iter().all(u8::is_ascii_digit) {
        return Err(ArgError::Bad);
    }
    let mask = std::str::from_utf8(mask)
        .ok()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or(ArgError::Bad)?;
    Ok((id, mask, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reference_format() {
        // as the reference's SETFSPERM appends: the owner first, a re-set later
        let p = Perms::parse(b"alice:4095\n:20\nbob:4\nalice:0\nno colon line\nweird:12abc\n");
        assert_eq!(p.get(b"alice"), Some(4095));
        assert_eq!(p.get(b""), Some(20));
        assert_eq!(p.get(b"bob"), Some(4));
        assert_eq!(p.get(b"weird"), Some(12));
        assert_eq!(p.get(b"carol"), None);
        assert_eq!(Perms::parse(b"x:-1\ny:99999999999\nz: 7\n").get(b"x"), Some(0));
        assert_eq!(Perms::parse(b"y:99999999999\n").get(b"y"), Some(0));
        assert_eq!(Perms::parse(b"z: 7\n").get(b"z"), Some(7));
        assert!(Perms::parse(b"").is_empty());
        assert!(Perms::parse(b"\n\n").is_empty());
    }

    #[test]
    fn set_replaces_and_round_trips() {
        let mut p = Perms::parse(b"alice:4095\nbob:4\nbob:8\n");
        p.set(b"bob", 16);
        assert_eq!(p.to_bytes(), b"alice:4095\nbob:16\n");
        p.set(b"", 4);
        assert_eq!(p.to_bytes(), b"alice:4095\nbob:16\n:4\n");
        assert_eq!(Perms::parse(&p.to_bytes()), p);
        assert!(p.remove(b"bob"));
        assert!(!p.remove(b"bob"));
        assert_eq!(p.to_bytes(), b"alice:4095\n:4\n");
    }

    #[test]
    fn who_is_allowed() {
        let p = Perms::parse(b"alice:4095\nbob:4\n:16\n");
        assert!(p.allows(Some(b"alice"), RFILE | WFILE));
        assert!(p.allows(Some(b"bob"), RFILE));
        // bob has an entry: no falling through to everybody-else's LDIR
        assert!(!p.allows(Some(b"bob"), LDIR));
        assert!(p.allows(Some(b"carol"), LDIR));
        assert!(p.allows(None, LDIR));
        assert!(!p.allows(None, RFILE));
        assert!(!Perms::parse(b"alice:1\n").allows(None, LDIR));
        // SETFSPERM/REMFSPERM: only one's own entry
        let open = Perms::parse(b"alice:1\n:4095\n");
        assert!(!open.own_entry_allows(None, SETPERM));
        assert!(!open.own_entry_allows(Some(b"carol"), SETPERM));
        assert!(open.own_entry_allows(Some(b"alice"), SETPERM));
        assert!(!open.own_entry_allows(Some(b"alice"), REMPERM));
    }

    #[test]
    fn arguments() {
        assert_eq!(
            parse_setfsperm(b"alice:128 /d/e f"),
            Ok((&b"alice"[..], 128, &b"/d/e f"[..]))
        );
        assert_eq!(parse_setfsperm(b":4095 d"), Ok((&b""[..], 4095, &b"d"[..])));
        assert_eq!(parse_setfsperm(b"a:4294967295 d"), Ok((&b"a"[..], u32::MAX, &b"d"[..])));
        assert_eq!(parse_setfsperm(b"alice:128"), Err(ArgError::Missing));
        for bad in [
            &b"alice d"[..],
            b"alice: d",
            b"a:4294967296 d",
            b"a:-1 d",
            b"a:1x d",
            b"a:b:1 d",
            b"a:+1 d",
        ] {
            assert_eq!(
                parse_setfsperm(bad),
                Err(ArgError::Bad),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(split_id(b" /d"), Ok((&b""[..], &b"/d"[..])));
        assert_eq!(split_id(b"x"), Err(ArgError::Missing));
        assert!(!storable_id(&[b'a'; MAX_ID + 1]));
        assert!(!storable_id(b"a\nb"));
    }
}
