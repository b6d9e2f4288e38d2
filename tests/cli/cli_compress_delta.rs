//! Issue 62, deltas' literals: a changed file that goes as a delta sends
//! the bytes it does not reuse (its literals) as blocks of one zstd stream
//! where they shrink, both ways (`TFDDELTAPUT ... ,z`, `TFDDELTAGETZ`), and
//! lands byte for byte; `--no-compress`, or `compression no` on the server,
//! sends them as they are. A hostile client's and a lying server's packed
//! literals (a bomb, a block beyond the file, a record the request did not
//! ask for) are refused, and the old file stays whole with nothing beside it.

use crate::output::text;
use crate::xferlog::{lines, moved};
use std::fs;
use std::path::Path;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Script};
use tfd_testkit::*;
use tfp_wire::delta as wire;
use tfp_wire::Status;

const MIB: usize = 1 << 20;

/// Log lines, `seed` making them their own: they compress several times over.
fn log_text(len: usize, seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 100);
    let mut i = seed;
    while v.len() < len {
        v.extend_from_slice(format!("{i} GET /a/{} HTTP/1.1 200 {} ua={}\n", i % 97, i * 13 % 5000, i % 7).as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// 4 MiB of log lines, and the same with 512 KiB of new lines in its middle
/// and 64 KiB more at its front.
fn old_and_new() -> (Vec<u8>, Vec<u8>) {
    let old = log_text(4 * MIB, 1);
    let mut new = log_text(64 << 10, 900_000_000);
    new.extend_from_slice(&old[..MIB]);
    new.extend_from_slice(&log_text(512 << 10, 700_000_000));
    new.extend_from_slice(&old[MIB + (512 << 10)..]);
    (old, new)
}

fn start(extra: &str) -> (Server, std::path::PathBuf) {
    let log = tempdir("zdeltalog").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n{extra}", log.display()));
    (srv, log)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `tf put` of `new` onto the server's `old` with `flags`: the log's
/// (command, bytes) of it.
fn put(srv: &Server, log: &Path, name: &str, (old, new): (&[u8], &[u8]), flags: &[&str]) -> (String, u64) {
    fs::write(srv.path(name), old).unwrap();
    let local = tempdir("zdelta-up").join(name);
    fs::write(&local, new).unwrap();
    let from = lines(log);
    let mut args = vec!["put", s(&local), name, "--no-whole-file"];
    args.extend(flags);
    let o = srv.tf(&args);
    assert!(o.status.success(), "put {flags:?}: {}\n{}", text(&o), srv.log());
    assert!(
        fs::read(srv.path(name)).unwrap() == new,
        "put {flags:?}: the new file landed"
    );
    assert_eq!(dir_names(&srv.data), [name], "put {flags:?}: nothing beside it");
    let m = moved(log, &format!("/{name}"), from);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].2, "{m:?}");
    fs::remove_file(srv.path(name)).unwrap();
    (m[0].0.clone(), m[0].1)
}

/// `tf get` of the server's `new` onto a local `old` with `flags`.
fn get(srv: &Server, log: &Path, name: &str, (old, new): (&[u8], &[u8]), flags: &[&str]) -> (String, u64) {
    fs::write(srv.path(name), new).unwrap();
    let here = tempdir("zdelta-down");
    let local = here.join(name);
    fs::write(&local, old).unwrap();
    let from = lines(log);
    let mut args = vec!["get", name, s(&local), "--no-whole-file"];
    args.extend(flags);
    let o = srv.tf(&args);
    assert!(o.status.success(), "get {flags:?}: {}\n{}", text(&o), srv.log());
    assert!(fs::read(&local).unwrap() == new, "get {flags:?}: the new file landed");
    assert_eq!(dir_names(&here), [name], "get {flags:?}: nothing beside it");
    let m = moved(log, &format!("/{name}"), from);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].2, "{m:?}");
    fs::remove_file(srv.path(name)).unwrap();
    (m[0].0.clone(), m[0].1)
}

