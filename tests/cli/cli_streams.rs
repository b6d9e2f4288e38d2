//! `tf get --streams N`: each stream fetches a range of the file and the
//! server sends that range, not more (issue 42: a 64 MiB `get --streams 4`
//! moved 79 MiB over a WAN link, since each range but the last was a GET to
//! the file's end cancelled when the range was in, after the server had
//! sent on). The server's transfer log tells what it sent.

use crate::common;
use crate::xferlog::moved;

use common::*;
use std::fs;

const MIB: usize = 1 << 20;

/// A 32 MiB file over four streams: the server's transfers for it add up to
/// the file (give or take a few bytes), and the copy is byte for byte.
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
    // every range's line is written when its transfer ends: wait for four
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut m = moved(&log, "/big.bin", 0);
    while m.len() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        m = moved(&log, "/big.bin", 0);
    }
    assert_eq!(m.len(), 4, "one transfer per stream: {m:?}");
    let sent: u64 = m.iter().map(|x| x.1).sum();
    assert!(
        sent <= data.len() as u64 + 64 * 1024,
        "the server sent {sent} bytes for a file of {} (each range past its end): {m:?}",
        data.len()
    );
    let _ = fs::remove_dir_all(&here);
}
