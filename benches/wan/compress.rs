//! The compression cases of `benches/wan.rs` (issue 62): what compresses,
//! against `rsync -a` and `rsync -az` (zstd, what a user on a WAN types):
//! - `log`: web-server log lines made with a fixed seed (`--big-mib`, 64 MiB),
//!   up and down: tf as it decides by itself, the same with `--streams 4`
//!   (tfd's staged upload, where compression is wired today), `-z` and
//!   `--no-compress`, rsync -a and rsync -az;
//! - `pytree`: the machine's own Python standard library, copied without
//!   `__pycache__`, symlinks and the third-party packages installed into
//!   it ([`THIRD_PARTY`]), `put -r`/`get -r` as tf decides by itself
//!   and with `--no-compress` (auto must never cost time where the link is
//!   not the bottleneck), against rsync -a and -az, and beside them the
//!   tree's floor on the link (`benches/wan/bare.rs`: the tree as one
//!   zstd -9 stream over a bare TCP connection).
//!
//! The bytes each command put on the link are reported beside its time by
//! the bench itself (the interface counters of the clients' end).

use super::bare;
use super::bed::{p, Bed};
use super::cases::contender;
use super::contest::{alternate, Case};
use super::settle::clear_tree;
use crate::support::race::MIB;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The log's seed: every run compresses the same bytes.
const SEED: u64 = 0x627a_7374_6400;

/// `mib` MiB of combined-format log lines from a xorshift stream seeded
/// with [`SEED`]: addresses, times, paths, statuses and sizes vary as a real
/// server's do, so zstd finds about what it finds in one (~5x at level 3).
fn make_log(path: &Path, mib: u64) -> Result<(), String> {
    const PATHS: [&str; 12] = [
        "/",
        "/index.html",
        "/static/app.js",
        "/static/site.css",
        "/api/v1/items",
        "/api/v1/login",
        "/img/logo.png",
        "/favicon.ico",
        "/search",
        "/docs/guide/install",
        "/feed.xml",
        "/robots.txt",
    ];
    const AGENTS: [&str; 4] = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
        "curl/8.5.0",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
    ];
    let mut x = SEED;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let want = (mib * MIB) as usize;
    let mut out = Vec::with_capacity(want + 512);
    let mut t = 1_700_000_000u64;
    while out.len() < want {
        let r = next();
        t += r % 3;
        let (status, size) = match r >> 60 {
            0 => (404, 153),
            1 => (304, 0),
            2 => (500, 0),
            _ => (200, (r >> 20) % 90_000),
        };
        writeln!(
            out,
            "{}.{}.{}.{} - - [{}] \"GET {}?id={} HTTP/1.1\" {status} {size} \"-\" \"{}\"",
            10 + (r & 0x3f),
            (r >> 8) & 0xff,
            (r >> 16) & 0xff,
            (r >> 24) & 0xff,
            t,
            PATHS[((r >> 32) % 12) as usize],
            (r >> 36) % 5000,
            AGENTS[((r >> 50) % 4) as usize]
        )
        .map_err(|e| e.to_string())?;
    }
    out.truncate(want);
    fs::write(path, &out).map_err(|e| format!("{}: {e}", path.display()))
}

/// SHA-256 of a file, hex.
fn sha(path: &Path) -> Result<String, String> {
    let data = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect())
}

/// A check that a copy's digest (by `digest`) is `want`.
fn is<'a>(want: &'a str, digest: fn(&Path) -> Result<String, String>) -> impl Fn(&Path) -> Result<(), String> + 'a {
    move |p| match digest(p)? {
        h if h == want => Ok(()),
        _ => Err(format!("{}: not the source", p.display())),
    }
}

