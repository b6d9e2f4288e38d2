//! Compressed batch uploads (`TFDPUTMANY <n> z`, doc/compatibility.md
//! "Compression", issue 62) through the real wire: a tree of small files
//! compressed as one stream (the bytes on the wire counted by a relay),
//! incompressible and mixed trees landing whole, an archive mirror keeping
//! what it keeps without `z`, a hostile client's blocks each failing its
//! own file with nothing landing while the batch and the session go on, the
//! decoder's memory counted in the budget, and `compression no`.

use super::compress::{counting_relay, log_lines};
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use tfd_testkit::*;
use tfp_client::engine::events::Quiet;
use tfp_client::tree::copy;
use tfp_client::tree::mirror;
use tfp_client::tree::options::Options;
use tfp_client::Client;
use tfp_wire::batch::put::{FileHead, PutMany, Stored};
use tfp_wire::batch::{Trailer, END};
use tfp_wire::compress::{Choice, Encoder, Squeeze, DEFAULT_WINDOW_LOG};
use tfp_wire::Status;

/// A source file of a tree: lines alike across the files, as a project's
/// sources are.
fn source_file(i: usize) -> Vec<u8> {
    (0..40)
        .map(|j| format!("pub fn handler_{i}_{j}(request: &Request) -> Response {{ route(request, {j}) }}\n"))
        .collect::<String>()
        .into_bytes()
}

/// `files` under a new local directory, each from `make(i)`.
fn local_tree(tag: &str, files: usize, make: impl Fn(usize) -> Vec<u8>) -> std::path::PathBuf {
    let d = tempdir(tag).join("src");
    for i in 0..files {
        let dir = d.join(format!("d{}", i % 7));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("f{i}.rs")), make(i)).unwrap();
    }
    d
}

/// `put -r` of `src` to `remote` over two sessions through a counting
/// relay, compressed as `choice`: the bytes the client sent. Every file
/// lands byte for byte.
fn put_tree(srv: &Server, src: &Path, remote: &str, choice: Choice) -> u64 {
    let mut cfg = srv.client_config();
    let (relay, up, _) = counting_relay(cfg.server.clone());
    cfg.server = relay;
    cfg.compress = choice;
    let mut c = Client::connect(&cfg).unwrap();
    let o = Options {
        jobs: 2,
        ..Options::default()
    };
    // `src/`: its contents in `remote`, as rsync's trailing slash says
    let r = copy::put(&mut c, &cfg, &[format!("{}/", src.display())], remote, &o, &Quiet).unwrap();
    assert_eq!((r.local, r.refused), (0, 0), "{r:?}\n{}", srv.log());
    c.end().unwrap();
    same_tree(src, &srv.path(remote));
    std::thread::sleep(std::time::Duration::from_millis(300));
    up.load(Ordering::Relaxed)
}

#[test]
fn a_tree_of_small_files_compresses_as_one_stream() {
    let srv = Server::start();
    let src = local_tree("zput-tree", 400, source_file);
    let raw = put_tree(&srv, &src, "plain", Choice::Off);
    let squeezed = put_tree(&srv, &src, "z", Choice::Force(None));
    assert!(squeezed * 5 < raw, "{squeezed} bytes compressed against {raw}");
    // a framed batch where the server takes it (TFDPUTMANY n z f), else blocks
    assert!(
        srv.log().contains("zstd frames") || srv.log().contains("zstd blocks"),
        "{}",
        srv.log()
    );
    // measured on loopback: every block raw, today's bytes or about
    let auto = put_tree(&srv, &src, "auto", Choice::Auto);
    assert!(auto * 10 > raw * 9, "{auto} against {raw}");
}

#[test]
fn incompressible_and_mixed_trees_land_whole() {
    let srv = Server::start();
    let noise = local_tree("zput-noise", 30, |i| pattern(20_000 + i * 3000, i as u64 + 1));
    let plain = put_tree(&srv, &noise, "n-plain", Choice::Off);
    let forced = put_tree(&srv, &noise, "n-z", Choice::Force(None));
    assert!(forced < plain + plain / 50, "{forced} against {plain}");
    let mixed = local_tree("zput-mixed", 60, |i| match i % 3 {
        0 => pattern(40_000, i as u64 + 9),
        1 => log_lines(300_000 + i),
        _ => source_file(i),
    });
    let whole = put_tree(&srv, &mixed, "m-plain", Choice::Off);
    let part = put_tree(&srv, &mixed, "m-z", Choice::Force(Some(5)));
    assert!(part < whole * 6 / 10, "{part} against {whole}");
}

