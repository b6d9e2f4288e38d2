//! Liveness over the real wire: PROCKEY, the four UDP probes' exact bytes, the
//! registry reading a killed session as dead at once, OOB echo and its counter,
//! KEEPALIVE, NIGMA, TLB round-robin, and a UDP responder that survives garbage.

use tfp_client::replies::{AsStatus as _, Split as _};

use nix::sys::socket::{recv, send, MsgFlags};
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_wire::Status;

fn udp(srv: &Server) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.connect(("127.0.0.1", srv.port)).unwrap();
    s
}

fn probe(s: &UdpSocket, d: &[u8]) -> Vec<u8> {
    s.send(d).unwrap();
    let mut b = [0u8; 600];
    let n = s.recv(&mut b).expect("no UDP reply");
    b[..n].to_vec()
}

fn with_key(kind: u8, key: &str) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(key.as_bytes());
    v
}

#[test]
fn prockey_and_udp_probes() {
    let srv = Server::start();
    let u = udp(&srv);
    assert_eq!(probe(&u, &[0]), [1], "HOSTCHECK");
    let mut c = srv.client();
    let key = assert_ok(c.call("PROCKEY", b"").unwrap());
    assert!(
        key.starts_with('/') && key.len() == 33 && key[1..].chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    let mut other = srv.client();
    assert_ne!(
        assert_ok(other.call("PROCKEY", b"").unwrap()),
        key,
        "each session has its own key"
    );
    assert_eq!(probe(&u, &with_key(1, &key)), [1], "PROCHECK alive");
    assert_eq!(probe(&u, &with_key(1, &key[1..])), [1], "PROCHECK without the slash");
    assert_eq!(probe(&u, &with_key(2, &key)), [1, b'0', 0], "SOCKCHECK, no OOB yet");
    let stranger = "/0123456789abcdef0123456789abcdef";
    assert_eq!(probe(&u, &with_key(1, stranger)), [0]);
    assert_eq!(probe(&u, &with_key(2, stranger)), [0]);
    // after END the session reads as dead
    c.end().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while probe(&u, &with_key(1, &key)) != [0] {
        assert!(Instant::now() < deadline, "PROCHECK still alive after END");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(probe(&u, &with_key(2, &key)), [0]);
    // unknown probes get no reply at all
    u.send(&[7, 1, 2]).unwrap();
    let mut b = [0u8; 16];
    u.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(u.recv(&mut b).is_err(), "unknown probe answered");
}

#[test]
fn killed_session_reads_dead_at_once() {
    let srv = Server::start();
    let u = udp(&srv);
    let mut c = srv.client();
    let key = assert_ok(c.call("PROCKEY", b"").unwrap());
    let (live, _) = srv.children();
    let tasks: Vec<String> = live
        .iter()
        .map(|p| {
            std::fs::read_to_string(format!("/proc/{p}/status"))
                .unwrap_or_default()
                .lines()
                .take(1)
                .collect()
        })
        .collect();
    assert_eq!(live.len(), 1, "{live:?} {tasks:?}");
    assert_eq!(probe(&u, &with_key(1, &key)), [1]);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(live[0]), nix::sys::signal::SIGKILL).unwrap();
    // once the kernel has ended the process (zombie or gone), the very next probe
    // reads it dead: no clock, so a loaded machine's scheduling (of the kill, of
    // the listener's reaping, of the responder) cannot make this pass or fail,
    // and a registry that waited for the reap (or any sweep) still answers 1 here
    let dead = |pid: i32| proc_stat(pid).is_none_or(|f| f[0] == "Z");
    let t = Instant::now();
    while !dead(live[0]) {
        assert!(t.elapsed() < Duration::from_secs(10), "SIGKILL did not end {}", live[0]);
        std::thread::yield_now();
    }
    assert_eq!(
        probe(&u, &with_key(1, &key)),
        [0],
        "PROCHECK alive after the kernel ended the session"
    );
    assert!(!std::path::Path::new("/dev/shm").read_dir().unwrap().any(|e| {
        e.map(|e| e.file_name().to_string_lossy().contains(&key[1..]))
            .unwrap_or(false)
    }));
}

#[test]
fn oob_bytes_are_echoed_and_counted() {
    let srv = Server::start();
    let u = udp(&srv);
    let mut c = srv.client();
    let key = assert_ok(c.call("PROCKEY", b"").unwrap());
    let fd = c.chan.stream().as_raw_fd();
    for i in 0..100u8 {
        let b = [b'!' + i];
        send(fd, &b, MsgFlags::MSG_OOB).unwrap();
        let mut got = [0u8; 1];
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match recv(fd, &mut got, MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT) {
                Ok(1) => break,
                _ => {
                    assert!(Instant::now() < deadline, "no OOB echo for byte {i}");
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        assert_eq!(got, b, "the same byte comes back");
    }
    assert_eq!(probe(&u, &with_key(2, &key)), b"\x01100\0");
    // the command stream was not disturbed
    assert_eq!(c.raw(b"ECHO after oob").unwrap(), b"after oob");
}

/// Thread names of a process.
fn threads_of(pid: i32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect()
}

#[test]
fn the_oob_thread_starts_with_the_first_busy_command_and_counts_while_blocked() {
    let srv = Server::start();
    let u = udp(&srv);
    // 64 MiB: more than loopback's socket buffers can hold for a client not reading
    let f = std::fs::File::create(srv.path("huge")).unwrap();
    f.set_len(64 << 20).unwrap();
    let mut c = srv.client();
    let key = assert_ok(c.call("PROCKEY", b"").unwrap());
    assert_eq!(c.raw(b"ECHO idle").unwrap(), b"idle");
    let pid = srv.session_pid();
    assert_eq!(
        threads_of(pid),
        ["tfd"],
        "no OOB thread for a session that only answers from memory"
    );

    // SDOWN streams without waiting for the client, which does not read: the
    // session's main thread blocks in send (its read-ahead thread, if any, waits
    // for a buffer), so only the OOB thread can take an urgent byte now
    c.chan.tx.send_frame(b"SDOWN huge").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // the main thread's current system call: write(1), sendto(44), sendmsg(46)
        let sc = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/syscall")).unwrap_or_default();
        let nr = sc.split_whitespace().next().unwrap_or("").to_string();
        if threads_of(pid).iter().any(|t| t == "oob") && ["1", "44", "46"].contains(&nr.as_str()) {
            std::thread::sleep(Duration::from_millis(100));
            let again = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/syscall")).unwrap_or_default();
            if again == sc {
                break; // still in the same call: blocked, not just passing through
            }
        }
        assert!(
            Instant::now() < deadline,
            "session not blocked in send ({sc}): {:?}",
            threads_of(pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(threads_of(pid).contains(&"oob".to_string()));
    send(c.chan.stream().as_raw_fd(), b"!", MsgFlags::MSG_OOB).unwrap();
    wait_oob_count(
        &u,
        &key,
        b"1",
        "the urgent byte was not counted while the session was blocked",
    );
}

/// Waits (up to 10 s) until SOCKCHECK reports `count` urgent bytes for `key`.
fn wait_oob_count(u: &UdpSocket, key: &str, count: &[u8], what: &str) {
    let want = [&[1u8][..], count, &[0]].concat();
    let deadline = Instant::now() + Duration::from_secs(10);
    while probe(u, &with_key(2, key)) != want {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn udp_survives_garbage() {
    let srv = Server::start();
    let u = udp(&srv);
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut buf = vec![0u8; 2000];
    for i in 0..10_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 700) as usize + if i % 50 == 0 { 1000 } else { 0 };
        for b in buf[..len].iter_mut() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            *b = (x >> 56) as u8;
        }
        // mostly unknown or malformed probes; valid-looking ones get answers we drain
        if len > 0 && buf[0] < 4 {
            buf[0] = 9;
        }
        let _ = u.send(&buf[..len]);
    }
    // all that got no reply, and the service still answers
    u.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut b = [0u8; 16];
    while u.recv(&mut b).is_ok() {}
    u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(probe(&u, &[0]), [1]);
    assert_eq!(probe(&u, &with_key(1, "x")), [0]);
    let mut long_key = vec![1u8];
    long_key.extend(std::iter::repeat_n(b'a', 511));
    assert_eq!(probe(&u, &long_key), [0]);
    assert_eq!(probe(&u, &[3]), [0], "no tlb configured");
    assert!(!srv.log().contains("restarting it"), "the responder never died");
}

#[test]
fn udp_responder_is_unprivileged_and_restarted() {
    if !require(is_root(), "needs root") {
        return;
    }
    let srv = Server::start();
    let pid = udp_responder_of(srv.pid()).expect("udp responder process");
    assert_runs_as_nobody(pid);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    let u = udp(&srv);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        u.send(&[0]).unwrap();
        let mut b = [0u8; 4];
        u.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        if u.recv(&mut b).ok() == Some(1) && b[0] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "UDP responder not restarted");
    }
    assert_ne!(udp_responder_of(srv.pid()), Some(pid));
}

#[test]
fn tlb_round_robin_over_tcp_and_udp() {
    let dir = tempdir("tlb");
    let list = dir.join("tlb.list");
    std::fs::write(&list, "# pool\n4 10.0.0.1;1234\n6 ::1;4321\n4 10.0.0.2;99\n").unwrap();
    let srv = Server::start_with(&format!("tlb {}\n", list.display()));
    let mut a = srv.client();
    let mut b = srv.client();
    let u = udp(&srv);
    let got = [
        assert_ok(a.call("TLB", b"").unwrap()),
        assert_ok(b.call("TLB", b"").unwrap()),
        String::from_utf8(probe(&u, &[3])[1..].to_vec()).unwrap(),
        assert_ok(a.call("TLB", b"").unwrap()),
    ];
    assert_eq!(
        got,
        ["4 10.0.0.1;1234", "6 ::1;4321", "4 10.0.0.2;99\0", "4 10.0.0.1;1234"]
    );
    assert_eq!(probe(&u, &[3])[0], 1);
    let srv2 = Server::start();
    assert_failed(srv2.client().call("TLB", b"").unwrap(), 52);
}

#[test]
fn keepalive_command() {
    let srv = Server::start();
    let mut c = srv.client();
    assert!(ok(&c.call("KEEPALIVE", b"1 60 | 10 | 5").unwrap()));
    assert!(ok(&c.call("KEEPALIVE", b"0 0 | 0 | 0").unwrap()));
    assert_failed(c.call("KEEPALIVE", b"0").unwrap(), 16);
    assert_failed(c.call("KEEPALIVE", b"1 60 | 10").unwrap(), 16);
    assert_failed(c.call("KEEPALIVE", b"1 x | 1 | 1").unwrap(), 16);
    assert_failed(c.call("KEEPALIVE", b"1 60 | 10 | 1000").unwrap(), 32);
    assert_failed(c.call("KEEPALIVE", b"1 0 | 10 | 5").unwrap(), 32);
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
}

#[test]
fn nigma_swaps_keys() {
    let srv = Server::start();
    let mut c = srv.client();
    for bad in ["7", "10", "0", "-8", "x", "", "8192"] {
        assert_failed(c.call("NIGMA", bad.as_bytes()).unwrap(), 46);
    }
    for n in [8u32, 12, 64, 256] {
        c.nigma(n).split().unwrap().unwrap();
        for i in 0..20 {
            let m = format!("after nigma {n} #{i}");
            assert_eq!(c.raw(format!("ECHO {m}").as_bytes()).unwrap(), m.as_bytes());
        }
    }
    // a transfer after NIGMA works too
    assert!(ok(&c
        .sndfile(b"n.bin", false, &mut &[5u8; 100_000][..], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(std::fs::read(srv.path("n.bin")).unwrap(), vec![5u8; 100_000]);
    assert!(matches!(c.call("DATE", b"").unwrap(), Status::Ok(_)));
}

/// The OOB thread's context switches so far (voluntary and not), or None
/// while it has not started.
fn oob_switches(pid: i32) -> Option<u64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .find_map(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            if comm.trim() != "oob" {
                return None;
            }
            let status = std::fs::read_to_string(t.path().join("status")).ok()?;
            Some(
                status
                    .lines()
                    .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
                    .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                    .sum(),
            )
        })
}

/// The OOB thread must sleep until urgent data comes, not wake for every
/// segment of the session's traffic: it used to wait in poll(POLLPRI), which a
/// socket wakes on each arriving segment (a context switch per 16 KiB
/// download). It still answers urgent bytes afterwards.
#[test]
fn the_oob_thread_sleeps_through_ordinary_traffic() {
    let srv = Server::start();
    let u = udp(&srv);
    let mut c = srv.client();
    let key = assert_ok(c.call("PROCKEY", b"").unwrap());
    let pid = srv.session_pid();
    // the first transfer starts the OOB thread
    let data = pattern(256 * 1024, 7);
    assert_ok(c.sndfile(b"warm", true, &mut &data[..], &mut |_| {}).status().unwrap());
    let before = oob_switches(pid).expect("an OOB thread after a transfer");
    for i in 0..20 {
        assert_ok(
            c.sndfile(format!("f{i}").as_bytes(), true, &mut &data[..], &mut |_| {})
                .status()
                .unwrap(),
        );
        let mut back = Vec::new();
        assert_ok(
            c.rcvfile(format!("f{i}").as_bytes(), false, &mut back)
                .status()
                .unwrap(),
        );
        assert_eq!(back, data);
        assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    }
    let after = oob_switches(pid).expect("the OOB thread is still there");
    assert!(
        after - before <= 4,
        "the OOB thread woke {} times during 20 uploads and downloads of 256 KiB with no urgent data",
        after - before
    );
    // and it still does its job
    send(c.chan.stream().as_raw_fd(), b"!", MsgFlags::MSG_OOB).unwrap();
    wait_oob_count(&u, &key, b"1", "the urgent byte was not counted");
    assert_eq!(c.raw(b"ECHO after").unwrap(), b"after");
}

/// `idle_timeout` bounds a session's sends too: a client that asks for a big
/// SDOWN and then never reads (its window closes) loses its session within
/// about the timeout. Before, the session waited in send for as long as TCP
/// answered its window probes, and for ever with keepalive off.
#[test]
fn idle_timeout_ends_a_session_whose_client_stops_reading() {
    let srv = Server::start_with("idle_timeout 2\n");
    std::fs::write(srv.data.join("big.bin"), pattern(64 << 20, 3)).unwrap();
    let mut c = srv.client();
    // keepalive off takes TCP_USER_TIMEOUT away: only idle_timeout is left
    assert!(ok(&c.call("KEEPALIVE", b"0 0 | 0 | 0").unwrap()));
    srv.wait_sessions(1, "the client's session");
    c.chan.tx.send_frame(b"SDOWN big.bin").unwrap();
    let t0 = Instant::now();
    // the session fills both socket buffers, then waits on a closed window
    srv.wait_sessions(0, "the session ended by idle_timeout while its client reads nothing");
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "ended before idle_timeout: {:?}",
        t0.elapsed()
    );
    assert!(srv.log().contains("closing"), "the end is logged");
    drop(c);
}
