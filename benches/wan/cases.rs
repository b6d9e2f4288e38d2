//! The cases of `benches/wan.rs` (see there): a big file, trees, a mirror
//! with nothing changed, and changed files brought over by `tf mirror` and
//! `rsync -a`; each returns its outcome in both directions.

use super::bed::{p, Bed};
use super::contest::{alternate, Case, Contender, Prep};
use super::settle::{clear_tree, prior_removals, MANY};
use crate::support::race::{check_big, clear, make_big, Tree, MIB};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

// ---------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------

/// A contender whose copy `to` is checked by `check` and removed after each run.
pub(crate) fn contender<'a>(
    key: &'static str,
    name: &str,
    is_tf: bool,
    to: PathBuf,
    check: impl Fn(&Path) -> Result<(), String> + 'a,
    mut make: impl FnMut(&Path) -> Result<Command, String> + 'a,
) -> Contender<'a> {
    let to2 = to.clone();
    Contender {
        key,
        name: name.to_string(),
        is_tf,
        prepare: Box::new(move || {
            clear(&to);
            make(&to)
        }),
        check: Box::new(move || {
            let r = check(&to2);
            clear(&to2);
            r
        }),
    }
}

/// A tree contender: every round lands in a directory of its own (`TO.1`,
/// `TO.2`, ...), each kept in `kept` until the case ends. Removing a 10,000-file
/// copy right before the next tool's run made that run pay for it: on an
/// ext4 without a journal (this machine's root, `--same-fs`) an inode freed
/// in the last 60 s is skipped by the allocator, so the next 10,000
/// creations scanned past it and rsync took 4.4–4.8 s instead of ~2 s. The
/// copies go when the case is over ([`clear_tree`]).
pub(crate) fn fresh_contender<'a>(
    key: &'static str,
    name: &str,
    is_tf: bool,
    to: PathBuf,
    kept: &'a RefCell<Vec<PathBuf>>,
    check: impl Fn(&Path) -> Result<(), String> + 'a,
    mut make: impl FnMut(&Path) -> Result<Command, String> + 'a,
) -> Contender<'a> {
    let now = Rc::new(RefCell::new(to.clone()));
    let now2 = now.clone();
    Contender {
        key,
        name: name.to_string(),
        is_tf,
        prepare: Box::new(move || {
            let mut round = kept.borrow().len() + 1;
            let at = loop {
                let at = PathBuf::from(format!("{}.{round}", to.display()));
                if !at.exists() {
                    break at;
                }
                round += 1;
            };
            kept.borrow_mut().push(at.clone());
            *now.borrow_mut() = at.clone();
            make(&at)
        }),
        check: Box::new(move || check(&now2.borrow())),
    }
}

