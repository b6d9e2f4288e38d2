//! Memory a client makes tfd hold (issue 64, finding 1): `TOUCH empty.bin`,
//! `TFDDELTAGET 366503788544 131072 8 empty.bin`, then 128 `S` frames of
//! 12-byte entries (33,554,424 bytes): the early probe could not judge an
//! empty file, so every entry was kept, 37 MiB a session held for as long
//! as the client liked (169 MiB at the peak of one that sent `E`). A file
//! shorter than one block holds no block of the old copy, so no signature
//! is kept: the first `S` frame is answered that a delta would not pay and
//! the rest are read and dropped.

use crate::common;

use common::*;
use std::fs;
use tfp_wire::delta as wire;
use tfp_wire::Status;

/// Sessions flooding at once.
const SESSIONS: usize = 16;
/// What one session of tfd may hold resident while it reads a flood it
/// keeps nothing of (its code, stacks, buffers and frames in flight).
const PER_SESSION: u64 = 16 << 20;

/// The resident bytes of the process `pid` and all its descendants.
fn tree_rss(pid: i32) -> u64 {
    let mut total = 0;
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        if let Ok(st) = fs::read_to_string(format!("/proc/{p}/status")) {
            let kib: u64 = st
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            total += kib << 10;
        }
        for task in fs::read_dir(format!("/proc/{p}/task")).into_iter().flatten().flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            todo.extend(children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()));
        }
    }
    total
}

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
        let rss = tree_rss(srv.pid());
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
