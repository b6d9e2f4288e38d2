//! tf's liveness subcommands: the UDP probes (no TCP session needed), and OOB,
//! KEEPALIVE, PROCKEY, NIGMA and TLB over a session.

use super::exit::Exit;
use super::reply::{fail, print_status};
use nix::sys::socket::{recv, send, MsgFlags};
use std::net::{ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tfp_client::replies::Split as _;
use tfp_client::Client;

/// `tf probe host|proc KEY|sock KEY|tlb`: one UDP datagram to the server's port.
pub fn udp_probe(server: &str, args: &[String]) -> ExitCode {
    let (kind, key) = match (args.first().map(String::as_str), args.get(1)) {
        (Some("host"), None) => (0u8, ""),
        (Some("proc"), Some(k)) => (1, k.as_str()),
        (Some("sock"), Some(k)) => (2, k.as_str()),
        (Some("tlb"), None) => (3, ""),
        _ => return fail("usage: tf ... probe host | proc KEY | sock KEY | tlb"),
    };
    let Some(addr) = server.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return fail(format!("cannot resolve {server}"));
    };
    let bind = if addr.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" };
    let sock = match UdpSocket::bind(bind) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(3)));
    let mut d = vec![kind];
    d.extend_from_slice(key.as_bytes());
    if let Err(e) = sock.send_to(&d, addr) {
        return fail(e);
    }
    let mut buf = [0u8; 600];
    let n = match sock.recv_from(&mut buf) {
        Ok((n, _)) => n,
        Err(_) => return fail("no reply (timed out)"),
    };
    let reply = &buf[..n];
    let raw = reply.get(1..).unwrap_or_default();
    let end = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let body = tfp_client::escape::shown(&raw[..end]);
    match (kind, reply.first()) {
        (0, Some(1)) => println!("host reachable"),
        (1, Some(1)) => println!("alive"),
        (1, _) => println!("dead"),
        (2, Some(1)) => println!("alive, {body} OOB byte(s) answered"),
        (2, _) => println!("dead"),
        (3, Some(1)) => println!("{body}"),
        (3, _) => println!("no TLB entry"),
        _ => println!("unexpected reply {reply:?}"),
    }
    if reply.first() == Some(&1) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(Exit::Refused)
    }
}

/// `tf oob [N]`: sends N urgent bytes (default 1) and waits for each echo.
pub fn oob(c: &mut Client, args: &[String]) -> ExitCode {
    let n: u32 = args.first().and_then(|v| v.parse().ok()).unwrap_or(1);
    let fd = c.chan.stream().as_raw_fd();
    for i in 0..n {
        let b = [b'!'];
        let t = Instant::now();
        if let Err(e) = send(fd, &b, MsgFlags::MSG_OOB) {
            return fail(format!("send OOB: {e}"));
        }
        let mut got = [0u8; 1];
        loop {
            match recv(fd, &mut got, MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT) {
                Ok(1) => break,
                _ if t.elapsed() > Duration::from_secs(5) => return fail(format!("no OOB echo for byte {}", i + 1)),
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        println!("OOB echo {} in {:.3} ms", i + 1, t.elapsed().as_secs_f64() * 1000.0);
    }
    ExitCode::SUCCESS
}

/// `tf nigma N` then one ECHO under the new key.
pub fn nigma(c: &mut Client, args: &[String]) -> ExitCode {
    let n: u32 = args.first().and_then(|v| v.parse().ok()).unwrap_or(32);
    match c.nigma(n).split() {
        Ok(Ok(())) => match c.raw(b"ECHO ok") {
            Ok(r) if r == b"ok" => {
                println!("OK: session key replaced ({n} bytes)");
                ExitCode::SUCCESS
            }
            Ok(r) => fail(format!("unexpected reply after NIGMA: {r:?}")),
            Err(e) => fail(e),
        },
        Ok(Err(st)) => print_status(&st),
        Err(e) => fail(e),
    }
}