/// A single big file up and down.
pub(crate) fn case_big(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let mib = b.o.sizes.big_mib;
    let local = b.dir.join("big.bin");
    make_big(&local, mib)?;
    let data = b.data();
    let ck = move |p: &Path| check_big(p, mib);
    let l = p(&local);
    let l = &l;
    println!("  [big] {mib} MiB up: tf put, tf put --streams 4, scp, sftp, rsync ...");
    let mut cs = vec![
        contender("tf", "tf put", true, data.join("tf.bin"), ck, |_| {
            b.tf(&["put", l, "tf.bin"])
        }),
        contender("tf4", "tf put --streams 4", true, data.join("tf4.bin"), ck, |_| {
            b.tf(&["put", "--streams", "4", l, "tf4.bin"])
        }),
        contender("scp", "scp", false, data.join("scp.bin"), ck, |to| {
            Ok(b.scp(l.clone(), b.remote(to)))
        }),
        contender("sftp", "sftp put", false, data.join("sftp.bin"), ck, |to| {
            b.sftp(&format!("put {l} {}", to.display()))
        }),
        contender("rsync", "rsync -a", false, data.join("rsync.bin"), ck, |to| {
            Ok(b.rsync(l.clone(), b.remote(to)))
        }),
    ];
    if let Some(base) = &b.o.baseline_tf {
        cs.push(contender(
            "tfbase",
            "baseline tf put",
            false,
            data.join("tfb.bin"),
            ck,
            move |_| b.tf_bin(base, &["put", l, "tfb.bin"]),
        ));
        cs.push(contender(
            "tf4base",
            "baseline tf put -s 4",
            false,
            data.join("tfb4.bin"),
            ck,
            move |_| b.tf_bin(base, &["put", "--streams", "4", l, "tfb4.bin"]),
        ));
    }
    let up = alternate(b, b.o.rounds, deadline, cs);
    let src = data.join("big.bin");
    fs::hard_link(&local, &src)
        .or_else(|_| fs::copy(&local, &src).map(|_| ()))
        .map_err(|e| format!("{}: {e}", src.display()))?;
    let s = p(&src);
    let s = &s;
    println!("  [big] {mib} MiB down: tf get, tf get --streams 4, scp, sftp, rsync ...");
    let d = &b.dir;
    let mut cs = vec![
        contender("tf", "tf get", true, d.join("tf.bin"), ck, |to| {
            b.tf(&["get", "big.bin", &p(to)])
        }),
        contender("tf4", "tf get --streams 4", true, d.join("tf4.bin"), ck, |to| {
            b.tf(&["get", "--streams", "4", "big.bin", &p(to)])
        }),
        contender("scp", "scp", false, d.join("scp.bin"), ck, |to| {
            Ok(b.scp(b.remote(&src), p(to)))
        }),
        contender("sftp", "sftp get", false, d.join("sftp.bin"), ck, |to| {
            b.sftp(&format!("get {s} {}", to.display()))
        }),
        contender("rsync", "rsync -a", false, d.join("rsync.bin"), ck, |to| {
            Ok(b.rsync(b.remote(&src), p(to)))
        }),
    ];
    if let Some(base) = &b.o.baseline_tf {
        cs.push(contender(
            "tfbase",
            "baseline tf get",
            false,
            d.join("tfb.bin"),
            ck,
            move |to| b.tf_bin(base, &["get", "big.bin", &p(to)]),
        ));
        cs.push(contender(
            "tf4base",
            "baseline tf get -s 4",
            false,
            d.join("tfb4.bin"),
            ck,
            move |to| b.tf_bin(base, &["get", "--streams", "4", "big.bin", &p(to)]),
        ));
    }
    let down = alternate(b, b.o.rounds, deadline, cs);
    let _ = fs::remove_file(&src);
    let _ = fs::remove_file(&local);
    let payload = Some(mib * MIB);
    Ok(vec![
        Case {
            key: "big_up".into(),
            what: format!("{mib} MiB up"),
            payload,
            stats: up,
        },
        Case {
            key: "big_down".into(),
            what: format!("{mib} MiB down"),
            payload,
            stats: down,
        },
    ])
}

