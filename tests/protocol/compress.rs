//! Compressed staged uploads (doc/compatibility.md "Compression", issue 62)
//! through the real wire: TFDZSTD's offer, TFDSTAGEPUTZ's blocks for
//! compressible, incompressible and mixed files and a resumed one (each
//! verified end to end by the commit's SHA-256), a hostile client's bombs
//! refused with FAILED and nothing landing, and `compression no`, which
//! answers as a server without the extension.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tfd_testkit::*;
use tfp_client::engine::staged;
use tfp_client::Client;
use tfp_wire::compress::Choice;
use tfp_wire::compress::{Offer, STAGE_PUT};
use tfp_wire::Status;

const MIB: usize = 1 << 20;

/// Lines of a web server's log: compress several times over.
pub(crate) fn log_lines(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 200);
    let mut i = 0u64;
    while v.len() < len {
        v.extend_from_slice(
            format!(
                "10.{}.{}.{} - - [27/Nov/2026:10:{:02}:{:02} +0000] \"GET /static/{}.css HTTP/1.1\" {} {}\n",
                i % 3,
                i % 17,
                i % 251,
                i % 60,
                i * 7 % 60,
                i % 113,
                [200, 304, 404][(i % 3) as usize],
                i * 37 % 50_000
            )
            .as_bytes(),
        );
        i += 1;
    }
    v.truncate(len);
    v
}

