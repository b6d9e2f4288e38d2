//! The tree of issue 61's "done when" and what `lstat` says of every entry
//! of a copy of it, for the `archive` case (`benches/wan/archive.rs`): two
//! copies (tf's and `rsync -a`'s) are compared field by field, and a copy
//! before and after a second run, so a difference names its entry and field.

use crate::support::race::{bytes, MIB};
use nix::sys::stat::{utimensat, Mode, UtimensatFlags};
use nix::sys::time::TimeSpec;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{lchown, symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Sets `p`'s own mtime (a link's, never its target's) to `sec.nsec`.
fn stamp(p: &Path, sec: i64, nsec: i64) -> Result<(), String> {
    utimensat(
        None,
        p,
        &TimeSpec::UTIME_OMIT,
        &TimeSpec::new(sec, nsec),
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| format!("stamp {}: {e}", p.display()))
}

fn chmod(p: &Path, mode: u32) -> Result<(), String> {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).map_err(|e| format!("chmod {}: {e}", p.display()))
}

/// An owner no one on this machine is (kept numerically, as rsync does
/// for an id without a name): uid, gid.
fn own(p: &Path, owner: (u32, u32)) -> Result<(), String> {
    lchown(p, Some(owner.0), Some(owner.1)).map_err(|e| format!("lchown {}: {e}", p.display()))
}

/// `size` deterministic bytes (`seed`), written a MiB at a time.
fn write_file(p: &Path, seed: u64, size: u64) -> Result<(), String> {
    let mut f = fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut left = size;
    let mut block = 0;
    while left > 0 {
        let n = left.min(MIB);
        f.write_all(&bytes(seed.wrapping_mul(1 << 20) + block, n as usize))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        left -= n;
        block += 1;
    }
    Ok(())
}

/// A file of the tree: path, size, mode, mtime (s, ns), owner if not root's.
type FileSpec = (&'static str, u64, u32, i64, i64, Option<(u32, u32)>);

/// The tree below `root` (made here): files of 0 B to `big_mib` MiB with
/// modes 0600, 0644, 0755, 4755 (one of them owned by another user, which a
/// chown after the chmod would strip of its set-id bit), directories 0700,
/// 0555, 1777 and one owned by another user, mtimes in the past, in the
/// future and with nanoseconds, symlinks relative, absolute, dangling, to a
/// directory and out of the tree, and a FIFO. Returns its entries' count.
pub(crate) fn build(root: &Path, big_mib: u64) -> Result<usize, String> {
    for d in ["d700/deep", "d555", "t1777", "owned"] {
        fs::create_dir_all(root.join(d)).map_err(|e| format!("{}: {e}", root.display()))?;
    }
    let (other, another) = (Some((4321, 4322)), Some((4325, 4326)));
    let mid = (9 * MIB).min(big_mib * MIB);
    let files: [FileSpec; 12] = [
        ("f600", 10, 0o600, 1_600_000_000, 123_456_789, None),
        ("f644", 1000, 0o644, 1_650_000_000, 500_000_000, None),
        ("f755", 20, 0o755, 1_500_000_000, 1, other),
        ("suid", 30, 0o4755, 1_400_000_000, 999_999_999, None),
        ("suid-owned", 40, 0o4755, 1_400_000_001, 100, other),
        ("empty", 0, 0o644, 315_532_800, 0, None),
        ("future", 5, 0o644, 4_102_444_800, 500_000_000, None),
        ("d555/in", 7, 0o444, 1_650_000_000, 42, None),
        ("t1777/note", 3, 0o666, 1_660_000_000, 3, another),
        ("d700/deep/mid", mid, 0o640, 1_610_000_000, 777, None),
        ("owned/big", big_mib * MIB, 0o644, 1_620_000_000, 987_654_321, another),
        ("owned/small", 64 << 10, 0o600, 1_620_000_001, 1, other),
    ];
    for (i, (name, size, mode, sec, nsec, owner)) in files.into_iter().enumerate() {
        let p = root.join(name);
        write_file(&p, i as u64 + 1, size)?;
        if let Some(o) = owner {
            own(&p, o)?;
        }
        chmod(&p, mode)?;
        stamp(&p, sec, nsec)?;
    }
    let links = [
        ("rel", "f600"),
        ("abs", "/etc/passwd"),
        ("dangling", "nowhere/at all"),
        ("todir", "d700"),
        ("d700/up", "../../outside"),
    ];
    for (i, (name, target)) in links.into_iter().enumerate() {
        let p = root.join(name);
        symlink(target, &p).map_err(|e| format!("{}: {e}", p.display()))?;
        if name == "abs" {
            own(&p, (4323, 4324))?;
        }
        stamp(&p, 1_300_000_000 + i as i64, 5)?;
    }
    let fifo = root.join("fifo");
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).map_err(|e| format!("mkfifo: {e}"))?;
    own(&fifo, (4327, 4328))?;
    chmod(&fifo, 0o640)?;
    stamp(&fifo, 1_200_000_000, 6)?;
    own(&root.join("owned"), (4325, 4326))?;
    // the directories last, deepest first: their contents are made
    for (d, mode, sec) in [
        ("d700/deep", 0o755, 1_000_000_001),
        ("d700", 0o700, 1_000_000_002),
        ("d555", 0o555, 1_000_000_003),
        ("t1777", 0o1777, 1_000_000_004),
        ("owned", 0o755, 1_000_000_005),
        ("", 0o750, 1_000_000_009),
    ] {
        let p = root.join(d);
        chmod(&p, mode)?;
        stamp(&p, sec, 11)?;
    }
    Ok(files.len() + links.len() + 1 + 6)
}

