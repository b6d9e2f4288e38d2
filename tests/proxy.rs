//! The transparent proxy: a tfd with `trp_ipv4`/`trp_ipv6` relays every
//! connection (and UDP probe) to a second tfd on the same port — handshake,
//! commands, transfers and OOB bytes all pass through.

mod common;

use common::*;
use nix::sys::socket::{recv, send, MsgFlags};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn pair(target: &str, backend_listen: &[&str]) -> (Server, Server) {
    let port = free_port();
    let backend = Server::start_opts(Opts {
        listen: backend_listen,
        port: Some(port),
        ..Opts::default()
    });
    let proxy = Server::start_opts(Opts {
        extra: target,
        port: Some(port),
        ..Opts::default()
    });
    (backend, proxy)
}

fn exercise(backend: &Server, proxy: &Server) {
    // the proxy's clients talk to the backend: same key, the backend's hash
    let mut cfg = proxy.client_config();
    cfg.hash = backend.hash.clone();
    let mut c = tfd::client::Client::connect(&cfg).unwrap();
    assert_eq!(c.raw(b"ECHO through").unwrap(), b"through");
    assert!(ok(&c.call("MKDIR", b"via-proxy").unwrap()));
    assert!(backend.path("via-proxy").is_dir(), "the backend's disk changed");
    assert!(!proxy.path("via-proxy").exists(), "the proxy's own root is untouched");
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    assert!(ok(&c
        .sndfile(b"via-proxy/f", false, &mut &data[..], &mut |_| {})
        .unwrap()));
    let mut back = Vec::new();
    assert_eq!(
        c.get(b"via-proxy/f", 0, 1 << 20, &mut back, &mut |_| {}).unwrap(),
        Ok(data.len() as u64)
    );
    assert_eq!(back, data);
    // OOB is relayed both ways
    let key = assert_ok(c.call("PROCKEY", b"").unwrap());
    let fd = c.chan.stream().as_raw_fd();
    for _ in 0..3 {
        send(fd, b"!", MsgFlags::MSG_OOB).unwrap();
        let t = Instant::now();
        let mut b = [0u8; 1];
        while recv(fd, &mut b, MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT) != Ok(1) {
            assert!(t.elapsed() < Duration::from_secs(3), "no OOB echo through the proxy");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(&b, b"!");
    }
    // UDP probes are relayed: the key is the backend's
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut d = vec![2u8];
    d.extend_from_slice(key.as_bytes());
    u.send_to(&d, proxy.addr()).unwrap();
    let mut b = [0u8; 64];
    let n = u.recv(&mut b).unwrap();
    assert_eq!(&b[..n], b"\x013\0");
    assert_eq!(c.raw(b"ECHO still").unwrap(), b"still");
}

#[test]
fn proxy_to_ipv4_target() {
    let (backend, proxy) = pair("trp_ipv4 127.0.0.2\n", &["127.0.0.2"]);
    exercise(&backend, &proxy);
}

#[test]
fn proxy_to_ipv6_target() {
    let (backend, proxy) = pair("trp_ipv6 ::1\n", &["::1"]);
    exercise(&backend, &proxy);
}

#[test]
fn unreachable_target_closes_only_that_connection() {
    let port = free_port();
    let proxy = Server::start_opts(Opts {
        extra: "trp_ipv4 127.0.0.3\n",
        port: Some(port),
        ..Opts::default()
    });
    let r = tfd::client::Client::connect(&proxy.client_config());
    assert!(r.is_err());
    assert!(proxy.log().contains("proxy target unreachable"));
}
