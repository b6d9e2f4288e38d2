//! Measuring for quotas: the apparent size (`st_size`) of the regular files a uid
//! owns beneath a directory, and the size of a tree about to be copied. Walks move
//! by descriptors without following symlinks, visit every entry (secure
//! directories and uploads in progress included: they take space too), and are
//! bounded like every other walk. A usage walk also removes the stale upload
//! temporaries it meets, so a dead session's leftovers never count for long.

use super::walk::MAX_DEPTH;
use super::{cname, Kind};
use nix::dir::Dir;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use tfd_sys as sys;

/// What a walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Bytes counted.
    pub bytes: u64,
    /// The walk stopped at its entry budget or depth bound (the count is low).
    pub truncated: bool,
    /// Stale upload temporaries removed on the way (see
    /// [`super::upload::sweep_if_stale`]).
    pub swept: u64,
}

fn scan(dir: OwnedFd, depth: usize, left: &mut u64, out: &mut Usage, count: &mut dyn FnMut(&libc::stat) -> bool) {
    if depth > MAX_DEPTH {
        out.truncated = true;
        return;
    }
    let Ok(handle) = dir.try_clone() else {
        out.truncated = true;
        return;
    };
    let Ok(mut d) = Dir::from(dir) else {
        out.truncated = true;
        return;
    };
    let mut subdirs = Vec::new();
    for ent in d.iter() {
        let Ok(ent) = ent else { break };
        let name = ent.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        if *left == 0 {
            out.truncated = true;
            return;
        }
        *left -= 1;
        // vanished meanwhile: skip
        let Ok(st) = sys::fstatat(handle.as_fd(), name, false) else {
            continue;
        };
        // an upload temporary its session left behind is removed, not counted
        if super::upload::sweep_if_stale(handle.as_fd(), name, &st) {
            out.swept += 1;
            continue;
        }
        match Kind::of(&st) {
            Kind::File if count(&st) => out.bytes = out.bytes.saturating_add(st.st_size.max(0) as u64),
            Kind::Dir => subdirs.push(name.to_bytes().to_vec()),
            _ => {}
        }
    }
    drop(d);
    for name in subdirs {
        let Ok(c) = cname(&name) else { continue };
        if let Ok(sub) = sys::openat_nofollow(handle.as_fd(), &c, libc::O_RDONLY | libc::O_DIRECTORY, 0) {
            scan(sub, depth + 1, left, out, count);
        }
    }
}

fn walk(dir: BorrowedFd<'_>, budget: u64, mut count: impl FnMut(&libc::stat) -> bool) -> Usage {
    let mut out = Usage::default();
    match sys::openat_nofollow(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        Ok(fd) => {
            let mut left = budget;
            scan(fd, 0, &mut left, &mut out, &mut count);
        }
        Err(_) => out.truncated = true,
    }
    out
}

/// The bytes of regular files owned by `uid` beneath `dir`; a file with
/// several names (TFDLINK's snapshots, a backup's kept file) counts once,
/// as it takes its space once. The set of such files seen is bounded by the
/// walk's budget.
pub fn usage(dir: BorrowedFd<'_>, uid: u32, budget: u64) -> Usage {
    let mut seen = std::collections::HashSet::new();
    walk(dir, budget, |st| {
        st.st_uid == uid && (st.st_nlink <= 1 || seen.insert((st.st_dev, st.st_ino)))
    })
}

/// The bytes of all regular files beneath `dir` (what a CPDIR of it will write).
pub(crate) fn tree_size(dir: BorrowedFd<'_>, budget: u64) -> Usage {
    walk(dir, budget, |_| true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn counts_owned_regular_files() {
        let tmp = std::env::temp_dir().join(format!("tfd-quota-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("a/b.sd/c")).unwrap();
        std::fs::write(tmp.join("f1"), vec![0u8; 100]).unwrap();
        std::fs::write(tmp.join("a/f2"), vec![0u8; 20]).unwrap();
        std::fs::write(tmp.join("a/b.sd/c/f3"), vec![0u8; 3]).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", tmp.join("a/link")).unwrap();
        // a second name of f2 counts nothing more
        std::fs::hard_link(tmp.join("a/f2"), tmp.join("f2-again")).unwrap();
        let uid = std::fs::metadata(&tmp).unwrap().uid();
        let root = std::fs::File::open(&tmp).unwrap();
        let u = usage(root.as_fd(), uid, 1000);
        assert_eq!(
            u,
            Usage {
                bytes: 123,
                truncated: false,
                swept: 0
            }
        );
        assert_eq!(usage(root.as_fd(), uid.wrapping_add(1), 1000).bytes, 0);
        assert_eq!(tree_size(root.as_fd(), 1000).bytes, 143);
        // the budget bounds the walk
        assert!(usage(root.as_fd(), uid, 2).truncated);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
