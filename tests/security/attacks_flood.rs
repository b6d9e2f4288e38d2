//! Pre-authentication floods: many idle half-open connections and clients that
//! trickle bytes. Another client is still served during the flood; the flood's
//! connections are refused at once beyond `max_sessions_per_ip`, and every admitted
//! one is closed by `prelogin_timeout`, however slowly it sends. Kept apart from
//! attacks.rs so that its hundreds of connections run alone.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// A TCP connection to the server from a chosen loopback source address, so a flood
/// from 127.0.0.2 and a client from 127.0.0.1 count as different peers.
fn connect_from(src: Ipv4Addr, port: u16) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd: OwnedFd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    bind(raw, &SockaddrIn::from(SocketAddrV4::new(src, 0))).unwrap();
    connect(raw, &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))).unwrap();
    TcpStream::from(fd)
}

/// Waits until the server has closed `s` (EOF or reset) and returns how long it took.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut b = [0u8; 512];
    while t.elapsed() < limit {
        match s.read(&mut b) {
            Ok(0) => return Some(t.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Some(t.elapsed()),
        }
    }
    None
}

/// True if the server has already closed `s` (EOF or reset is pending), without waiting.
fn closed_now(s: &TcpStream) -> bool {
    s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 64];
    let r = match (&mut &*s).read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    s.set_nonblocking(false).unwrap();
    r
}

fn live_sessions(srv: &Server) -> usize {
    srv.children().0.len()
}

/// A client from another address does its work while `check` is called.
fn served(srv: &Server, n: u32) -> Duration {
    let t = Instant::now();
    let mut c = srv.client();
    assert_eq!(
        c.raw(format!("ECHO during flood {n}").as_bytes()).unwrap(),
        format!("during flood {n}").as_bytes()
    );
    assert!(ok(&c.call("MKDIR", format!("made{n}").as_bytes()).unwrap()));
    assert!(srv.path(&format!("made{n}")).is_dir());
    t.elapsed()
}

/// 200 idle connections and 20 slow tricklers from one address, with the per-IP
/// limit raised so that every one of them gets a session process: a client from
/// another address is still served promptly, and each flood connection is closed
/// by the 3-second pre-login deadline.
#[test]
fn two_hundred_half_open_connections_are_timed_out() {
    let srv = Server::start_with("prelogin_timeout 3\nmax_sessions 400\nmax_sessions_per_ip 300\n");
    let base = live_sessions(&srv);
    let flood_ip = Ipv4Addr::new(127, 0, 0, 2);
    let t0 = Instant::now();
    let mut idle: Vec<TcpStream> = (0..200).map(|_| connect_from(flood_ip, srv.port)).collect();
    let tricklers: Vec<TcpStream> = (0..20).map(|_| connect_from(flood_ip, srv.port)).collect();
    // slowloris: a valid version-frame header announcing 200 bytes, then one byte
    // every 150 ms, which would take 30 s; stops when the server has closed
    let trickle = std::thread::spawn(move || {
        let mut tricklers = tricklers;
        let started = Instant::now();
        for s in tricklers.iter_mut() {
            s.write_all(&200i32.to_be_bytes()).unwrap();
        }
        while started.elapsed() < Duration::from_secs(8) {
            let mut open = 0;
            for s in tricklers.iter_mut() {
                if s.write_all(b"x").is_ok() {
                    open += 1;
                }
            }
            if open == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        tricklers
    });
    // the flood is admitted: one session process per connection
    let deadline = Instant::now() + Duration::from_secs(2);
    while live_sessions(&srv) < base + 150 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = live_sessions(&srv);
    assert!(
        during >= base + 150,
        "only {during} session processes for 220 connections"
    );
    // a legitimate client is served during the flood, from 127.0.0.1
    let took = served(&srv, 1);
    assert!(took < Duration::from_secs(3), "served in {took:?} during the flood");
    // every idle connection is closed by the deadline (3 s), give or take
    for (i, s) in idle.iter_mut().enumerate() {
        let left = Duration::from_secs(9).saturating_sub(t0.elapsed());
        assert!(
            closed_within(s, left).is_some(),
            "idle connection {i} still open after {:?}",
            t0.elapsed()
        );
    }
    let idle_closed = t0.elapsed();
    let mut tricklers = trickle.join().unwrap();
    for (i, s) in tricklers.iter_mut().enumerate() {
        let left = Duration::from_secs(9).saturating_sub(t0.elapsed());
        assert!(closed_within(s, left).is_some(), "trickler {i} still open");
    }
    let all_closed = t0.elapsed();
    assert!(all_closed < Duration::from_secs(9), "{all_closed:?}");
    eprintln!(
        "flood: {during} session processes (base {base}), bystander served in {took:?}, \
         idle ones closed after {idle_closed:?}, tricklers after {all_closed:?}"
    );
    // the processes are gone and reaped, and the server still serves
    let deadline = Instant::now() + Duration::from_secs(5);
    while (live_sessions(&srv) > base || !srv.children().1.is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // (base may have counted the readiness probe's session, which has ended since)
    assert!(live_sessions(&srv) <= base, "flood sessions left behind");
    assert!(srv.children().1.is_empty(), "zombies left: {:?}", srv.children().1);
    served(&srv, 2);
}

/// With the default `max_sessions_per_ip` (32), a flood of 200 connections from one
/// address gets 32 sessions; the rest are closed at once, a client from another
/// address is still served, and the admitted ones end at the deadline.
#[test]
fn per_ip_limit_caps_a_flood() {
    let srv = Server::start_with("prelogin_timeout 3\n");
    let base = live_sessions(&srv);
    let flood_ip = Ipv4Addr::new(127, 0, 0, 3);
    let mut flood: Vec<TcpStream> = (0..200).map(|_| connect_from(flood_ip, srv.port)).collect();
    let deadline = Instant::now() + Duration::from_secs(1);
    while live_sessions(&srv) < base + 32 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let during = live_sessions(&srv);
    assert!(
        (base + 31..=base + 32).contains(&during),
        "{during} sessions (base {base}) for one address with max_sessions_per_ip 32"
    );
    // another address is not limited by that one
    served(&srv, 1);
    // those over the limit were closed at once, the admitted ones are still open
    let early = flood.iter().filter(|s| closed_now(s)).count();
    assert_eq!(early, 200 - 32, "connections closed at once");
    eprintln!("per-IP flood: {early} of 200 closed at once, {during} session processes (base {base})");
    for s in flood.iter_mut() {
        assert!(closed_within(s, Duration::from_secs(6)).is_some());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_sessions(&srv) > base && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(live_sessions(&srv) <= base);
    assert!(srv.log().contains("max_sessions_per_ip 32 reached"));
    served(&srv, 2);
}
