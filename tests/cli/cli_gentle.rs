//! How gently tf moves: `--bwlimit` holds the whole run (every session
//! and stream together) below its rate, `--retries` carries a put, get or
//! mirror over a broken connection (its own session's or a pool's), and `-4`/`-6` keep to one address
//! family. Through the real wire; the rate is checked as a lower bound
//! only (a loaded machine may always be slower).

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use tfd_testkit::*;

const MIB: usize = 1 << 20;

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `tf ARGS` against `srv` and returns how long it took; it must succeed.
fn timed(srv: &Server, args: &[&str]) -> f64 {
    let t = Instant::now();
    let o = srv.tf(args);
    assert!(o.status.success(), "tf {args:?}: {}", said(&o));
    t.elapsed().as_secs_f64()
}

/// `dir` filled with `n` files of `size` bytes, one in a subdirectory.
fn tree(dir: &Path, n: usize, size: usize) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..n {
        let rel = if i == 0 {
            "sub/f0.bin".to_string()
        } else {
            format!("f{i}.bin")
        };
        fs::write(dir.join(rel), pattern(size, 100 + i as u64)).unwrap();
    }
}

/// Whether the trees at `a` and `b` hold the same files, byte for byte.
fn same_tree(a: &Path, b: &Path) -> bool {
    let list = |d: &Path| {
        let mut v: Vec<_> = walk(d)
            .into_iter()
            .map(|p| p.strip_prefix(d).unwrap().to_path_buf())
            .collect();
        v.sort();
        v
    };
    let (la, lb) = (list(a), list(b));
    la == lb
        && la
            .iter()
            .all(|r| fs::read(a.join(r)).unwrap() == fs::read(b.join(r)).unwrap())
}

