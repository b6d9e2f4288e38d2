//! `TFDWHY` (doc/compatibility.md "Why a session ended"): a client asks,
//! before any handshake, how its session that just ended was ended. The
//! answer tells only of a session from the asker's own address (the client
//! a trusted balancer's PROXY header names, where there is one), and is one
//! word of a fixed set, whatever the question holds.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_wire::session_end::MAX_REPLY;

/// A connection to the server on `port` from the loopback address `src`,
/// `header` (a PROXY header) written first.
fn connect_from(src: Ipv4Addr, port: u16, header: Option<Vec<u8>>) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd: OwnedFd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    bind(raw, &SockaddrIn::from(SocketAddrV4::new(src, 0))).unwrap();
    connect(raw, &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))).unwrap();
    let mut s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if let Some(h) = header {
        s.write_all(&h).unwrap();
    }
    s
}

/// Sends `question` as the first frame and returns the answer frame, or
/// None when the server closes without one.
fn ask_raw(srv: &Server, src: Ipv4Addr, header: Option<Vec<u8>>, question: &[u8]) -> Option<String> {
    let mut s = connect_from(src, srv.port, header);
    let mut out = Vec::new();
    tfp_wire::frame::encode_frame(None, question, &mut out);
    s.write_all(&out).ok()?;
    let mut hdr = [0u8; 4];
    s.read_exact(&mut hdr).ok()?;
    let n = tfp_wire::frame::decode_len(hdr, 4096).ok()?;
    // a word of the set, or the refusal of a wrong version
    assert!(n <= MAX_REPLY.max(64), "an answer of {n} bytes");
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).ok()?;
    Some(String::from_utf8(body).unwrap())
}

/// The answer about `port`, asked again while the server has not reaped the
/// session yet (`OK LIVE`), for at most 5 s.
fn ask(srv: &Server, src: Ipv4Addr, header: impl Fn() -> Option<Vec<u8>>, port: u16) -> String {
    let t = Instant::now();
    loop {
        let a = ask_raw(srv, src, header(), format!("TFDWHY {port}").as_bytes()).unwrap();
        if a != "OK LIVE" || t.elapsed() > Duration::from_secs(5) {
            return a;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the one session process with SIGKILL, as someone on the server would.
fn kill_session(srv: &Server) {
    let pid = srv.session_pid();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
}

const HERE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const ELSEWHERE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A session from 127.0.0.1 killed on the server: its own address learns it
/// was signal 9; another address asking about the same port, before and
/// after, learns nothing (not even that it ran).
#[test]
fn another_address_cannot_learn_how_a_session_ended() {
    let srv = Server::start();
    let victim = connect_from(HERE, srv.port, None);
    let port = victim.local_addr().unwrap().port();
    let _ = srv.session_pid();
    assert_eq!(ask(&srv, ELSEWHERE, || None, port), "OK UNKNOWN", "a live session");
    kill_session(&srv);
    assert_eq!(ask(&srv, HERE, || None, port), "OK SIGNAL 9");
    assert_eq!(ask(&srv, ELSEWHERE, || None, port), "OK UNKNOWN");
    assert_eq!(ask(&srv, HERE, || None, port.wrapping_add(1).max(1)), "OK UNKNOWN");
    drop(victim);
}

/// Behind a balancer the peer is the client its PROXY header names: the same
/// client (another source port) learns the end, another client of the same
/// balancer does not, nor does the balancer's own address.
#[test]
fn behind_a_balancer_only_the_same_client_learns_it() {
    let srv = Server::start_with("proxy_protocol v1\nproxy_from 127.0.0.1\n");
    let to: SocketAddr = "10.0.0.1:4444".parse().unwrap();
    let client = |ip: &str, port: u16| {
        let from = SocketAddr::new(ip.parse().unwrap(), port);
        move || Some(tfp_wire::proxy::encode_v1(Some((from, to))))
    };
    let victim = connect_from(HERE, srv.port, client("198.51.100.7", 40001)());
    let _ = srv.session_pid();
    kill_session(&srv);
    assert_eq!(ask(&srv, HERE, client("198.51.100.7", 40002), 40001), "OK SIGNAL 9");
    assert_eq!(ask(&srv, HERE, client("198.51.100.8", 40002), 40001), "OK UNKNOWN");
    assert_eq!(ask(&srv, ELSEWHERE, || None, 40001), "OK UNKNOWN");
    drop(victim);
}

/// Whatever follows the word, the answer is one word of the fixed set (or
/// the refusal a wrong version gets), never an echo of the question, and the
/// connection then closes; a question over the pre-handshake frame bound is
/// refused as any oversized first frame.
#[test]
fn the_question_is_bounded_and_the_answer_fixed() {
    let srv = Server::start();
    let long = format!("TFDWHY {}", "9".repeat(4000));
    for q in [
        "TFDWHY",
        "TFDWHY 0",
        "TFDWHY 65536",
        "TFDWHY -1",
        "TFDWHY 1 2",
        "TFDWHY \x1b[31m",
        long.as_str(),
    ] {
        let a = ask_raw(&srv, HERE, None, q.as_bytes());
        let a = a.unwrap_or_default();
        assert!(
            a == "OK UNKNOWN" || a.starts_with("FAILED 2"),
            "{:?} answered {a:?}",
            &q[..q.len().min(20)]
        );
    }
    let mut big = b"TFDWHY 1".to_vec();
    big.resize(5000, b' ');
    let a = ask_raw(&srv, HERE, None, &big).unwrap_or_default();
    assert!(!a.starts_with("OK"), "{a:?}");
    // the server still serves
    let mut c = srv.client();
    assert!(matches!(c.call("ECHO", b"x").unwrap(), tfp_wire::Status::Other(_)));
}
