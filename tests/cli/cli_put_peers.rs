//! Atomic uploads (issue 30) against peers that are not a plain tfd: a
//! server without staged uploads is named and asked once a session, and its
//! resume replaces a longer file; an answer lost after the commit is not
//! told as nothing changed; a peer that stops reading costs one timeout.

use super::cli_put_atomic::{setup, sha, text, MIB};
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// `tf put --resume` of a 3 MiB file to `d/f.bin` on a liar without staged
/// uploads that holds `old` there (None: nothing): what tf said, checked to
/// have succeeded and left the liar's file the local one, byte for byte.
fn resume_without_stages(tag: &str, old: Option<Vec<u8>>, seed: u64) -> String {
    use tfd_testkit::liar::{Liar, Node, Script};
    let script = Script::new().dir("d");
    let liar = Liar::start(match old {
        Some(old) => script.file("d/f.bin", old),
        None => script,
    });
    let dir = tempdir(tag);
    let local = dir.join("f.bin");
    let data = pattern(3 * MIB, seed);
    fs::write(&local, &data).unwrap();
    let o = liar
        .tf_command(&["put", local.to_str().unwrap(), "d/f.bin", "--resume"])
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    match liar.node("d/f.bin") {
        Some(Node::File(c)) => assert_eq!((c.len(), sha(&c)), (data.len(), sha(&data))),
        other => panic!("no file on the liar: {other:?}"),
    }
    let _ = fs::remove_dir_all(&dir);
    t
}

/// Against a server without staged uploads (the liar answers UNKNOWN, as the
/// reference does), `put --resume` (and `--streams`) says what it cannot
/// guarantee and still uploads, in place as before.
#[test]
fn a_server_without_the_extension_is_named() {
    let t = resume_without_stages("noext", None, 21);
    assert!(t.contains("no staged uploads"), "{t}");
    assert!(t.contains("neither the old nor the new"), "{t}");
}

/// `put --resume` against a server without staged uploads continues in
/// place after what the server's file holds; a server file longer than the
/// local one is no prefix of it, and is replaced whole (the old code wrote
/// nothing past its end and left the longer, older file).
#[test]
fn a_resume_without_stages_onto_a_longer_file_replaces_it() {
    resume_without_stages("noext-longer", Some(pattern(4 * MIB, 22)), 23);
}

