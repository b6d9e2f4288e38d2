//! How much a lying server gets to send before tf cuts it off (issue 47,
//! finding 13): a file announced as 6 bytes followed by 64 MiB more, in a
//! tree whose other files keep the run going. A single `get` exits when it
//! breaks the download off, which closes its session; `get -r` and `mirror`
//! kept that session open and went on using it (their next command sent in
//! the middle of the unread stream, the flood read as its answer), so the
//! liar streamed on. Now the session a download was broken off on is closed
//! at once: the liar never hears another command in the middle of a GET,
//! the bytes it got out stay within what socket buffers hold, and nothing
//! past the announced size is written.

use crate::output::stderr;

use std::fs;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Lie, Script};
use tfd_testkit::tempdir;

/// What tf lets past the announced size, at most: the engine's cut-off
/// (1 MiB, tfp_client::engine::capped::MAX_EXCESS), the GET units in flight
/// (the liar grants 1 MiB) and the loopback sockets' buffers (up to 6 MiB
/// on the receiving side alone, whatever tf does): a single `get` measured
/// 4.2 to 7.3 MB here.
const BOUND: u64 = 12 << 20;

/// Bytes the liar sent while tf ran `cmd ... SRC DST` against a 6-byte
/// file followed by 64 MiB more; the landed file is checked, and that tf
/// never spoke on a session in the middle of a GET it had broken off.
fn sent_for(cmd: &[&str], src: &str, tag: &str) -> u64 {
    // files after the lying one keep a tree's run going on its sessions
    let mut script = Script::new().file("tree/a.txt", b"alpha\n");
    for i in 0..40 {
        script = script.file(&format!("tree/z/f{i:02}"), format!("file {i}\n"));
    }
    let liar = Liar::start(script.lie(Lie::Extra {
        path: "tree/a.txt".into(),
        extra: 64 << 20,
    }));
    let d = tempdir(tag);
    let dst = d.join("dst");
    let mut args = cmd.to_vec();
    args.extend_from_slice(&[src, dst.to_str().unwrap()]);
    let (o, _) = run_watched(liar.tf_command(&args), Duration::from_secs(120), u64::MAX);
    assert!(!o.status.success(), "{cmd:?}: the lie was kept\n{}", stderr(&o));
    for p in [dst.clone(), dst.join("a.txt")] {
        if let Ok(m) = fs::symlink_metadata(&p) {
            assert!(m.is_dir() || m.len() <= 6, "{cmd:?}: {p:?} holds {} bytes", m.len());
        }
    }
    // the liar's thread may still be writing into buffers tf stopped reading
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        liar.spoke_mid_get(),
        0,
        "{cmd:?}: tf sent commands on a session whose download it had broken off unread\n{}",
        stderr(&o)
    );
    liar.bytes_sent()
}

#[test]
fn get_r_and_mirror_stop_a_longer_download_as_get_does() {
    let single = sent_for(&["get"], "tree/a.txt", "bound-get");
    // one session: the files after the lying one go on the session it used
    let get_r = sent_for(&["get", "-r", "--jobs", "1"], "tree", "bound-get-r");
    let mirror = sent_for(&["mirror", "--jobs", "1"], "tree", "bound-mirror");
    eprintln!("bytes the liar sent: get {single}, get -r {get_r}, mirror {mirror}");
    for (what, n) in [("get", single), ("get -r", get_r), ("mirror", mirror)] {
        assert!(
            n <= BOUND,
            "{what}: the liar sent {n} bytes for a 6-byte file (bound {BOUND})"
        );
    }
}
