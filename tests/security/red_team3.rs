//! The third red-team round, daemon side (issue 47): a slow control client,
//! names shown raw, planted stages and pidfile temporaries, a hash another
//! writer invalidated, and user files others can write.

use crate::common::{self, *};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Finding 10: a control client sending a byte every 0.4 s held the listener
/// (1 s per read, up to 1,024 reads): a TF client's version frame waited 11 s.
/// A control request now has 2 s for the whole of it, and its client is then
/// dropped; the TF client is answered within 3 s meanwhile.
#[test]
fn a_slow_control_client_does_not_freeze_the_listener() {
    let sock = common::tempdir("slowctl").join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\n", sock.display()));
    let ctl = UnixStream::connect(&sock).unwrap();
    let mut w = ctl.try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    // a byte every 0.4 s, never a newline, for up to 20 s
    let dribble = std::thread::spawn(move || {
        for _ in 0..50 {
            if stop2.load(std::sync::atomic::Ordering::Relaxed) || w.write_all(b"s").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut ch = tfp_channel::Channel::new(s).unwrap();
    ch.tx.send_frame(b"2.4.1").unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
    let waited = t0.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "the version frame was answered after {waited:?} while a control client dribbled"
    );
    // the slow control client was dropped, told why
    let mut r = ctl;
    r.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut told = String::new();
    let _ = r.read_to_string(&mut told);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    dribble.join().unwrap();
    assert!(told.starts_with("error: reading the request"), "{told:?}");
    assert!(srv.log().contains("control: reading the request"), "{}", srv.log());
    // and the control socket still answers
    let (ok, stats) = tfd_ctl(&sock, &["stats"]);
    assert!(ok && stats.contains("uptime_s"), "{stats}");
}