/// The log up and down.
pub(crate) fn case_log(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let mib = b.o.sizes.big_mib;
    let local = b.dir.join("access.log");
    make_log(&local, mib)?;
    let want = sha(&local)?;
    let want = want.as_str();
    let l = p(&local);
    let l = &l;
    let data = b.data();
    println!("  [log] {mib} MiB of log up: tf put (auto, --streams 4, -z, --no-compress alone and -s 4), rsync -a, rsync -az ...");
    let up = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            contender("tf", "tf put", true, data.join("tf.log"), is(want, sha), |_| {
                b.tf(&["put", l, "tf.log"])
            }),
            contender(
                "tf4",
                "tf put --streams 4",
                true,
                data.join("tf4.log"),
                is(want, sha),
                |_| b.tf(&["put", "--streams", "4", l, "tf4.log"]),
            ),
            contender(
                "tfz",
                "tf put -z --streams 4",
                true,
                data.join("tfz.log"),
                is(want, sha),
                |_| b.tf(&["put", "-z", "--streams", "4", l, "tfz.log"]),
            ),
            contender(
                "tfn1",
                "tf put --no-compress",
                true,
                data.join("tfn1.log"),
                is(want, sha),
                |_| b.tf(&["put", "--no-compress", l, "tfn1.log"]),
            ),
            contender(
                "tfnz",
                "tf put --no-compress -s 4",
                true,
                data.join("tfnz.log"),
                is(want, sha),
                |_| b.tf(&["put", "--no-compress", "--streams", "4", l, "tfnz.log"]),
            ),
            contender(
                "rsync",
                "rsync -a",
                false,
                data.join("rsync.log"),
                is(want, sha),
                |to| Ok(b.rsync_with(&[], l.clone(), b.remote(to))),
            ),
            contender(
                "rsyncz",
                "rsync -az",
                false,
                data.join("rsyncz.log"),
                is(want, sha),
                |to| Ok(b.rsync_with(&["-z"], l.clone(), b.remote(to))),
            ),
        ],
    );
    let src = data.join("access.log");
    fs::copy(&local, &src).map_err(|e| format!("{}: {e}", src.display()))?;
    let d = &b.dir;
    println!(
        "  [log] {mib} MiB of log down: tf get (auto, --no-compress), tf get --streams 4, rsync -a, rsync -az ..."
    );
    let down = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            contender("tf", "tf get", true, d.join("tf.log"), is(want, sha), |to| {
                b.tf(&["get", "access.log", &p(to)])
            }),
            contender(
                "tfnz",
                "tf get --no-compress",
                true,
                d.join("tfnz.log"),
                is(want, sha),
                |to| b.tf(&["get", "--no-compress", "access.log", &p(to)]),
            ),
            contender(
                "tf4",
                "tf get --streams 4",
                true,
                d.join("tf4.log"),
                is(want, sha),
                |to| b.tf(&["get", "--streams", "4", "access.log", &p(to)]),
            ),
            contender("rsync", "rsync -a", false, d.join("rsync.log"), is(want, sha), |to| {
                Ok(b.rsync_with(&[], b.remote(&src), p(to)))
            }),
            contender(
                "rsyncz",
                "rsync -az",
                false,
                d.join("rsyncz.log"),
                is(want, sha),
                |to| Ok(b.rsync_with(&["-z"], b.remote(&src), p(to))),
            ),
        ],
    );
    let _ = fs::remove_file(&src);
    let _ = fs::remove_file(&local);
    let payload = Some(mib * MIB);
    Ok(vec![
        Case {
            key: "log_up".into(),
            what: format!("{mib} MiB log up"),
            payload,
            stats: up,
        },
        Case {
            key: "log_down".into(),
            what: format!("{mib} MiB log down"),
            payload,
            stats: down,
        },
    ])
}

/// The Python standard library's directory, as the machine's python3 says.
pub(crate) fn stdlib() -> Result<PathBuf, String> {
    let o = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if !o.status.success() || dir.is_empty() {
        return Err("python3 did not name its standard library".into());
    }
    Ok(PathBuf::from(dir))
}

/// The directories of a Python's standard library that hold the packages
/// installed into it, not the library: a pyenv Python keeps its
/// `site-packages` there (on this machine 28,665 files, 234 MB beside the
/// library's 2,450 files, 103 MB), a distribution's Python elsewhere, so
/// the case was one tree on one machine and another elsewhere.
const THIRD_PARTY: [&str; 2] = ["site-packages", "dist-packages"];

/// Copies the regular files and directories of `from` into `to`, without
/// `__pycache__`, [`THIRD_PARTY`] at its top, symlinks or anything else, at
/// most `most` files (0: all): (files, directories below `to`, bytes). The
/// directories are told because a tree's directories cost on the wire too
/// (issue 62).
pub(crate) fn copy_tree(from: &Path, to: &Path, most: usize) -> Result<(usize, usize, u64), String> {
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    let (mut files, mut dirs, mut bytes) = (0usize, 0usize, 0u64);
    while let Some((src, dst)) = stack.pop() {
        fs::create_dir_all(&dst).map_err(|e| format!("{}: {e}", dst.display()))?;
        dirs += usize::from(dst != to);
        let mut entries: Vec<_> = fs::read_dir(&src)
            .map_err(|e| format!("{}: {e}", src.display()))?
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(kind) = e.file_type() else { continue };
            let name = e.file_name();
            let installed = src == from && THIRD_PARTY.iter().any(|t| name == *t);
            if kind.is_dir() && name != "__pycache__" && !installed {
                stack.push((e.path(), dst.join(&name)));
            } else if kind.is_file() && (most == 0 || files < most) {
                bytes += fs::copy(e.path(), dst.join(&name)).map_err(|e| e.to_string())?;
                files += 1;
            }
        }
    }
    Ok((files, dirs, bytes))
}

