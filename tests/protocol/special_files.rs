//! Special files and deep trees (issue 15, defects 3 and 9): a FIFO in the tree
//! never hangs a session (every command that opens a file answers at once), and
//! trees deeper than the walks' limits are removed by RMDIR and never left half
//! copied by CPDIR.
use tfd_testkit::reply::Answer as _;
use tfp_client::replies::AsStatus as _;

use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::{hpf, Status};

/// A client that gives up after 5 s: a command blocked in the server shows as an
/// error instead of hanging the test.
fn impatient(srv: &Server) -> Client {
    let mut cfg = srv.client_config();
    cfg.timeout = Some(Duration::from_secs(5));
    Client::connect(&cfg).unwrap()
}

fn mkfifo(p: &std::path::Path) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
}

/// Sends one command and returns its answer and how long it took; a reply that
/// never came (the client timed out) fails the test with the command's name.
fn timed(c: &mut Client, what: &str, line: &[u8]) -> (Status, Duration) {
    let t = Instant::now();
    let reply = c
        .raw(line)
        .unwrap_or_else(|e| panic!("{what}: no answer within the client's timeout ({e}): the session hangs"));
    (Status::parse(&reply), t.elapsed())
}

fn line(name: &str, arg: &[u8]) -> Vec<u8> {
    let mut l = name.as_bytes().to_vec();
    l.push(b' ');
    l.extend_from_slice(arg);
    l
}

#[test]
fn a_fifo_never_hangs_a_session() {
    let srv = Server::start();
    std::fs::create_dir(srv.path("d")).unwrap();
    mkfifo(&srv.path("pipe"));
    mkfifo(&srv.path("d/pipe"));
    let cases: Vec<(&str, Vec<u8>, i32)> = vec![
        // the high-performance interface: FAILED 34 (cannot open the file)
        ("PUT", line("PUT", &hpf::encode(b"pipe", 0, 4096, None)), 34),
        ("PUTCAN", line("PUTCAN", &hpf::encode(b"pipe", 0, 4096, Some(1))), 34),
        ("GET", line("GET", &hpf::encode(b"pipe", 0, 4096, None)), 34),
        ("GETCAN", line("GETCAN", &hpf::encode(b"pipe", 0, 4096, Some(1))), 34),
        ("RCVFILE", b"RCVFILE 0 pipe".to_vec(), 7),
        ("COPY", b"COPY pipe | copied".to_vec(), 18),
        ("SHA256", b"SHA256 pipe".to_vec(), 45),
        ("XCOPY", b"XCOPY x pipe | d".to_vec(), 23),
    ];
    for (what, l, code) in cases {
        let mut c = impatient(&srv);
        let (st, took) = timed(&mut c, what, &l);
        assert_eq!(st.failed_code(), Some(code), "{what} on a FIFO: {st:?}");
        assert!(took < Duration::from_secs(2), "{what} took {took:?}");
        // the session is still usable, and the FIFO is still a FIFO
        assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive", "{what}");
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(
            &std::fs::symlink_metadata(srv.path("pipe")).unwrap().file_type()
        ));
    }
    assert!(!srv.path("copied").exists());
    // SDOWN answers with a size: -1 for "cannot send this"
    let mut c = impatient(&srv);
    let t = Instant::now();
    let mut out = Vec::new();
    let sent = c.sdown(b"pipe", &mut out).done().expect("SDOWN: the session hangs");
    assert!(!sent && out.is_empty() && t.elapsed() < Duration::from_secs(2));
    // a tree holding a FIFO is copied without it, promptly
    let mut c = impatient(&srv);
    let (st, took) = timed(&mut c, "CPDIR", b"CPDIR d | d2");
    assert!(matches!(st, Status::Ok(_)), "CPDIR: {st:?}");
    assert!(took < Duration::from_secs(2));
    assert!(srv.path("d2").is_dir() && !srv.path("d2/pipe").exists());
    // an upload to the FIFO's name with overwrite replaces it by a regular file
    let mut data: &[u8] = b"now a file";
    let st = c.sndfile(b"pipe", true, &mut data, &mut |_| {}).status().unwrap();
    assert!(matches!(st, Status::Ok(_)), "SNDFILE 1 pipe: {st:?}");
    assert_eq!(std::fs::read(srv.path("pipe")).unwrap(), b"now a file");
}

/// The walks' own limit is 512 levels; MKDIR lets a client go deeper.
const DEEP: usize = 700;

#[test]
fn rmdir_removes_a_chain_deeper_than_any_walk_limit() {
    let srv = Server::start();
    let mut c = srv.client();
    let mut p = String::from("deep");
    for _ in 0..DEEP {
        assert!(ok(&c.call("MKDIR", p.as_bytes()).unwrap()), "MKDIR {p}");
        p.push_str("/d");
    }
    // a file at the bottom too
    std::fs::write(srv.path(&p[..p.len() - 2]).join("f"), b"x").unwrap();
    let st = c.call("RMDIR", b"deep").unwrap();
    assert!(ok(&st), "RMDIR of a {DEEP}-deep chain: {st:?}");
    assert!(!srv.path("deep").exists());
    assert_eq!(dir_names(&srv.data), Vec::<String>::new());
}

#[test]
fn cpdir_of_a_too_deep_tree_leaves_nothing() {
    let srv = Server::start();
    let mut p = srv.path("src");
    for _ in 0..600 {
        p.push("d");
    }
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("f"), b"bottom").unwrap();
    let mut c = srv.client();
    let st = c.call("CPDIR", b"src | copy").unwrap();
    assert!(matches!(st, Status::Failed(21, _)), "CPDIR of a 600-deep tree: {st:?}");
    assert!(
        !srv.path("copy").exists(),
        "CPDIR answered FAILED but left a partial copy behind"
    );
    assert_eq!(dir_names(&srv.data), vec!["src".to_string()]);
}

#[test]
fn cpdir_copies_a_tree_just_within_the_depth_limit() {
    let srv = Server::start();
    let mut p = srv.path("src");
    for _ in 0..500 {
        p.push("d");
    }
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("f"), b"bottom").unwrap();
    let mut c = srv.client();
    let st = c.call("CPDIR", b"src | copy").unwrap();
    assert!(ok(&st), "CPDIR of a 500-deep tree: {st:?}");
    let mut q = srv.path("copy");
    for _ in 0..500 {
        q.push("d");
    }
    assert_eq!(std::fs::read(q.join("f")).unwrap(), b"bottom");
    let st = c.call("RMDIR", b"copy").unwrap();
    assert!(ok(&st), "{st:?}");
}