#[test]
fn a_deltas_literals_go_compressed_both_ways_and_land_byte_for_byte() {
    let (srv, log) = start("");
    let (old, new) = old_and_new();
    let literal = (512 + 64) << 10;
    let (cmd, plain) = put(&srv, &log, "up.log", (&old, &new), &["--no-compress"]);
    assert_eq!(cmd, "TFDDELTAPUT");
    assert!(plain >= literal, "--no-compress: {plain} bytes of records");
    let (cmd, packed) = put(&srv, &log, "up.log", (&old, &new), &["-z"]);
    eprintln!("up: {plain} bytes of records plain, {packed} with -z");
    assert_eq!(cmd, "TFDDELTAPUT");
    assert!(
        packed * 3 < plain,
        "-z: {packed} bytes of records against {plain} plain"
    );
    let (cmd, plain) = get(&srv, &log, "down.log", (&old, &new), &["--no-compress"]);
    assert_eq!(cmd, "TFDDELTAGET");
    assert!(plain >= literal, "--no-compress: {plain} bytes of records");
    let (cmd, packed) = get(&srv, &log, "down.log", (&old, &new), &["-z"]);
    eprintln!("down: {plain} bytes of records plain, {packed} with -z");
    assert_eq!(cmd, wire::GET_PACKED);
    assert!(
        packed * 3 < plain,
        "-z: {packed} bytes of records against {plain} plain"
    );
    // random literals do not shrink: they go as they are, and still land
    let noise = pattern(512 << 10, 5);
    let mut changed = old.clone();
    changed[MIB..MIB + noise.len()].copy_from_slice(&noise);
    let (_, up) = put(&srv, &log, "noise.log", (&old, &changed), &["-z"]);
    let (_, down) = get(&srv, &log, "noise.log", (&old, &changed), &["-z"]);
    for n in [up, down] {
        assert!(n >= noise.len() as u64 && n < noise.len() as u64 + (64 << 10), "{n}");
    }
}

#[test]
fn compression_no_on_the_server_gets_todays_literals() {
    let (srv, log) = start("compression no\n");
    let (old, new) = old_and_new();
    let (cmd, up) = put(&srv, &log, "up.log", (&old, &new), &["-z"]);
    assert_eq!(cmd, "TFDDELTAPUT");
    assert!(up >= (576 << 10), "{up}");
    let (cmd, down) = get(&srv, &log, "down.log", (&old, &new), &["-z"]);
    assert_eq!(cmd, "TFDDELTAGET");
    assert!(down >= (576 << 10), "{down}");
}

fn signatures(c: &mut tfp_client::Client, name: &str) -> String {
    let Status::Ok(head) = c.call("TFDDELTASIG", name.as_bytes()).unwrap() else {
        panic!("no signatures")
    };
    let head = String::from_utf8(head).unwrap();
    let identity = head.split(' ').nth(3).unwrap().to_string();
    loop {
        let f = c.chan.rx.recv_frame().unwrap();
        if f.first() != Some(&b'S') {
            assert_eq!(f, b"OK");
            return identity;
        }
    }
}

fn sum(d: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(d).iter().map(|b| format!("{b:02x}")).collect()
}

/// A hostile client's packed literals at the real server, four sessions at
/// once: a bomb (400 KiB of zeros announced as 1 KiB), a block beyond the
/// file's size, a packed record in a delta that did not ask for them, and
/// `,z` on a server with `compression no`. Each is FAILED, the old file is
/// whole, nothing is left beside it, and the session goes on.
#[test]
fn a_hostile_clients_packed_literals_are_refused_and_the_old_file_stays() {
    let (srv, _log) = start("");
    let (off, _) = start("compression no\n");
    let old = log_text(MIB, 3);
    let zeros = vec![0u8; 400 << 10];
    let packed = |block: Vec<u8>| {
        let mut f = Vec::new();
        wire::push_packed(&mut f, &block);
        f
    };
    let cases: Vec<(&str, &Server, &str, u64, Vec<u8>)> = vec![
        ("bomb", &srv, ",z", 2 * MIB as u64, packed(lying_block(&zeros, 1024))),
        ("beyond", &srv, ",z", 1000, packed(lying_block(&zeros, 400 << 10))),
        ("unasked", &srv, "", 2 * MIB as u64, packed(lying_block(b"abc", 3))),
        ("off", &off, ",z", MIB as u64, packed(lying_block(b"abc", 3))),
    ];
    std::thread::scope(|scope| {
        for (i, (what, at, flag, size, frame)) in cases.into_iter().enumerate() {
            let old = &old;
            scope.spawn(move || {
                let name = format!("h{i}.log");
                fs::write(at.path(&name), old).unwrap();
                let mut c = at.client();
                for _ in 0..2 {
                    let identity = signatures(&mut c, &name);
                    let arg = format!("{size} {identity}{flag} {name}");
                    let st = match c.call("TFDDELTAPUT", arg.as_bytes()).unwrap() {
                        Status::Ok(_) => {
                            c.chan.tx.send_frame(&frame).unwrap();
                            c.chan.tx.send_frame(format!("E{}", sum(old)).as_bytes()).unwrap();
                            Status::parse(&c.chan.rx.recv_frame().unwrap())
                        }
                        other => other,
                    };
                    assert!(matches!(st, Status::Failed(..)), "{what}: {st:?}");
                    assert!(
                        fs::read(at.path(&name)).unwrap() == *old,
                        "{what}: the old file is whole"
                    );
                }
                // the session is in step: its next exchange goes whole
                signatures(&mut c, &name);
            });
        }
    });
    assert_eq!(dir_names(&srv.data), ["h0.log", "h1.log", "h2.log"]);
    assert_eq!(dir_names(&off.data), ["h3.log"]);
    assert!(
        srv.log().contains("does not decode to what it announced"),
        "{}",
        srv.log()
    );
    assert!(srv.log().contains("the request did not ask for"), "{}", srv.log());
}