/// A relay that counts the bytes on the wire: what the client sends (up)
/// and what it receives (down), each once its connection closed.
pub(crate) fn counting_relay(to: String) -> (String, Arc<AtomicU64>, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let counted = (up.clone(), down.clone());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let Ok(t) = TcpStream::connect(&to) else { return };
            let (s2, t2) = (s.try_clone().unwrap(), t.try_clone().unwrap());
            let (up, down) = (counted.0.clone(), counted.1.clone());
            std::thread::spawn(move || {
                let n = std::io::copy(&mut &s2, &mut &t2).unwrap_or(0);
                up.fetch_add(n, Ordering::Relaxed);
                let _ = t2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let n = std::io::copy(&mut &t, &mut &s).unwrap_or(0);
                down.fetch_add(n, Ordering::Relaxed);
                let _ = s.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (addr, up, down)
}

/// Uploads `data` as `remote` through a stage over `streams` connections,
/// compressed as `choice` (None: not asked), through a counting relay: the
/// bytes the client sent.
fn staged_put(srv: &Server, data: &[u8], remote: &str, streams: usize, choice: Option<Choice>) -> u64 {
    let src = tempdir("compress-src").join("src.bin");
    std::fs::write(&src, data).unwrap();
    let mut cfg = srv.client_config();
    let (relay, up, _) = counting_relay(cfg.server.clone());
    cfg.server = relay;
    let mut c = Client::connect(&cfg).unwrap();
    let compress = match choice {
        Some(ch) => tfp_client::compress::offer(&mut c).unwrap().map(|o| (ch, o)),
        None => None,
    };
    let req = staged::Request {
        local: &src,
        remote: remote.as_bytes(),
        streams,
        bufsz: 1 << 20,
        resume: false,
        overwrite: true,
        attrs: None,
        compress,
    };
    let r = staged::put(&mut c, &cfg, &req, &Default::default());
    assert!(r.is_ok(), "{r:?}\n{}", srv.log());
    c.end().unwrap();
    assert!(
        std::fs::read(srv.path(remote)).unwrap() == data,
        "{remote}: the bytes differ"
    );
    // the relay counts a connection once it closed
    std::thread::sleep(std::time::Duration::from_millis(200));
    up.load(Ordering::Relaxed)
}

#[test]
fn the_probe_offers_the_configured_level_and_window() {
    let srv = Server::start();
    let mut c = srv.client();
    let o = tfp_client::compress::offer(&mut c).unwrap();
    assert_eq!(
        o,
        Some(Offer {
            level_max: 9,
            window_log: 22
        })
    );
    let srv = Server::start_with("compression_level_max 3\ncompression_memory 1M\n");
    let mut c = srv.client();
    let o = tfp_client::compress::offer(&mut c).unwrap();
    assert_eq!(
        o,
        Some(Offer {
            level_max: 3,
            window_log: 19
        })
    );
}

#[test]
fn compressible_incompressible_and_mixed_files_land_whole() {
    let srv = Server::start();
    let log = log_lines(6 * MIB);
    let raw = staged_put(&srv, &log, "plain.log", 1, None);
    let squeezed = staged_put(&srv, &log, "z.log", 1, Some(Choice::Force(None)));
    assert!(squeezed * 4 < raw, "{squeezed} bytes compressed against {raw}");
    let streams = staged_put(&srv, &log, "z4.log", 4, Some(Choice::Force(Some(1))));
    assert!(streams * 3 < raw, "{streams} bytes over 4 streams against {raw}");
    // random bytes: every block goes raw, hardly more than as they are
    let noise = pattern(4 * MIB, 7);
    let plain = staged_put(&srv, &noise, "plain.bin", 1, None);
    let forced = staged_put(&srv, &noise, "z.bin", 1, Some(Choice::Force(None)));
    assert!(forced < plain + plain / 100, "{forced} against {plain}");
    // half and half, interleaved by the MiB
    let mixed: Vec<u8> = log
        .chunks(MIB)
        .zip(noise.chunks(MIB))
        .flat_map(|(a, b)| [a, b].concat())
        .collect();
    let whole = staged_put(&srv, &mixed, "plain.mix", 2, None);
    let part = staged_put(&srv, &mixed, "z.mix", 2, Some(Choice::Force(None)));
    assert!(part < whole * 7 / 10, "{part} against {whole}");
    // the measured choice lands it whole too, whatever it chose
    staged_put(&srv, &log, "auto.log", 2, Some(Choice::Auto));
}

#[test]
fn a_resumed_compressed_upload_is_whole_and_verified() {
    let srv = Server::start();
    let data = log_lines(3 * MIB);
    let src = tempdir("compress-resume").join("src.log");
    std::fs::write(&src, &data).unwrap();
    let mut c = srv.client();
    // an earlier run wrote the first MiB, then was cut
    let id = staged::identity(&std::fs::File::open(&src).unwrap()).unwrap();
    let open = c
        .call("TFDSTAGE", format!("{} {id} 1 r.log", data.len()).as_bytes())
        .unwrap();
    assert!(matches!(open, Status::Ok(_)), "{open:?}");
    c.put_as("TFDSTAGEPUT", b"r.log", 0, MIB as i64, &mut &data[..MIB], &mut |_| {})
        .unwrap();
    assert!(matches!(Status::parse(&c.chan.rx.recv_frame().unwrap()), Status::Ok(_)));
    let offer = tfp_client::compress::offer(&mut c).unwrap().unwrap();
    let req = staged::Request {
        local: &src,
        remote: b"r.log",
        streams: 1,
        bufsz: 1 << 20,
        resume: true,
        overwrite: true,
        attrs: None,
        compress: Some((Choice::Force(None), offer)),
    };
    let r = staged::put(&mut c, &srv.client_config(), &req, &Default::default()).unwrap();
    assert_eq!(r.kept, MIB as u64);
    assert!(std::fs::read(srv.path("r.log")).unwrap() == data);
}

/// Opens a stage of `size` bytes for `remote` and sends `block` as the one
/// chunk of a TFDSTAGEPUTZ from 0: the status of its extra frame.
fn hostile_put(c: &mut Client, remote: &str, size: usize, block: &[u8]) -> Status {
    let open = c
        .call("TFDSTAGE", format!("{size} hostile 1 {remote}").as_bytes())
        .unwrap();
    assert!(matches!(open, Status::Ok(_)), "{open:?}");
    let out = c.put_as(
        STAGE_PUT,
        remote.as_bytes(),
        0,
        MIB as i64,
        &mut &block[..],
        &mut |_| {},
    );
    assert!(out.is_ok(), "{out:?}");
    Status::parse(&c.chan.rx.recv_frame().unwrap())
}

#[test]
fn a_hostile_clients_bombs_are_refused_and_nothing_lands() {
    let srv = Server::start();
    let mut c = srv.client();
    // 400 KiB of zeros announced as 1 KiB, into a stage of 1 MiB
    let bomb = lying_block(&vec![0u8; 400 * 1024], 1024);
    let refused = |st: &Status, why: &str| matches!(st, Status::Failed(7, t) if t.contains(why));
    let st = hostile_put(&mut c, "bomb.bin", MIB, &bomb);
    assert!(refused(&st, "decodes beyond what it announced"), "{st:?}");
    // honest about its 400 KiB, but the stage was opened for 1000 bytes
    let beyond = lying_block(&vec![0u8; 400 * 1024], 400 * 1024);
    let st = hostile_put(&mut c, "beyond.bin", 1000, &beyond);
    assert!(refused(&st, "announces 409600 bytes, more than 1000"), "{st:?}");
    // a block that decodes to less than it announced
    let short = lying_block(b"only this", 5000);
    let st = hostile_put(&mut c, "short.bin", MIB, &short);
    assert!(refused(&st, "less than it announced"), "{st:?}");
    // the session goes on, and nothing landed
    let st = c
        .call("TFDSTAGEDONE", format!("0x{} 1 bomb.bin", "0".repeat(64)).as_bytes())
        .unwrap();
    assert!(matches!(st, Status::Failed(..)), "{st:?}");
    for f in ["bomb.bin", "beyond.bin", "short.bin"] {
        assert!(!srv.path(f).exists(), "{f} landed");
    }
}

#[test]
fn compression_no_answers_as_a_server_without_the_extension() {
    let srv = Server::start_with("compression no\n");
    let mut c = srv.client();
    assert_eq!(tfp_client::compress::offer(&mut c).unwrap(), None);
    assert!(matches!(c.call(STAGE_PUT, b"x").unwrap(), Status::Unknown));
    let log = log_lines(2 * MIB);
    let sent = staged_put(&srv, &log, "today.log", 1, Some(Choice::Force(None)));
    assert!(sent > log.len() as u64, "{sent}");
}

#[test]
fn a_staged_uploads_decoder_is_counted_in_the_budget() {
    // 2 MiB for every session: a TFDSTAGEPUTZ whose stream may hold 8 MiB
    // is refused before its decoder is made (before: decoded unclaimed),
    // and the session goes on; one of 64 KiB goes through
    let srv = Server::start_with("memory_budget 2M\n");
    let mut c = srv.client();
    let open = c.call("TFDSTAGE", b"5 budget 1 big-window").unwrap();
    assert!(matches!(open, Status::Ok(_)), "{open:?}");
    let block = [&[0u8, 0, 0, 0, 5][..], b"hello"].concat();
    let out = c.put_as(STAGE_PUT, b"big-window", 0, MIB as i64, &mut &block[..], &mut |_| {});
    let e = out.expect_err("refused");
    assert!(e.to_string().contains("memory budget"), "{e}");
    assert!(srv.log().contains("TFDSTAGEPUTZ refused"), "{}", srv.log());
    assert!(matches!(c.call("MKDIR", b"after").unwrap(), Status::Ok(_)));
    assert!(!srv.path("big-window").exists());
    let srv = Server::start_with("memory_budget 2M\ncompression_memory 64K\n");
    let log = log_lines(MIB);
    let sent = staged_put(&srv, &log, "small-window.log", 1, Some(Choice::Force(None)));
    assert!(sent < log.len() as u64 / 2, "{sent}");
}
