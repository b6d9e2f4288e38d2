//! Downloads land whole or not at all, and `--resume` continues only what it
//! can prove (issue 30, the download direction), through the real `tf` and a
//! real `tfd`, checked byte for byte on disk: resume never splices what is
//! already at the target, an interrupted `get` (also with `--streams`) keeps
//! a journaled partial that a later `--resume` finishes byte-identical, a
//! tampered partial or a changed remote file is moved again, single-file
//! downloads keep only the announced size, a full local disk is named as
//! such, and Ctrl-C in `tf shell` returns to the prompt with the directory
//! kept.

use crate::output::stderr;

use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::liar::{Liar, Lie, Script};
use tfd_testkit::*;

pub(crate) fn sha(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

pub(crate) fn names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A server that sends at most `rate` bytes a second per session, so a
/// transfer can be interrupted part way.
fn slow_server(rate: &str) -> Server {
    Server::start_with(&format!("rate_limit_session {rate}\n"))
}

fn signal(pid: u32, sig: i32) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

fn spawn(srv: &Server, args: &[&str]) -> Child {
    srv.tf_command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` (at most 120 s) and returns its output.
fn finish(child: Child) -> Output {
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let guard = std::thread::spawn(move || {
        let t0 = Instant::now();
        while !d.load(std::sync::atomic::Ordering::Relaxed) {
            if t0.elapsed() > Duration::from_secs(120) {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let o = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    guard.join().unwrap();
    o
}

/// Where tf keeps the partial download of `target` and its journal (the
/// on-disk contract, spelled out here rather than taken from the library).
fn paths_for(target: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let name = target.file_name().unwrap().to_string_lossy();
    let dir = target.parent().unwrap();
    (
        dir.join(format!(".{name}.tf-partial")),
        dir.join(format!(".{name}.tf-partial.journal")),
    )
}

/// The journal's ranges: (start, end, done).
fn journal_ranges(journal: &Path) -> Vec<(u64, u64, u64)> {
    let text = fs::read_to_string(journal).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("range "))
        .map(|l| {
            let f: Vec<u64> = l.split(' ').take(3).map(|x| x.parse().unwrap()).collect();
            (f[0], f[1], f[2])
        })
        .collect()
}

/// Waits until a hidden temporary of `target` (its partial, or any
/// `.NAME…` beside it) holds at least `n` bytes.
fn wait_partial(target: &Path, n: u64) {
    let name = format!(".{}", target.file_name().unwrap().to_string_lossy());
    let dir = target.parent().unwrap();
    let t0 = Instant::now();
    loop {
        let most = fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&name))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        if most >= n {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no temporary of {target:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resume_never_splices_what_is_already_at_the_target() {
    let srv = Server::start();
    let here = tempdir("resume_splice");
    fs::write(srv.path("v.txt"), b"AAAAAAAAAA\n").unwrap();
    let v = here.join("v.txt");
    for old in [
        &b"BBBBB"[..],
        &b"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"[..],
        &b"AAAAAAAAAA\n"[..],
    ] {
        fs::write(&v, old).unwrap();
        let o = srv.tf(&["get", "v.txt", v.to_str().unwrap(), "--resume"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            fs::read(&v).unwrap(),
            b"AAAAAAAAAA\n",
            "local was {old:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("no partial download of it was recorded"),
            "says what it did: {}",
            stderr(&o)
        );
        assert_eq!(names(&here), ["v.txt"], "nothing left beside it");
    }
    // no target at all: a whole download, said so
    fs::remove_file(&v).unwrap();
    let o = srv.tf(&["get", "v.txt", v.to_str().unwrap(), "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(&v).unwrap(), b"AAAAAAAAAA\n");
}

/// Waits until the journal of `target`'s partial records `n` bytes landed.
fn wait_journal(target: &Path, n: u64) {
    let (_, journal) = paths_for(target);
    let t0 = Instant::now();
    while journal_ranges(&journal).iter().map(|r| r.2).sum::<u64>() < n {
        assert!(t0.elapsed() < Duration::from_secs(30), "no journal at {journal:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Interrupts `get ARGS` once its journal records 1 MiB; the target keeps its
/// old bytes, the partial and its journal stay, and stderr says how to go on.
pub(crate) fn interrupt_get(srv: &Server, target: &Path, old: &[u8], extra: &[&str], sig: i32) -> Output {
    fs::write(target, old).unwrap();
    let mut args = vec!["get", "big.bin", target.to_str().unwrap()];
    args.extend_from_slice(extra);
    let child = spawn(srv, &args);
    wait_journal(target, 1 << 20);
    signal(child.id(), sig);
    let o = finish(child);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read(target).unwrap(), old, "{extra:?}: the target changed");
    let (data, journal) = paths_for(target);
    assert!(
        data.exists() && journal.exists(),
        "{extra:?}: partial kept: {}",
        stderr(&o)
    );
    o
}

#[test]
fn an_interrupted_get_keeps_its_partial_and_resume_finishes_it() {
    // slow enough that four streams of 3 MiB each are still moving when the
    // journal first records their progress (after a second): the streams'
    // hash keeps up with them, so nothing is left to do at the end, and at
    // 4 MB/s the download was often complete before the signal came
    let srv = slow_server("2M");
    let here = tempdir("resume_int");
    let big = pattern(12 << 20, 30);
    fs::write(srv.path("big.bin"), &big).unwrap();
    let t = here.join("big.bin");
    for extra in [&[][..], &["--streams", "2"][..], &["--streams", "4"][..]] {
        let o = interrupt_get(&srv, &t, b"old", extra, 2);
        assert!(
            stderr(&o).contains("--resume"),
            "{extra:?}: says how to resume: {}",
            stderr(&o)
        );
        // the resume continues (no --streams: the journal's ranges are finished one by one)
        let o = srv.tf(&["get", "big.bin", t.to_str().unwrap(), "--resume"]);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("resuming"), "{extra:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("verified"),
            "{extra:?}: checked end to end: {}",
            stderr(&o)
        );
        assert_eq!(sha(&fs::read(&t).unwrap()), sha(&big), "{extra:?}: byte-identical");
        assert_eq!(names(&here), ["big.bin"], "{extra:?}: partial gone");
    }
}

#[test]
fn a_tampered_partial_or_a_changed_remote_file_is_moved_again() {
    let srv = slow_server("4M");
    let here = tempdir("resume_tamper");
    let big = pattern(10 << 20, 31);
    fs::write(srv.path("big.bin"), &big).unwrap();
    let t = here.join("big.bin");
    let (data, _) = paths_for(&t);
    // a hole punched into what the journal recorded
    interrupt_get(&srv, &t, b"old", &["--streams", "2"], 9);
    let (_, journal) = paths_for(&t);
    let r = *journal_ranges(&journal).iter().find(|r| r.2 >= 4096).unwrap();
    let f = fs::OpenOptions::new().write(true).open(&data).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &[0u8; 4096], r.0).unwrap();
    drop(f);
    let o = srv.tf(&["get", "big.bin", t.to_str().unwrap(), "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no longer match"), "{}", stderr(&o));
    assert_eq!(sha(&fs::read(&t).unwrap()), sha(&big));
    // the remote file replaced since the partial was recorded
    interrupt_get(&srv, &t, b"old", &[], 9);
    let newer = pattern(10 << 20, 32);
    fs::write(srv.path("big.bin"), &newer).unwrap();
    let when = std::time::SystemTime::now() + Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(srv.path("big.bin"))
        .unwrap()
        .set_modified(when)
        .unwrap();
    let o = srv.tf(&["get", "big.bin", t.to_str().unwrap(), "--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("changed since"), "{}", stderr(&o));
    assert_eq!(sha(&fs::read(&t).unwrap()), sha(&newer));
    assert_eq!(names(&here), ["big.bin"]);
}

#[test]
fn single_file_downloads_keep_only_the_announced_size() {
    let liar = Liar::start(Script::new().file("a.txt", b"hello\n").lie(Lie::Extra {
        path: "a.txt".into(),
        extra: 3 << 20,
    }));
    let here = tempdir("resume_liar");
    let t = here.join("a.txt");
    for cmd in ["get", "rcvfile"] {
        fs::write(&t, b"old").unwrap();
        let o = liar.tf_command(&[cmd, "a.txt", t.to_str().unwrap()]).output().unwrap();
        assert_ne!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("announced"), "{cmd}: {}", stderr(&o));
        assert_eq!(fs::read(&t).unwrap(), b"old", "{cmd}");
        let left: Vec<String> = names(&here).into_iter().filter(|n| !n.ends_with(".journal")).collect();
        for n in &left {
            let len = fs::metadata(here.join(n)).unwrap().len();
            assert!(len <= 6, "{cmd}: {n} holds {len} bytes, 6 were announced");
        }
    }
}

#[test]
fn a_full_local_disk_is_named_and_the_target_kept() {
    assert!(is_root(), "this test needs root to mount a tmpfs");
    let srv = Server::start();
    let here = tempdir("resume_full");
    let mnt = here.join("small");
    fs::create_dir(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("mount(8) is needed for this test");
    assert!(st.success(), "mount tmpfs");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(self.0).status();
        }
    }
    let _u = Unmount(&mnt);
    fs::write(srv.path("big.bin"), pattern(3 << 20, 33)).unwrap();
    let t = mnt.join("big.bin");
    let old = pattern(512 << 10, 34);
    for extra in [&[][..], &["--streams", "2"][..]] {
        fs::write(&t, &old).unwrap();
        let mut args = vec!["get", "big.bin", t.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = srv.tf(&args);
        assert_ne!(o.status.code(), Some(0), "{extra:?}");
        assert!(
            stderr(&o).contains("the local disk is full"),
            "{extra:?}: {}",
            stderr(&o)
        );
        assert_eq!(fs::read(&t).unwrap(), old, "{extra:?}: target kept");
        let (data, journal) = paths_for(&t);
        let _ = fs::remove_file(data);
        let _ = fs::remove_file(journal);
    }
}

#[test]
fn ctrl_c_in_the_shell_stops_the_command_and_keeps_the_session() {
    let srv = slow_server("2M");
    fs::create_dir(srv.path("d")).unwrap();
    fs::write(srv.path("d/big.bin"), pattern(16 << 20, 35)).unwrap();
    fs::write(srv.path("d/small.txt"), b"small\n").unwrap();
    let here = tempdir("resume_shell");
    let t = here.join("big.bin");
    let mut child = srv
        .tf_command(&["shell"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "cd d").unwrap();
    writeln!(stdin, "get big.bin {}", t.display()).unwrap();
    stdin.flush().unwrap();
    wait_partial(&t, 1 << 20);
    signal(child.id(), 2);
    std::thread::sleep(Duration::from_millis(500));
    writeln!(stdin, "pwd").unwrap();
    writeln!(stdin, "get small.txt {}", here.join("small.txt").display()).unwrap();
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let o = finish(child);
    assert!(out.contains("/d"), "pwd after Ctrl-C: {out:?} {}", stderr(&o));
    assert_eq!(fs::read(here.join("small.txt")).unwrap(), b"small\n", "{}", stderr(&o));
    assert!(!t.exists(), "the interrupted download left no target");
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    // tf closed the connection itself: it blames neither the server nor the
    // stream (issue 65: it said the server ended the session)
    for blame in ["server closed", "ended the session", "truncated", "close record"] {
        assert!(!stderr(&o).contains(blame), "{blame:?}: {}", stderr(&o));
    }
}

/// Sets `p`'s mtime to `secs` since the epoch.
fn set_mtime(p: &Path, secs: u64) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn mtime_secs(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(p).unwrap().mtime() as u64
}

#[test]
fn mirror_never_misses_an_edit_made_in_the_same_second() {
    let srv = Server::start();
    let here = tempdir("resume_racy");
    // the download direction: the server's file edited in the second of the last run
    fs::create_dir(srv.path("src")).unwrap();
    fs::write(srv.path("src/f.txt"), b"one\n").unwrap();
    let dst = here.join("dst");
    let o = srv.tf(&["mirror", "src", dst.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(dst.join("f.txt")).unwrap(), b"one\n");
    let m = mtime_secs(&srv.path("src/f.txt"));
    fs::write(srv.path("src/f.txt"), b"two\n").unwrap();
    set_mtime(&srv.path("src/f.txt"), m);
    let o = srv.tf(&["mirror", "src", dst.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(dst.join("f.txt")).unwrap(), b"two\n", "mirror missed the edit");
    // the upload direction (-R): the local file edited in the second it was sent
    let up = here.join("up");
    fs::create_dir(&up).unwrap();
    fs::write(up.join("g.txt"), b"one\n").unwrap();
    let o = srv.tf(&["mirror", "-R", up.to_str().unwrap(), "dst"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // (tfd keeps the local mtime, so "the same second" is the file's own:
    // an edit in the second it was written and sent leaves the mtime as it was)
    let written = mtime_secs(&up.join("g.txt"));
    fs::write(up.join("g.txt"), b"two\n").unwrap();
    set_mtime(&up.join("g.txt"), written);
    let o = srv.tf(&["mirror", "-R", up.to_str().unwrap(), "dst"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read(srv.path("dst/g.txt")).unwrap(),
        b"two\n",
        "mirror -R missed the edit"
    );
}