/// Every file below `root`, by relative path, with its SHA-256: one digest.
pub(crate) fn tree_digest(root: &Path) -> Result<String, String> {
    let mut all = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).map_err(|e| e.to_string())?.to_path_buf();
                all.push((rel, sha(&path)?));
            }
        }
    }
    all.sort();
    let mut h = Sha256::new();
    for (rel, s) in all {
        h.update(rel.to_string_lossy().as_bytes());
        h.update(s.as_bytes());
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The Python standard library up and down.
pub(crate) fn case_pytree(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let local = b.dir.join("pylib");
    let (files, dirs, bytes) = copy_tree(&stdlib()?, &local, b.o.sizes.pytree_most)?;
    let want = tree_digest(&local)?;
    let want = want.as_str();
    let what = format!(
        "Python stdlib, {files} files in {dirs} directories, {:.1} MB",
        bytes as f64 / 1e6
    );
    let zst = b.dir.join("pylib.tar.zst");
    let floor_bytes = bare::squeeze_tree(&local, &zst)?;
    let l = p(&local);
    let l = &l;
    let data = b.data();
    println!(
        "  [pytree] {what} up: tf put -r (auto, --no-compress), rsync -a, rsync -az, \
         the floor ({:.2} MB: one tar, zstd -9) ...",
        floor_bytes as f64 / 1e6
    );
    let up = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            contender(
                "tf",
                "tf put -r",
                true,
                data.join("pytf"),
                is(want, tree_digest),
                |_| b.tf(&["put", "-r", &format!("{l}/"), "pytf"]),
            ),
            contender(
                "tfnz",
                "tf put -r --no-compress",
                true,
                data.join("pytfnz"),
                is(want, tree_digest),
                |_| b.tf(&["put", "-r", "--no-compress", &format!("{l}/"), "pytfnz"]),
            ),
            contender(
                "rsync",
                "rsync -a",
                false,
                data.join("pyrsync"),
                is(want, tree_digest),
                |to| Ok(b.rsync_with(&[], format!("{l}/"), format!("{}/", b.remote(to)))),
            ),
            contender(
                "rsyncz",
                "rsync -az",
                false,
                data.join("pyrsyncz"),
                is(want, tree_digest),
                |to| Ok(b.rsync_with(&["-z"], format!("{l}/"), format!("{}/", b.remote(to)))),
            ),
            bare::contender(b, zst.clone(), b.dir.join("floor.up"), true),
        ],
    );
    let src = data.join("pylib-src");
    copy_tree(&local, &src, 0)?;
    let d = &b.dir;
    println!("  [pytree] {what} down: tf get -r (auto, --no-compress), rsync -a, rsync -az, the floor ...");
    let down = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            contender("tf", "tf get -r", true, d.join("pytf"), is(want, tree_digest), |to| {
                b.tf(&["get", "-r", "pylib-src/", &p(to)])
            }),
            contender(
                "tfnz",
                "tf get -r --no-compress",
                true,
                d.join("pytfnz"),
                is(want, tree_digest),
                |to| b.tf(&["get", "-r", "--no-compress", "pylib-src/", &p(to)]),
            ),
            contender(
                "rsync",
                "rsync -a",
                false,
                d.join("pyrsync"),
                is(want, tree_digest),
                |to| Ok(b.rsync_with(&[], format!("{}/", b.remote(&src)), format!("{}/", to.display()))),
            ),
            contender(
                "rsyncz",
                "rsync -az",
                false,
                d.join("pyrsyncz"),
                is(want, tree_digest),
                |to| Ok(b.rsync_with(&["-z"], format!("{}/", b.remote(&src)), format!("{}/", to.display()))),
            ),
            bare::contender(b, zst.clone(), b.dir.join("floor.down"), false),
        ],
    );
    let _ = fs::remove_file(&zst);
    clear_tree(&src);
    clear_tree(&local);
    Ok(vec![
        Case {
            key: "pytree_up".into(),
            what: format!("{what} up"),
            payload: None,
            stats: up,
        },
        Case {
            key: "pytree_down".into(),
            what: format!("{what} down"),
            payload: None,
            stats: down,
        },
    ])
}
