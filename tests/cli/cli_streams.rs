//! `tf get --streams N`: each stream fetches a range of the file and the
//! server sends that range, not more (issue 42: a 64 MiB `get --streams 4`
//! moved 79 MiB over a WAN link, since each range but the last was a GET to
//! the file's end cancelled when the range was in, after the server had
//! sent on). The streams share the file: each asks for a window at a time,
//! and one that runs dry splits off the back half of the largest rest
//! another has not asked for, so a split adds a transfer but never a byte.
//! The server's transfer log tells what it sent.

use crate::xferlog::moved;

use sha2::{Digest, Sha256};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use tfd_testkit::*;

const MIB: usize = 1 << 20;

/// The server's GET-family transfers of `/big.bin` from log line `from`
/// on, waited for until they add up to `want` bytes (each is logged as it
/// ends) or 10 s passed: (count, bytes).
fn sent(log: &Path, from: usize, want: u64) -> (usize, u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = moved(log, "/big.bin", from);
        let total: u64 = m.iter().map(|x| x.1).sum();
        if total >= want || Instant::now() > deadline {
            return (m.len(), total);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A 32 MiB file over four streams: the server's transfers for it add up to
/// the file, not a byte more, and the copy is byte for byte.
#[test]
fn streams_fetch_their_ranges_and_no_more() {
    let log = tempdir("streamslog").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let data = pattern(32 * MIB, 42);
    fs::write(srv.path("big.bin"), &data).unwrap();
    let here = tempdir("streams");
    let local = here.join("big.bin");
    let o = srv.tf(&["get", "--streams", "4", "big.bin", local.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(fs::read(&local).unwrap() == data, "the copy is the file");
    let (n, total) = sent(&log, 0, data.len() as u64);
    assert!(n >= 4, "a transfer per stream at least: {n}");
    assert_eq!(
        total,
        data.len() as u64,
        "the server sent each byte once ({n} transfers)"
    );
    let _ = fs::remove_dir_all(&here);
}

/// A resume over four streams of a partial whose journal holds two ranges,
/// one nearly done: two streams take the rests and the other two split the
/// larger one, in the journal too, and the server sends exactly the bytes
/// the journal did not prove, over more transfers than streams.
#[test]
fn streams_split_the_largest_rest_and_fetch_each_byte_once() {
    let log = tempdir("splitlog").join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let data = pattern(32 * MIB, 43);
    fs::write(srv.path("big.bin"), &data).unwrap();
    let mtime = fs::metadata(srv.path("big.bin"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let here = tempdir("splits");
    let local = here.join("big.bin");
    // the partial and its journal as an interrupted `get --streams 2` left
    // them (the on-disk contract, spelled out): [0, 16) MiB landed to 15
    // MiB, [16, 32) MiB not begun
    let done = 15 * MIB;
    let mut partial = data[..done].to_vec();
    partial.resize(data.len(), 0);
    let ppath = here.join(".big.bin.tf-partial");
    fs::write(&ppath, &partial).unwrap();
    // only a partial no one else may write is trusted
    fs::set_permissions(&ppath, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let journal = format!(
        "tf-journal 1\nsource {}\nsize {}\nmtime {mtime}\nrange 0 {} {done} {}\nrange {} {} 0 {}\n",
        hex(b"big.bin"),
        data.len(),
        16 * MIB,
        hex(&Sha256::digest(&data[..done])),
        16 * MIB,
        32 * MIB,
        hex(&Sha256::digest(b"")),
    );
    let jpath = here.join(".big.bin.tf-partial.journal");
    fs::write(&jpath, journal).unwrap();
    fs::set_permissions(&jpath, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = srv.tf(&["get", "--resume", "--streams", "4", "big.bin", local.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!("resuming: {done} of")),
        "the partial was resumed: {err}"
    );
    assert!(fs::read(&local).unwrap() == data, "the copy is the file");
    assert!(!jpath.exists(), "the journal goes with the commit");
    let want = (data.len() - done) as u64;
    let (n, total) = sent(&log, 0, want);
    assert!(n > 4, "the larger rest was split: {n} transfers");
    assert_eq!(total, want, "the server sent each missing byte once ({n} transfers)");
    let _ = fs::remove_dir_all(&here);
}

/// The sessions `--streams 4` opens at the command's start for its streams
/// (beside the command's own, so their handshakes overlap it) end with the
/// command when it has no use for them: a file too small to share, both
/// ways; the copies are whole and no session is left behind.
#[test]
fn spare_sessions_nobody_takes_end_with_the_command() {
    let srv = Server::start();
    fs::write(srv.path("small.bin"), b"one byte short of nothing").unwrap();
    let here = tempdir("spares");
    let local = here.join("small.bin");
    let o = srv.tf(&["get", "--streams", "4", "small.bin", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(&local).unwrap(), b"one byte short of nothing");
    let o = srv.tf(&["put", "--streams", "4", local.to_str().unwrap(), "up.bin"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(srv.path("up.bin")).unwrap(), b"one byte short of nothing");
    srv.wait_sessions(0, "the spare sessions ended with tf");
    let _ = fs::remove_dir_all(&here);
}