/// A tree up with `tf put -r` and down with `tf get -r`, against rsync -a (and sftp).
pub(crate) fn case_tree(
    b: &Bed,
    deadline: Instant,
    key: &str,
    shape: (usize, usize, u64),
) -> Result<Vec<Case>, String> {
    let (files, dirs, size) = shape;
    if files >= MANY {
        prior_removals();
    }
    let tree = Tree::spec(files, dirs, |_| size);
    let tree = &tree;
    let local = b.dir.join(format!("{key}-src"));
    tree.make(&local)?;
    let data = b.data();
    let what = format!("{files} × {} KiB", size >> 10);
    let ck = move |p: &Path| tree.check(p).map(|_| ());
    let l = p(&local);
    let l = &l;
    let sftp = b.o.sftp_trees;
    println!(
        "  [{key}] {what} up: tf put -r, rsync -a{} ...",
        if sftp { ", sftp put -r" } else { "" }
    );
    let kept = RefCell::new(Vec::new());
    let kept = &kept;
    let mut cs = vec![
        fresh_contender("tf", "tf put -r", true, data.join("tf"), kept, ck, |to| {
            let rel = to
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            b.tf(&["put", "-r", &format!("{l}/"), &rel])
        }),
        fresh_contender("rsync", "rsync -a", false, data.join("rsync"), kept, ck, |to| {
            Ok(b.rsync(format!("{l}/"), format!("{}/", b.remote(to))))
        }),
    ];
    if sftp {
        cs.push(fresh_contender(
            "sftp",
            "sftp put -r",
            false,
            data.join("sftp"),
            kept,
            ck,
            |to| b.sftp(&format!("put -r {l} {}", to.display())),
        ));
    }
    if let Some(base) = &b.o.baseline_tf {
        cs.push(fresh_contender(
            "tfbase",
            "baseline tf put -r",
            false,
            data.join("tfb"),
            kept,
            ck,
            move |to| {
                let rel = to
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                b.tf_bin(base, &["put", "-r", &format!("{l}/"), &rel])
            },
        ));
    }
    let up = alternate(b, b.o.rounds, deadline, cs);
    let src = data.join(format!("{key}-src"));
    tree.make(&src)?;
    nix::unistd::sync();
    let s = p(&src);
    let s = &s;
    let rel = format!("{key}-src");
    let rel = &rel;
    println!(
        "  [{key}] {what} down: tf get -r, rsync -a{} ...",
        if sftp { ", sftp get -r" } else { "" }
    );
    let d = &b.dir;
    let mut cs = vec![
        fresh_contender("tf", "tf get -r", true, d.join("tf"), kept, ck, |to| {
            b.tf(&["get", "-r", &format!("{rel}/"), &p(to)])
        }),
        fresh_contender("rsync", "rsync -a", false, d.join("rsync"), kept, ck, |to| {
            Ok(b.rsync(format!("{}/", b.remote(&src)), format!("{}/", to.display())))
        }),
    ];
    if sftp {
        cs.push(fresh_contender(
            "sftp",
            "sftp get -r",
            false,
            d.join("sftp"),
            kept,
            ck,
            |to| b.sftp(&format!("get -r {s} {}", to.display())),
        ));
    }
    if let Some(base) = &b.o.baseline_tf {
        cs.push(fresh_contender(
            "tfbase",
            "baseline tf get -r",
            false,
            d.join("tfb"),
            kept,
            ck,
            move |to| b.tf_bin(base, &["get", "-r", &format!("{rel}/"), &p(to)]),
        ));
    }
    let down = alternate(b, b.o.rounds, deadline, cs);
    for d in kept.borrow().iter().chain([&src, &local]) {
        clear_tree(d);
    }
    Ok(vec![
        Case {
            key: format!("{key}_up"),
            what: format!("{what} up"),
            payload: None,
            stats: up,
        },
        Case {
            key: format!("{key}_down"),
            what: format!("{what} down"),
            payload: None,
            stats: down,
        },
    ])
}

/// Gives every file below `root` an mtime `secs` in the past.
fn backdate(root: &Path, secs: u64) -> Result<(), String> {
    let when = SystemTime::now() - Duration::from_secs(secs);
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                fs::File::options()
                    .write(true)
                    .open(&p)
                    .and_then(|f| f.set_modified(when))
                    .map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// `cp -a SRC DST`: the same sizes and times, so a mirror sees nothing to do.
fn cp_a(src: &Path, dst: &Path) -> Result<(), String> {
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .map_err(|e| format!("cp: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("cp -a {} {}: {st}", src.display(), dst.display()))
    }
}

/// A mirror contender that must find nothing to do: the destination keeps
/// its files (same inodes) and its tree.
fn unchanged<'a>(
    key: &'static str,
    name: &str,
    tree: &'a Tree,
    dst: PathBuf,
    mut make: impl FnMut() -> Result<Command, String> + 'a,
) -> Contender<'a> {
    let dst2 = dst.clone();
    let before = std::rc::Rc::new(std::cell::RefCell::new(Default::default()));
    let before2 = before.clone();
    Contender {
        key,
        name: name.to_string(),
        is_tf: key.starts_with("tf"),
        prepare: Box::new(move || {
            nix::unistd::sync();
            *before.borrow_mut() = tree.check(&dst)?;
            make()
        }),
        check: Box::new(move || {
            let now = tree.check(&dst2)?;
            let n = now.iter().filter(|(p, i)| before2.borrow().get(*p) != Some(*i)).count();
            if n > 0 {
                println!("    {name2}: replaced {n} unchanged file(s)", name2 = dst2.display());
            }
            Ok(())
        }),
    }
}

