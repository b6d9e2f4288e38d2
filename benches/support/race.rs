//! What the benches that time whole commands share (`tools`, `wan`): a command
//! timed from spawn to exit with a limit, why a contender has no figure, and the
//! trees and big files they copy, with the checks that a copy is right, so a
//! failing command cannot look fast.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1 << 20;

/// Why a contender has no figure.
#[derive(Clone)]
pub enum Failure {
    /// `tf` has no such command (yet): the target is skipped.
    Missing(String),
    /// The command failed, or its copy was wrong.
    Broken(String),
}

/// True when tf's error says the command or one of its options does not exist:
/// tf answers an unknown command, an unknown option and a wrong argument count
/// with status 1 and one of these.
pub fn says_missing(stderr: &str) -> bool {
    let e = stderr.to_lowercase();
    [
        "unknown command",
        "unknown option",
        "needs a source and a destination",
        "usage:",
    ]
    .iter()
    .any(|m| e.contains(m))
}

/// Runs `cmd` with its output in files of `dir` and returns its wall time in
/// seconds (spawn to exit); killed after `limit`.
pub fn timed(cmd: &mut Command, dir: &Path, what: &str, is_tf: bool, limit: Duration) -> Result<f64, Failure> {
    let broken = |e: String| Failure::Broken(format!("{what}: {e}"));
    let out = fs::File::create(dir.join("cmd.out")).map_err(|e| broken(e.to_string()))?;
    let err = fs::File::create(dir.join("cmd.err")).map_err(|e| broken(e.to_string()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let t = Instant::now();
    let mut child = cmd.spawn().map_err(|e| broken(format!("cannot start: {e}")))?;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, finished) = mpsc::channel::<()>();
    let dog = thread::spawn(move || {
        let late = finished.recv_timeout(limit).is_err();
        if late {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        late
    });
    let status = child.wait();
    let secs = t.elapsed().as_secs_f64();
    let _ = done.send(());
    let killed = dog.join().unwrap_or(false);
    let status = status.map_err(|e| broken(e.to_string()))?;
    if killed {
        return Err(broken(format!("killed after {} s", limit.as_secs())));
    }
    if status.success() {
        return Ok(secs);
    }
    let stderr = fs::read_to_string(dir.join("cmd.err")).unwrap_or_default();
    let stderr = stderr.trim();
    if is_tf && status.code() == Some(1) && says_missing(stderr) {
        return Err(Failure::Missing(stderr.lines().next().unwrap_or("").to_string()));
    }
    let mut text: String = stderr.chars().take(800).collect();
    if text.is_empty() {
        text = fs::read_to_string(dir.join("cmd.out"))
            .unwrap_or_default()
            .chars()
            .take(800)
            .collect();
    }
    Err(broken(format!("{status}: {text}")))
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Deterministic, distinct bytes for each file (`seed`).
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// What a tree holds, to check a copy against.
pub struct Tree {
    /// relative path → size
    pub files: BTreeMap<PathBuf, u64>,
    /// one file's relative path and SHA-256
    pub probe: (PathBuf, Vec<u8>),
}

impl Tree {
    /// `files` files spread over `dirs` directories, sizes from `size(i)`.
    pub fn spec(files: usize, dirs: usize, size: impl Fn(usize) -> u64) -> Tree {
        let files: BTreeMap<PathBuf, u64> = (0..files)
            .map(|i| (PathBuf::from(format!("d{:02}/f{i:04}.bin", i % dirs)), size(i)))
            .collect();
        let last = files.keys().last().cloned().unwrap_or_default();
        let seed = files.keys().position(|p| *p == last).unwrap_or(0) as u64;
        let sha = Sha256::digest(bytes(seed, files[&last] as usize)).to_vec();
        Tree {
            files,
            probe: (last, sha),
        }
    }

    pub fn total(&self) -> u64 {
        self.files.values().sum()
    }

    /// Writes the tree under `root` (made here).
    pub fn make(&self, root: &Path) -> Result<(), String> {
        for (i, (rel, size)) in self.files.iter().enumerate() {
            let p = root.join(rel);
            if let Some(d) = p.parent() {
                fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
            fs::write(&p, bytes(i as u64, *size as usize)).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    }

    /// Every file under `root`, relative, with its size and inode.
    pub fn walk(root: &Path) -> Result<BTreeMap<PathBuf, (u64, u64)>, String> {
        let mut found = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
                let e = e.map_err(|e| e.to_string())?;
                let m = fs::symlink_metadata(e.path()).map_err(|e| e.to_string())?;
                if m.is_dir() {
                    stack.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(root).map_err(|e| e.to_string())?.to_path_buf();
                    found.insert(rel, (m.len(), m.ino()));
                }
            }
        }
        Ok(found)
    }

    /// The copy at `root` has exactly these files and sizes, and the probe file
    /// its bytes; returns the files' inodes.
    pub fn check(&self, root: &Path) -> Result<BTreeMap<PathBuf, u64>, String> {
        let found = Tree::walk(root)?;
        if found.len() != self.files.len() {
            return Err(format!(
                "{}: {} files, expected {}",
                root.display(),
                found.len(),
                self.files.len()
            ));
        }
        for (rel, size) in &self.files {
            match found.get(rel) {
                Some((s, _)) if s == size => {}
                Some((s, _)) => return Err(format!("{}: {s} bytes, expected {size}", rel.display())),
                None => return Err(format!("{}: missing in {}", rel.display(), root.display())),
            }
        }
        let (rel, sha) = &self.probe;
        let got = fs::read(root.join(rel)).map_err(|e| format!("{}: {e}", rel.display()))?;
        if Sha256::digest(&got).as_slice() != sha.as_slice() {
            return Err(format!("{}: SHA-256 differs from the source's", rel.display()));
        }
        Ok(found.into_iter().map(|(p, (_, ino))| (p, ino)).collect())
    }
}

/// Removes a file or a tree (absent is fine) and flushes the disk, so one run's
/// writeback does not land in the next one's time.
pub fn clear(path: &Path) {
    if path.is_dir() {
        let _ = fs::remove_dir_all(path);
    } else {
        let _ = fs::remove_file(path);
    }
    nix::unistd::sync();
}

/// The big file's block `i` of 1 MiB: one pattern with the block's index in its
/// first 8 bytes, so a block out of place shows.
pub fn big_block(pattern: &[u8], i: u64) -> Vec<u8> {
    let mut b = pattern.to_vec();
    b[..8].copy_from_slice(&i.to_le_bytes());
    b
}

pub fn make_big(path: &Path, mib: u64) -> Result<(), String> {
    let pattern = bytes(0xb16, MIB as usize);
    let mut f = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for i in 0..mib {
        f.write_all(&big_block(&pattern, i)).map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())
}

/// A copy of the big file: its size, and its first, middle and last blocks.
pub fn check_big(path: &Path, mib: u64) -> Result<(), String> {
    let pattern = bytes(0xb16, MIB as usize);
    let mut f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    if len != mib * MIB {
        return Err(format!("{}: {len} bytes, expected {}", path.display(), mib * MIB));
    }
    let mut got = vec![0u8; MIB as usize];
    for i in [0, mib / 2, mib - 1] {
        f.seek(SeekFrom::Start(i * MIB)).map_err(|e| e.to_string())?;
        f.read_exact(&mut got).map_err(|e| e.to_string())?;
        if got != big_block(&pattern, i) {
            return Err(format!("{}: block {i} differs from the source's", path.display()));
        }
    }
    Ok(())
}
