//! The key process (privilege separation): only it holds the RSA private key;
//! sessions and the listener do not carry it, sessions cannot ask for decryptions
//! once their handshake is done, and a key process that dies is replaced.

use openssl::pkey::PKey;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// Byte strings that only a process holding the private key would have in memory:
/// a line of the PEM's base64 text and the primes and private
/// exponent in big-endian binary, as OpenSSL's BIGNUMs hold them byte-reversed
/// in little-endian words, so both byte orders are looked for.
fn secrets() -> Vec<(String, Vec<u8>)> {
    let (pem, _) = keys();
    let key = PKey::private_key_from_pem(pem).unwrap().rsa().unwrap();
    // the third base64 line, whole (64 characters; lines end in newlines in memory)
    let line = String::from_utf8_lossy(pem)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .nth(2)
        .unwrap()
        .to_string();
    assert_eq!(line.len(), 64);
    let mut out = vec![("PEM text".to_string(), line.into_bytes())];
    for (name, bn) in [("p", key.p().unwrap()), ("q", key.q().unwrap()), ("d", key.d())] {
        let be = bn.to_vec();
        // a 32-byte window from the middle: long enough never to match by chance
        let mid = be.len() / 2;
        let window = be[mid..mid + 32].to_vec();
        let mut le = window.clone();
        le.reverse();
        out.push((format!("{name} (big-endian)"), window));
        out.push((format!("{name} (little-endian)"), le));
    }
    out
}

/// Every readable private or anonymous mapping of `pid` (heap, stacks, data),
/// read through /proc/PID/mem (root reads any process's memory).
fn memory_of(pid: i32) -> Vec<u8> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut all = Vec::new();
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let perms = f[1];
        let path = f.get(5).copied().unwrap_or("");
        if !perms.starts_with("rw") || path == "[vvar]" || path == "[vsyscall]" {
            continue;
        }
        let (a, b) = f[0].split_once('-').unwrap();
        let (a, b) = (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap());
        let mut buf = vec![0u8; (b - a) as usize];
        if mem.seek(SeekFrom::Start(a)).is_ok() && mem.read_exact(&mut buf).is_ok() {
            all.extend_from_slice(&buf);
        }
    }
    assert!(all.len() > 100_000, "read only {} bytes of {pid}'s memory", all.len());
    all
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Inodes of the SOCK_SEQPACKET unix sockets on the machine (/proc/net/unix type 0005).
fn seqpacket_inodes() -> Vec<String> {
    std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(4) == Some(&"0005")).then(|| f[6].to_string())
        })
        .collect()
}

fn socket_inodes_of(pid: i32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy().to_string();
            t.strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn only_the_key_process_holds_the_private_key() {
    if !require(is_root(), "needs root to read other processes' memory") {
        return;
    }
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO held").unwrap(), b"held");
    let session = srv.session_pid();
    let keyproc = key_process_of(srv.pid()).expect("key process");
    let secrets = secrets();

    // the test's own reading is sound: the key process does hold the key
    let kmem = memory_of(keyproc);
    assert!(
        secrets.iter().any(|(_, s)| find(&kmem, s)),
        "none of the key's bytes found in the key process: the search is broken"
    );
    for (who, pid) in [("session", session), ("listener", srv.pid())] {
        let mem = memory_of(pid);
        for (what, s) in &secrets {
            assert!(!find(&mem, s), "the {who} process ({pid}) holds the key's {what}");
        }
    }
    assert_eq!(c.raw(b"ECHO still-served").unwrap(), b"still-served");
}

#[test]
fn sessions_close_the_way_to_the_key_process_after_the_handshake() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    let session = srv.session_pid();
    let seq = seqpacket_inodes();
    let listener_links: Vec<String> = socket_inodes_of(srv.pid())
        .into_iter()
        .filter(|i| seq.contains(i))
        .collect();
    // the key process's and the FAI issuer's
    assert_eq!(listener_links.len(), 2, "the listener holds two request ends");
    let held: Vec<String> = socket_inodes_of(session)
        .into_iter()
        .filter(|i| seq.contains(i))
        .collect();
    // the session keeps the FAI issuer's (FAITOK comes after LOGIN) and no other
    assert_eq!(held.len(), 1, "session {session} holds {held:?}");
    assert!(listener_links.contains(&held[0]), "session {session} holds {held:?}");
    // and the UDP responder never had one
    if let Some(udp) = udp_responder_of(srv.pid()) {
        let held: Vec<String> = socket_inodes_of(udp).into_iter().filter(|i| seq.contains(i)).collect();
        assert!(held.is_empty(), "UDP responder holds {held:?}");
    }
}

#[test]
fn key_process_is_unprivileged_undumpable_and_restarted() {
    if !require(is_root(), "needs root") {
        return;
    }
    let srv = Server::start();
    let pid = key_process_of(srv.pid()).expect("key process");
    assert_runs_as_nobody(pid);
    // not dumpable: the kernel makes its /proc entries root's, whatever its uid
    assert_eq!(std::fs::metadata(format!("/proc/{pid}/mem")).unwrap().uid(), 0);

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let new = loop {
        match key_process_of(srv.pid()) {
            Some(p) if p != pid => break p,
            _ => {}
        }
        assert!(Instant::now() < deadline, "key process not restarted:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_ne!(new, pid);
    // handshakes work again
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO back").unwrap(), b"back");
    assert!(srv.log().contains("key process ended"), "{}", srv.log());
}

#[test]
fn garbage_session_keys_are_refused_and_the_key_process_lives_on() {
    use std::io::Write;
    let srv = Server::start();
    for ct in [vec![0u8; 256], vec![0xffu8; 256], (0..=255u8).collect::<Vec<u8>>()] {
        let mut s = std::net::TcpStream::connect(srv.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let v = b"2.4.1";
        s.write_all(&(v.len() as i32).to_be_bytes()).unwrap();
        s.write_all(v).unwrap();
        let mut hdr = [0u8; 4];
        s.read_exact(&mut hdr).unwrap();
        let mut ok = vec![0u8; i32::from_be_bytes(hdr) as usize];
        s.read_exact(&mut ok).unwrap();
        assert_eq!(ok, b"OK");
        s.write_all(&256i32.to_be_bytes()).unwrap();
        s.write_all(&ct).unwrap();
        s.read_exact(&mut hdr).unwrap();
        let mut reply = vec![0u8; i32::from_be_bytes(hdr) as usize];
        s.read_exact(&mut reply).unwrap();
        assert!(reply.starts_with(b"FAILED 25"), "{:?}", String::from_utf8_lossy(&reply));
    }
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO fine").unwrap(), b"fine");
    assert!(!srv.log().contains("key process ended"), "{}", srv.log());
}