pub(crate) fn case_mirror(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let (files, dirs) = b.o.sizes.mirror;
    let tree = Tree::spec(files, dirs, |i| 1 + (i as u64 * 7919) % 8192);
    let tree = &tree;
    let data = b.data();
    let local = b.dir.join("msrc");
    tree.make(&local)?;
    // files as a backup finds them, not written this second: a file whose
    // copy landed within a second of its mtime is compared by SHA-256 (the
    // racy rule, tree::sync), which a tree made just now would make every
    // file of, and neither side of a real no-op mirror
    backdate(&local, 3600)?;
    let remote_src = data.join("msrc");
    let (tf_up, rs_up, tf_down, rs_down) = (
        data.join("m-tf"),
        data.join("m-rsync"),
        b.dir.join("m-tf"),
        b.dir.join("m-rsync"),
    );
    for d in [&remote_src, &tf_up, &rs_up, &tf_down, &rs_down] {
        cp_a(&local, d)?;
    }
    nix::unistd::sync();
    let l = p(&local);
    let (l, tu, ru, td, rd, rs) = (&l, &tf_up, &rs_up, &tf_down, &rs_down, &remote_src);
    println!("  [mirror] {files} files, nothing changed, up: tf mirror -R, rsync -a ...");
    let up = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            unchanged("tf", "tf mirror -R", tree, tu.clone(), || {
                b.tf(&["mirror", "-R", l, "m-tf"])
            }),
            unchanged("rsync", "rsync -a", tree, ru.clone(), || {
                Ok(b.rsync(format!("{l}/"), format!("{}/", b.remote(ru))))
            }),
        ],
    );
    println!("  [mirror] {files} files, nothing changed, down: tf mirror, rsync -a ...");
    let down = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            unchanged("tf", "tf mirror", tree, td.clone(), || {
                b.tf(&["mirror", "msrc", &p(td)])
            }),
            unchanged("rsync", "rsync -a", tree, rd.clone(), || {
                Ok(b.rsync(format!("{}/", b.remote(rs)), format!("{}/", rd.display())))
            }),
        ],
    );
    for d in [&local, &remote_src, &tf_up, &rs_up, &tf_down, &rs_down] {
        clear_tree(d);
    }
    Ok(vec![
        Case {
            key: "mirror_up".into(),
            what: format!("mirror {files} unchanged, up"),
            payload: None,
            stats: up,
        },
        Case {
            key: "mirror_down".into(),
            what: format!("mirror {files} unchanged, down"),
            payload: None,
            stats: down,
        },
    ])
}

/// `mib` MiB of distinct bytes (no two blocks alike, so a delta finds only
/// what is really the same).
fn make_random(path: &Path, mib: u64) -> Result<(), String> {
    let mut f = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for i in 0..mib {
        f.write_all(&crate::support::race::bytes(0x5eed_0000 + i, MIB as usize))
            .map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())
}

fn sha256_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut f = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| e.to_string())?;
    Ok(h.finalize().to_vec())
}

/// The file `name` at `dir`: the old version, an hour older than the new one.
fn reset_old(old: &Path, dir: &Path, name: &str) -> Result<(), String> {
    clear(dir);
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let to = dir.join(name);
    fs::copy(old, &to).map_err(|e| format!("{}: {e}", to.display()))?;
    let f = fs::File::options().write(true).open(&to).map_err(|e| e.to_string())?;
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    nix::unistd::sync();
    Ok(())
}

