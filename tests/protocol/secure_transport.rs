//! tfd's secure transport (TFDSECURE, doc/secure-transport.md) through the real
//! wire: every command family over it with files checked on disk, the
//! `secure_transport` modes, and the attacks it exists for. A relay between
//! client and server flips, drops, repeats, reorders and truncates records,
//! replays a whole recorded session and tampers with the upgrade itself; each
//! must end the session with nothing acted upon, and be logged.

use crate::hpf_rounds;
use tfd_testkit::reply::SizeOrCode as _;
use tfp_client::replies::{AsStatus as _, Split as _};

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tfd_testkit::rounds::{notification_round, stream_round_trips};
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;
use tfp_client::{Client, ClientConfig, Error, Transport};
use tfp_wire::Status;

fn secure_config(srv: &Server) -> ClientConfig {
    let mut c = srv.client_config();
    c.transport = Transport::Require;
    c
}

fn secure_client(srv: &Server) -> Client {
    let c = Client::connect(&secure_config(srv)).unwrap_or_else(|e| panic!("connect: {e}\n{}", srv.log()));
    assert!(c.secure());
    c
}

#[test]
fn the_library_upgrades_by_default_and_legacy_clients_never_see_it() {
    let srv = Server::start();
    let mut cfg = srv.client_config();
    cfg.transport = Transport::Prefer;
    let mut c = Client::connect(&cfg).unwrap();
    assert!(c.secure());
    assert_eq!(c.raw(b"ECHO over records").unwrap(), b"over records");
    c.end().unwrap();
    assert_eq!(ClientConfig::new("x:1", vec![], "h").transport, Transport::Prefer);
    srv.wait_log("secure transport on (Noise_NNpsk0_25519_");
    // a client that does not ask stays on the protocol's own cipher
    let mut old = srv.client();
    assert!(!old.secure());
    assert_eq!(old.raw(b"ECHO legacy").unwrap(), b"legacy");
}

#[test]
fn every_command_family_works_over_it() {
    let srv = Server::start();
    let mut c = secure_client(&srv);
    // plain commands
    assert_eq!(c.raw(b"ECHO hello").unwrap(), b"hello");
    assert!(ok(&c.call("MKDIR", b"d").unwrap()));
    assert!(srv.path("d").is_dir());
    // SNDFILE/RCVFILE and SUP/SDOWN, sizes around the record and chunk sizes
    stream_round_trips(&srv, &mut c, "d/", &[0, 1, 65_535, 65_536, 65_537, 524_284, 1_048_593]);
    // PUT/GET (HPF) and the cancel variants
    hpf_rounds::put_get_round_trips(&srv, &mut c, &[1, 4096, 1_000_003], 50);
    c.put_cancel(b"cancelled", 8, b"0123456789", tfp_wire::hpf::code::CANCEL)
        .split()
        .unwrap()
        .unwrap();
    assert!(!srv.path("cancelled").exists());
    fs::write(srv.path("big"), pattern(300_000, 9)).unwrap();
    assert!(c.get_cancel_after_first(b"big", 65_536).split().unwrap().unwrap() > 0);
    assert_eq!(c.raw(b"ECHO after cancel").unwrap(), b"after cancel");
    // listings, 2.4.1 and 2.5.1
    fs::create_dir_all(srv.path("t/e")).unwrap();
    fs::write(srv.path("t/e/f"), b"x").unwrap();
    let ls = c.list(false, b"t").split().unwrap().unwrap();
    assert_eq!(String::from_utf8(ls).unwrap().trim_end(), "D: e/");
    let lsr = String::from_utf8(c.list(true, b"t").split().unwrap().unwrap()).unwrap();
    assert!(lsr.contains("F: e/f"), "{lsr}");
    assert_eq!(c.fsize(b"d/s1").size_or_code().unwrap(), 1);
    // NIGMA: the stream cipher's key moves beneath, the session goes on
    c.nigma(64).split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO after nigma").unwrap(), b"after nigma");
    // GOAES inside the records, and back
    c.goaes().split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO aes inside").unwrap(), b"aes inside");
    assert_eq!(c.tfpcrypto().status().unwrap(), Status::Ok(vec![]));
    // CIAON tokens inside the records
    c.ciaon().split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO with token").unwrap(), b"with token");
    assert_eq!(c.ciaoff().status().unwrap(), Status::Ok(vec![]));
    // GENUUID and time from 2.5.1
    assert!(matches!(c.call("GENUUID", b"").unwrap(), Status::Ok(_)));
    // a second upgrade is declined; nothing changes
    assert_failed(c.call("TFDSECURE", b"again").unwrap(), 200);
    assert_eq!(c.raw(b"ECHO still secure").unwrap(), b"still secure");
    srv.wait_log("TFDSECURE declined: already on");
}