/// A lying server's packed literals: a bomb, a block beyond the file, a
/// block in a stream that does not decode. tf names it, exits non-zero,
/// keeps its old copy whole with no partial beside it, and holds no more
/// than a block's memory; a server from before TFDDELTAGETZ (UNKNOWN) gets
/// TFDDELTAGET.
#[test]
fn a_lying_servers_packed_literals_never_land() {
    let old = log_text(512 << 10, 1);
    let new = log_text(300 << 10, 2);
    let zeros = vec![0u8; 400 << 10];
    let packed = |block: Vec<u8>| {
        let mut f = Vec::new();
        wire::push_packed(&mut f, &block);
        f
    };
    let end = format!("E{}", sum(&new)).into_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bomb", packed(lying_block(&zeros, 1024))),
        ("beyond", packed(lying_block(&zeros, 400 << 10))),
        ("kind", packed([&[9u8, 0, 0, 0, 4][..], b"abcd"].concat())),
    ];
    for (what, frame) in cases {
        let script = Script::new()
            .file("f.log", new.clone())
            .answer("TFDZSTD", "OK 9 21")
            .delta("f.log", vec![frame, end.clone()]);
        let liar = Liar::start(script);
        let d = tempdir("zdelta-liar");
        let local = d.join("f.log");
        fs::write(&local, &old).unwrap();
        let cmd = liar.tf_command(&["get", "-z", "f.log", s(&local), "--no-whole-file"]);
        let (o, rss) = run_watched(cmd, Duration::from_secs(60), 1 << 30);
        let said = text(&o);
        assert!(!o.status.success(), "{what}: {said}");
        assert!(said.contains("compressed delta record"), "{what}: {said}");
        assert!(fs::read(&local).unwrap() == old, "{what}: the old copy is whole");
        assert_eq!(dir_names(&d), ["f.log"], "{what}: {said}");
        assert!(rss < 64 << 20, "{what}: {rss} bytes of RSS");
        let asked = liar.requests();
        assert!(asked.iter().any(|r| r.starts_with(b"TFDDELTAGETZ yes ")), "{what}");
    }
    // a server from before it: never asked it, TFDDELTAGET's plain records
    let mut frame = Vec::new();
    wire::push_literal(&mut frame, &new);
    let script = Script::new()
        .file("f.log", new.clone())
        .answer("TFDZSTD", "OK 9 21")
        .answer(wire::GET_PACKED, "UNKNOWN")
        .delta("f.log", vec![frame, end]);
    let liar = Liar::start(script);
    let d = tempdir("zdelta-liar");
    let local = d.join("f.log");
    fs::write(&local, &old).unwrap();
    let o = liar
        .tf_command(&["get", "-z", "f.log", s(&local), "--no-whole-file"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::read(&local).unwrap() == new);
    let asked = liar.requests();
    assert!(!asked.iter().any(|r| r.starts_with(b"TFDDELTAGETZ ")));
    assert!(asked.iter().any(|r| r.starts_with(b"TFDDELTAGET ")));
}
