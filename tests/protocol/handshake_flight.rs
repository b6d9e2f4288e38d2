//! The client's handshake as one flight, against a fake server (a plain
//! listener in the test): every frame that needs no answer is already in the
//! server's socket when it reads the first one, and a refusal of any step is
//! reported as that step's, although the server then closes with the later
//! frames unread (its kernel answers them with a reset).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_channel::Channel;
use tfp_client::{Client, ClientConfig, Error, FaiToken, Transport};
use tfp_wire::{handshake as hs, Cipher};

const HASH: &str = "flight-hash";

/// A listener and a client config aimed at it (secure transport preferred,
/// so the upgrade request rides behind the hash, as tf sends it).
fn fake() -> (TcpListener, ClientConfig) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = ClientConfig::new(&l.local_addr().unwrap().to_string(), keys().1.clone(), HASH);
    cfg.timeout = Some(Duration::from_secs(20));
    cfg.transport = Transport::Prefer;
    (l, cfg)
}

fn accept(l: &TcpListener) -> TcpStream {
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Waits (at most 10 s) until `n` bytes sit in the socket unread, having
/// answered nothing: the client sent them without waiting for a reply. Fails
/// naming `what` if they never come (a client that waits for answers).
fn wait_readable(s: &TcpStream, n: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = vec![0u8; n];
    s.set_nonblocking(true).unwrap();
    loop {
        match s.peek(&mut buf) {
            Ok(k) if k >= n => break,
            Ok(0) => panic!("the client closed before sending {what}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not arrive before any answer: the client waits for replies between handshake frames"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    s.set_nonblocking(false).unwrap();
}

/// The bytes of the version, key and hash frames and the next frame's header:
/// what must be readable before the server answers anything.
fn flight_len(cfg: &ClientConfig) -> usize {
    let rsa_len = openssl::rsa::Rsa::public_key_from_pem(&cfg.pubkey_pem).unwrap().size() as usize;
    4 + cfg.proto.len() + 4 + rsa_len + 4 + cfg.hash.len() + 4 + tfp_wire::features::COMMAND.len() + 4
}

fn private_key() -> openssl::rsa::Rsa<openssl::pkey::Private> {
    openssl::pkey::PKey::private_key_from_pem(&keys().0)
        .unwrap()
        .rsa()
        .unwrap()
}

#[test]
fn version_key_hash_and_upgrade_leave_in_one_flight() {
    let (l, cfg) = fake();
    let sent = cfg.clone();
    let client = std::thread::spawn(move || {
        let mut c = Client::connect(&sent)?;
        let echo = c.raw(b"ECHO flown")?;
        Ok::<_, Error>((echo, c.secure()))
    });
    let s = accept(&l);
    wait_readable(&s, flight_len(&cfg), "the key and the hash frames");
    let mut ch = Channel::new(s).unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), cfg.proto.as_bytes());
    let enc = ch.rx.recv_frame().unwrap();
    let key = hs::decrypt_session_key(&private_key(), &enc).unwrap();
    ch.tx.send_frame(b"OK").unwrap();
    ch.tx.send_frame(b"OK").unwrap();
    ch.start_cipher(&key);
    assert_eq!(ch.rx.recv_frame().unwrap(), HASH.as_bytes());
    // the session's features asked behind the hash, in the same flight (a
    // session with no LOGIN to carry it: in once its hash is taken)
    assert_eq!(ch.rx.recv_frame().unwrap(), tfp_wire::features::COMMAND.as_bytes());
    let up = ch.rx.recv_frame().unwrap();
    assert!(up.starts_with(b"TFDSECURE "), "{:?}", String::from_utf8_lossy(&up));
    ch.tx.send_frame(b"OK").unwrap();
    // an older server's answers: no features (never asked again), and the
    // session stays on the legacy cipher
    ch.tx.send_frame(b"UNKNOWN").unwrap();
    ch.tx.send_frame(b"UNKNOWN").unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), b"ECHO flown");
    ch.tx.send_frame(b"flown").unwrap();
    let (echo, secure) = client.join().unwrap().unwrap();
    assert_eq!(echo, b"flown");
    assert!(!secure);
}

