//! A framed batch download at the wire (`TFDGETMANY <n> <max> … z f`, issue
//! 62): the probe `TFDGETMANY 0 0 z f` is answered `OK` (`FAILED` with
//! `compression_framed no` or `compression no`, as a server from before
//! it); after a batch's `OK` everything the server sends, every reply, data
//! record, trailer and the closing `OK <n>`, reads as the records of one
//! zstd stream, the files' bytes and SHA-256 whole, on the wire a fraction
//! of what they hold.

use sha2::{Digest, Sha256};
use std::fs;
use tfd_testkit::*;
use tfp_wire::batch::framed::Unframer;
use tfp_wire::batch::get::{GetMany, Reply, Sent};
use tfp_wire::batch::Trailer;
use tfp_wire::compress::Choice;
use tfp_wire::MAX_FRAME;

fn line(n: u64, framed: bool) -> Vec<u8> {
    GetMany {
        n,
        max: Some(1 << 20),
        packed: true,
        archive: false,
        compress: Some(Choice::Force(None)),
        framed,
    }
    .line()
}

#[test]
fn the_probe_says_whether_the_server_frames() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"TFDGETMANY 0 0 z f").unwrap(), b"OK");
    for conf in ["compression_framed no\n", "compression no\n"] {
        let old = Server::start_with(conf);
        let mut c = old.client();
        let said = String::from_utf8_lossy(&c.raw(b"TFDGETMANY 0 0 z f").unwrap()).into_owned();
        assert!(said.starts_with("FAILED"), "{conf}: {said}");
        // the session goes on
        assert_eq!(c.raw(b"TFDGETMANY 0").unwrap(), b"OK", "{conf}");
    }
}

#[test]
fn a_framed_batch_reads_as_one_stream_of_records() {
    let srv = Server::start();
    let mut names = Vec::new();
    let mut datas = Vec::new();
    for i in 0..200 {
        let name = format!("t/f{i}.py");
        let data = format!("def f{i}(x):\n    return x * {i} + 1\n")
            .repeat(40 + i % 9)
            .into_bytes();
        fs::create_dir_all(srv.path("t")).unwrap();
        fs::write(srv.path(&name), &data).unwrap();
        names.push(name);
        datas.push(data);
    }
    // one file over the packed size: the long form, data records and a trailer
    let big = format!("{}\n", "x".repeat(99)).repeat(1000).into_bytes();
    fs::write(srv.path("t/big.txt"), &big).unwrap();
    names.push("t/big.txt".into());
    datas.push(big);
    let mut c = srv.client();
    assert_eq!(c.raw(&line(names.len() as u64, true)).unwrap(), b"OK");
    for n in &names {
        c.chan.tx.send_frame(n.as_bytes()).unwrap();
    }
    c.chan.tx.send_frame(b"E").unwrap();
    let mut u = Unframer::new(21).unwrap();
    let mut next = || {
        u.record::<tfp_channel::ChannelError>(MAX_FRAME, || c.chan.rx.recv_frame())
            .unwrap()
            .unwrap()
    };
    let total: usize = datas.iter().map(Vec::len).sum();
    for data in &datas {
        let head = next();
        match Reply::parse(&head).unwrap() {
            Reply::Packed { meta, data: got, sum } => {
                assert_eq!(meta.size as usize, data.len());
                assert!(got == &data[..]);
                assert_eq!(sum, <[u8; 32]>::from(Sha256::digest(data)));
            }
            Reply::File(meta) => {
                assert_eq!(meta.size as usize, data.len());
                let mut got = Vec::new();
                while got.len() < data.len() {
                    got.extend_from_slice(&next());
                }
                assert!(got == *data);
                let t = next();
                assert_eq!(Trailer::parse(&t), Some(Trailer::Sum(Sha256::digest(data).into())));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        Sent::parse(&next()),
        Some(Sent {
            sent: datas.len() as u64
        })
    );
    assert_eq!(u.leftover(), 0);
    assert!(u.wire * 4 < total as u64, "{} on the wire for {total}", u.wire);
    // the session is in step after it
    assert_eq!(c.raw(b"TFDGETMANY 0").unwrap(), b"OK");
    assert!(srv.log().contains("framed"), "{}", srv.log());
}
