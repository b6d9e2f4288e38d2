//! Delta uploads (doc/compatibility.md "Delta transfers"): `tf put` onto an
//! existing remote file sends what changed, found at any offset, and the
//! server builds the new file beside the target, checks its SHA-256 and
//! renames it into place. Every test checks the bytes on disk; the server's
//! transfer log tells what crossed the wire.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tfd_testkit::*;
use tfp_wire::delta as wire;
use tfp_wire::Status;

const MIB: usize = 1 << 20;

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn start() -> (Server, PathBuf) {
    let log = tempdir("deltalog").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    (srv, log)
}

/// The transfer log's lines for `/name`: (command, bytes, complete).
fn moved(log: &Path, name: &str) -> Vec<(String, u64, bool)> {
    crate::xferlog::moved(log, &format!("/{name}"), 0)
}

/// Passed as `extra` to [`put_onto`]: no delta flag at all, so tf decides by
/// the link (loopback: whole).
const AS_TF_CHOOSES: &str = "";

/// Puts `new` onto a remote `old`; returns what the log recorded.
fn put_onto(srv: &Server, log: &Path, name: &str, old: &[u8], new: &[u8], extra: &[&str]) -> Vec<(String, u64, bool)> {
    fs::write(srv.path(name), old).unwrap();
    let local = srv.dir.join(format!("{name}.local"));
    fs::write(&local, new).unwrap();
    let mut args = vec!["put", local.to_str().unwrap(), name];
    // loopback is a fast link, where tf sends files whole unless told
    if !extra.contains(&"--whole-file") && !extra.contains(&AS_TF_CHOOSES) {
        args.push("--no-whole-file");
    }
    args.extend(extra.iter().filter(|a| **a != AS_TF_CHOOSES));
    let o = srv.tf(&args);
    assert!(o.status.success(), "{name}: {}", text(&o));
    assert!(
        fs::read(srv.path(name)).unwrap() == new,
        "{name}: the remote file is the new one"
    );
    moved(log, name)
}

/// In-place edits, an insertion at the front, a deletion, truncation and
/// growth each land byte for byte, as a delta that moves a fraction of the
/// file; `--whole-file` sends it all through SNDFILE.
#[test]
fn changed_files_go_as_deltas_and_land_byte_for_byte() {
    let (srv, log) = start();
    let old = pattern(8 * MIB, 11);
    let mut edited = old.clone();
    edited[3 * MIB..3 * MIB + 64 * 1024].copy_from_slice(&pattern(64 * 1024, 12));
    let inserted = [pattern(1024, 13), old.clone()].concat();
    let deleted = [&old[..MIB], &old[MIB + 5000..]].concat();
    let truncated = old[..5 * MIB].to_vec();
    let grown = [old.clone(), pattern(MIB, 14)].concat();
    let cases: [(&str, &[u8], u64); 5] = [
        ("edited.bin", &edited, 200 << 10),
        ("inserted.bin", &inserted, 64 << 10),
        ("deleted.bin", &deleted, 64 << 10),
        ("truncated.bin", &truncated, 64 << 10),
        ("grown.bin", &grown, MIB as u64 + (64 << 10)),
    ];
    for (name, new, most) in cases {
        let m = put_onto(&srv, &log, name, &old, new, &[]);
        assert_eq!(m.len(), 1, "{name}: {m:?}");
        let (cmd, bytes, done) = &m[0];
        assert_eq!(cmd, "TFDDELTAPUT", "{name}: {m:?}");
        assert!(*done, "{name}: {m:?}");
        assert!(*bytes <= most, "{name}: {bytes} bytes moved, at most {most} expected");
    }
    let m = put_onto(&srv, &log, "whole.bin", &old, &edited, &["--whole-file"]);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0].0.as_str(), m[0].1), ("SNDFILE", edited.len() as u64), "{m:?}");
    // loopback's round trip is far below a millisecond: whole, as rsync
    // sends local copies, unless --no-whole-file asks for the delta
    let m = put_onto(&srv, &log, "fast.bin", &old, &edited, &[AS_TF_CHOOSES]);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0].0.as_str(), m[0].1), ("SNDFILE", edited.len() as u64), "{m:?}");
}

