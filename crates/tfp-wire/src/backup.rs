//! `TFDBACKUP`, tfd's session setting for rsync's `--backup`,
//! `--backup-dir` and `--suffix` (doc/compatibility.md "Backups"): once
//! set, every file an upload of the session replaces, and every file its
//! DEL removes, is kept under a backup name, linked there before the
//! replacement takes the name (the name always holds the old file or the
//! new one). One setting a session, so every way an upload lands (PUT,
//! SNDFILE, TFDPUTMANY, TFDDELTAPUT, TFDSTAGE) keeps it alike.
//!
//! The argument, answered `OK` (a server without it answers `UNKNOWN`):
//!
//! - `off`: no backups (a session's start);
//! - `<suffix>`: beside the file, its name with the suffix added;
//! - `<suffix> <base> | <dir>`: in the directory `dir`, at the file's path
//!   below `base` (the destination's root, as rsync's relative backup
//!   directory is the destination's), the suffix added (`-`: none).
//!
//! The suffix travels in hex (any bytes but `/` and NUL), the two paths as
//! every other command's path.

/// The command.
pub const COMMAND: &str = "TFDBACKUP";

/// `TFDPRIVDIR <path>`: MKDIR, the directory made private to the
/// session's user (mode 0700 exactly, whatever the umask and the parent's
/// set-group-ID bit or default ACL); answered as MKDIR is. `tf backup`
/// makes its backups' and snapshots' directories with it (doc/compatibility.md
/// "Backups with history").
pub const PRIVATE_DIR: &str = "TFDPRIVDIR";

/// The longest suffix (a name's whole length on Linux).
pub const MAX_SUFFIX: usize = 255;

/// Where a session keeps the files it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backup {
    /// No backups.
    Off,
    /// Beside the file, the suffix added (never empty).
    Beside(Vec<u8>),
    /// Below `dir`, at the file's path relative to `base`, the suffix added
    /// (empty: the name itself).
    Into {
        /// Added to the name.
        suffix: Vec<u8>,
        /// The destination's root: a kept file's path is its path below it.
        base: Vec<u8>,
        /// The backup directory.
        dir: Vec<u8>,
    },
}

/// Whether `s` may be a suffix: no `/`, no NUL, not too long.
pub fn suffix_ok(s: &[u8]) -> bool {
    s.len() <= MAX_SUFFIX && !s.iter().any(|&b| b == b'/' || b == 0)
}

fn suffix_word(s: &[u8]) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        crate::hex::encode(s)
    }
}

fn parse_suffix(w: &[u8]) -> Option<Vec<u8>> {
    if w == b"-" {
        return Some(Vec::new());
    }
    let s = crate::hex::decode(std::str::from_utf8(w).ok()?)?;
    (!s.is_empty() && suffix_ok(&s)).then_some(s)
}

impl Backup {
    /// The command's argument; `None` for a setting the grammar cannot
    /// carry (a bad suffix, an empty path, a base holding ` | `, an empty
    /// suffix beside the file).
    pub fn encode(&self) -> Option<Vec<u8>> {
        match self {
            Backup::Off => Some(b"off".to_vec()),
            Backup::Beside(s) => (!s.is_empty() && suffix_ok(s)).then(|| suffix_word(s).into_bytes()),
            Backup::Into { suffix, base, dir } => {
                let fits = suffix_ok(suffix)
                    && !base.is_empty()
                    && !dir.is_empty()
                    && crate::command::find(base, b" | ").is_none()
                    && !base.contains(&0)
                    && !dir.contains(&0);
                fits.then(|| [suffix_word(suffix).as_bytes(), b" ", base, b" | ", dir].concat())
            }
        }
    }

    /// The command's whole line.
    pub fn line(&self) -> Option<Vec<u8>> {
        Some([COMMAND.as_bytes(), b" ", &self.encode()?].concat())
    }

    /// Reads the argument; `None` for anything the grammar does not hold.
    pub fn parse(arg: &[u8]) -> Option<Backup> {
        if arg == b"off" {
            return Some(Backup::Off);
        }
        let Some((word, rest)) = crate::command::split_space(arg) else {
            let s = parse_suffix(arg)?;
            return (!s.is_empty()).then_some(Backup::Beside(s));
        };
        let (base, dir) = crate::command::split_pipe(rest)?;
        if base.is_empty() || dir.is_empty() || base.contains(&0) || dir.contains(&0) {
            return None;
        }
        Some(Backup::Into {
            suffix: parse_suffix(word)?,
            base: base.to_vec(),
            dir: dir.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip() {
        let cases = [
            Backup::Off,
            Backup::Beside(b"~".to_vec()),
            Backup::Beside(b".old bak".to_vec()),
            Backup::Into {
                suffix: vec![],
                base: b"dst".to_vec(),
                dir: b"dst/../old dir".to_vec(),
            },
            Backup::Into {
                suffix: b"~".to_vec(),
                base: b".".to_vec(),
                dir: b"a | b".to_vec(),
            },
        ];
        for b in cases {
            let arg = b.encode().expect("encodes");
            assert_eq!(
                Backup::parse(&arg),
                Some(b.clone()),
                "{:?}",
                String::from_utf8_lossy(&arg)
            );
        }
        assert_eq!(
            Backup::Beside(b"~".to_vec()).line().as_deref(),
            Some(&b"TFDBACKUP 7e"[..])
        );
    }

    #[test]
    fn what_the_grammar_does_not_hold_is_refused() {
        for bad in [
            Backup::Beside(vec![]),
            Backup::Beside(b"a/b".to_vec()),
            Backup::Beside(vec![b'x'; MAX_SUFFIX + 1]),
            Backup::Into {
                suffix: vec![],
                base: b"a | b".to_vec(),
                dir: b"d".to_vec(),
            },
            Backup::Into {
                suffix: vec![],
                base: vec![],
                dir: b"d".to_vec(),
            },
        ] {
            assert_eq!(bad.encode(), None, "{bad:?}");
        }
        for bad in [
            &b""[..],
            b"-",
            b"zz",
            b"7",
            b"2f",
            b"00",
            b"OFF",
            b"7e base",
            b"7e  | d",
            b"7e b | ",
            b"- b|d",
            b"2f b | d",
        ] {
            assert_eq!(Backup::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