#[test]
fn notification_mode_over_it() {
    let srv = Server::start();
    let mut c = secure_client(&srv);
    notification_round(&srv, &mut c);
    // the server ends with a close record: the client reads a clean end
    assert!(matches!(c.chan.rx.recv_frame(), Err(tfp_channel::ChannelError::Closed)));
}

/// A rekey every 4 KiB from the client: the server follows every one, and
/// the bytes land intact.
#[test]
fn rekeying_mid_transfer() {
    let srv = Server::start();
    let mut cfg = secure_config(&srv);
    cfg.rekey_after = 4096;
    let mut c = Client::connect(&cfg).unwrap();
    let data = pattern(2_000_000, 77);
    let st = c.sndfile(b"rk", false, &mut &data[..], &mut |_| {}).status().unwrap();
    assert_eq!(st, Status::Ok(vec![]));
    assert_eq!(fs::read(srv.path("rk")).unwrap(), data);
    for i in 0..50 {
        let m = format!("ECHO small {i}");
        assert_eq!(c.raw(m.as_bytes()).unwrap(), &m.as_bytes()[5..]);
    }
}

#[test]
fn off_answers_like_an_older_server() {
    let srv = Server::start_with("secure_transport off\n");
    let mut cfg = srv.client_config();
    cfg.transport = Transport::Prefer;
    let mut c = Client::connect(&cfg).unwrap();
    assert!(!c.secure(), "an older server: the legacy cipher goes on");
    assert_eq!(c.raw(b"ECHO still here").unwrap(), b"still here");
    assert_eq!(c.raw(b"TFDSECURE x y").unwrap(), b"UNKNOWN");
    match Client::connect(&secure_config(&srv)) {
        Err(Error::Protocol(m)) => assert!(m.contains("does not offer"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("--secure must not fall back"),
    }
}

#[test]
fn require_refuses_everything_but_the_upgrade() {
    let srv = Server::start_with("secure_transport require\n");
    let mut old = srv.client();
    assert_failed(old.call("ECHO", b"x").unwrap(), 201);
    assert_failed(old.call("MKDIR", b"nope").unwrap(), 201);
    assert_failed(old.call("LOGIN", b"a b").unwrap(), 201);
    assert!(!matches!(
        old.call("KEEPALIVE", b"1 1 1 1").unwrap(),
        Status::Failed(201, _)
    ));
    assert!(!srv.path("nope").exists());
    let mut c = secure_client(&srv);
    assert!(ok(&c.call("MKDIR", b"yes").unwrap()));
    assert!(srv.path("yes").is_dir());
}

/// What the relay does to the client's records once armed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Attack {
    Flip,
    Drop,
    Repeat,
    Swap,
    Truncate,
}

#[derive(Default)]
struct Plan {
    /// Client → server bytes are now whole records (set between round trips).
    records: bool,
    attack: Option<Attack>,
    /// Flip the low bit of the client → server byte at this offset (before
    /// records).
    flip_up: Option<usize>,
    /// Flip the low bit of the server → client byte at this offset.
    flip_down: Option<usize>,
}

/// A TCP relay on loopback that can tamper with what passes.
struct Relay {
    addr: String,
    plan: Arc<Mutex<Plan>>,
    /// Everything the client sent, as sent.
    captured: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn start(target: &str) -> Relay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let plan: Arc<Mutex<Plan>> = Default::default();
        let captured: Arc<Mutex<Vec<u8>>> = Default::default();
        let target = target.to_string();
        let (p, cap) = (plan.clone(), captured.clone());
        std::thread::spawn(move || {
            let Ok((client, _)) = l.accept() else { return };
            let server = TcpStream::connect(&target).unwrap();
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let p2 = p.clone();
            std::thread::spawn(move || down(s2, c2, p2));
            up(client, server, p, cap);
        });
        Relay { addr, plan, captured }
    }

    fn config(&self, srv: &Server) -> ClientConfig {
        let mut c = secure_config(srv);
        c.server = self.addr.clone();
        c.timeout = Some(Duration::from_secs(5));
        c
    }

    fn arm(&self, a: Attack) {
        let mut p = self.plan.lock().unwrap();
        p.records = true;
        p.attack = Some(a);
    }
}

