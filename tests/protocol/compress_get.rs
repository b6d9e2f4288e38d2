//! Compressed download batches (doc/compatibility.md "Compression", issue
//! 62) through the real wire: `TFDGETMANY ... z` for a tree of many small
//! compressible files, incompressible and mixed ones, with the bytes on the
//! wire counted (one zstd stream across the batch: the tree compresses as a
//! tarball would), every file landing byte for byte under its SHA-256; a
//! server with `compression no`, which gets today's request. Single files
//! (`TFDGETZ`) alike, over one stream and four, and a compressed download
//! cut mid-file then resumed.

use super::compress::{counting_relay, log_lines};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use tfd_testkit::*;
use tfp_client::engine::events::{Quiet, Said};
use tfp_client::tree::copy_down;
use tfp_client::tree::options::Options;
use tfp_client::Client;
use tfp_wire::compress::Choice;
use tfp_wire::Status;

/// Fills the server's `tree/`: `n` small log files (each its own lines,
/// alike enough that a stream across them pays), incompressible ones, a
/// file half log half noise, and one of 2 MiB: its files' names and bytes.
fn serve_tree(srv: &Server, n: usize) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..n {
        let mut lines = log_lines(1000 + i * 37 % 9000);
        lines.extend_from_slice(format!("file {i}\n").as_bytes());
        files.push((format!("logs/d{}/f{i}.log", i % 7), lines));
    }
    for i in 0..5 {
        files.push((format!("bin/noise{i}"), pattern(30_000 + i * 1000, i as u64 + 1)));
    }
    let mixed: Vec<u8> = [log_lines(1 << 20), pattern(1 << 20, 9)].concat();
    files.push(("mixed.bin".into(), mixed));
    files.push(("big.log".into(), log_lines(2 << 20)));
    files.push(("empty".into(), Vec::new()));
    for (name, data) in &files {
        let p = srv.path(&format!("tree/{name}"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    files
}

/// `get -r tree` into a new directory through a counting relay, the
/// client's choice `choice`: where it landed and the bytes the client
/// received.
fn get_tree(srv: &Server, choice: Choice, jobs: usize) -> (PathBuf, u64) {
    let mut cfg = srv.client_config();
    cfg.compress = choice;
    let (relay, _, down) = counting_relay(cfg.server.clone());
    cfg.server = relay;
    let mut c = Client::connect(&cfg).unwrap();
    let dest = tempdir("zget").join("back");
    let o = Options {
        jobs,
        contents: true,
        ..Options::default()
    };
    let r = copy_down::get(&mut c, &cfg, &["tree".into()], dest.to_str().unwrap(), &o, &Quiet).unwrap();
    assert!(r.ok(), "{r:?}\n{}", srv.log());
    c.end().unwrap();
    // the relay counts a connection once it closed
    std::thread::sleep(std::time::Duration::from_millis(300));
    (dest, down.load(Ordering::Relaxed))
}

fn landed_whole(dest: &Path, files: &[(String, Vec<u8>)]) {
    for (name, data) in files {
        let got = std::fs::read(dest.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got == *data, "{name}: the bytes differ");
    }
}

#[test]
fn a_tree_of_small_files_comes_down_compressed_as_one_stream() {
    let srv = Server::start();
    let files = serve_tree(&srv, 300);
    let total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    let (plain_dest, plain) = get_tree(&srv, Choice::Off, 2);
    landed_whole(&plain_dest, &files);
    assert!(plain > total, "{plain} on the wire for {total}");
    let (dest, squeezed) = get_tree(&srv, Choice::Force(None), 2);
    landed_whole(&dest, &files);
    // the noise (155 KB) goes raw, the rest shrinks many times over
    assert!(squeezed < plain / 3, "{squeezed} bytes compressed against {plain}");
    srv.wait_log("compressed into");
    // one session, a forced level
    let (dest, one) = get_tree(&srv, Choice::Force(Some(1)), 1);
    landed_whole(&dest, &files);
    assert!(one < plain / 3, "{one} against {plain}");
    // measured over loopback: nothing asked, today's bytes
    let (dest, auto) = get_tree(&srv, Choice::Auto, 2);
    landed_whole(&dest, &files);
    assert!(auto > total, "{auto} against {total}");
}

#[test]
fn compression_no_gets_todays_request_and_bytes() {
    let srv = Server::start_with("compression no\n");
    let files = serve_tree(&srv, 20);
    let total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    let (dest, down) = get_tree(&srv, Choice::Force(None), 2);
    landed_whole(&dest, &files);
    assert!(down > total, "{down} against {total}");
    // asked anyway, the request is one this server does not know
    let mut c = srv.client();
    let st = c.call("TFDGETMANY", b"1 10 p z=yes").unwrap();
    assert!(matches!(st, Status::Failed(16, _)), "{st:?}");
}

#[test]
fn every_form_of_the_request_still_reads() {
    let srv = Server::start();
    serve_tree(&srv, 1);
    let mut c = srv.client();
    for (arg, ok) in [
        ("1 10 p z", true),
        ("1 10 p a z=3", true),
        ("1 10 z=yes", true),
        ("1 10 p", true),
        ("1 10 p z=no", false),
        ("1 10 z p", false),
        ("1 10 p q", false),
    ] {
        let st = c.call("TFDGETMANY", arg.as_bytes()).unwrap();
        if !ok {
            assert!(matches!(st, Status::Failed(16, _)), "{arg}: {st:?}");
            continue;
        }
        assert!(matches!(st, Status::Ok(_)), "{arg}: {st:?}");
        c.chan.tx.send_frame(b"tree/empty").unwrap();
        c.chan.tx.send_frame(b"E").unwrap();
        let head = c.chan.rx.recv_frame().unwrap();
        assert!(
            head.starts_with(b"f 0 ") || head.starts_with(b"F 0 "),
            "{arg}: {head:?}"
        );
        if head.starts_with(b"F") {
            let trailer = c.chan.rx.recv_frame().unwrap();
            assert!(trailer.starts_with(b"S"), "{arg}");
        }
        assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK 1", "{arg}");
    }
}

/// A server measuring the link itself (`z` alone) compresses a batch's
/// first window: compression is asked only over a WAN's round trip, and a
/// batch of small files under a window (1 MiB) went raw whole before, to
/// measure a link it then never used (a tree's every part and session did
/// so: a megabyte each where compression pays most).
#[test]
fn measured_by_the_server_a_batchs_first_window_goes_compressed() {
    let srv = Server::start();
    let names: Vec<String> = (0..6).map(|i| format!("small/f{i}.log")).collect();
    for (i, name) in names.iter().enumerate() {
        let mut text = log_lines(6000);
        text.extend_from_slice(format!("file {i}\n").as_bytes());
        std::fs::create_dir_all(srv.path("small")).unwrap();
        std::fs::write(srv.path(name), &text).unwrap();
    }
    let mut c = srv.client();
    let st = c
        .call("TFDGETMANY", format!("{} 100000 p z", names.len()).as_bytes())
        .unwrap();
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    for name in &names {
        c.chan.tx.send_frame(name.as_bytes()).unwrap();
    }
    c.chan.tx.send_frame(b"E").unwrap();
    for name in &names {
        let head = c.chan.rx.recv_frame().unwrap();
        assert!(
            head.starts_with(b"z "),
            "{name}: {:?}",
            String::from_utf8_lossy(&head[..8])
        );
    }
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK 6");
}

/// `remote` down into `target` through the engine over `streams` sessions
/// and a relay that counts the bytes received and, with `cut`, cuts every
/// connection once that many went by: the download's outcome and the bytes
/// the client received and what the engine said.
fn get_one(
    srv: &Server,
    choice: Choice,
    remote: &str,
    target: &Path,
    streams: usize,
    resume: bool,
    cut: Option<u64>,
) -> (Result<(), tfp_client::Error>, u64, Vec<String>) {
    use tfp_client::engine::download::{self, Request, Target};
    let mut cfg = srv.client_config();
    cfg.compress = choice;
    let (relay, down) = cutting_relay(cfg.server.clone(), cut.unwrap_or(u64::MAX));
    cfg.server = relay;
    let mut c = Client::connect(&cfg).unwrap();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let req = Request {
        remote: remote.as_bytes(),
        target: Target::Path(target),
        streams,
        bufsz: 4 << 20,
        resume,
        verify: true,
        unverified: false,
        progress: &progress,
    };
    let mut said = Vec::new();
    let r = download::download(&mut c, &cfg, &req, &mut |m| {
        said.push(match m {
            Said::Note(text) => text.to_string(),
            Said::Verified(sha256) => format!("verified: SHA-256 {sha256}"),
        })
    });
    if r.is_ok() {
        c.end().unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    (r, down.load(Ordering::Relaxed), said)
}

/// A relay that counts what goes to the client as it goes and cuts every
/// connection once `budget` bytes went down, refusing new ones from then
/// on.
fn cutting_relay(to: String, budget: u64) -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::AtomicU64;
    use std::sync::{Arc, Mutex};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let down = Arc::new(AtomicU64::new(0));
    let counted = down.clone();
    std::thread::spawn(move || {
        let socks: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        for s in l.incoming().flatten() {
            if counted.load(Ordering::Relaxed) >= budget {
                continue;
            }
            let Ok(t) = TcpStream::connect(&to) else { return };
            socks
                .lock()
                .unwrap()
                .extend([s.try_clone().unwrap(), t.try_clone().unwrap()]);
            let (s2, t2) = (s.try_clone().unwrap(), t.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut &s2, &mut &t2);
                let _ = t2.shutdown(Shutdown::Write);
            });
            let (down, socks) = (counted.clone(), socks.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                while let Ok(n @ 1..) = (&t).read(&mut buf) {
                    let had = down.fetch_add(n as u64, Ordering::Relaxed);
                    let pass = (n as u64).min(budget.saturating_sub(had)) as usize;
                    if (&s).write_all(&buf[..pass]).is_err() {
                        break;
                    }
                    if pass < n {
                        for x in socks.lock().unwrap().iter() {
                            let _ = x.shutdown(Shutdown::Both);
                        }
                        break;
                    }
                }
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    (addr, down)
}

#[test]
fn single_files_come_down_compressed_over_one_and_four_streams() {
    let srv = Server::start();
    let log = log_lines(6 << 20);
    let noise = pattern(3 << 20, 5);
    let mixed: Vec<u8> = [log_lines(2 << 20), pattern(2 << 20, 6)].concat();
    for (name, data) in [("one.log", &log), ("noise.bin", &noise), ("mixed.bin", &mixed)] {
        std::fs::write(srv.path(name), data).unwrap();
    }
    let here = tempdir("zget-one");
    for streams in [1, 4] {
        let land = |name: &str, choice: Choice| {
            let target = here.join(format!("{streams}-{choice:?}-{name}"));
            let (r, down, _) = get_one(&srv, choice, name, &target, streams, false, None);
            r.unwrap_or_else(|e| panic!("{name} {choice:?} over {streams}: {e}\n{}", srv.log()));
            (std::fs::read(&target).unwrap(), down)
        };
        let (got, plain) = land("one.log", Choice::Off);
        assert!(got == log && plain > log.len() as u64, "{plain}");
        let (got, squeezed) = land("one.log", Choice::Force(None));
        assert!(got == log, "one.log over {streams}: the bytes differ");
        // over four streams too: each lane a compressed stream (TFDGETCANZ)
        assert!(
            squeezed < plain / 3,
            "{squeezed} compressed against {plain} over {streams}"
        );
        // noise goes raw: no more than a block header a block more
        let (got, raw) = land("noise.bin", Choice::Force(None));
        assert!(
            got == noise && raw < noise.len() as u64 * 102 / 100 + (1 << 20),
            "{raw}"
        );
        let (got, part) = land("mixed.bin", Choice::Force(Some(1)));
        assert!(got == mixed, "mixed.bin over {streams}: the bytes differ");
        assert!(
            part < mixed.len() as u64 * 7 / 10,
            "{part} against {} over {streams}",
            mixed.len()
        );
        // measured over loopback: nothing asked, today's bytes
        let (got, auto) = land("one.log", Choice::Auto);
        assert!(got == log && auto > log.len() as u64, "{auto}");
    }
    srv.wait_log("TFDGETZ sent");
    srv.wait_log("TFDGETCANZ sent");
}

#[test]
fn a_compressed_download_cut_mid_file_resumes_byte_identical_and_verified() {
    let srv = Server::start();
    let log = log_lines(40 << 20);
    std::fs::write(srv.path("big.log"), &log).unwrap();
    let z = Choice::Force(None);
    for streams in [1, 4] {
        let target = tempdir("zget-cut").join("big.log");
        // cut a little way in: the journal keeps what landed
        let (r, _, _) = get_one(&srv, z, "big.log", &target, streams, false, Some(1 << 20));
        let kept = r.unwrap_err().kept().map(|k| k.bytes).unwrap_or(0);
        assert!(kept > 1 << 20, "the cut download over {streams} kept {kept} bytes");
        assert!(!target.exists(), "a cut download replaced the target");
        let (r, down, said) = get_one(&srv, z, "big.log", &target, streams, true, None);
        r.unwrap_or_else(|e| panic!("the resume over {streams}: {e}\n{}", srv.log()));
        let resumed = format!("resuming: {kept} of {} bytes already here", log.len());
        assert!(said.iter().any(|m| m.ends_with(&resumed)), "{said:?}");
        assert!(said.iter().any(|m| m.starts_with("verified: SHA-256")), "{said:?}");
        assert!(std::fs::read(&target).unwrap() == log, "the resumed file differs");
        assert!(
            down < (log.len() as u64 - kept) / 3,
            "the resume over {streams} moved {down} bytes"
        );
    }
    srv.wait_log("TFDGETZ sent");
    srv.wait_log("TFDGETCANZ sent");
}

#[test]
fn compression_no_gets_a_single_file_by_todays_get() {
    let srv = Server::start_with("compression no\n");
    let log = log_lines(2 << 20);
    std::fs::write(srv.path("one.log"), &log).unwrap();
    let target = tempdir("zget-no").join("one.log");
    let (r, down, _) = get_one(&srv, Choice::Force(None), "one.log", &target, 1, false, None);
    r.unwrap();
    assert!(
        std::fs::read(&target).unwrap() == log && down > log.len() as u64,
        "{down}"
    );
    let mut c = srv.client();
    let arg = tfp_wire::compress::get::encode(Choice::Force(None), b"one.log", 0, 1 << 20);
    let st = c.call(tfp_wire::compress::get::GET, &arg).unwrap();
    assert!(matches!(st, Status::Failed(16, _)), "{st:?}");
}

#[test]
fn a_download_whose_stream_the_budget_cannot_hold_comes_as_it_is() {
    // the sender may send any block raw: where the memory budget (2 MiB) has
    // no room for a stream of compression_memory (8 MiB), tfd sends the file
    // as it is instead of holding an encoder unclaimed (before: compressed)
    let srv = Server::start_with("memory_budget 2M\n");
    let log = log_lines(2 << 20);
    std::fs::write(srv.path("one.log"), &log).unwrap();
    let target = tempdir("zget-budget").join("one.log");
    let (r, down, _) = get_one(&srv, Choice::Force(None), "one.log", &target, 1, false, None);
    r.unwrap();
    assert!(std::fs::read(&target).unwrap() == log, "the bytes differ");
    assert!(down > log.len() as u64, "{down}");
    assert!(srv.log().contains("has no room for its"), "{}", srv.log());
    let srv = Server::start_with("memory_budget 2M\ncompression_memory 64K\n");
    std::fs::write(srv.path("one.log"), &log).unwrap();
    let target = tempdir("zget-budget-small").join("one.log");
    let (r, down, _) = get_one(&srv, Choice::Force(None), "one.log", &target, 1, false, None);
    r.unwrap();
    assert!(
        std::fs::read(&target).unwrap() == log && down < log.len() as u64 / 2,
        "{down}"
    );
}
