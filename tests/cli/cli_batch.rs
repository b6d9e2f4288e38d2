//! Trees up in one exchange per session (TFDPUTMANY, doc/compatibility.md
//! "Batch uploads"), through the real tf and tfp-client against a real tfd:
//! a file edited while it is sent is never committed mixed; modes and mtimes
//! kept by `put -r -p` and `mirror -R`; the batch and the per-file path give
//! the same files; a hostile client's batches fail file by file (or end its
//! session) and touch nothing outside the root; SIGKILL mid-batch leaves every
//! file old or new.

use crate::interrupted::{kill_midway, temporaries};
use crate::output::text;
use crate::trees::inventory;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};
use tfd_testkit::*;
use tfp_client::engine::events::{Events, Fault};
use tfp_client::tree::options::Options;
use tfp_client::tree::{copy, copy_down};
use tfp_wire::Status;

const MIB: usize = 1 << 20;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A file edited while `tf mirror -R` sends it (the server's rate limit
/// makes the send last seconds) is not committed: the old remote file
/// stays whole, the run names the file and fails, and the next run sends
/// the new version. On the old code SNDFILE committed the mix of both
/// versions and the run exited 0.
#[test]
fn a_file_edited_while_mirror_sends_it_is_not_committed_mixed() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_batch_edit");
    let local = here.join("local");
    fs::create_dir_all(&local).unwrap();
    let old = pattern(24 * MIB, 1);
    fs::create_dir_all(srv.path("r")).unwrap();
    fs::write(srv.path("r/big.bin"), &old).unwrap();
    // an old version: not the same second as the local file's
    set_times(&srv.path("r/big.bin"), 86_400, 0o644);
    fs::write(local.join("big.bin"), pattern(24 * MIB, 2)).unwrap();
    fs::write(local.join("small.txt"), b"small").unwrap();
    let child = srv
        .tf_command(&["mirror", "-R", s(&local), "r"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // the last 2 MiB, not yet read at 4 MiB/s (socket buffers hold a few MiB)
    {
        use std::os::unix::fs::FileExt;
        let f = fs::File::options().write(true).open(local.join("big.bin")).unwrap();
        f.write_all_at(&pattern(2 * MIB, 3), 22 * MIB as u64).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "the run must fail: {}", text(&o));
    assert!(
        text(&o).contains("big.bin") && text(&o).contains("changed while it was read"),
        "{}",
        text(&o)
    );
    let got = fs::read(srv.path("r/big.bin")).unwrap();
    assert!(got == old, "the remote file is not the old one whole");
    assert_eq!(fs::read(srv.path("r/small.txt")).unwrap(), b"small");
    // the next run sends the new version
    let o = srv.tf(&["mirror", "-R", s(&local), "r"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        fs::read(srv.path("r/big.bin")).unwrap(),
        fs::read(local.join("big.bin")).unwrap()
    );
    assert!(temporaries(&srv.data).is_empty());
    let _ = fs::remove_dir_all(&here);
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn mtime(p: &Path) -> i64 {
    fs::metadata(p).unwrap().mtime()
}

fn set_times(p: &Path, secs_ago: u64, m: u32) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// `put -r -p` and `mirror -R` keep each file's mode (an executable bit)
/// and mtime on the server; `put -r` without `-p` keeps neither, as cp -r.
/// On the old code mirror -R gave every file its arrival time and 0644.
#[test]
fn modes_and_mtimes_are_kept_by_put_p_and_mirror() {
    let srv = Server::start();
    let here = tempdir("cli_batch_modes");
    let src = here.join("src");
    fs::create_dir_all(src.join("bin")).unwrap();
    fs::write(src.join("bin/run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::write(src.join("notes.txt"), pattern(5000, 4)).unwrap();
    set_times(&src.join("bin/run.sh"), 86_400 * 30, 0o755);
    set_times(&src.join("notes.txt"), 86_400 * 400, 0o640);
    // put -r of src/: its contents in DEST, as mirror -R puts them
    let contents = format!("{}/", s(&src));
    for (args, dest, kept) in [
        (vec!["put", "-r", "-p", &contents], "p", true),
        (vec!["put", "-r", &contents], "plain", false),
        (vec!["mirror", "-R", s(&src)], "m", true),
    ] {
        let mut a = args.clone();
        a.push(dest);
        let o = srv.tf(&a);
        assert!(o.status.success(), "{a:?}: {}", text(&o));
        let base = srv.path(dest);
        for f in ["bin/run.sh", "notes.txt"] {
            let (l, r) = (src.join(f), base.join(f));
            assert_eq!(fs::read(&l).unwrap(), fs::read(&r).unwrap(), "{a:?} {f}");
            assert_eq!(mode(&l) == mode(&r) && mtime(&l) == mtime(&r), kept, "{a:?} {f}");
        }
    }
    // a second mirror moves nothing: same size and same mtime
    let o = srv.tf(&["mirror", "-R", s(&src), "m"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("mirror: 0 transferred"), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

struct Quiet;

impl Events for Quiet {
    fn failed(&self, _: Fault, msg: &str) {
        eprintln!("{msg}");
    }
}

/// The same tree put through batches and through the per-file path (the
/// client told the server has none) lands the same files byte for byte; the
/// server's log shows which path each took.
#[test]
fn batches_and_the_per_file_path_give_the_same_files() {
    let srv = Server::start();
    let here = tempdir("cli_batch_same");
    let src = here.join("src");
    for i in 0..60 {
        let p = src.join(format!("d{}/f{i}.bin", i % 5));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, pattern(i * 997 + (i % 3) * 300_000, i as u64)).unwrap();
    }
    fs::write(src.join("empty"), b"").unwrap();
    let cfg = srv.client_config();
    let o = Options {
        contents: true,
        jobs: 3,
        ..Options::default()
    };
    let mut c = srv.client();
    let r = copy::put(&mut c, &cfg, &[s(&src).to_string()], "batched", &o, &Quiet).unwrap();
    assert!(r.ok() && r.transferred == 61, "{r:?}");
    assert!(srv.log().contains("TFDPUTMANY stored"), "no batch:\n{}", srv.log());
    drop(c);
    let mut c = srv.client();
    c.without_batches();
    let before = srv.log().matches("TFDPUTMANY stored").count();
    let r = copy::put(&mut c, &cfg, &[s(&src).to_string()], "single", &o, &Quiet).unwrap();
    assert!(r.ok() && r.transferred == 61, "{r:?}");
    assert_eq!(
        srv.log().matches("TFDPUTMANY stored").count(),
        before,
        "a batch was sent"
    );
    drop(c);
    let want = inventory(&src);
    assert_eq!(inventory(&srv.path("batched")), want);
    assert_eq!(inventory(&srv.path("single")), want);
    // and down: TFDGETMANY, then the engine file by file
    let mut c = srv.client();
    let r = copy_down::get(
        &mut c,
        &cfg,
        &["batched".to_string()],
        s(&here.join("down1")),
        &o,
        &Quiet,
    )
    .unwrap();
    assert!(r.ok() && r.transferred == 61, "{r:?}");
    drop(c);
    let log = srv.settled_log();
    assert!(log.contains("TFDGETMANY sent 2"), "no batch:\n{log}");
    let before = log.matches("TFDGETMANY sent").count();
    let mut c = srv.client();
    c.without_batches();
    let r = copy_down::get(
        &mut c,
        &cfg,
        &["batched".to_string()],
        s(&here.join("down2")),
        &o,
        &Quiet,
    )
    .unwrap();
    assert!(r.ok() && r.transferred == 61, "{r:?}");
    drop(c);
    assert_eq!(
        srv.settled_log().matches("TFDGETMANY sent").count(),
        before,
        "a batch was sent"
    );
    assert_eq!(inventory(&here.join("down1")), want);
    assert_eq!(inventory(&here.join("down2")), want);
    // the server's mtimes, as the engine gives them
    let m = |p: &Path| fs::metadata(p.join("d1/f1.bin")).unwrap().mtime();
    assert_eq!(m(&here.join("down1")), m(&srv.path("batched")));
    let _ = fs::remove_dir_all(&here);
}

/// SIGKILL of `tf get -r` in the middle of a batch download leaves every
/// local file its old version or the new one byte for byte, and the re-run
/// ends with the tree identical.
#[test]
fn a_batch_download_killed_midway_leaves_old_or_new_files_and_the_rerun_completes() {
    killed_batch_download("cli_batch_kill_down", 24, (300_000, 700_000), 1);
}

/// The same with 90 files of long names a session: each session's files go
/// in pipelined parts (8 KiB of paths, 58 files, then the other 32), the
/// paths written by a thread of their own while the answers are read; killed
/// once a session is into its second part.
#[test]
fn a_batch_download_killed_in_its_later_parts_leaves_old_or_new_files() {
    killed_batch_download("cli_batch_kill_parts", 180, (20_000, 100_000), 120);
}

/// `files` files of `sizes` (old, new) bytes; tf killed once `landed` are new.
fn killed_batch_download(name: &str, files: u64, sizes: (usize, usize), landed: usize) {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir(name);
    let local = here.join("local");
    fs::create_dir_all(local.join("src")).unwrap();
    fs::create_dir_all(srv.path("src")).unwrap();
    let mut olds = Vec::new();
    for i in 0..files {
        // long names when there are many: a session's paths past one part
        let name = format!(
            "f{i:03}{}.bin",
            if files > 100 { "-".repeat(120) } else { String::new() }
        );
        let old = pattern(sizes.0, 100 + i);
        fs::write(local.join("src").join(&name), &old).unwrap();
        fs::write(srv.path("src").join(&name), pattern(sizes.1, 1000 + i)).unwrap();
        olds.push((name, old));
    }
    let mut child = srv
        .tf_command(&["get", "-r", "--jobs", "2", "src", s(&local)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while olds
        .iter()
        .filter(|(n, old)| fs::read(local.join("src").join(n)).unwrap() != *old)
        .count()
        < landed
    {
        assert!(Instant::now() < deadline, "not enough landed:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    let (mut new_n, mut old_n) = (0, 0);
    for (n, old) in &olds {
        let got = fs::read(local.join("src").join(n)).unwrap();
        if got == *old {
            old_n += 1;
        } else {
            assert_eq!(
                got,
                fs::read(srv.path("src").join(n)).unwrap(),
                "{n} is neither old nor new"
            );
            new_n += 1;
        }
    }
    assert!(
        new_n > 0 && old_n > 0,
        "killed too late or too early: {new_n} new, {old_n} old"
    );
    let o = srv.tf(&["get", "-r", "src", s(&local)]);
    assert!(o.status.success(), "{}", text(&o));
    // the partial the kill left is replaced; nothing else is there
    assert_eq!(inventory(&local.join("src")), inventory(&srv.path("src")));
    let _ = fs::remove_dir_all(&here);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// One file of a hand-made batch: header, data frames, trailer.
fn send(c: &mut tfp_client::Client, path: &[u8], data: &[u8], trailer: &[u8]) {
    c.chan
        .tx
        .send_frame_parts(&[format!("F {} 3 755 1000000000 ", data.len()).as_bytes(), path])
        .unwrap();
    if !data.is_empty() {
        c.chan.tx.send_frame(data).unwrap();
    }
    c.chan.tx.send_frame(trailer).unwrap();
}

fn good(data: &[u8]) -> Vec<u8> {
    format!("S {}", hex(&Sha256::digest(data))).into_bytes()
}

/// A hostile client's batches: a path with `..`, through a symlink planted on
/// the server, with an over-long name, a hash that does not match, an abort:
/// each FAILED on its own (the rest of the batch stored), nothing outside the
/// root touched, the old targets whole. Too many files, a header that does
/// not parse and a size that lies are answered FAILED and end the session,
/// the target intact and no temporary left.
#[test]
fn a_hostile_clients_batches_fail_and_touch_nothing_else() {
    let srv = Server::start();
    let outside = tempdir("cli_batch_outside");
    fs::write(outside.join("victim"), b"outside").unwrap();
    std::os::unix::fs::symlink(&outside, srv.path("link")).unwrap();
    fs::write(srv.path("old.txt"), b"old contents").unwrap();
    let mut c = srv.client();
    for arg in ["100001", "x", ""] {
        match c.call("TFDPUTMANY", arg.as_bytes()).unwrap() {
            Status::Failed(..) => {}
            st => panic!("TFDPUTMANY {arg}: {st:?}"),
        }
    }
    assert!(matches!(c.call("TFDPUTMANY", b"0").unwrap(), Status::Ok(_)));
    assert!(matches!(c.call("TFDPUTMANY", b"7").unwrap(), Status::Ok(_)));
    let long = vec![b'n'; 300];
    let new = b"new contents".to_vec();
    send(&mut c, b"../escape", b"x", &good(b"x"));
    send(&mut c, b"link/victim", b"pwned", &good(b"pwned"));
    send(&mut c, &long, b"x", &good(b"x"));
    send(&mut c, b"old.txt", &new, &good(b"something else"));
    send(&mut c, b"old.txt", &new, b"A");
    send(&mut c, b"fine.txt", &new, &good(&new));
    send(&mut c, b"empty.txt", b"", &good(b""));
    c.chan.tx.send_frame(b"E").unwrap();
    let head = c.chan.rx.recv_frame().unwrap();
    assert_eq!(head, b"OK 2 5", "{}", String::from_utf8_lossy(&head));
    let mut codes = Vec::new();
    for _ in 0..5 {
        let f = String::from_utf8(c.chan.rx.recv_frame().unwrap()).unwrap();
        let mut it = f.split(' ');
        codes.push((it.next().unwrap().to_string(), it.next().unwrap().to_string()));
    }
    let idx: Vec<&str> = codes.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(idx, ["0", "1", "2", "3", "4"]);
    assert_eq!(codes[0].1, "1", "an escape is FAILED 1");
    assert_eq!(codes[3].1, "3", "a wrong hash is FAILED 3");
    // the session goes on
    assert!(matches!(c.call("FSTAT", b"fine.txt").unwrap(), Status::Ok(_)));
    assert_eq!(fs::read(srv.path("fine.txt")).unwrap(), new);
    assert_eq!(mode(&srv.path("fine.txt")), 0o755);
    assert_eq!(mtime(&srv.path("fine.txt")), 1_000_000_000);
    assert_eq!(fs::read(srv.path("empty.txt")).unwrap(), b"");
    assert_eq!(fs::read(srv.path("old.txt")).unwrap(), b"old contents");
    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"outside");
    assert_eq!(dir_names(&outside), ["victim"]);
    assert!(!srv.data.parent().unwrap().join("escape").exists());
    // out of step: each ends the session with FAILED, nothing committed
    type Step = fn(&mut tfp_client::Client);
    let steps: [(&str, Step); 3] = [
        ("a header that does not parse", |c| {
            c.chan.tx.send_frame(b"F lots 0 644 0 old.txt").unwrap();
        }),
        ("a size that lies", |c| {
            c.chan.tx.send_frame(b"F 3 0 644 0 old.txt").unwrap();
            c.chan.tx.send_frame(b"more than three").unwrap();
            // the server may have ended the session before these are written
            let _ = c.chan.tx.send_frame(&good(b"more than three"));
            let _ = c.chan.tx.send_frame(b"E");
        }),
        ("more files than announced", |c| {
            send(c, b"one.txt", b"abc", &good(b"abc"));
            // the server may have ended the session before this one is written
            let _ = c.chan.tx.send_frame(b"F 3 0 644 0 old.txt");
        }),
    ];
    for (what, step) in steps {
        let mut c = srv.client();
        assert!(matches!(c.call("TFDPUTMANY", b"1").unwrap(), Status::Ok(_)));
        step(&mut c);
        match Status::parse(&c.chan.rx.recv_frame().unwrap()) {
            Status::Failed(..) => {}
            st => panic!("{what}: {st:?}"),
        }
        assert!(c.chan.rx.recv_frame().is_err(), "{what}: the session goes on");
        assert_eq!(fs::read(srv.path("old.txt")).unwrap(), b"old contents", "{what}");
    }
    assert!(temporaries(&srv.data).is_empty());
    let _ = fs::remove_dir_all(&outside);
}

/// SIGKILL of `tf put -r` in the middle of a batch leaves every remote file
/// its old version or its new one byte for byte, no temporary in sight, and
/// the re-run ends with the tree identical.
#[test]
fn a_batch_killed_midway_leaves_old_or_new_files_and_the_rerun_completes() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_batch_kill");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(srv.path("dst/src")).unwrap();
    let mut olds = Vec::new();
    for i in 0..24 {
        let name = format!("f{i:02}.bin");
        let old = pattern(300_000, 100 + i);
        fs::write(srv.path("dst/src").join(&name), &old).unwrap();
        fs::write(src.join(&name), pattern(700_000, 200 + i)).unwrap();
        olds.push((name, old));
    }
    let child = srv
        .tf_command(&["put", "-r", "--jobs", "2", s(&src), "dst"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    kill_midway(&srv, child, &srv.path("dst/src"), &src, &olds);
    let o = srv.tf(&["put", "-r", s(&src), "dst"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(inventory(&srv.path("dst/src")), inventory(&src));
    let _ = fs::remove_dir_all(&here);
}

/// Executable bits survive `put -r -p` then `get -r -p` (issue 42: they came
/// back 0644), for files of a batch and for a file big enough to go through
/// the engine; a set-id bit on the server never lands here; without `-p` a
/// download gets the umask's mode, as cp -r. On the old code get -r -p gave
/// every file 0644.
#[test]
fn modes_round_trip_with_put_p_and_get_p() {
    let srv = Server::start();
    let here = tempdir("cli_batch_modes_rt");
    let src = here.join("src");
    fs::create_dir_all(src.join("bin")).unwrap();
    fs::write(src.join("bin/run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::write(src.join("notes.txt"), pattern(5000, 4)).unwrap();
    fs::write(src.join("bin/big.bin"), pattern(9 * MIB, 5)).unwrap();
    fs::set_permissions(src.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(src.join("notes.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(src.join("bin/big.bin"), fs::Permissions::from_mode(0o750)).unwrap();
    let o = srv.tf(&["put", "-r", "-p", &format!("{}/", s(&src)), "t"]);
    assert!(o.status.success(), "{}", text(&o));
    // a set-id bit on the server is never copied by -p alone, even as root:
    // it comes only with the source's owner (-a, --owner; issue 82), as
    // sftp's get -p never keeps it
    fs::set_permissions(srv.path("t/bin/run.sh"), fs::Permissions::from_mode(0o4755)).unwrap();
    let back = here.join("back");
    let o = srv.tf(&["get", "-r", "-p", "t/", s(&back)]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(mode(&back.join("bin/run.sh")), 0o755);
    assert_eq!(mode(&back.join("notes.txt")), 0o640);
    assert_eq!(mode(&back.join("bin/big.bin")), 0o750);
    assert_eq!(inventory(&back), inventory(&src));
    let plain = here.join("plain");
    let o = srv.tf(&["get", "-r", "t/", s(&plain)]);
    assert!(o.status.success(), "{}", text(&o));
    // a plain get keeps the source's permission bits less the umask, as cp
    // does (issue 61: a script stays executable, a private file private)
    assert_eq!(mode(&plain.join("bin/run.sh")), 0o755 & !umask());
    assert_eq!(mode(&plain.join("bin/big.bin")), 0o750 & !umask());
    assert_eq!(mode(&plain.join("notes.txt")), 0o640 & !umask());
    let _ = fs::remove_dir_all(&here);
}

/// The process's umask, read from /proc (umask(2) would change it).
fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap()
}

/// `tf mirror` down fetches changed whole files in download batches, as
/// `get -r` does (issue 42: it went file by file, a round trip each over a
/// WAN): the server's transfer log holds TFDGETMANY and no transfer of one
/// of the files; the copies are byte for byte.
#[test]
fn mirror_down_fetches_changed_files_in_batches() {
    let log = tempdir("mirrorbatchlog").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let dir = srv.path("tree");
    fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..20u64 {
        let p = if i % 2 == 0 {
            dir.join(format!("f{i}.bin"))
        } else {
            dir.join(format!("sub/f{i}.bin"))
        };
        fs::write(p, pattern(1000 + i as usize * 37, i)).unwrap();
    }
    let here = tempdir("mirrorbatch");
    let dst = here.join("copy");
    let o = srv.tf(&["mirror", "tree", s(&dst)]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(inventory(&dir), inventory(&dst), "the copy is the tree");
    let batches = crate::xferlog::moved(&log, "/", 0);
    assert!(
        batches.iter().any(|m| m.0 == "TFDGETMANY"),
        "the files came in a batch: {batches:?}"
    );
    let single = crate::xferlog::moved(&log, "/tree/f0.bin", 0);
    assert!(single.is_empty(), "no file came on its own: {single:?}");
    let _ = fs::remove_dir_all(&here);
}

/// A batch download makes each directory as its first file lands (not all
/// before the first batch): an empty one is still made, and one that
/// cannot be (a local file holds its name) is told once, with what is below
/// it, and keeps no file of it while the rest of the tree lands.
#[test]
fn a_batch_download_makes_its_directories_as_the_files_land() {
    let srv = Server::start();
    let here = tempdir("cli_batch_dirs");
    let t = srv.path("t");
    for d in ["d0", "d1", "d1/sub", "empty", "d2/deep/er"] {
        fs::create_dir_all(t.join(d)).unwrap();
    }
    for i in 0..10 {
        fs::write(t.join(format!("d0/f{i}")), pattern(100 + i, i as u64)).unwrap();
        fs::write(t.join(format!("d1/f{i}")), pattern(200 + i, i as u64)).unwrap();
    }
    fs::write(t.join("d1/sub/g"), b"g").unwrap();
    fs::write(t.join("d2/deep/er/h"), b"h").unwrap();
    fs::write(t.join("top.bin"), b"top").unwrap();
    let down = here.join("down");
    fs::create_dir_all(&down).unwrap();
    fs::write(down.join("d1"), b"mine").unwrap();
    let o = Options {
        contents: true,
        jobs: 3,
        ..Options::default()
    };
    let mut c = srv.client();
    let r = copy_down::get(&mut c, &srv.client_config(), &["t".to_string()], s(&down), &o, &Quiet).unwrap();
    srv.wait_log("TFDGETMANY sent");
    // d0's ten, d2/deep/er/h and top.bin; d1 and d1/sub told, nothing of them kept
    assert_eq!((r.transferred, r.local, r.refused), (12, 2, 0), "{r:?}");
    assert_eq!(fs::read(down.join("d1")).unwrap(), b"mine");
    assert!(down.join("empty").is_dir());
    assert_eq!(fs::read(down.join("d2/deep/er/h")).unwrap(), b"h");
    for i in 0..10 {
        assert_eq!(
            fs::read(down.join(format!("d0/f{i}"))).unwrap(),
            pattern(100 + i, i as u64)
        );
    }
    let mut left = Vec::new();
    for e in fs::read_dir(&down).unwrap().flatten() {
        left.push(e.file_name().to_string_lossy().into_owned());
    }
    left.sort();
    assert_eq!(left, ["d0", "d1", "d2", "empty", "top.bin"]);
    let _ = fs::remove_dir_all(&here);
}

/// `TFDGETMANY <n> <max> p` sends a file of at most 64 KiB in one frame,
/// `f <size> <mode> <mtime> `, its bytes and its SHA-256 raw; a bigger one,
/// and every file of a batch without `p` (an older tf), in the long form.
#[test]
fn a_packed_download_batch_sends_small_files_in_one_frame() {
    let srv = Server::start();
    let small = pattern(1000, 7);
    let big = pattern((64 << 10) + 1, 8);
    fs::write(srv.path("small"), &small).unwrap();
    fs::write(srv.path("big"), &big).unwrap();
    let mtime = fs::metadata(srv.path("small")).unwrap().mtime();
    let mut c = srv.client();
    for packed in [true, false] {
        let line: &[u8] = if packed {
            b"TFDGETMANY 2 1000000 p"
        } else {
            b"TFDGETMANY 2 1000000"
        };
        c.chan.tx.send_frame(line).unwrap();
        assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK");
        for p in [&b"small"[..], b"big", b"E"] {
            c.chan.tx.send_frame(p).unwrap();
        }
        let head = c.chan.rx.recv_frame().unwrap();
        if packed {
            let h = format!("f 1000 644 {mtime} ");
            assert!(
                head.starts_with(h.as_bytes()),
                "{:?}",
                String::from_utf8_lossy(&head[..40])
            );
            let body = &head[h.len()..];
            assert_eq!(body.len(), 1000 + 32);
            assert_eq!(&body[..1000], &small[..]);
            assert_eq!(&body[1000..], Sha256::digest(&small).as_slice());
        } else {
            assert_eq!(head, format!("F 1000 644 {mtime}").as_bytes());
            assert_eq!(c.chan.rx.recv_frame().unwrap(), small);
            assert_eq!(
                c.chan.rx.recv_frame().unwrap(),
                format!("S {}", hex(&Sha256::digest(&small))).as_bytes()
            );
        }
        // the big one in the long form either way
        let head = c.chan.rx.recv_frame().unwrap();
        assert!(head.starts_with(format!("F {} 644 ", big.len()).as_bytes()));
        let mut got = Vec::new();
        while got.len() < big.len() {
            got.extend(c.chan.rx.recv_frame().unwrap());
        }
        assert_eq!(got, big);
        assert_eq!(
            c.chan.rx.recv_frame().unwrap(),
            format!("S {}", hex(&Sha256::digest(&big))).as_bytes()
        );
        assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK 2");
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// Sends a batch of `files` (path, data) and returns its answer: the head
/// and the failures' (index, code).
fn batch(c: &mut tfp_client::Client, files: &[(&str, &[u8])]) -> (String, Vec<(String, String)>) {
    let n = files.len().to_string();
    assert!(matches!(c.call("TFDPUTMANY", n.as_bytes()).unwrap(), Status::Ok(_)));
    for (path, data) in files {
        send(c, path.as_bytes(), data, &good(data));
    }
    c.chan.tx.send_frame(b"E").unwrap();
    let head = String::from_utf8(c.chan.rx.recv_frame().unwrap()).unwrap();
    let failed: usize = head.rsplit(' ').next().unwrap().parse().unwrap();
    let codes = (0..failed)
        .map(|_| {
            let f = String::from_utf8(c.chan.rx.recv_frame().unwrap()).unwrap();
            let mut it = f.split(' ');
            (it.next().unwrap().to_string(), it.next().unwrap().to_string())
        })
        .collect();
    (head, codes)
}

/// A batch answers to TFPSFS in every directory it writes, file by file,
/// however its files alternate between directories: a secure directory
/// whose mask lacks WFILE refuses each of its files (FAILED 1), one that
/// grants it and a plain one store theirs. A directory judged once is not
/// read again for the rest of the batch, but the next batch is judged
/// afresh: WFILE taken away between two batches refuses the second.
#[test]
fn a_batch_answers_to_tfpsfs_in_each_directory_and_each_batch_anew() {
    let srv = Server::start();
    for d in ["open", "yes", "no"] {
        fs::create_dir(srv.path(d)).unwrap();
    }
    let mut owner = srv.client();
    let set = |c: &mut tfp_client::Client, arg: &str| {
        assert!(
            matches!(c.call("SETFSPERM", arg.as_bytes()).unwrap(), Status::Ok(_)),
            "{arg}"
        );
    };
    assert!(matches!(owner.call("SETFSID", b"alice").unwrap(), Status::Ok(_)));
    let all = tfp_wire::secfs::WFILE | tfp_wire::secfs::RFILE | tfp_wire::secfs::STAT;
    for (d, m) in [("yes", all), ("no", all & !tfp_wire::secfs::WFILE)] {
        set(&mut owner, &format!("alice:4095 {d}"));
        set(&mut owner, &format!("u:{m} {d}"));
    }
    let mut c = srv.client();
    assert!(matches!(c.call("SETFSID", b"u").unwrap(), Status::Ok(_)));
    let files: [(&str, &[u8]); 7] = [
        ("open/a", b"1"),
        ("yes/a", b"2"),
        ("yes/b", b"3"),
        ("no/a", b"4"),
        ("no/b", b"5"),
        ("yes/c", b"6"),
        ("no/c", b"7"),
    ];
    let (head, codes) = batch(&mut c, &files);
    assert_eq!(head, "OK 4 3");
    let want: Vec<(String, String)> = ["3", "4", "6"]
        .iter()
        .map(|i| (i.to_string(), "1".to_string()))
        .collect();
    assert_eq!(codes, want);
    for (path, data) in &files[..3] {
        assert_eq!(fs::read(srv.path(path)).unwrap(), *data, "{path}");
    }
    assert_eq!(fs::read(srv.path("yes/c")).unwrap(), b"6");
    assert_eq!(
        dir_names(&srv.path("no"))
            .iter()
            .filter(|n| !n.starts_with(".securefs"))
            .count(),
        0
    );
    // WFILE taken away: the same session's next batch is judged again
    set(&mut owner, &format!("u:{} yes", all & !tfp_wire::secfs::WFILE));
    let (head, codes) = batch(&mut c, &[("yes/d", b"8"), ("open/b", b"9")]);
    assert_eq!(head, "OK 1 1");
    assert_eq!(codes, [("0".to_string(), "1".to_string())]);
    assert!(!srv.path("yes/d").exists());
    assert_eq!(fs::read(srv.path("open/b")).unwrap(), b"9");
    assert!(temporaries(&srv.data).is_empty());
}

/// A directory removed and made again while a batch writes in it: the file
/// whose upload began in the removed one fails (there is nowhere to link it),
/// and the next files go into the new directory, as the path names it now.
/// The batch holds a file's directory for the next file in it, and must not
/// keep failing in the one that is gone.
#[test]
fn a_batch_follows_a_directory_made_again_while_it_writes() {
    let srv = Server::start();
    fs::create_dir(srv.path("d")).unwrap();
    let mut c = srv.client();
    assert!(matches!(c.call("TFDPUTMANY", b"3").unwrap(), Status::Ok(_)));
    send(&mut c, b"d/a", b"first", &good(b"first"));
    // the server has begun d/a when the directory goes
    let until = Instant::now() + Duration::from_secs(10);
    while !said_begun(&srv) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    fs::remove_dir(srv.path("d")).unwrap();
    fs::create_dir(srv.path("d")).unwrap();
    send(&mut c, b"d/b", b"second", &good(b"second"));
    send(&mut c, b"d/c", b"third", &good(b"third"));
    c.chan.tx.send_frame(b"E").unwrap();
    let head = String::from_utf8(c.chan.rx.recv_frame().unwrap()).unwrap();
    assert_eq!(head, "OK 2 1");
    let failed = String::from_utf8(c.chan.rx.recv_frame().unwrap()).unwrap();
    assert!(failed.starts_with("0 "), "{failed}");
    assert_eq!(fs::read(srv.path("d/b")).unwrap(), b"second");
    assert_eq!(fs::read(srv.path("d/c")).unwrap(), b"third");
    assert_eq!(dir_names(&srv.path("d")), ["b", "c"]);
}

/// Whether the server's session has a file open in the test's directory
/// `d` (an upload's temporary, which has no name).
fn said_begun(srv: &Server) -> bool {
    let Ok(procs) = fs::read_dir("/proc") else { return false };
    let d = srv.path("d");
    procs.flatten().any(|p| {
        fs::read_dir(p.path().join("fd")).is_ok_and(|fds| {
            fds.flatten()
                .any(|f| fs::read_link(f.path()).is_ok_and(|t| t.parent() == Some(d.as_path())))
        })
    })
}