fn walk(d: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(d).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// 4 MiB at `--bwlimit 2M` take at least about 2 s whichever way they go
/// and however many connections carry them (--streams 4, --jobs 4), and
/// arrive whole. Checked as a lower bound only.
#[test]
fn bwlimit_holds_every_session_and_stream_together() {
    let srv = Server::start();
    let here = tempdir("bwlimit");
    let data = pattern(4 * MIB, 7);
    let src = here.join("big.bin");
    fs::write(&src, &data).unwrap();
    let s = src.to_str().unwrap();
    let up = timed(&srv, &["--bwlimit", "2M", "put", "--streams", "4", s, "big.bin"]);
    assert!(up >= 1.5, "put --streams 4 of 4 MiB at 2M took {up:.2} s");
    assert!(fs::read(srv.path("big.bin")).unwrap() == data);
    let back = here.join("back.bin");
    let down = timed(
        &srv,
        &[
            "--bwlimit=2M",
            "get",
            "--streams",
            "4",
            "big.bin",
            back.to_str().unwrap(),
        ],
    );
    assert!(down >= 1.5, "get --streams 4 of 4 MiB at 2M took {down:.2} s");
    assert!(fs::read(&back).unwrap() == data);
    // a tree of 16 files of 256 KiB over 4 sessions
    let t = here.join("t");
    tree(&t, 16, MIB / 4);
    let took = timed(
        &srv,
        &[
            "--bwlimit",
            "2048",
            "put",
            "-r",
            "--jobs",
            "4",
            &format!("{}/", t.display()),
            "t",
        ],
    );
    assert!(took >= 1.5, "put -r --jobs 4 of 4 MiB at 2048 (KiB/s) took {took:.2} s");
    assert!(same_tree(&t, &srv.path("t")));
    // a timetable whose every entry says 2M holds it at any time of day
    let table = "00:00,2M 12:00,2048K";
    let took = timed(&srv, &["--bwlimit", table, "put", "--streams", "4", s, "again.bin"]);
    assert!(took >= 1.5, "put --streams 4 of 4 MiB at {table:?} took {took:.2} s");
    assert!(fs::read(srv.path("again.bin")).unwrap() == data);
    let _ = fs::remove_dir_all(&here);
}

/// A rate tf cannot read is refused before anything connects, in a sentence.
#[test]
fn bwlimit_refuses_what_is_no_rate() {
    let srv = Server::start();
    for bad in ["2X", "fast", "100B", "8:00,1M", "08:00,1M 08:00,off", "25:00,1M"] {
        let o = srv.tf(&["--bwlimit", bad, "ls"]);
        assert_eq!(o.status.code(), Some(1), "{bad}: {}", said(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.starts_with("tf: --bwlimit: "), "{bad}: {err}");
    }
}

/// Starts `tf ARGS` and SIGKILLs every session process of `srv` once
/// `landed` says the run is under way; returns the run's output.
fn kill_sessions_midway(srv: &Server, args: &[&str], landed: &dyn Fn() -> bool) -> Output {
    let child = srv.tf_via(&srv.addr(), args).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !landed() {
        assert!(Instant::now() < deadline, "nothing moved:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    for p in children_of(srv.pid()).0 {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
    }
    child.wait_with_output().unwrap()
}

/// Any file below `d` at all (an upload under way has landed one).
fn any_file(d: &Path) -> bool {
    d.is_dir() && !walk(d).is_empty()
}

/// Every session killed in the middle of a `put -r`, a `get -r` and a
/// single `get` (the server paces each session, so the kill lands while
/// bytes still move): with `--retries` each run ends whole (after one
/// retry, as the summary says), without it the run fails as it did.
#[test]
fn retries_carry_a_run_over_killed_sessions() {
    let srv = Server::start_with("rate_limit_session 512K\n");
    let here = tempdir("retries");
    let t = here.join("t");
    tree(&t, 12, MIB / 2);
    // put -r of `t/`: its contents in `up`
    let ts = &format!("{}/", t.display());
    let dst = srv.path("up");
    let o = kill_sessions_midway(&srv, &["put", "-r", ts, "up"], &|| any_file(&dst));
    assert!(!o.status.success(), "without --retries the run fails: {}", said(&o));
    let _ = fs::remove_dir_all(&dst);
    let o = kill_sessions_midway(&srv, &["--retries", "2", "put", "-r", ts, "up"], &|| any_file(&dst));
    assert!(o.status.success(), "put -r --retries 2: {}", said(&o));
    assert!(said(&o).contains("after 1 retry"), "{}", said(&o));
    assert!(same_tree(&t, &dst), "put -r: {}", said(&o));
    // get -r of what landed, into a new directory
    let back = here.join("back");
    let args = ["--retries", "2", "get", "-r", "up/", back.to_str().unwrap()];
    let o = kill_sessions_midway(&srv, &args, &|| any_file(&back));
    assert!(o.status.success(), "get -r --retries 2: {}", said(&o));
    assert!(said(&o).contains("after 1 retry"), "{}", said(&o));
    assert!(same_tree(&t, &back), "get -r: {}", said(&o));
    // a single file, continued from its partial
    let data = pattern(3 * MIB / 2, 9);
    fs::write(srv.path("one.bin"), &data).unwrap();
    let one = here.join("one.bin");
    let partial = here.join(".one.bin.tf-partial");
    let args = ["--retries", "1", "get", "one.bin", one.to_str().unwrap()];
    let o = kill_sessions_midway(&srv, &args, &|| partial.exists());
    assert!(o.status.success(), "get --retries 1: {}", said(&o));
    assert!(said(&o).contains("trying again"), "{}", said(&o));
    assert!(fs::read(&one).unwrap() == data);
    // a single put, killed a second in: tf tries again by itself, so it
    // prints no command for the user to run (issue 88: it printed "`tf …
    // put …` sends it again", then sent it again)
    let began = Instant::now();
    let args = ["--retries", "1", "put", one.to_str().unwrap(), "one-up.bin"];
    let o = kill_sessions_midway(&srv, &args, &|| began.elapsed() > Duration::from_secs(1));
    assert!(o.status.success(), "put --retries 1: {}", said(&o));
    assert!(said(&o).contains("trying again"), "{}", said(&o));
    assert!(!said(&o).contains("sends it again"), "{}", said(&o));
    assert!(fs::read(srv.path("one-up.bin")).unwrap() == data);
    let _ = fs::remove_dir_all(&here);
}

/// When the session process `pid` started (clock ticks since boot).
fn started(pid: i32) -> u64 {
    proc_stat(pid).and_then(|f| f.get(19)?.parse().ok()).unwrap_or(0)
}

/// Starts `tf ARGS` and, once `landed` says the run is under way with more
/// than one session, SIGKILLs the session that started last: one of the
/// pool's, tf's own going on. Returns the run's output.
fn kill_a_pool_session(srv: &Server, args: &[&str], landed: &dyn Fn() -> bool) -> Output {
    let child = srv.tf_via(&srv.addr(), args).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let newest = loop {
        let (live, _) = srv.children();
        if live.len() > 1 && landed() {
            break live.into_iter().max_by_key(|&p| (started(p), p));
        }
        assert!(Instant::now() < deadline, "nothing moved:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = newest.expect("a session");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    child.wait_with_output().unwrap()
}

/// One session of a tree's pool killed on the server while its files move
/// (tf's own going on) is a broken connection as tf's own session's is: the
/// run is tried again and the tree lands whole, byte for byte.
#[test]
fn a_killed_pool_session_is_tried_again_and_the_tree_lands_whole() {
    let srv = Server::start_with("rate_limit_session 512K\n");
    let here = tempdir("retries_pool");
    let t = here.join("t");
    tree(&t, 12, MIB / 2);
    // put -r of `t/`: its contents in `up`
    let ts = &format!("{}/", t.display());
    let dst = srv.path("up");
    // without --retries the run fails: the kill lands
    let o = kill_a_pool_session(&srv, &["put", "-r", "--jobs", "4", ts, "up"], &|| any_file(&dst));
    assert!(!o.status.success(), "without --retries: {}", said(&o));
    let _ = fs::remove_dir_all(&dst);
    let args = ["--retries", "2", "put", "-r", "--jobs", "4", ts, "up"];
    let o = kill_a_pool_session(&srv, &args, &|| any_file(&dst));
    assert!(o.status.success(), "put -r --retries 2: {}", said(&o));
    assert!(said(&o).contains("trying again"), "{}", said(&o));
    assert!(said(&o).contains("after 1 retry"), "{}", said(&o));
    assert!(same_tree(&t, &dst), "put -r: {}", said(&o));
    let back = here.join("back");
    let args = [
        "--retries",
        "2",
        "get",
        "-r",
        "--jobs",
        "4",
        "up/",
        back.to_str().unwrap(),
    ];
    let o = kill_a_pool_session(&srv, &args, &|| any_file(&back));
    assert!(o.status.success(), "get -r --retries 2: {}", said(&o));
    assert!(said(&o).contains("after 1 retry"), "{}", said(&o));
    assert!(same_tree(&t, &back), "get -r: {}", said(&o));
    let _ = fs::remove_dir_all(&here);
}

/// A `put --streams` lane's session killed on the server mid-file (tf's own
/// session going on) is a broken connection as a pool session's is (issue
/// 68): with `--retries` the upload is continued from its stage and lands
/// whole; without it the run fails, naming the kill and its continuation.
/// The same for a `get --streams`, continued from its partial.
#[test]
fn a_killed_streams_lane_is_tried_again_and_the_file_lands_whole() {
    let srv = Server::start_with("rate_limit_session 512K\n");
    let here = tempdir("retries_lane");
    let data = pattern(6 * MIB, 11);
    let src = here.join("up.bin");
    fs::write(&src, &data).unwrap();
    let put = ["put", "--streams", "4", src.to_str().unwrap(), "up.bin"];
    // a lane killed while it moves data (about 3 s at 512 KiB/s a session),
    // not a spare one still opening, which the upload may do without
    let moving = || {
        let t0 = Instant::now();
        move || t0.elapsed() > Duration::from_millis(600)
    };
    let o = kill_a_pool_session(&srv, &put, &moving());
    assert!(!o.status.success(), "without --retries: {}", said(&o));
    assert!(said(&o).contains("killed on the server"), "{}", said(&o));
    let again = [&["--retries", "2"][..], &put].concat();
    let o = kill_a_pool_session(&srv, &again, &moving());
    assert!(o.status.success(), "put --streams 4 --retries 2: {}", said(&o));
    assert!(said(&o).contains("trying again"), "{}", said(&o));
    assert!(fs::read(srv.path("up.bin")).unwrap() == data, "put: {}", said(&o));
    let one = here.join("back.bin");
    let partial = here.join(".back.bin.tf-partial");
    let get = [
        "--retries",
        "2",
        "get",
        "--streams",
        "4",
        "--verify",
        "up.bin",
        one.to_str().unwrap(),
    ];
    let o = kill_a_pool_session(&srv, &get, &|| partial.exists());
    assert!(o.status.success(), "get --streams 4 --retries 2: {}", said(&o));
    assert!(fs::read(&one).unwrap() == data, "get: {}", said(&o));
    let _ = fs::remove_dir_all(&here);
}

/// `-4` and `-6` keep to their family: `localhost` (127.0.0.1 only here)
/// with -6 is one plain sentence, with -4 a session; a server on ::1
/// answers -6 and refuses -4 the same way.
#[test]
fn one_address_family_when_asked() {
    let srv = Server::start();
    let named = format!("localhost:{}", srv.port);
    let o = srv.tf_via(&named, &["-4", "date"]).output().unwrap();
    assert!(o.status.success(), "-4: {}", said(&o));
    let lookup = std::net::ToSocketAddrs::to_socket_addrs(&named.as_str()).unwrap();
    if lookup.into_iter().all(|a| a.is_ipv4()) {
        let o = srv.tf_via(&named, &["-6", "date"]).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "-6: {}", said(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "one sentence: {err}");
        assert!(err.contains("no IPv6 address"), "{err}");
    }
    let Some(v6) = std::net::TcpListener::bind("[::1]:0").ok().map(drop).map(|_| {
        Server::start_opts(Opts {
            listen: &["::1"],
            ..Opts::default()
        })
    }) else {
        return;
    };
    let o = v6.tf(&["-6", "date"]);
    assert!(o.status.success(), "-6 to ::1: {}", said(&o));
    let o = v6.tf(&["--ipv4", "date"]);
    assert_eq!(o.status.code(), Some(1), "-4 to ::1: {}", said(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    assert!(err.contains("no IPv4 address"), "{err}");
}