/// An empty target, a small file and a file that changed entirely go whole,
/// and tf says nothing about it.
#[test]
fn where_a_delta_cannot_pay_the_file_goes_whole() {
    let (srv, log) = start();
    let big = pattern(2 * MIB, 21);
    let m = put_onto(&srv, &log, "empty.bin", b"", &big, &[]);
    assert_eq!(m.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["SNDFILE"], "{m:?}");
    let m = put_onto(&srv, &log, "small.bin", &pattern(1000, 22), &pattern(1100, 22), &[]);
    assert_eq!(m.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["SNDFILE"], "{m:?}");
    let m = put_onto(&srv, &log, "other.bin", &big, &pattern(2 * MIB, 23), &[]);
    assert_eq!(m.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(), ["SNDFILE"], "{m:?}");
    let local = srv.dir.join("quiet.local");
    fs::write(srv.path("quiet.bin"), &big).unwrap();
    let mut new = big.clone();
    new[100] ^= 1;
    fs::write(&local, &new).unwrap();
    let o = srv.tf(&["put", local.to_str().unwrap(), "quiet.bin", "--no-whole-file"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(srv.path("quiet.bin")).unwrap(), new);
    assert_eq!(
        text(&o),
        srv.tf(&["put", local.to_str().unwrap(), "quiet.bin", "--whole-file"])
            .stdout
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
    );
}

/// The replaced file keeps its mode, as SNDFILE's overwrite does.
#[test]
fn a_delta_keeps_the_targets_mode() {
    let (srv, log) = start();
    let old = pattern(2 * MIB, 31);
    fs::write(srv.path("m.bin"), &old).unwrap();
    fs::set_permissions(srv.path("m.bin"), fs::Permissions::from_mode(0o640)).unwrap();
    let mut new = old.clone();
    new[MIB] ^= 0xff;
    let local = srv.dir.join("m.local");
    fs::write(&local, &new).unwrap();
    let o = srv.tf(&["put", local.to_str().unwrap(), "m.bin", "--no-whole-file"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(srv.path("m.bin")).unwrap(), new);
    assert_eq!(
        fs::metadata(srv.path("m.bin")).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    assert_eq!(moved(&log, "m.bin")[0].0, "TFDDELTAPUT");
}

/// TFDDELTASIG's head and its signature frames, read raw.
fn signatures(c: &mut tfp_client::Client, name: &str) -> (u64, String) {
    let head = match c.call("TFDDELTASIG", name.as_bytes()).unwrap() {
        Status::Ok(d) => String::from_utf8(d).unwrap(),
        other => panic!("{other:?}"),
    };
    loop {
        let f = c.chan.rx.recv_frame().unwrap();
        if f.first() != Some(&b'S') {
            assert_eq!(f, b"OK");
            break;
        }
    }
    let w: Vec<&str> = head.split(' ').collect();
    (w[0].parse().unwrap(), w[3].to_string())
}

/// TFDDELTASIGP: a client that says `A` after the first signatures stops
/// the rest (the answer is FAILED in place of OK, fewer entries than the
/// file has came), one that says `G` after all of them gets `OK` and goes
/// on; the session stays in step either way. (TFDDELTASIG alone signed the
/// whole old file whatever the client then did: UNKNOWN before it.)
#[test]
fn tfddeltasigp_stops_its_signatures_when_told() {
    let srv = Server::start();
    // 128 MiB (sparse): 16,384 entries in blocks of 8 KiB, signed 4 MiB a window
    let f = fs::File::create(srv.path("p.bin")).unwrap();
    f.set_len(128 * MIB as u64).unwrap();
    drop(f);
    let all = wire::entries(128 * MIB as u64, wire::block_size(128 * MIB as u64));
    let mut c = srv.client();
    assert!(matches!(c.call("TFDDELTASIGP", b"p.bin").unwrap(), Status::Ok(_)));
    let mut got = 0u64;
    let mut told = false;
    let end = loop {
        let f = c.chan.rx.recv_frame().unwrap();
        if f.first() != Some(&b'S') {
            break f;
        }
        got += ((f.len() - 1) / wire::ENTRY) as u64;
        if !told {
            c.chan.tx.send_frame(b"A").unwrap();
            told = true;
        }
    };
    assert!(
        matches!(Status::parse(&end), Status::Failed(..)),
        "{}",
        String::from_utf8_lossy(&end)
    );
    assert!(got < all, "{got} of {all} entries: the signatures went on");
    assert!(c.call("ECHO", b"still").is_ok(), "the session goes on");
    assert!(matches!(c.call("TFDDELTASIGP", b"p.bin").unwrap(), Status::Ok(_)));
    let mut got = 0u64;
    let end = loop {
        let f = c.chan.rx.recv_frame().unwrap();
        if f.first() != Some(&b'S') {
            break f;
        }
        got += ((f.len() - 1) / wire::ENTRY) as u64;
    };
    assert_eq!((end.as_slice(), got), (&b"OK"[..], all));
    c.chan.tx.send_frame(b"G").unwrap();
    assert!(c.call("ECHO", b"still").is_ok(), "the session goes on");
    assert_eq!(fs::metadata(srv.path("p.bin")).unwrap().len(), 128 * MIB as u64);
}

fn sum(d: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(d).iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends a raw delta (the frames, then the end frame with `sha`) and
/// returns the final status.
fn raw_delta(
    c: &mut tfp_client::Client,
    name: &str,
    size: u64,
    identity: &str,
    frames: &[Vec<u8>],
    sha: &str,
) -> Status {
    let arg = format!("{size} {identity} {name}");
    match c.call("TFDDELTAPUT", arg.as_bytes()).unwrap() {
        Status::Ok(_) => {}
        other => return other,
    }
    for f in frames {
        c.chan.tx.send_frame(f).unwrap();
    }
    c.chan.tx.send_frame(format!("E{sha}").as_bytes()).unwrap();
    Status::parse(&c.chan.rx.recv_frame().unwrap())
}

/// A hostile client's delta: a copy past the old file's end, more bytes
/// than announced, a malformed record, a wrong hash, an empty record: each
/// is FAILED, the session goes on, the old file is whole and no temporary
/// is left beside it.
#[test]
fn a_hostile_delta_is_refused_and_the_old_file_stays_whole() {
    let srv = Server::start();
    let old = pattern(MIB, 41);
    fs::write(srv.path("h.bin"), &old).unwrap();
    let mut c = srv.client();
    let n = old.len() as u64;
    let copy = |off: u64, len: u64| {
        let mut f = Vec::new();
        wire::push_copy(&mut f, off, len);
        f
    };
    let lit = |d: &[u8]| {
        let mut f = Vec::new();
        wire::push_literal(&mut f, d);
        f
    };
    let right = sum(&old);
    let cases: Vec<(&str, u64, Vec<Vec<u8>>, String)> = vec![
        ("copy past the end", n, vec![copy(n - 10, 20)], right.clone()),
        ("copy offset overflow", n, vec![copy(u64::MAX - 1, 5)], right.clone()),
        ("more than announced", 10, vec![lit(&[1u8; 11])], right.clone()),
        (
            "huge literal length",
            n,
            vec![b"L\xff\xff\xff\xffabc".to_vec()],
            right.clone(),
        ),
        ("unknown record", n, vec![b"Q123".to_vec()], right.clone()),
        ("empty copy", n, vec![copy(0, 0)], right.clone()),
        ("short of the size", n, vec![copy(0, n - 1)], right.clone()),
        ("wrong hash", n, vec![copy(0, n)], sum(b"other")),
    ];
    for (what, size, frames, sha) in cases {
        let (_, identity) = signatures(&mut c, "h.bin");
        let st = raw_delta(&mut c, "h.bin", size, &identity, &frames, &sha);
        assert!(matches!(st, Status::Failed(7, _)), "{what}: {st:?}");
        assert!(
            fs::read(srv.path("h.bin")).unwrap() == old,
            "{what}: the old file is whole"
        );
        assert_eq!(dir_names(&srv.data), ["h.bin"], "{what}");
    }
    // the session is still in step, and a right delta lands
    let (_, identity) = signatures(&mut c, "h.bin");
    let new = [&old[..1000], b"new", &old[1000..]].concat();
    let frames = vec![[copy(0, 1000), lit(b"new"), copy(1000, n - 1000)].concat()];
    let st = raw_delta(&mut c, "h.bin", new.len() as u64, &identity, &frames, &sum(&new));
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    assert!(fs::read(srv.path("h.bin")).unwrap() == new);
    // a stream cut off before its end leaves the old file
    let (_, identity) = signatures(&mut c, "h.bin");
    let arg = format!("{} {identity} h.bin", new.len());
    assert!(matches!(c.call("TFDDELTAPUT", arg.as_bytes()).unwrap(), Status::Ok(_)));
    c.chan.tx.send_frame(&copy(0, 500)).unwrap();
    drop(c);
    srv.wait_sessions(0, "the cut session ends");
    assert!(
        fs::read(srv.path("h.bin")).unwrap() == new,
        "the file before the cut is whole"
    );
    assert_eq!(dir_names(&srv.data), ["h.bin"]);
}

/// The target changed on the server after its signatures were sent: before
/// the delta (TFDDELTAPUT refuses at once) or during it (the commit
/// refuses); the changed file stays; tf then sends the file whole.
#[test]
fn a_target_changed_meanwhile_is_never_replaced_by_a_stale_delta() {
    let srv = Server::start();
    let old = pattern(MIB, 51);
    fs::write(srv.path("c.bin"), &old).unwrap();
    let mut c = srv.client();
    let (n, identity) = signatures(&mut c, "c.bin");
    let changed = pattern(MIB, 52);
    std::thread::sleep(Duration::from_millis(20));
    fs::write(srv.path("c.bin"), &changed).unwrap();
    let frames = vec![{
        let mut f = Vec::new();
        wire::push_copy(&mut f, 0, n);
        f
    }];
    let st = raw_delta(&mut c, "c.bin", n, &identity, &frames, &sum(&old));
    assert!(matches!(&st, Status::Failed(7, t) if t.contains("changed")), "{st:?}");
    assert!(fs::read(srv.path("c.bin")).unwrap() == changed);
    // during: the file is rewritten in place (same inode) between the
    // go-ahead and the end frame
    let (n, identity) = signatures(&mut c, "c.bin");
    let arg = format!("{n} {identity} c.bin");
    assert!(matches!(c.call("TFDDELTAPUT", arg.as_bytes()).unwrap(), Status::Ok(_)));
    c.chan.tx.send_frame(&frames[0]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let again = pattern(MIB, 53);
    fs::write(srv.path("c.bin"), &again).unwrap();
    c.chan.tx.send_frame(format!("E{}", sum(&changed)).as_bytes()).unwrap();
    let st = Status::parse(&c.chan.rx.recv_frame().unwrap());
    assert!(matches!(&st, Status::Failed(7, _)), "{st:?}");
    assert!(fs::read(srv.path("c.bin")).unwrap() == again, "the newer file stays");
    assert_eq!(dir_names(&srv.data), ["c.bin"]);
}

/// SIGKILL of tf in the middle of a delta upload leaves the old file whole
/// and nothing beside it.
#[test]
fn sigkill_of_tf_during_a_delta_keeps_the_old_file() {
    let log = tempdir("deltalog").join("xfer.log");
    let srv = Server::start_with(&format!("rate_limit_session 1M\nxferlog {}\n", log.display()));
    let old = pattern(16 * MIB, 61);
    fs::write(srv.path("k.bin"), &old).unwrap();
    // half the blocks changed: a delta, slow under the rate limit
    let mut new = old.clone();
    for (i, b) in new.iter_mut().enumerate() {
        if (i / 8192) % 2 != 0 {
            *b ^= 0x5a;
        }
    }
    let local = srv.dir.join("k.local");
    fs::write(&local, &new).unwrap();
    let child = srv
        .tf_via(
            &srv.addr(),
            &["put", local.to_str().unwrap(), "k.bin", "--no-whole-file"],
        )
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !srv.log().contains("TFDDELTASIG") {
        assert!(Instant::now() < deadline, "no delta began:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success());
    srv.wait_sessions(0, "the killed client's session ends");
    assert!(fs::read(srv.path("k.bin")).unwrap() == old, "the old file is whole");
    assert_eq!(dir_names(&srv.data), ["k.bin"]);
    let m = moved(&log, "k.bin");
    assert!(
        matches!(&m[..], [(cmd, n, false)] if cmd == "TFDDELTAPUT" && *n > 0),
        "killed in the middle of the delta: {m:?}"
    );
}

/// A quota the new file would exceed fails the delta with the quota's
/// reason; the old file stays whole.
#[test]
fn a_delta_over_the_quota_keeps_the_old_file() {
    let srv = Server::start_with("quota_default 3M\n");
    let old = pattern(MIB, 71);
    fs::write(srv.path("q.bin"), &old).unwrap();
    let mut c = srv.client();
    let (n, identity) = signatures(&mut c, "q.bin");
    let big = 4 * MIB as u64;
    let frames: Vec<Vec<u8>> = (0..4)
        .map(|_| {
            let mut f = Vec::new();
            wire::push_copy(&mut f, 0, n);
            f
        })
        .collect();
    let st = raw_delta(&mut c, "q.bin", big, &identity, &frames, &sum(&old));
    assert!(matches!(&st, Status::Failed(13, _)), "{st:?}");
    assert!(fs::read(srv.path("q.bin")).unwrap() == old);
    assert_eq!(dir_names(&srv.data), ["q.bin"]);
}