#[test]
fn the_fai_token_and_the_upgrade_leave_in_one_flight() {
    let (l, cfg) = fake();
    let fai = FaiToken {
        token: "0123456789abcdef0123456789abcdef".into(),
        expiry: u64::MAX,
        key: vec![7u8; 32],
    };
    let key = fai.key.clone();
    let token_frame = [tfp_wire::fai::PREFIX, fai.token.as_bytes()].concat();
    let client = std::thread::spawn(move || {
        let (mut c, next) = Client::connect_fai(&cfg, &fai)?;
        Ok::<_, Error>((c.raw(b"ECHO fai")?, next.key))
    });
    let s = accept(&l);
    wait_readable(&s, 4 + token_frame.len() + 4, "the upgrade request");
    let mut ch = Channel::new(s).unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), token_frame);
    ch.tx.send_frame(b"OK").unwrap();
    ch.start_cipher(&key);
    let next = vec![9u8; tfp_wire::fai::KEY_MIN];
    ch.tx
        .send_frame(openssl::base64::encode_block(&next).as_bytes())
        .unwrap();
    let up = ch.rx.recv_frame().unwrap();
    assert!(up.starts_with(b"TFDSECURE "), "{:?}", String::from_utf8_lossy(&up));
    ch.tx.send_frame(b"UNKNOWN").unwrap();
    // the session's features asked ahead of its first command, in the
    // same write (issue 83); an older server's UNKNOWN
    assert_eq!(ch.rx.recv_frame().unwrap(), tfp_wire::features::COMMAND.as_bytes());
    assert!(ch.rx.buffered() > 0, "the features question left alone");
    assert_eq!(ch.rx.recv_frame().unwrap(), b"ECHO fai");
    ch.tx.send_frame(b"UNKNOWN").unwrap();
    ch.tx.send_frame(b"fai").unwrap();
    let (echo, got) = client.join().unwrap().unwrap();
    assert_eq!(echo, b"fai");
    assert_eq!(got, next);
}

/// Reads exactly one frame of `len` payload bytes off the socket, as they
/// are (no buffer reads past it, so what follows stays unread in the kernel).
fn read_raw(s: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; 4 + len];
    s.read_exact(&mut b).unwrap();
    b.split_off(4)
}

/// The server refuses at `step` (0 version, 1 key, 2 hash) and closes with
/// the rest of the flight (at least the upgrade request) unread.
fn refused_at(step: usize) -> Result<Client, Error> {
    let (l, cfg) = fake();
    let want = flight_len(&cfg);
    let asked = 4 + tfp_wire::features::COMMAND.len();
    let (proto, rsa_len) = (cfg.proto.len(), want - asked - 16 - cfg.proto.len() - HASH.len());
    let client = std::thread::spawn(move || Client::connect(&cfg));
    let mut s = accept(&l);
    wait_readable(&s, want, "the whole flight");
    // answers only: nothing is read through the channel's buffer
    let mut ch = Channel::new(s.try_clone().unwrap()).unwrap();
    let _version = read_raw(&mut s, proto);
    let refusals: [&[u8]; 3] = [
        b"FAILED 2 : Incompatible protocol.",
        b"FAILED 25 : Bad RSA key.",
        b"FAILED 3 : Invalid hash.",
    ];
    if step == 0 {
        ch.tx.send_frame(refusals[0]).unwrap();
    } else {
        let enc = read_raw(&mut s, rsa_len);
        ch.tx.send_frame(b"OK").unwrap();
        if step == 1 {
            ch.tx.send_frame(refusals[1]).unwrap();
        } else {
            let key = hs::decrypt_session_key(&private_key(), &enc).unwrap();
            ch.tx.send_frame(b"OK").unwrap();
            ch.tx.set_cipher(Cipher::new(&key));
            let _hash = read_raw(&mut s, HASH.len());
            ch.tx.send_frame(refusals[2]).unwrap();
        }
    }
    // frames are left unread: closing now makes the kernel send a reset
    drop(ch);
    drop(s);
    client.join().unwrap()
}

#[test]
fn each_refusal_names_its_step_though_the_server_resets() {
    for (step, name, code) in [(0, "version", 2), (1, "session key", 25), (2, "hash", 3)] {
        match refused_at(step) {
            Err(Error::Handshake(got, st)) => {
                assert_eq!((got, st.failed_code()), (name, Some(code)), "step {step}")
            }
            Err(e) => panic!("step {step}: expected the {name} step's refusal, got {e}"),
            Ok(_) => panic!("step {step}: a refused handshake made a session"),
        }
    }
}
