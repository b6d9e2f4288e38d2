//! What an interrupted upload must leave: every file its old version or its
//! new one, no temporary (the tests of batches and of archive copies).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use tfd_testkit::Server;

/// SIGKILLs `child` (an upload from `src` into `dst`) once some of `olds`
/// (names and the old contents at `dst`) are new and before all are; then
/// each is its old version or its new one byte for byte, some of each, and
/// once the sessions have ended with their client no temporary is left.
/// Returns the names that are new.
pub(crate) fn kill_midway(
    srv: &Server,
    mut child: std::process::Child,
    dst: &Path,
    src: &Path,
    olds: &[(String, Vec<u8>)],
) -> Vec<String> {
    // until some files are new and some still old
    let deadline = Instant::now() + Duration::from_secs(20);
    while olds.iter().all(|(n, old)| fs::read(dst.join(n)).unwrap() == *old) {
        assert!(Instant::now() < deadline, "nothing landed:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    let mut new = Vec::new();
    for (n, old) in olds {
        let got = fs::read(dst.join(n)).unwrap();
        if got != *old {
            assert_eq!(got, fs::read(src.join(n)).unwrap(), "{n} is neither old nor new");
            new.push(n.clone());
        }
    }
    let (new_n, old_n) = (new.len(), olds.len() - new.len());
    assert!(
        new_n > 0 && old_n > 0,
        "killed too late or too early: {new_n} new, {old_n} old"
    );
    // the sessions end with their client, committing what they received
    // whole (a hidden name at a time); once ended, nothing is left behind
    srv.settled_log();
    assert!(temporaries(&srv.data).is_empty(), "{:?}", temporaries(&srv.data));
    new
}

/// The names of the upload temporaries below `root` (none may be left).
pub(crate) fn temporaries(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".tfd-part") {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}