/// Client → server.
fn up(mut from: TcpStream, mut to: TcpStream, plan: Arc<Mutex<Plan>>, cap: Arc<Mutex<Vec<u8>>>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut off = 0usize;
    let mut pending: Vec<u8> = Vec::new();
    let mut held: Option<Vec<u8>> = None;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        cap.lock().unwrap().extend_from_slice(&buf[..n]);
        let mut p = plan.lock().unwrap();
        if !p.records {
            if let Some(f) = p.flip_up {
                if (off..off + n).contains(&f) {
                    buf[f - off] ^= 1;
                }
            }
            off += n;
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            continue;
        }
        pending.extend_from_slice(&buf[..n]);
        while pending.len() >= 4 {
            let len = u32::from_be_bytes(pending[..4].try_into().unwrap()) as usize;
            if pending.len() < 4 + len {
                break;
            }
            let mut rec: Vec<u8> = pending.drain(..4 + len).collect();
            let out: Vec<Vec<u8>> = match p.attack.take() {
                None => match held.take() {
                    Some(h) => vec![rec, h],
                    None => vec![rec],
                },
                Some(Attack::Flip) => {
                    let i = 4 + len / 2;
                    rec[i] ^= 0x01;
                    vec![rec]
                }
                Some(Attack::Drop) => vec![],
                Some(Attack::Repeat) => vec![rec.clone(), rec],
                Some(Attack::Swap) => {
                    held = Some(rec);
                    vec![]
                }
                Some(Attack::Truncate) => {
                    let _ = to.write_all(&rec[..rec.len() / 2]);
                    let _ = to.shutdown(Shutdown::Write);
                    return;
                }
            };
            for r in out {
                if to.write_all(&r).is_err() {
                    return;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Server → client.
fn down(mut from: TcpStream, mut to: TcpStream, plan: Arc<Mutex<Plan>>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut off = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(f) = plan.lock().unwrap().flip_down {
            if (off..off + n).contains(&f) {
                buf[f - off] ^= 1;
            }
        }
        off += n;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Two commands sent back to back, one record each, with the relay armed
/// against the first; returns the client's result of reading a reply.
fn attacked(srv: &Server, a: Attack, first: &str, second: &str) -> Result<Vec<u8>, String> {
    let relay = Relay::start(&srv.addr());
    let mut c = Client::connect(&relay.config(srv)).unwrap();
    // a round trip: every byte so far has passed, the next is a record's first
    assert_eq!(c.raw(b"ECHO sync").unwrap(), b"sync");
    relay.arm(a);
    c.chan.tx.send_frame(first.as_bytes()).unwrap();
    let _ = c.chan.tx.send_frame(second.as_bytes());
    c.chan.rx.recv_frame().map_err(|e| e.to_string())
}

#[test]
fn a_flipped_bit_ends_the_session_before_anything_is_done() {
    let srv = Server::start();
    let r = attacked(&srv, Attack::Flip, "MKDIR flipped", "MKDIR after");
    assert!(r.is_err(), "{r:?}");
    srv.wait_log("secure transport: record refused: authentication failed");
    assert!(!srv.path("flipped").exists() && !srv.path("after").exists());
    // the server goes on serving others
    assert_eq!(secure_client(&srv).raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn a_dropped_record_ends_the_session() {
    let srv = Server::start();
    let r = attacked(&srv, Attack::Drop, "MKDIR dropped", "MKDIR next");
    assert!(r.is_err(), "{r:?}");
    srv.wait_log("record refused: authentication failed");
    assert!(!srv.path("dropped").exists() && !srv.path("next").exists());
}

#[test]
fn a_repeated_record_is_not_acted_upon_twice() {
    let srv = Server::start();
    let r = attacked(&srv, Attack::Repeat, "MKDIR once", "MKDIR never");
    // the first MKDIR is the client's own and is answered; the copy ends it
    assert_eq!(r.as_deref(), Ok(&b"OK"[..]));
    srv.wait_log("record refused: authentication failed");
    assert!(srv.path("once").is_dir());
    assert!(!srv.path("never").exists(), "the command after the repeat ran");
}

#[test]
fn reordered_records_end_the_session() {
    let srv = Server::start();
    let r = attacked(&srv, Attack::Swap, "MKDIR first", "MKDIR second");
    assert!(r.is_err(), "{r:?}");
    srv.wait_log("record refused: authentication failed");
    assert!(!srv.path("first").exists() && !srv.path("second").exists());
}

#[test]
fn a_truncated_stream_is_logged_and_nothing_done() {
    let srv = Server::start();
    let r = attacked(&srv, Attack::Truncate, "MKDIR cut", "MKDIR cut2");
    assert!(r.is_err(), "{r:?}");
    srv.wait_log("the stream ended inside a record (truncated)");
    assert!(!srv.path("cut").exists() && !srv.path("cut2").exists());
}

/// A whole session recorded and sent again (with the RSA replay cache off, so
/// only the secure transport stands in the way): the server's fresh ephemeral
/// key makes every recorded record fail; nothing is done twice.
#[test]
fn a_replayed_session_does_nothing() {
    let srv = Server::start_with("replay_cache 0\n");
    let relay = Relay::start(&srv.addr());
    let mut c = Client::connect(&relay.config(&srv)).unwrap();
    assert!(ok(&c.call("MKDIR", b"replayed").unwrap()));
    c.end().unwrap();
    srv.wait_log("secure transport on");
    std::thread::sleep(Duration::from_millis(200));
    fs::remove_dir(srv.path("replayed")).unwrap();
    let recorded = relay.captured.lock().unwrap().clone();
    let mut s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&recorded).unwrap();
    let _ = s.shutdown(Shutdown::Write);
    let _ = read_to_close(&mut s);
    srv.wait_log("closing: secure transport: record refused: authentication failed");
    assert!(!srv.path("replayed").exists(), "the replayed MKDIR ran");
}

/// The offsets of the upgrade's messages in each direction, from the lengths
/// of the legacy handshake's frames.
fn upgrade_offsets(cfg: &ClientConfig) -> (usize, usize) {
    let rsa = openssl::rsa::Rsa::public_key_from_pem(&cfg.pubkey_pem).unwrap().size() as usize;
    let name = tfp_wire::noise::Suite::preferred().protocol_name().len();
    let up = (4 + cfg.proto.len()) + (4 + rsa) + (4 + cfg.hash.len()) + 4 + "TFDSECURE ".len() + name + 1;
    let down = 3 * (4 + 2) + 4 + 3;
    (up, down)
}

/// Someone on the path changes the client's Noise message: the server cannot
/// authenticate it (it is bound to the session key), refuses and closes.
#[test]
fn a_tampered_upgrade_request_is_refused() {
    let srv = Server::start();
    let relay = Relay::start(&srv.addr());
    let mut cfg = relay.config(&srv);
    // the flight as the offsets count it: no features question behind the hash
    cfg.negotiate = false;
    let (up, _) = upgrade_offsets(&cfg);
    relay.plan.lock().unwrap().flip_up = Some(up + 5);
    match Client::connect(&cfg) {
        Err(Error::Handshake(_, Status::Failed(200, _))) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a tampered upgrade went through"),
    }
    srv.wait_log("TFDSECURE refused: message 1: authentication failed");
}

/// Someone on the path changes the server's Noise message (or answers with
/// keys of its own): the client refuses to go on.
#[test]
fn a_tampered_upgrade_reply_is_refused_by_the_client() {
    let srv = Server::start();
    let (_, down) = upgrade_offsets(&srv.client_config());
    for at in [down + 3, down + 40] {
        let relay = Relay::start(&srv.addr());
        let mut cfg = relay.config(&srv);
        // the answers as the offsets count them: none to a features question
        cfg.negotiate = false;
        relay.plan.lock().unwrap().flip_down = Some(at);
        match Client::connect(&cfg) {
            Err(Error::Protocol(m)) => assert!(m.contains("man in the middle"), "{m}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a tampered reply was accepted"),
        }
    }
    srv.wait_log("the stream ended without a close record (truncated)");
}

/// A server holding another RSA key than the one the client pinned (an
/// impostor, seen from the client): the session key is sealed to the pinned
/// key, so the server learns nothing and no session, secure or not, comes up.
#[test]
fn a_server_with_another_rsa_key_gets_nowhere() {
    let srv = Server::start();
    let other = openssl::rsa::Rsa::generate(2048).unwrap();
    let mut cfg = secure_config(&srv);
    cfg.pubkey_pem = other.public_key_to_pem().unwrap();
    match Client::connect(&cfg) {
        Err(Error::Handshake(step, _)) => assert_eq!(step, "session key"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a session with the wrong key"),
    }
}

/// `tf` upgrades by default and says so with -v; --legacy opts out; --secure
/// insists, and explains a server that does not offer it.
#[test]
fn tf_uses_it_by_default_and_obeys_legacy_and_secure() {
    let srv = Server::start();
    let out = srv.tf(&["-v", "echo", "hi"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hi");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tf: transport: Noise_NNpsk0_25519_"), "{err}");
    let out = srv.tf(&["--legacy", "-v", "echo", "hi"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tf: transport: legacy"),
        "{out:?}"
    );
    // a parallel put over two secure connections
    let local = srv.dir.join("local.bin");
    let data = pattern(3_000_000, 3);
    fs::write(&local, &data).unwrap();
    let out = srv.tf(&["--secure", "put", local.to_str().unwrap(), "up.bin", "--streams", "2"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read(srv.path("up.bin")).unwrap(), data);
    srv.wait_log("secure transport on");

    let off = Server::start_with("secure_transport off\n");
    let out = off.tf(&["--secure", "echo", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not offer the secure transport"), "{err}");
    let out = off.tf(&["-v", "echo", "hi"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("legacy"));
}

/// A multi-user server that requires the secure transport: LOGIN (its password
/// inside records), then the session really runs as that user, and the 2.5.1
/// families (LSV2DOWN's raw lines, FTYPE's raw byte, INTREAD and INTWRITE's
/// raw units, RMKDIR) work over it; files checked on disk.
#[test]
fn login_and_the_251_families_over_it() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, _) = ensure_system_user("tfdsecure1", &[]);
    let f = login_userdb("secure-userdb", "dora", "tfdsecure1", "dora pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nsecure_transport require\n"),
        default_user: false,
        ..Default::default()
    });
    std::os::unix::fs::chown(&srv.data, Some(uid), None).unwrap();
    let mut old = srv.client();
    assert_failed(old.call("LOGIN", b"dora dora pw").unwrap(), 201);
    old.end().unwrap();
    let t = Instant::now();
    while !children_of(srv.pid()).0.is_empty() {
        assert!(t.elapsed() < Duration::from_secs(5), "the first session did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = secure_client(&srv);
    assert_failed(c.call("ECHO", b"x").unwrap(), 38);
    assert_ok(c.call("LOGIN", b"dora dora pw").unwrap());
    assert_eq!(proc_ids(srv.session_pid()).0, format!("{uid} {uid} {uid} {uid}"));
    // RMKDIR, and a file written as dora
    assert!(ok(&c.call("RMKDIR", b"a/b/c").unwrap()));
    assert!(srv.path("a/b/c").is_dir());
    let data = pattern(200_000, 8);
    assert_eq!(
        c.sndfile(b"a/f", false, &mut &data[..], &mut |_| {}).status().unwrap(),
        Status::Ok(vec![])
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(srv.path("a/f")).unwrap().uid(), uid);
    // LSV2DOWN: OK, then [i32 len][line] pairs, then a negative end
    assert_eq!(c.raw(b"LSV2DOWN a").unwrap(), b"OK");
    let mut lines = Vec::new();
    loop {
        let len = c.chan.rx.recv_i32().unwrap();
        if len < 0 {
            break;
        }
        let mut line = vec![0u8; len as usize];
        c.chan.rx.recv_unit(&mut line).unwrap();
        lines.push(String::from_utf8(line).unwrap());
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    // FTYPE: one raw byte
    c.chan.tx.send_frame(b"FTYPE a/f").unwrap();
    let mut b = [0u8; 1];
    c.chan.rx.recv_unit(&mut b).unwrap();
    assert_ne!(b[0] as i8, -1);
    // INTREAD gives size, hash and bytes; INTWRITE with that hash replaces the file
    c.chan.tx.send_frame(b"INTREAD a/f").unwrap();
    let n = c.chan.rx.recv_i32().unwrap();
    assert_eq!(n as usize, data.len());
    let mut hash = vec![0u8; 66];
    c.chan.rx.recv_unit(&mut hash).unwrap();
    let mut got = vec![0u8; n as usize];
    c.chan.rx.recv_unit(&mut got).unwrap();
    assert_eq!(got, data);
    let new = pattern(70_000, 9);
    c.chan.tx.send_frame(b"INTWRITE a/f").unwrap();
    c.chan.tx.send_units(&[&hash]).unwrap();
    c.chan
        .tx
        .send_units(&[&(new.len() as i32).to_be_bytes(), &new])
        .unwrap();
    assert_eq!(c.chan.rx.recv_i32().unwrap(), 0);
    assert_eq!(fs::read(srv.path("a/f")).unwrap(), new);
    assert_eq!(c.raw(b"ECHO in step").unwrap(), b"in step");
    // the password never reaches the log
    c.end().unwrap();
    let log = srv.wait_log("secure transport on");
    assert!(!log.contains("dora pw"));
}