/// A tree's files of 32 MiB and more go through stages where the server
/// told it has them; one that did not is never asked TFDSTAGE, and the
/// files still land whole.
#[test]
fn a_server_without_stages_is_never_asked() {
    use tfd_testkit::liar::{Liar, Node, Script};
    let liar = Liar::start(Script::new().dir("d"));
    let dir = tempdir("noext-tree");
    let tree = dir.join("t");
    fs::create_dir_all(&tree).unwrap();
    let files = [("a.bin", pattern(32 * MIB, 24)), ("b.bin", pattern(32 * MIB + 1, 25))];
    for (name, data) in &files {
        fs::write(tree.join(name), data).unwrap();
    }
    let src = format!("{}/", tree.display());
    let o = liar
        .tf_command(&["put", "-r", "--jobs", "1", &src, "d"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for (name, data) in &files {
        match liar.node(&format!("d/{name}")) {
            Some(Node::File(c)) => assert_eq!(sha(&c), sha(data), "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    let asked = liar.requests().iter().filter(|r| r.starts_with(b"TFDSTAGE ")).count();
    assert_eq!(
        asked, 0,
        "TFDSTAGE asked {asked} times of a server that did not tell it"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A relay that holds each server-to-client chunk for `hold` once `after`
/// client-to-server bytes have passed, and cuts every connection when `cut`
/// is set: a commit's answer can be made to vanish after the server carried
/// it out, whatever the machine's load (the answer waits in the relay while
/// the test sees the new file on the disk).
struct HoldingRelay {
    addr: String,
    cut: Arc<AtomicBool>,
}

impl HoldingRelay {
    fn start(to: String, after: u64, hold: Duration) -> HoldingRelay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let cut = Arc::new(AtomicBool::new(false));
        let passed = Arc::new(AtomicU64::new(0));
        let c = cut.clone();
        std::thread::spawn(move || {
            let Ok((a, _)) = l.accept() else { return };
            let Ok(b) = TcpStream::connect(&to) else { return };
            let socks = [a.try_clone().unwrap(), b.try_clone().unwrap()];
            let up = (a.try_clone().unwrap(), b.try_clone().unwrap());
            let counted = passed.clone();
            std::thread::spawn(move || {
                let (mut from, mut into) = up;
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = from.read(&mut buf) {
                    counted.fetch_add(n as u64, Ordering::Relaxed);
                    if into.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            let (mut from, mut into) = (b, a);
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                if passed.load(Ordering::Relaxed) >= after {
                    let until = Instant::now() + hold;
                    while Instant::now() < until && !c.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                if c.load(Ordering::Relaxed) || into.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            for s in socks {
                let _ = s.shutdown(Shutdown::Both);
            }
        });
        HoldingRelay { addr, cut }
    }
}

/// Issue 44's "every message names the real cause": a connection lost after
/// the server committed an upload, before its answer came, made tf say "the
/// file on the server is as it was" (staged: `--resume`) of a file it had
/// replaced, or give the bare transport error (SNDFILE). Now it says the file
/// is the old or the new one, whole, and `put --resume` settles it.
#[test]
fn an_answer_lost_after_the_commit_is_not_told_as_nothing_changed() {
    let srv = Server::start();
    for (round, mode) in [&[][..], &["--resume"][..]].into_iter().enumerate() {
        let name = format!("u{round}.bin");
        let (_old, new, local) = setup(&srv, &name, MIB / 2, 2 * MIB, 300 + round as u64);
        // every answer after the data is held for 3 s: the commit's is cut
        let relay = HoldingRelay::start(srv.addr(), 2 * MIB as u64, Duration::from_secs(3));
        let mut args = vec!["put", local.to_str().unwrap(), name.as_str()];
        args.extend_from_slice(mode);
        let child = srv.tf_via(&relay.addr, &args).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while fs::read(srv.path(&name)).unwrap_or_default() != new {
            assert!(Instant::now() < deadline, "{mode:?}: the upload never landed");
            std::thread::sleep(Duration::from_millis(1));
        }
        relay.cut.store(true, Ordering::Relaxed);
        let o = child.wait_with_output().unwrap();
        let what = format!("{mode:?}");
        assert!(
            !o.status.success(),
            "{what}: the answer was cut, yet exit 0: {}",
            text(&o)
        );
        assert!(
            text(&o).contains("either as it was or the new one, whole") && !text(&o).contains("is as it was"),
            "{what}: {}",
            text(&o)
        );
        // what it suggests settles it: the file is already there
        let o = srv.tf(&["put", local.to_str().unwrap(), &name, "--resume"]);
        assert!(o.status.success(), "{what}: {}", text(&o));
        assert!(text(&o).contains("nothing sent"), "{what}: {}", text(&o));
        assert_eq!(fs::read(srv.path(&name)).unwrap(), new, "{what}");
    }
}

/// A relay to `to` that passes `budget` bytes from the client, then reads
/// nothing more from it and keeps every socket open: a peer that hangs.
fn stalling_relay(to: String, budget: u64) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(a) = conn else { return };
            let Ok(b) = TcpStream::connect(&to) else { continue };
            let (mut down_from, mut down_to) = (b.try_clone().unwrap(), a.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut down_from, &mut down_to);
            });
            let (mut from, mut into) = (a, b);
            std::thread::spawn(move || {
                let mut left = budget;
                let mut buf = vec![0u8; 64 << 10];
                while left > 0 {
                    let want = buf.len().min(left as usize);
                    let n = match from.read(&mut buf[..want]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    left -= n as u64;
                    if into.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                // held open, unread, for longer than any wait below
                std::thread::sleep(Duration::from_secs(60));
                drop((from, into));
            });
        }
    });
    addr
}

/// A server that stops reading mid-upload and never hangs up: tf gives up
/// after its `--timeout` once, not once for every write it had left (the
/// end code, `END`, the close record each waited the timeout out again, so
/// a cut `put` sat three timeouts before it said so), and the target is as
/// it was.
#[test]
fn a_put_to_a_peer_that_stops_reading_gives_up_after_one_timeout() {
    let srv = Server::start();
    let relay = stalling_relay(srv.addr(), 1 << 20);
    let here = tempdir("stalled_put");
    let src = here.join("big.bin");
    // more than the socket buffers on both sides of the relay hold
    fs::write(&src, pattern(48 * MIB, 7)).unwrap();
    let started = Instant::now();
    let o = srv
        .tf_via(
            &relay,
            &[
                "--timeout",
                "2",
                "put",
                "--resume",
                src.to_str().unwrap(),
                "stalled.bin",
            ],
        )
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(!o.status.success(), "exit 0 through a stalled peer: {}", text(&o));
    // one timeout (2 s) and the set-up; three were 6 s and more
    assert!(took < Duration::from_secs(5), "gave up after {took:?}: {}", text(&o));
    assert!(!srv.path("stalled.bin").exists(), "a target appeared");
    let _ = fs::remove_dir_all(&here);
}
