//! The memory budget across sessions (issue 64): what clients make tfd hold
//! for what they send (a delta download's signatures and their index, a
//! batch's paths and outcomes) is claimed of one budget all session
//! processes share (`memory_budget`), so many sessions each sending the
//! most a session may hold cannot take the machine's memory: those beyond
//! the budget are refused with FAILED after a bounded wait, a session
//! killed holding its share gives it back, and a batch refused is answered
//! in step, file by file.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_wire::batch::put::{FileHead, Stored};
use tfp_wire::batch::{get, Trailer};
use tfp_wire::delta as wire;
use tfp_wire::Status;

/// Sessions sending their most at once.
const SESSIONS: usize = 16;
/// What a tfd process holds resident of its own besides what it claims of
/// the budget: its share of tfd's code and libraries (counted again in
/// every process's RSS) and the buffers of one transfer (tfd.conf(5),
/// `memory_budget`).
const PER_PROCESS: u64 = 32 << 20;
/// The block of the floods: the largest, so the old copy they describe is
/// the largest a delta download takes (a 350 GiB file).
const BLOCK: u32 = wire::MAX_BLOCK;
/// The server's file each delta download is of.
const FILE: usize = 1 << 20;

/// The most signatures a delta download may send, the worst for the
/// server's index of them: the server file's own blocks first (so the
/// early probe finds that a delta pays and every entry is kept), then
/// entries in pairs sharing their rolling checksum, each pair a map of its
/// own in the index.
fn worst_signatures(file: &[u8]) -> Vec<u8> {
    let own = fast_rsync::Signature::calculate(
        file,
        fast_rsync::SignatureOptions {
            block_size: BLOCK,
            crypto_hash_size: wire::STRONG,
        },
    );
    let mut sig = own.serialized()[wire::SIG_HEADER..].to_vec();
    let entries = (wire::MAX_GET_SIGNATURE / wire::ENTRY as u64) as usize;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut i = sig.len() / wire::ENTRY;
    while i < entries {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sig.extend_from_slice(&((i / 2) as u32 ^ 0x5bd1_e995).to_be_bytes());
        sig.extend_from_slice(&x.to_le_bytes());
        i += 1;
    }
    sig
}

/// The delta download's command for the flood: the old copy its
/// signatures describe.
fn delta_get(name: &str) -> String {
    let entries = wire::MAX_GET_SIGNATURE / wire::ENTRY as u64;
    format!("{} {BLOCK} {} {name}", entries * u64::from(BLOCK), wire::STRONG)
}

/// What one session of a delta download of the flood claims (tfd's
/// `delta_get::held`): the signatures with their index, four windows of the
/// file.
fn claim() -> u64 {
    let entries = wire::MAX_GET_SIGNATURE / wire::ENTRY as u64;
    entries * wire::ENTRY as u64 * wire::HELD_PER_SIGNATURE_BYTE + 4 * FILE as u64
}

/// Where the flood's sessions meet once each has its answer (and its delta):
/// the test reads tfd's memory while they all still hold their sessions,
/// then lets them go on. A session that panics counts as arrived (its
/// [`Arrival`] drops), and every wait has a deadline: nothing hangs.
#[derive(Default)]
struct Meet {
    answered: AtomicUsize,
    arrived: AtomicUsize,
    measured: AtomicBool,
}

/// A session's arrival at the [`Meet`], told when dropped.
struct Arrival<'a>(&'a Meet);

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        self.0.arrived.fetch_add(1, Ordering::SeqCst);
    }
}

