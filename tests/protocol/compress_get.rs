//! Compressed download batches (doc/compatibility.md "Compression", issue
//! 62) through the real wire: `TFDGETMANY ... z` for a tree of many small
//! compressible files, incompressible and mixed ones, with the bytes on the
//! wire counted (one zstd stream across the batch: the tree compresses as a
//! tarball would), every file landing byte for byte under its SHA-256; a
//! server with `compression no`, which gets today's request.

use super::compress::{counting_relay, log_lines};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use tfd_testkit::*;
use tfp_client::engine::events::Quiet;
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
    assert!(srv.log().contains("compressed into"), "{}", srv.log());
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