/// The modes and mtimes (ns) of the files below `d`, by name.
fn stamps(d: &Path) -> Vec<(String, u32, i64, i64)> {
    let mut v: Vec<_> = fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| {
            let m = e.metadata().unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, m.mode() & 0o7777, m.mtime(), m.mtime_nsec())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn an_archive_mirror_with_z_keeps_what_it_keeps_without() {
    let srv = Server::start();
    let src = tempdir("zput-archive").join("src");
    fs::create_dir_all(&src).unwrap();
    for (i, mode) in [0o640, 0o755, 0o600, 0o444].into_iter().enumerate() {
        let f = src.join(format!("f{i}"));
        fs::write(&f, source_file(i)).unwrap();
        fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_600_000_000 + i as u64, 123_456_789);
        fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    let mut cfg = srv.client_config();
    let mut c = Client::connect(&cfg).unwrap();
    for (dst, choice) in [("m-plain", Choice::Off), ("m-z", Choice::Force(None))] {
        cfg.compress = choice;
        let up = mirror::Options {
            upload: true,
            ..mirror::Options::default()
        };
        let r = mirror::mirror(&mut c, &cfg, src.to_str().unwrap(), dst, &up, &Quiet).unwrap();
        assert_eq!((r.report.local, r.report.refused), (0, 0), "{r:?}");
        same_tree(&src, &srv.path(dst));
    }
    // a framed batch where the server takes it (TFDPUTMANY n z f), else blocks
    assert!(
        srv.log().contains("zstd frames") || srv.log().contains("zstd blocks"),
        "{}",
        srv.log()
    );
    assert_eq!(stamps(&srv.path("m-z")), stamps(&src));
    assert_eq!(stamps(&srv.path("m-plain")), stamps(&src));
}

/// One file of a hand-made batch: its header's path and size, its data
/// frames, and the SHA-256 its trailer gives.
struct Sent {
    path: &'static str,
    size: usize,
    frames: Vec<Vec<u8>>,
    sum: [u8; 32],
}

/// Sends `TFDPUTMANY <n> z` with `files` and reads the answer: what was
/// stored and each failure's index, code and reason.
fn z_batch(c: &mut Client, files: &[Sent]) -> (u64, Vec<(u64, i32, String)>) {
    let line = PutMany {
        n: files.len() as u64,
        archive: false,
        blocks: true,
        framed: false,
        attrs: false,
    }
    .line();
    assert_eq!(c.raw(&line).unwrap(), b"OK");
    for f in files {
        let head = FileHead::new(f.size as u64, None, None, f.path.as_bytes());
        c.chan.tx.send_frame(&head.encode()).unwrap();
        for b in &f.frames {
            c.chan.tx.send_frame(b).unwrap();
        }
        c.chan.tx.send_frame(&Trailer::Sum(f.sum).encode()).unwrap();
    }
    c.chan.tx.send_frame(END).unwrap();
    let head = c.chan.rx.recv_frame().unwrap();
    let Some(st) = Stored::parse(&head) else {
        panic!("{:?}", String::from_utf8_lossy(&head));
    };
    let failures = (0..st.failed)
        .map(|_| {
            let f = c.chan.rx.recv_frame().unwrap();
            let f = tfp_wire::batch::put::Failure::parse(&f).unwrap();
            (f.index, f.code, f.reason.into_owned())
        })
        .collect();
    (st.stored, failures)
}

fn sha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A block of `data` from a stream keeping 2^`window_log` bytes.
fn block_of(enc: &mut Encoder, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    enc.compress(data, &mut b).unwrap();
    b
}

#[test]
fn a_hostile_clients_blocks_fail_their_files_and_the_batch_goes_on() {
    let srv = Server::start();
    let mut c = srv.client();
    let zeros = vec![0u8; 400 * 1024];
    let text = log_lines(300 * 1024);
    // a stream asking for a 128 MiB window, beyond the 4 MiB offered
    let mut wide = Encoder::new(3, 27).unwrap();
    let wide_block = block_of(&mut wide, &text);
    let continued = block_of(&mut wide, &text[..1000]);
    let mut honest = Encoder::new(3, DEFAULT_WINDOW_LOG).unwrap();
    let files = [
        // 400 KiB of zeros announced as 1 KiB
        Sent {
            path: "bomb",
            size: 1024,
            frames: vec![lying_block(&zeros, 1024)],
            sum: sha(&zeros[..1024]),
        },
        // honest about its 400 KiB, in a file of 1000 bytes
        Sent {
            path: "beyond",
            size: 1000,
            frames: vec![lying_block(&zeros, zeros.len() as u32)],
            sum: sha(&zeros[..1000]),
        },
        Sent {
            path: "short",
            size: 5000,
            frames: vec![lying_block(b"only this", 5000)],
            sum: sha(b"only this"),
        },
        Sent {
            path: "window",
            size: text.len(),
            frames: vec![wide_block],
            sum: sha(&text),
        },
        // continues the stream refused just before
        Sent {
            path: "continued",
            size: 1000,
            frames: vec![continued],
            sum: sha(&text[..1000]),
        },
        // a new stream: decoded again
        Sent {
            path: "good",
            size: text.len(),
            frames: vec![block_of(&mut honest, &text)],
            sum: sha(&text),
        },
    ];
    let (stored, failures) = z_batch(&mut c, &files);
    assert_eq!(stored, 1, "{failures:?}");
    let whys = [
        "decodes beyond what it announced",
        "more than the file's 1000 left",
        "less than it announced",
        "corrupt compressed block",
        "continuing a compressed stream refused",
    ];
    assert_eq!(failures.len(), whys.len(), "{failures:?}");
    for ((i, why), (index, code, reason)) in whys.iter().enumerate().zip(&failures) {
        assert_eq!((*index, *code), (i as u64, 7), "{reason}");
        assert!(reason.contains(why), "{i}: {reason}");
    }
    for f in &files[..5] {
        assert!(!srv.path(f.path).exists(), "{} landed", f.path);
    }
    assert!(fs::read(srv.path("good")).unwrap() == text);
    // the session goes on, and so does the server
    assert_eq!(c.fsize(b"good").unwrap(), text.len() as u64);
    let mut other = srv.client();
    assert_eq!(other.fsize(b"good").unwrap(), text.len() as u64);
}

#[test]
fn a_wrong_hash_of_the_decoded_data_fails_the_file_alone() {
    let srv = Server::start();
    let mut c = srv.client();
    let text = log_lines(100_000);
    let mut sq = Squeeze::new(
        Choice::Force(None),
        tfp_client::compress::offer(&mut c).unwrap().unwrap(),
    )
    .unwrap();
    let mut frames = Vec::new();
    for part in text.chunks(40_000) {
        let mut b = Vec::new();
        sq.pack(part, &mut b);
        frames.push(b);
    }
    let files = [
        Sent {
            path: "lied",
            size: text.len(),
            frames: frames.clone(),
            // the hash of the blocks as sent, not of the data
            sum: sha(&frames.concat()),
        },
        Sent {
            path: "ok",
            size: 5,
            frames: vec![{
                let mut b = Vec::new();
                sq.pack(b"hello", &mut b);
                b
            }],
            sum: sha(b"hello"),
        },
    ];
    let (stored, failures) = z_batch(&mut c, &files);
    assert_eq!((stored, failures.len()), (1, 1), "{failures:?}");
    assert_eq!(failures[0].0, 0);
    assert!(!srv.path("lied").exists());
    assert_eq!(fs::read(srv.path("ok")).unwrap(), b"hello");
}

#[test]
fn the_decoders_memory_is_counted_in_the_budget() {
    // 2 MiB for every session: a plain batch fits, a compressed one whose
    // stream may hold 8 MiB does not, one of 64 KiB does
    let srv = Server::start_with("memory_budget 2M\n");
    let mut c = srv.client();
    let file = |path| Sent {
        path,
        size: 5,
        frames: vec![[&[0u8, 0, 0, 0, 5][..], b"hello"].concat()],
        sum: sha(b"hello"),
    };
    let (stored, failures) = z_batch(&mut c, &[file("big-window")]);
    assert_eq!(stored, 0);
    assert_eq!(failures.len(), 1);
    assert!(!srv.path("big-window").exists());
    assert!(matches!(c.call("MKDIR", b"after").unwrap(), Status::Ok(_)));
    let srv = Server::start_with("memory_budget 2M\ncompression_memory 64K\n");
    let mut c = srv.client();
    assert_eq!(z_batch(&mut c, &[file("small-window")]), (1, vec![]));
    assert_eq!(fs::read(srv.path("small-window")).unwrap(), b"hello");
}

#[test]
fn compression_no_refuses_z_batches_in_step_and_tf_sends_todays() {
    let srv = Server::start_with("compression no\n");
    let mut c = srv.client();
    let text = log_lines(50_000);
    let mut enc = Encoder::new(3, DEFAULT_WINDOW_LOG).unwrap();
    let files = [Sent {
        path: "z",
        size: text.len(),
        frames: vec![block_of(&mut enc, &text)],
        sum: sha(&text),
    }];
    let (stored, failures) = z_batch(&mut c, &files);
    assert_eq!(stored, 0);
    assert!(failures[0].2.contains("compression no"), "{failures:?}");
    assert!(!srv.path("z").exists());
    assert!(matches!(c.call("MKDIR", b"after").unwrap(), Status::Ok(_)));
    // tf asks TFDZSTD, hears UNKNOWN, and sends the batch as it is
    let src = local_tree("zput-no", 50, source_file);
    let raw: u64 = src
        .read_dir()
        .unwrap()
        .flatten()
        .flat_map(|d| d.path().read_dir().unwrap().flatten())
        .map(|f| f.metadata().unwrap().len())
        .sum();
    let sent = put_tree(&srv, &src, "today", Choice::Force(None));
    assert!(sent > raw, "{sent} of {raw}");
}
