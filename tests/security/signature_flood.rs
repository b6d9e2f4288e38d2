//! Memory a client makes tfd hold (issue 64, finding 1): `TOUCH empty.bin`,
//! `TFDDELTAGET 366503788544 131072 8 empty.bin`, then 128 `S` frames of
//! 12-byte entries (33,554,424 bytes): the early probe could not judge an
//! empty file, so every entry was kept, 37 MiB a session held for as long
//! as the client liked (169 MiB at the peak of one that sent `E`). A file
//! shorter than one block holds no block of the old copy, so no signature
//! is kept: the first `S` frame is answered that a delta would not pay and
//! the rest are read and dropped.

use std::fs;
use tfd_testkit::*;
use tfp_wire::delta as wire;
use tfp_wire::Status;

/// Sessions flooding at once.
const SESSIONS: usize = 16;
/// What one session of tfd may hold resident while it reads a flood it
/// keeps nothing of (its code, stacks, buffers and frames in flight).
const PER_SESSION: u64 = 16 << 20;

/// The flood from 16 sessions at once against empty files; half
/// never send `E`. While all of them hold their flood, tfd's resident
/// memory, listener and sessions together, stays under 16 times
/// [`PER_SESSION`]; then each is told FAILED and goes on. On the old code
/// every session kept its 32 MiB of signatures.
#[test]
fn a_signature_flood_against_a_file_shorter_than_a_block_keeps_nothing() {
    let srv = Server::start();
    let entries = (wire::MAX_GET_SIGNATURE / wire::ENTRY as u64) as usize;
    let mut flood = vec![0u8; entries * wire::ENTRY];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for c in flood.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
    }
    let flood = &flood;
    let sent = std::sync::Barrier::new(SESSIONS + 1);
    let measured = std::sync::Barrier::new(SESSIONS + 1);
    let (rss, answers) = std::thread::scope(|s| {
        let hands: Vec<_> = (0..SESSIONS)
            .map(|t| {
                let (srv, sent, measured) = (&srv, &sent, &measured);
                s.spawn(move || {
                    let mut c = srv.client();
                    let name = format!("empty{t}.bin");
                    assert_ok(c.call("TOUCH", name.as_bytes()).unwrap());
                    let size = entries as u64 * 131_072;
                    let st = c
                        .call("TFDDELTAGET", format!("{size} 131072 8 {name}").as_bytes())
                        .unwrap();
                    assert!(matches!(st, Status::Ok(_)), "{st:?}");
                    for chunk in flood.chunks(wire::ENTRY * 21_846) {
                        c.chan.tx.send_frame(&[&b"S"[..], chunk].concat()).unwrap();
                    }
                    sent.wait();
                    measured.wait();
                    // half end their signatures, half give up
                    c.chan.tx.send_frame(if t % 2 == 0 { b"E" } else { b"A" }).unwrap();
                    // (checked after the memory: on the old code the diff
                    // of the flood outlasts the client's timeout)
                    let f = c.chan.rx.recv_frame().map_err(|e| e.to_string())?;
                    let after = c
                        .call("TOUCH", format!("after{t}").as_bytes())
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>((String::from_utf8_lossy(&f).into_owned(), after))
                })
            })
            .collect();
        sent.wait();
        // what the sessions hold once every frame is sent (and read)
        std::thread::sleep(std::time::Duration::from_millis(500));
        let rss = procs::tree_rss(srv.pid());
        measured.wait();
        let answers: Vec<_> = hands.into_iter().map(|h| h.join().unwrap()).collect();
        (rss, answers)
    });
    let bound = SESSIONS as u64 * PER_SESSION;
    eprintln!("tfd held {} MiB for {SESSIONS} floods", rss >> 20);
    assert!(
        rss < bound,
        "tfd held {} MiB for {SESSIONS} floods, over {} MiB",
        rss >> 20,
        bound >> 20
    );
    for answer in answers {
        let (f, after) = answer.unwrap();
        assert!(f.starts_with("FAILED") && f.contains("would not pay"), "{f}");
        assert_ok(after);
    }
}

/// Sessions that start a delta download of a file that pays (its own
/// blocks as the first signatures, so they are kept) and then send nothing
/// more: each is closed once `hold_timeout` (2 s here) passes, eight at
/// once, where the old code (`idle_timeout` 0, the default) kept them and
/// their signatures for ever.
#[test]
fn a_session_holding_signatures_without_progress_is_closed() {
    let srv = Server::start_with("hold_timeout 2\n");
    let block = wire::MIN_BLOCK;
    let file = pattern(1 << 20, 7);
    fs::write(srv.path("m.bin"), &file).unwrap();
    let own = fast_rsync::Signature::calculate(
        &file,
        fast_rsync::SignatureOptions {
            block_size: block,
            crypto_hash_size: wire::STRONG,
        },
    );
    let own = &own.serialized()[wire::SIG_HEADER..];
    let own = &own[..own.len() / 2];
    let closed: Vec<Result<std::time::Duration, String>> = std::thread::scope(|s| {
        let hands: Vec<_> = (0..8)
            .map(|_| {
                let (srv, file) = (&srv, &file);
                s.spawn(move || {
                    let mut cfg = srv.client_config();
                    cfg.timeout = Some(std::time::Duration::from_secs(20));
                    let mut c = tfp_client::Client::connect(&cfg).unwrap();
                    let size = file.len() as u64;
                    let st = c
                        .call(
                            "TFDDELTAGET",
                            format!("{size} {block} {} m.bin", wire::STRONG).as_bytes(),
                        )
                        .unwrap();
                    assert!(matches!(st, Status::Ok(_)), "{st:?}");
                    c.chan.tx.send_frame(&[&b"S"[..], own].concat()).unwrap();
                    let t0 = std::time::Instant::now();
                    match c.chan.rx.recv_frame() {
                        Err(_) if t0.elapsed() < std::time::Duration::from_secs(10) => Ok(t0.elapsed()),
                        other => Err(format!("after {:?}: {other:?}", t0.elapsed())),
                    }
                })
            })
            .collect();
        hands.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for c in closed {
        let took = c.unwrap_or_else(|e| panic!("the session was not closed: {e}"));
        assert!(took >= std::time::Duration::from_millis(1500), "closed after {took:?}");
    }
}