/// A contender of [`case_changed`]: each round starts from the old version at
/// `dir`; the copy must be the new one (`want`: its SHA-256).
fn changed_contender<'a>(
    key: &'static str,
    name: &str,
    is_tf: bool,
    dir: PathBuf,
    old: &'a Path,
    want: &'a [u8],
    mut make: Prep<'a>,
) -> Contender<'a> {
    let dir2 = dir.clone();
    Contender {
        key,
        name: name.to_string(),
        is_tf,
        prepare: Box::new(move || {
            reset_old(old, &dir, "f.bin")?;
            make()
        }),
        check: Box::new(move || {
            let got = sha256_file(&dir2.join("f.bin"))?;
            let r = if got == want {
                Ok(())
            } else {
                Err("the copy's SHA-256 is not the new version's".to_string())
            };
            clear(&dir2);
            r
        }),
    }
}

/// A changed file brought over by `tf mirror [-R]` and `rsync -a` in both
/// directions: `edit` makes the new version from the old one.
fn case_changed(
    b: &Bed,
    deadline: Instant,
    key: &str,
    what: &str,
    mib: u64,
    edit: &dyn Fn(&mut Vec<u8>),
) -> Result<Vec<Case>, String> {
    let data = b.data();
    let old = b.dir.join(format!("{key}-old.bin"));
    make_random(&old, mib)?;
    let mut bytes = fs::read(&old).map_err(|e| e.to_string())?;
    edit(&mut bytes);
    let want = Sha256::digest(&bytes).to_vec();
    // the new version: in a directory of its own on each side, newer
    let (lnew, rnew) = (b.dir.join(format!("{key}-new")), data.join(format!("{key}-new")));
    for d in [&lnew, &rnew] {
        fs::create_dir_all(d).map_err(|e| e.to_string())?;
        fs::write(d.join("f.bin"), &bytes).map_err(|e| e.to_string())?;
    }
    drop(bytes);
    nix::unistd::sync();
    let want = &want;
    let old = &old;
    let mk = |k, name, is_tf, dir, make| changed_contender(k, name, is_tf, dir, old, want, make);
    let (ln, rn) = (p(&lnew), p(&rnew));
    let (ln, rn) = (&ln, &rn);
    let (tu, ru) = (format!("{key}-tf"), data.join(format!("{key}-rsync")));
    let tu = &tu;
    let ru2 = ru.clone();
    println!("  [{key}] {what} up: tf mirror -R, rsync -a ...");
    let up = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            mk(
                "tf",
                "tf mirror -R",
                true,
                data.join(tu),
                Box::new(move || b.tf(&["mirror", "-R", ln, tu])),
            ),
            mk(
                "rsync",
                "rsync -a",
                false,
                ru,
                Box::new(move || Ok(b.rsync(format!("{ln}/"), format!("{}/", b.remote(&ru2))))),
            ),
        ],
    );
    let (td, rd) = (b.dir.join(format!("{key}-tf")), b.dir.join(format!("{key}-rsync")));
    let (td2, rd2) = (td.clone(), rd.clone());
    let rel = format!("{key}-new");
    let rel = &rel;
    println!("  [{key}] {what} down: tf mirror, rsync -a ...");
    let down = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            mk(
                "tf",
                "tf mirror",
                true,
                td,
                Box::new(move || b.tf(&["mirror", rel, &p(&td2)])),
            ),
            mk(
                "rsync",
                "rsync -a",
                false,
                rd,
                Box::new(move || Ok(b.rsync(format!("{}/", b.remote(Path::new(rn))), format!("{}/", rd2.display())))),
            ),
        ],
    );
    for d in [&lnew, &rnew] {
        clear(d);
    }
    clear(old);
    Ok(vec![
        Case {
            key: format!("{key}_up"),
            what: format!("{what}, up"),
            payload: None,
            stats: up,
        },
        Case {
            key: format!("{key}_down"),
            what: format!("{what}, down"),
            payload: None,
            stats: down,
        },
    ])
}

/// Different bytes for an edit.
fn scribble(b: &mut [u8]) {
    for x in b.iter_mut() {
        *x = !*x ^ 0x5a;
    }
}

