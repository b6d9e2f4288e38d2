//! Issue 68, `--retries` across a run's other sessions: one session of a
//! tree's pool killed on the server while its files move is a broken
//! connection as tf's own session's is, so the run is tried again and
//! continues (a `get -r` its partials, a `put -r` into the destination the
//! first try made) until the tree on disk is the source, byte for byte.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use tfd_testkit::*;

const MIB: usize = 1 << 20;

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `dir` filled with `n` files of `size` bytes, one in a subdirectory.
fn tree(dir: &Path, n: usize, size: usize) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..n {
        let rel = if i == 0 {
            "sub/f0.bin".to_string()
        } else {
            format!("f{i}.bin")
        };
        fs::write(dir.join(rel), pattern(size, 200 + i as u64)).unwrap();
    }
}

/// Whether any file is below `d` (a run under way has landed one).
fn any_file(d: &Path) -> bool {
    fn walk(d: &Path) -> bool {
        fs::read_dir(d).into_iter().flatten().flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                true
            }
        })
    }
    d.is_dir() && walk(d)
}

/// When the session process `pid` started (clock ticks since boot).
fn started(pid: i32) -> u64 {
    proc_stat(pid).and_then(|f| f.get(19)?.parse().ok()).unwrap_or(0)
}

/// Starts `tf ARGS` and, once `landed` says the run is under way with more
/// than one session, SIGKILLs the session that started last: one of the
/// pool's, tf's own going on. Returns the run's output.
fn kill_a_pool_session(srv: &Server, args: &[&str], landed: &dyn Fn() -> bool) -> Output {
    let child = srv.tf_via(&srv.addr(), args).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let newest = loop {
        let (live, _) = srv.children();
        if live.len() > 1 && landed() {
            break live.into_iter().max_by_key(|&p| (started(p), p));
        }
        assert!(Instant::now() < deadline, "nothing moved:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = newest.expect("a session");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    child.wait_with_output().unwrap()
}

/// Both trees hold the same files with the same bytes, nothing more.
fn equal(a: &Path, b: &Path) {
    same_tree(a, b);
    same_tree(b, a);
}

#[test]
fn a_killed_pool_session_is_tried_again_and_the_tree_lands_whole() {
    let srv = Server::start_with("rate_limit_session 512K\n");
    let here = tempdir("retries_pool");
    let t = here.join("t");
    tree(&t, 12, MIB / 2);
    let ts = t.to_str().unwrap();
    let dst = srv.path("up");
    // without --retries the run fails: the kill lands
    let o = kill_a_pool_session(&srv, &["put", "-r", "--jobs", "4", ts, "up"], &|| any_file(&dst));
    assert!(!o.status.success(), "without --retries: {}", said(&o));
    let _ = fs::remove_dir_all(&dst);
    let args = ["--retries", "2", "put", "-r", "--jobs", "4", ts, "up"];
    let o = kill_a_pool_session(&srv, &args, &|| any_file(&dst));
    assert!(o.status.success(), "put -r --retries 2: {}", said(&o));
    assert!(said(&o).contains("trying again"), "{}", said(&o));
    assert!(said(&o).contains("after 1 retry"), "{}", said(&o));
    equal(&t, &dst);
    let back = here.join("back");
    let args = [
        "--retries",
        "2",
        "get",
        "-r",
        "--jobs",
        "4",
        "up",
        back.to_str().unwrap(),
    ];
    let o = kill_a_pool_session(&srv, &args, &|| any_file(&back));
    assert!(o.status.success(), "get -r --retries 2: {}", said(&o));
    assert!(said(&o).contains("after 1 retry"), "{}", said(&o));
    equal(&t, &back);
    let _ = fs::remove_dir_all(&here);
}
