//! A hostile client's framed batch (`TFDPUTMANY <n> z f`, issue 62) at the
//! real server: a frame that decodes beyond what it announces (a bomb), one
//! shorter than it announces, a record announcing more than the batch
//! allows, and a frame whose length lies are each answered `FAILED 16` and
//! end the session; the file they were writing keeps its old bytes, nothing
//! else lands, no temporary is left, and the server goes on serving
//! sessions beside them, four at once.

use std::fs;
use tfd_testkit::*;
use tfp_wire::batch::put::{FileHead, PutMany};

/// A record of the framed stream: its length and its bytes.
fn record(bytes: &[u8]) -> Vec<u8> {
    [&(bytes.len() as u32).to_be_bytes()[..], bytes].concat()
}

/// A wire frame holding `block` (a `tfp_wire::compress` block).
fn frame(block: &[u8]) -> Vec<u8> {
    [&((block.len() - 5) as u32).to_be_bytes()[..], block].concat()
}

/// A raw (uncompressed) block of `data`.
fn raw_block(data: &[u8]) -> Vec<u8> {
    [&[0u8][..], &(data.len() as u32).to_be_bytes(), data].concat()
}

/// The frames of each attack: the header of `victim` (1 KiB) in a raw
/// frame, then the lie.
fn attacks() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let head = FileHead::new(1024, None, None, b"victim").encode();
    let first = frame(&raw_block(&record(&head)));
    let zeros = vec![0u8; 400 << 10];
    let mut long_length = frame(&raw_block(b"x"));
    long_length[..4].copy_from_slice(&9u32.to_be_bytes());
    vec![
        ("bomb", vec![first.clone(), frame(&lying_block(&zeros, 1024))]),
        ("short", vec![first.clone(), frame(&lying_block(&zeros[..100], 4096))]),
        // a data record announcing 1 GiB
        (
            "record",
            vec![first.clone(), frame(&raw_block(&(1u32 << 30).to_be_bytes()))],
        ),
        ("length", vec![first, long_length]),
    ]
}

#[test]
fn a_hostile_framed_batch_ends_its_session_and_changes_nothing() {
    let srv = Server::start();
    fs::write(srv.path("victim"), b"the old bytes\n").unwrap();
    let before = dir_names(&srv.data);
    std::thread::scope(|sc| {
        for t in 0..4 {
            let srv = &srv;
            sc.spawn(move || {
                for (what, frames) in attacks() {
                    let mut c = srv.client();
                    let line = PutMany {
                        n: 1,
                        archive: false,
                        blocks: true,
                        framed: true,
                        attrs: false,
                    }
                    .line();
                    assert_eq!(c.raw(&line).unwrap(), b"OK", "{t} {what}");
                    for f in &frames {
                        // the server may hang up before the last frame
                        let _ = c.chan.tx.send_frame(f);
                    }
                    let answer = c.chan.rx.recv_frame().unwrap_or_default();
                    let answer = String::from_utf8_lossy(&answer);
                    assert!(answer.starts_with("FAILED 16"), "{t} {what}: {answer:?}");
                    assert!(c.chan.rx.recv_frame().is_err(), "{t} {what}: the session went on");
                    // a new session beside it is served
                    let mut other = srv.client();
                    assert_eq!(other.fsize(b"victim").unwrap(), 14, "{t} {what}");
                }
            });
        }
    });
    assert_eq!(fs::read(srv.path("victim")).unwrap(), b"the old bytes\n");
    assert_eq!(dir_names(&srv.data), before, "something landed or a temporary stayed");
    assert_eq!(srv.log().matches("TFDPUTMANY out of step").count(), 16, "{}", srv.log());
}