impl Meet {
    /// Waits (at most `most`) until `done` says so.
    fn until(most: Duration, done: impl Fn() -> bool) {
        let t0 = Instant::now();
        while !done() && t0.elapsed() < most {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A session: arrives, and waits until tfd's memory is read.
    fn arrive(&self, arrival: Arrival<'_>) {
        drop(arrival);
        Meet::until(Duration::from_secs(180), || self.measured.load(Ordering::SeqCst));
    }
}

/// How one session of the flood went.
enum Went {
    /// Granted, and its delta made.
    Held,
    /// Refused with this text, after this long.
    Refused(String, Duration),
}

/// One session of the flood: asks for a delta download of the most
/// signatures; granted, sends them all but the last entries, then an entry
/// every 200 ms (progress: hold_timeout does not end it) until every
/// session has its answer, then the rest and `E`, and reads the records.
fn flood(srv: &Server, t: usize, sig: &[u8], meet: &Meet) -> Went {
    let arrival = Arrival(meet);
    let mut c = srv.client();
    let t0 = Instant::now();
    let st = c
        .call("TFDDELTAGET", delta_get(&format!("f{t}.bin")).as_bytes())
        .unwrap();
    meet.answered.fetch_add(1, Ordering::SeqCst);
    if let Status::Failed(code, text) = st {
        let took = t0.elapsed();
        assert_eq!(code, 7, "{text}");
        meet.arrive(arrival);
        // the session goes on
        assert_ok(c.call("TOUCH", format!("after{t}").as_bytes()).unwrap());
        return Went::Refused(text, took);
    }
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    let reserve = 64 * wire::ENTRY;
    let (bulk, rest) = sig.split_at(sig.len() - reserve);
    for chunk in bulk.chunks(wire::ENTRY * 21_846) {
        c.chan.tx.send_frame(&[&b"S"[..], chunk].concat()).unwrap();
    }
    let mut rest = rest.chunks(wire::ENTRY);
    while meet.answered.load(Ordering::SeqCst) < SESSIONS && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(entry) = rest.next() {
            c.chan.tx.send_frame(&[&b"S"[..], entry].concat()).unwrap();
        }
    }
    let left: Vec<u8> = rest.flatten().copied().collect();
    if !left.is_empty() {
        c.chan.tx.send_frame(&[&b"S"[..], &left].concat()).unwrap();
    }
    c.chan.tx.send_frame(b"E").unwrap();
    loop {
        let f = c.chan.rx.recv_frame().unwrap();
        match f.first() {
            Some(b'C' | b'L') => continue,
            Some(b'E') => break,
            _ => panic!("session {t}: {}", String::from_utf8_lossy(&f)),
        }
    }
    meet.arrive(arrival);
    assert_ok(c.call("TOUCH", format!("after{t}").as_bytes()).unwrap());
    Went::Held
}

/// Sixteen sessions at once each send the most signatures a delta download
/// may (32 MiB, arranged for the largest index), against a budget that holds
/// two of them: two are granted and build their deltas, the fourteen others
/// are refused with FAILED 7 after hold_timeout (4 s), not left hanging,
/// and go on. The peak resident memory of every tfd process summed (each
/// one's VmHWM, which no sampling can miss) stays under the budget plus
/// [`PER_PROCESS`] a process, and each granted session's peak (the
/// highest peaks) under its claim plus [`PER_PROCESS`]. Without the budget the sixteen held about
/// 250 MiB each at once.
#[test]
fn sessions_sending_their_most_at_once_stay_within_the_budget() {
    let budget: u64 = 1100 << 20;
    let srv = Server::start_with(&format!("memory_budget {budget}\nhold_timeout 4\n"));
    let file = pattern(FILE, 11);
    for t in 0..SESSIONS {
        std::fs::write(srv.path(&format!("f{t}.bin")), &file).unwrap();
    }
    let sig = worst_signatures(&file);
    let meet = Meet::default();
    let (went, peaks) = std::thread::scope(|s| {
        let hands: Vec<_> = (0..SESSIONS)
            .map(|t| {
                let (srv, sig, meet) = (&srv, &sig, &meet);
                s.spawn(move || flood(srv, t, sig, meet))
            })
            .collect();
        Meet::until(Duration::from_secs(180), || {
            meet.arrived.load(Ordering::SeqCst) == SESSIONS
        });
        let peaks: Vec<(i32, u64)> = procs::tree(srv.pid())
            .into_iter()
            .map(|p| (p, procs::status_bytes(p, "VmHWM")))
            .collect();
        meet.measured.store(true, Ordering::SeqCst);
        let total: u64 = peaks.iter().map(|p| p.1).sum();
        eprintln!("tfd's {} processes peaked at {} MiB together", peaks.len(), total >> 20);
        let went: Vec<Went> = hands.into_iter().map(|h| h.join().unwrap()).collect();
        (went, peaks)
    });
    let total: u64 = peaks.iter().map(|p| p.1).sum();
    let bound = budget + peaks.len() as u64 * PER_PROCESS;
    let granted = went.iter().filter(|w| matches!(w, Went::Held)).count();
    // the granted sessions' processes are the ones that peaked highest
    let mut held: Vec<u64> = peaks.iter().map(|p| p.1).collect();
    held.sort_unstable_by(|a, b| b.cmp(a));
    held.truncate(granted);
    eprintln!(
        "bound {} MiB: budget {} MiB + {} x {} MiB; granted sessions peaked at {:?} MiB (claim {} MiB each)",
        bound >> 20,
        budget >> 20,
        peaks.len(),
        PER_PROCESS >> 20,
        held.iter().map(|p| p >> 20).collect::<Vec<_>>(),
        claim() >> 20
    );
    assert_eq!(granted as u64, budget / claim(), "as many granted as the budget holds");
    for p in &held {
        assert!(
            *p < claim() + PER_PROCESS,
            "a granted session peaked at {} MiB",
            p >> 20
        );
    }
    assert!(
        total < bound,
        "tfd peaked at {} MiB, over {} MiB",
        total >> 20,
        bound >> 20
    );
    for w in &went {
        if let Went::Refused(text, took) = w {
            assert!(text.contains("memory budget is spent"), "{text}");
            assert!(
                *took >= Duration::from_secs(3) && *took < Duration::from_secs(30),
                "{took:?}"
            );
        }
    }
    assert!(srv
        .log()
        .contains("TFDDELTAGET refused: the server's memory budget is spent"));
}

/// Sends one signature entry every 200 ms until its socket breaks (its
/// session killed) or `stop` is set: progress that hold_timeout lets go on.
fn trickle(mut c: tfp_client::Client, sig: &[u8], stop: &std::sync::atomic::AtomicBool) {
    for entry in sig.chunks(wire::ENTRY) {
        if stop.load(Ordering::SeqCst) || c.chan.tx.send_frame(&[&b"S"[..], entry].concat()).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A session holding the whole budget (a delta download's most signatures
/// under a budget of one of them) is SIGKILLed: its share comes back as
/// soon as tfd reaps it, so a delta download refused while it lived is
/// granted after, where a share kept by the dead would refuse every one
/// that followed.
#[test]
fn a_killed_session_gives_its_share_back() {
    let srv = Server::start_with("memory_budget 600M\nhold_timeout 2\n");
    let file = pattern(FILE, 12);
    std::fs::write(srv.path("f.bin"), &file).unwrap();
    let sig = worst_signatures(&file);
    let before = procs::tree(srv.pid());
    let mut holder = srv.client();
    let session = procs::tree(srv.pid()).into_iter().find(|p| !before.contains(p));
    let session = session.expect("the holder's session process");
    assert_ok(holder.call("TFDDELTAGET", delta_get("f.bin").as_bytes()).unwrap());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let t = s.spawn(|| trickle(holder, &sig, &stop));
        let mut other = srv.client();
        let t0 = Instant::now();
        match other.call("TFDDELTAGET", delta_get("f.bin").as_bytes()).unwrap() {
            Status::Failed(7, text) => assert!(text.contains("memory budget is spent"), "{text}"),
            st => {
                stop.store(true, Ordering::SeqCst);
                panic!("granted beside the holder: {st:?}")
            }
        }
        assert!(
            t0.elapsed() >= Duration::from_millis(1500),
            "refused after {:?}",
            t0.elapsed()
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(session), nix::sys::signal::Signal::SIGKILL).unwrap();
        t.join().unwrap();
        let t0 = Instant::now();
        let st = other.call("TFDDELTAGET", delta_get("f.bin").as_bytes()).unwrap();
        assert!(matches!(st, Status::Ok(_)), "after the kill: {st:?}");
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "granted after {:?}",
            t0.elapsed()
        );
        other.chan.tx.send_frame(b"A").unwrap();
        assert_ok(other.call("TOUCH", b"after").unwrap());
    });
}

/// A batch the budget cannot hold (a budget of 64 KiB) sent as tf sends it,
/// without waiting for the OK: read to its end and every file answered
/// failed with the reason, nothing stored, and the session goes on.
#[test]
fn a_batch_the_budget_refuses_is_answered_in_step() {
    let srv = Server::start_with("memory_budget 64K\n");
    std::fs::write(srv.path("a.txt"), b"alpha").unwrap();
    let mut c = srv.client();
    // TFDGETMANY of 20 paths (which may hold 80 KiB): OK, an X each, OK 0
    c.chan.tx.send_frame(b"TFDGETMANY 20").unwrap();
    for _ in 0..20 {
        c.chan.tx.send_frame(b"a.txt").unwrap();
    }
    c.chan.tx.send_frame(b"E").unwrap();
    assert_ok(Status::parse(&c.chan.rx.recv_frame().unwrap()));
    for _ in 0..20 {
        let f = c.chan.rx.recv_frame().unwrap();
        match get::Reply::parse(&f) {
            Some(get::Reply::Refused { code: 7, reason }) => assert!(reason.contains("memory budget"), "{reason}"),
            _ => panic!("{}", String::from_utf8_lossy(&f)),
        }
    }
    let end = c.chan.rx.recv_frame().unwrap();
    assert_eq!(get::Sent::parse(&end).map(|s| s.sent), Some(0));
    // TFDPUTMANY (its groups may hold 480 KiB): OK, OK 0 2, a failure each
    c.chan.tx.send_frame(b"TFDPUTMANY 2").unwrap();
    for name in ["x.txt", "y.txt"] {
        let data = b"some data";
        let head = FileHead {
            size: data.len() as u64,
            flags: 0,
            mode: 0o644,
            mtime: 0,
            path: name.as_bytes(),
        };
        c.chan.tx.send_frame(&head.encode()).unwrap();
        c.chan.tx.send_frame(data).unwrap();
        let sum: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(data)).into();
        c.chan.tx.send_frame(&Trailer::Sum(sum).encode()).unwrap();
    }
    c.chan.tx.send_frame(b"E").unwrap();
    assert_ok(Status::parse(&c.chan.rx.recv_frame().unwrap()));
    let stored = Stored::parse(&c.chan.rx.recv_frame().unwrap()).unwrap();
    assert_eq!((stored.stored, stored.failed), (0, 2));
    for i in 0..2 {
        let f = c.chan.rx.recv_frame().unwrap();
        let failure = tfp_wire::batch::put::Failure::parse(&f).unwrap();
        assert_eq!((failure.index, failure.code), (i, 7));
        assert!(failure.reason.contains("memory budget"), "{}", failure.reason);
    }
    assert!(!srv.path("x.txt").exists() && !srv.path("y.txt").exists());
    assert_ok(c.call("TOUCH", b"after").unwrap());
    assert!(srv.log().contains("TFDPUTMANY refused: the server's memory budget"));
}