/// What `lstat` says of one entry, its link's target and its bytes' SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    kind: &'static str,
    mode: u32,
    mtime: (i64, i64),
    /// A directory's size is the file system's business: not compared.
    size: Option<u64>,
    owner: (u32, u32),
    target: Option<PathBuf>,
    sha: Option<Vec<u8>>,
    ctime: (i64, i64),
    ino: u64,
}

fn kind(ft: fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "file"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else {
        "device"
    }
}

fn time(t: (i64, i64)) -> String {
    format!("{}.{:09}", t.0, t.1)
}

impl Entry {
    /// What a faithful copy keeps, named, as text.
    fn kept(&self) -> [(&'static str, String); 7] {
        [
            ("type", self.kind.to_string()),
            ("mode", format!("{:04o}", self.mode)),
            ("mtime", time(self.mtime)),
            ("size", self.size.map_or("-".into(), |s| s.to_string())),
            ("owner", format!("{}:{}", self.owner.0, self.owner.1)),
            (
                "link target",
                self.target.as_ref().map_or("-".into(), |t| t.display().to_string()),
            ),
            (
                "SHA-256",
                self.sha.as_ref().map_or("-".into(), |s| {
                    s.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
                }),
            ),
        ]
    }

    /// What a run that moves nothing leaves as it was besides.
    fn stamps(&self) -> [(&'static str, String); 2] {
        [("ctime", time(self.ctime)), ("inode", self.ino.to_string())]
    }
}

/// Every entry below `root` by relative path, the root itself as ".".
pub(crate) fn seen(root: &Path) -> Result<BTreeMap<PathBuf, Entry>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::from(".")];
    while let Some(rel) = stack.pop() {
        let p = root.join(&rel);
        let m = fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let ft = m.file_type();
        if ft.is_dir() {
            for e in fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))? {
                let e = e.map_err(|e| format!("{}: {e}", p.display()))?;
                stack.push(rel.join(e.file_name()));
            }
        }
        let sha = if ft.is_file() {
            let mut f = fs::File::open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut h = Sha256::new();
            std::io::copy(&mut f, &mut h).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(h.finalize().to_vec())
        } else {
            None
        };
        let target = if ft.is_symlink() {
            Some(fs::read_link(&p).map_err(|e| format!("{}: {e}", p.display()))?)
        } else {
            None
        };
        let key = rel.strip_prefix(".").map(Path::to_path_buf).unwrap_or(rel);
        let key = if key.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            key
        };
        out.insert(
            key,
            Entry {
                kind: kind(ft),
                mode: m.mode() & 0o7777,
                mtime: (m.mtime(), m.mtime_nsec()),
                size: (!ft.is_dir()).then_some(m.len()),
                owner: (m.uid(), m.gid()),
                target,
                sha,
                ctime: (m.ctime(), m.ctime_nsec()),
                ino: m.ino(),
            },
        );
    }
    Ok(out)
}

/// Each field of each entry in which `a` (named `an`) and `b` (`bn`)
/// differ, and each entry only one holds; `stamps`: ctime and inode too.
pub(crate) fn differences(
    a: &BTreeMap<PathBuf, Entry>,
    an: &str,
    b: &BTreeMap<PathBuf, Entry>,
    bn: &str,
    stamps: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let (x, y) = match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => (x, y),
            (Some(_), None) => {
                out.push(format!("{}: in {an}, not in {bn}", k.display()));
                continue;
            }
            _ => {
                out.push(format!("{}: in {bn}, not in {an}", k.display()));
                continue;
            }
        };
        let mut fields: Vec<_> = x.kept().into_iter().zip(y.kept()).collect();
        if stamps {
            fields.extend(x.stamps().into_iter().zip(y.stamps()));
        }
        for ((field, u), (_, v)) in fields {
            if u != v {
                out.push(format!("{}: {field} {u} ({an}) ≠ {v} ({bn})", k.display()));
            }
        }
    }
    out
}
