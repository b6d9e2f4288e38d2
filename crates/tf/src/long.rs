//! `ls -l`'s columns as `ls -l` writes them: the mode (`drwxr-x---`), the
//! owner and the group, then the size and the local time. Modes and owners
//! come from the server's entries of the listed directory (tfd's
//! TFDDIRENTRIES, one exchange a directory; `lsr -l`: TFDENTRIES of the
//! tree); owners are numeric, since the protocol has no names for them. A
//! server without them shows `?` there, and FSTAT's size and time.

use super::formats::{human_size, local_time};
use std::collections::HashMap;
use tfp_client::remote::dir_entries;
use tfp_client::remote::entries::{self, Full};
use tfp_client::remote::listing::{Kind, Stat};
use tfp_client::{Client, Error};
use tfp_wire::fstat::FileType;

/// The entries of one listed directory by their path below it.
#[derive(Default)]
pub struct Facts(HashMap<Vec<u8>, Full>);

impl Facts {
    /// Of `dir`: its entries (`deep`: every level, as `lsr`); none when the
    /// server cannot say.
    pub fn of(c: &mut Client, dir: &[u8], deep: bool) -> Result<Facts, Error> {
        let found = if deep {
            entries::list(c, dir)
        } else {
            dir_entries::list(c, dir)
        };
        let found = match found {
            Ok(f) => f,
            Err(Error::Refused(_)) => None,
            Err(e) => return Err(e),
        };
        let by_path = found
            .map(|e| e.entries.into_iter().map(|f| (f.rel.clone(), f)).collect())
            .unwrap_or_default();
        Ok(Facts(by_path))
    }

    /// What the server said of `rel` (a listing's name, `/` after a
    /// directory's or not).
    pub fn get(&self, rel: &[u8]) -> Option<&Full> {
        self.0.get(rel.strip_suffix(b"/").unwrap_or(rel))
    }
}

/// The start of a long line, before the name: from the entry when the
/// server described it, else from FSTAT (`stat`) and the listing's letter.
pub fn prefix(full: Option<&Full>, stat: Option<Stat>, listed: u8, human: bool) -> String {
    let size = |n: u64| if human { human_size(n) } else { n.to_string() };
    if let Some(f) = full {
        let (uid, gid) = f.owner.map_or(("?".to_string(), "?".to_string()), |(u, g)| {
            (u.to_string(), g.to_string())
        });
        return format!(
            "{} {uid:<6} {gid:<6} {:>12} {}  ",
            mode_text(f.kind, f.mode),
            size(f.size),
            local_time(f.mtime.sec)
        );
    }
    let Some(s) = stat else {
        // the listing's own letter, when FSTAT told nothing usable
        let t = match listed {
            b'D' => 'd',
            b'F' => '-',
            _ => '?',
        };
        return format!("{t}????????? {:<6} {:<6} {:>12} {:<23}  ", "?", "?", "?", "? ? ?");
    };
    let t = match s.kind {
        Kind::Dir => 'd',
        Kind::File => '-',
        Kind::Other => '?',
    };
    format!(
        "{t}????????? {:<6} {:<6} {:>12} {}  ",
        "?",
        "?",
        size(s.size),
        local_time(s.mtime)
    )
}

/// A mode as `ls -l` writes it: the kind's letter, then `rwx` three times,
/// set-id bits as `s`/`S`, sticky as `t`/`T`.
pub fn mode_text(kind: FileType, mode: u32) -> String {
    let t = match kind {
        FileType::Dir => 'd',
        FileType::Regular => '-',
        FileType::Symlink => 'l',
        FileType::Fifo => 'p',
        FileType::Socket => 's',
        FileType::CharDevice => 'c',
        FileType::BlockDevice => 'b',
        _ => '?',
    };
    let mut out = String::from(t);
    for (shift, special, on, off) in [(6, 0o4000, 's', 'S'), (3, 0o2000, 's', 'S'), (0, 0o1000, 't', 'T')] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => on,
            (false, true) => off,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_ls_writes_them() {
        assert_eq!(mode_text(FileType::Dir, 0o750), "drwxr-x---");
        assert_eq!(mode_text(FileType::Regular, 0o644), "-rw-r--r--");
        assert_eq!(mode_text(FileType::Regular, 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_text(FileType::Regular, 0o2644), "-rw-r-Sr--");
        assert_eq!(mode_text(FileType::Dir, 0o1777), "drwxrwxrwt");
        assert_eq!(mode_text(FileType::Dir, 0o1770), "drwxrwx--T");
        assert_eq!(mode_text(FileType::Symlink, 0o777), "lrwxrwxrwx");
    }
}
