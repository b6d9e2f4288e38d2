//! Attack-test findings about the handshake and LOGIN (issue "Nothing lost, nothing
//! stuck", defects 7 and 8), each reproduced through the real wire:
//! - a whole recorded session sent again on a new connection must not run its
//!   commands again (the key process's replay cache);
//! - LOGIN's reply time must not tell a weak user's wrong password from an unknown
//!   name when the users' hashes have different costs.
//!
//! (Defect 6, the throttle failing open on a full table, is reproduced on the
//! daemon's real shared-memory tables in `auth::throttle`'s unit tests: filling
//! them through the wire takes 8000 handshakes.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tfd_testkit::users::tfpasswd;
use tfd_testkit::*;

/// A one-connection TCP relay in front of `target` that records what the client
/// sends. Returns the relay's address and the recording (complete once the
/// returned thread has been joined).
fn recording_relay(target: String) -> (String, Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let rec = Arc::new(Mutex::new(Vec::new()));
    let rec2 = rec.clone();
    let t = std::thread::spawn(move || {
        let (mut client, _) = l.accept().unwrap();
        let mut server = TcpStream::connect(target).unwrap();
        let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let back = std::thread::spawn(move || {
            let _ = std::io::copy(&mut s2, &mut c2);
            let _ = c2.shutdown(std::net::Shutdown::Write);
        });
        let mut buf = [0u8; 4096];
        loop {
            match client.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    rec2.lock().unwrap().extend_from_slice(&buf[..n]);
                    if server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = server.shutdown(std::net::Shutdown::Write);
        let _ = back.join();
    });
    (addr, rec, t)
}

#[test]
fn a_replayed_session_is_refused_and_runs_nothing() {
    let srv = Server::start();
    let (relay, recording, relay_thread) = recording_relay(srv.addr());
    let mut cfg = srv.client_config();
    cfg.server = relay;
    let mut c = tfp_client::Client::connect(&cfg).unwrap();
    assert_ok(c.call("MKDIR", b"made-once").unwrap());
    c.end().unwrap();
    relay_thread.join().unwrap();
    assert!(srv.path("made-once").is_dir());
    std::fs::remove_dir(srv.path("made-once")).unwrap();

    // the attacker sends the recorded bytes again, twice
    let bytes = recording.lock().unwrap().clone();
    for _ in 0..2 {
        let mut s = TcpStream::connect(srv.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&bytes).unwrap();
        let reply = read_to_close(&mut s);
        let text = String::from_utf8_lossy(&reply);
        assert!(
            text.contains("FAILED 25 : Bad public rsa encryption key."),
            "replay not refused: {text:?}"
        );
    }
    assert!(!srv.path("made-once").exists(), "the replayed MKDIR ran again");
    let log = srv.log();
    assert!(log.contains("session key replayed"), "{log}");

    // honest clients are unaffected: each handshake is a fresh ciphertext
    for _ in 0..3 {
        let mut c = srv.client();
        assert_ok(c.call("MKDIR", b"made-once").unwrap());
        assert_ok(c.call("RMDIR", b"made-once").unwrap());
    }
}

#[test]
fn replay_cache_zero_turns_the_check_off() {
    let srv = Server::start_with("replay_cache 0\n");
    let (relay, recording, relay_thread) = recording_relay(srv.addr());
    let mut cfg = srv.client_config();
    cfg.server = relay;
    let mut c = tfp_client::Client::connect(&cfg).unwrap();
    assert_ok(c.call("MKDIR", b"again").unwrap());
    c.end().unwrap();
    relay_thread.join().unwrap();
    std::fs::remove_dir(srv.path("again")).unwrap();
    let mut s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&recording.lock().unwrap()).unwrap();
    let _ = read_to_close(&mut s);
    // documented: with the cache off the protocol's own weakness is back
    assert!(srv.path("again").is_dir());
}

/// Timed on purpose: the property is about time. The fastest of many interleaved
/// attempts measures the hash work itself (other load only ever adds time; CI
/// runs test binaries in parallel, and medians of 9 once differed 1.54x under
/// it), and the bound is wide (the defect was a 3.6x gap).
#[test]
fn login_time_does_not_tell_unknown_names_from_weak_users() {
    if !require(is_root(), "multi-user mode needs root") {
        return;
    }
    let dir = tempdir("timing");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    for (name, rounds) in [("weak", "5000"), ("strong", "20000")] {
        let out = tfpasswd(
            &[
                "-f",
                f,
                "add",
                name,
                "--system-user",
                "nobody",
                "--stdin",
                "--rounds",
                rounds,
            ],
            "right password\n",
        );
        assert!(out.status.success(), "{out:?}");
    }
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nlogin_max_failures_ip 0\nlogin_max_failures_user 0\n"),
        default_user: false,
        ..Opts::default()
    });
    let mut c = srv.client();
    let mut time = |name: &str| {
        let t = Instant::now();
        assert_failed(c.call("LOGIN", format!("{name} wrong").as_bytes()).unwrap(), 37);
        t.elapsed()
    };
    time("weak"); // warm up
                  // Up to three rounds: a real leak shows in every one (the defect was 3.6x),
                  // while a test binary's other tests running beside this one on two cores
                  // can slow one kind of attempt for a whole round (seen: 1.70 once in seven
                  // runs under a load of 7).
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let (mut weak, mut ghost) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            weak.push(time("weak"));
            ghost.push(time("ghost"));
        }
        let fastest = |v: Vec<Duration>| v.into_iter().min().unwrap_or_default();
        let (w, g) = (fastest(weak), fastest(ghost));
        let ratio = g.as_secs_f64().max(w.as_secs_f64()) / g.as_secs_f64().min(w.as_secs_f64());
        if ratio < 1.4 {
            return;
        }
        rounds.push(format!("wrong password {w:?} vs unknown name {g:?}: ratio {ratio:.2}"));
    }
    panic!("every round told them apart:\n{}", rounds.join("\n"));
}