/// A batch whose client stops in the middle (a TFDGETMANY after one of its
/// paths, a TFDPUTMANY after a file's first bytes) holds its claim only
/// until hold_timeout (2 s here) ends the session; with idle_timeout 0 (the
/// default) the old code waited for ever.
#[test]
fn a_batch_without_progress_is_closed() {
    let srv = Server::start_with("hold_timeout 2\n");
    let stalls: [&[&[u8]]; 2] = [
        &[b"TFDGETMANY 3", b"a.txt"],
        &[b"TFDPUTMANY 1", b"F 100 0 644 0 x.txt", b"0123456789"],
    ];
    std::thread::scope(|s| {
        let hands: Vec<_> = stalls
            .iter()
            .map(|frames| {
                let srv = &srv;
                s.spawn(move || {
                    let mut c = srv.client();
                    for f in *frames {
                        c.chan.tx.send_frame(f).unwrap();
                    }
                    assert_ok(Status::parse(&c.chan.rx.recv_frame().unwrap()));
                    let t0 = Instant::now();
                    let r = c.chan.rx.recv_frame();
                    let took = t0.elapsed();
                    assert!(r.is_err(), "{frames:?}: answered {r:?}");
                    assert!(
                        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
                        "{frames:?}: closed after {took:?}"
                    );
                })
            })
            .collect();
        for h in hands {
            h.join().unwrap();
        }
    });
}
