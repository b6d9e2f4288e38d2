//! User and group names for CHOWN. Outside a jail they come from NSS (getpwnam,
//! getgrnam). After INJAIL's chroot NSS would read the jail's own `/etc` — files a
//! client may have written — so the session reads the system's `/etc/passwd` and
//! `/etc/group` once, before the chroot, and resolves names from that snapshot.
//! Numeric ids always work.

use std::io::Read;
use std::path::Path;

/// Largest passwd/group file read for the snapshot.
const MAX_TABLE: u64 = 8 << 20;

/// Name → id tables read before a chroot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameTables {
    users: Vec<(String, u32)>,
    groups: Vec<(String, u32)>,
}

/// Parses passwd/group lines: `name:x:id:...`. Bad lines are skipped.
fn parse_table(text: &[u8]) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let mut f = line.split(|&b| b == b':');
        let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (Ok(name), Some(id)) = (
            std::str::from_utf8(name),
            std::str::from_utf8(id).ok().and_then(|s| s.parse::<u32>().ok()),
        ) else {
            continue;
        };
        if !name.is_empty() && !name.starts_with('#') && !name.starts_with('+') && !name.starts_with('-') {
            out.push((name.to_string(), id));
        }
    }
    out
}

fn read_table(path: &Path) -> Vec<(String, u32)> {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(f) => {
            let _ = f.take(MAX_TABLE).read_to_end(&mut bytes);
            parse_table(&bytes)
        }
        Err(_) => Vec::new(),
    }
}

impl NameTables {
    /// Reads the system's tables (call before the chroot).
    pub fn load() -> NameTables {
        NameTables {
            users: read_table(Path::new("/etc/passwd")),
            groups: read_table(Path::new("/etc/group")),
        }
    }

    /// From file contents (tests).
    pub fn from_text(passwd: &[u8], group: &[u8]) -> NameTables {
        NameTables {
            users: parse_table(passwd),
            groups: parse_table(group),
        }
    }
}

fn numeric(s: &str) -> Option<u32> {
    if !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// A user name or number → uid; `None` if unknown.
pub fn uid(name: &str, tables: Option<&NameTables>) -> Option<u32> {
    if let Some(n) = numeric(name) {
        return Some(n);
    }
    match tables {
        Some(t) => t.users.iter().find(|(n, _)| n == name).map(|(_, id)| *id),
        None => match nix::unistd::User::from_name(name) {
            Ok(Some(u)) => Some(u.uid.as_raw()),
            _ => None,
        },
    }
}

/// A group name or number → gid; `None` if unknown.
pub fn gid(name: &str, tables: Option<&NameTables>) -> Option<u32> {
    if let Some(n) = numeric(name) {
        return Some(n);
    }
    match tables {
        Some(t) => t.groups.iter().find(|(n, _)| n == name).map(|(_, id)| *id),
        None => match nix::unistd::Group::from_name(name) {
            Ok(Some(g)) => Some(g.gid.as_raw()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_numbers() {
        let t = NameTables::from_text(
            b"root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001::/home/a:/bin/sh\nbroken\n+nis::::\nbad:x:nan:0\n",
            b"root:x:0:\nstaff:x:50:alice\n",
        );
        assert_eq!(uid("alice", Some(&t)), Some(1001));
        assert_eq!(uid("root", Some(&t)), Some(0));
        assert_eq!(uid("nobody-here", Some(&t)), None);
        assert_eq!(uid("+nis", Some(&t)), None);
        assert_eq!(uid("bad", Some(&t)), None);
        assert_eq!(uid("4242", Some(&t)), Some(4242));
        assert_eq!(gid("staff", Some(&t)), Some(50));
        assert_eq!(gid("alice", Some(&t)), None);
        assert_eq!(gid("7", Some(&t)), Some(7));
        assert_eq!(uid("99999999999", Some(&t)), None);
        // outside a jail: NSS
        assert_eq!(uid("root", None), Some(0));
        assert_eq!(gid("root", None), Some(0));
        assert!(NameTables::load().users.iter().any(|(n, id)| n == "root" && *id == 0));
    }
}