pub(crate) fn cases_delta(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let s = &b.o.sizes;
    let (mib, rw, ins) = (s.delta_mib, s.rewrite, s.insert as usize);
    let mut out = case_changed(
        b,
        deadline,
        "rewrite",
        &format!("{mib} MiB, {} KiB rewritten in place", rw >> 10),
        mib,
        &|v| {
            let at = v.len() / 3;
            let end = (at + rw as usize).min(v.len());
            scribble(&mut v[at..end]);
        },
    )?;
    if Instant::now() < deadline {
        out.extend(case_changed(
            b,
            deadline,
            "insert",
            &format!("{mib} MiB, {} KiB inserted at the front", ins >> 10),
            mib,
            &|v| {
                let front: Vec<u8> = crate::support::race::bytes(0x1a5e, ins);
                v.splice(0..0, front);
            },
        )?);
    }
    Ok(out)
}

pub(crate) fn cases_edits(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let mib = b.o.sizes.edits_mib;
    case_changed(
        b,
        deadline,
        "edits",
        &format!("{mib} MiB, 10 scattered 4 KiB edits"),
        mib,
        &|v| {
            let n = v.len();
            for i in 0..10 {
                let at = (n / 10) * i + (n / 37) % (n / 10).max(1);
                let end = (at + 4096).min(n);
                scribble(&mut v[at..end]);
            }
        },
    )
}

/// A contender of the `ops` case: a command that moves (almost) nothing,
/// checked by what it printed (`b.dir/cmd.out`, see `timed`) holding `want`.
fn small_op<'a>(
    b: &'a Bed,
    key: &'static str,
    name: &str,
    want: &'a str,
    make: impl FnMut() -> Result<Command, String> + 'a,
) -> Contender<'a> {
    let out = b.dir.join("cmd.out");
    Contender {
        key,
        name: name.to_string(),
        is_tf: key == "tf",
        prepare: Box::new(make),
        check: Box::new(move || {
            let got = fs::read_to_string(&out).map_err(|e| e.to_string())?;
            if got.contains(want) {
                Ok(())
            } else {
                Err(format!(
                    "printed {:?}, not {want:?}",
                    got.chars().take(200).collect::<String>()
                ))
            }
        }),
    }
}

/// Small operations, where the connection's round trips are the whole cost:
/// `tf echo` against `ssh HOST true`, and `tf ls` of a directory of ten
/// files against one `ls` through `sftp`; with `--baseline-tf`, the other tf
/// beside them (a before/after of the handshake).
pub(crate) fn case_ops(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let remote = b.data().join("ops");
    fs::create_dir_all(&remote).map_err(|e| e.to_string())?;
    for i in 0..10 {
        fs::write(remote.join(format!("f{i}.txt")), format!("{i}\n")).map_err(|e| e.to_string())?;
    }
    let r = &p(&remote);
    println!("  [ops] tf echo, ssh true ...");
    let mut cs = vec![
        small_op(b, "tf", "tf echo", "hi", || b.tf(&["echo", "hi"])),
        small_op(b, "ssh", "ssh true", "", || Ok(b.ssh("true"))),
    ];
    if let Some(base) = &b.o.baseline_tf {
        cs.push(small_op(b, "tfbase", "baseline tf echo", "hi", move || {
            b.tf_bin(base, &["echo", "hi"])
        }));
    }
    let echo = alternate(b, b.o.rounds, deadline, cs);
    println!("  [ops] tf ls, sftp ls ...");
    let mut cs = vec![
        small_op(b, "tf", "tf ls", "f9.txt", || b.tf(&["ls", "ops"])),
        small_op(b, "sftp", "sftp ls", "f9.txt", || b.sftp(&format!("ls {r}"))),
    ];
    if let Some(base) = &b.o.baseline_tf {
        cs.push(small_op(b, "tfbase", "baseline tf ls", "f9.txt", move || {
            b.tf_bin(base, &["ls", "ops"])
        }));
    }
    let ls = alternate(b, b.o.rounds, deadline, cs);
    clear(&remote);
    Ok(vec![
        Case {
            key: "ops_echo".into(),
            what: "echo (one command)".into(),
            payload: None,
            stats: echo,
        },
        Case {
            key: "ops_ls".into(),
            what: "ls of 10 files".into(),
            payload: None,
            stats: ls,
        },
    ])
}
