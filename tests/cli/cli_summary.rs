//! A tree run's summary line counts the bytes that landed this run (issue
//! 65): not those of files the server refused half way, nor what an earlier
//! run had already fetched of a file a resumed `get -r` continues.

use crate::output::{stderr, text};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

const MIB: usize = 1 << 20;

/// The figure in MiB of a summary line `CMD: … (X MiB in …)`.
fn summary_mib(out: &str, cmd: &str) -> (String, f64) {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{cmd}: ")) && l.contains(" transferred, "))
        .unwrap_or_else(|| panic!("no summary line: {out}"))
        .to_string();
    let figure = line
        .rsplit_once('(')
        .and_then(|(_, r)| r.split_once(" MiB"))
        .and_then(|(n, _)| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no MiB figure: {line}"));
    (line, figure)
}

/// A server whose quota (23M) holds seven of the twelve 3 MiB files made
/// here (their bytes from `seed`).
fn twelve_over_the_quota(seed: u64) -> (Server, std::path::PathBuf) {
    assert!(is_root(), "this test needs root (a quota applies to defusr root)");
    let srv = Server::start_with("quota_default 23M\n");
    let local = srv.dir.join("twelve");
    fs::create_dir_all(&local).unwrap();
    for i in 0..12 {
        fs::write(local.join(format!("f{i:02}.bin")), pattern(3 * MIB, seed + i)).unwrap();
    }
    (srv, local)
}

/// Twelve files of 3 MiB over a quota with room for seven: seven land,
/// five are refused, and the summary counts the 21 MiB that landed (it
/// said 36, the bytes sent).
#[test]
fn a_put_over_the_quota_counts_only_what_landed() {
    let (srv, local) = twelve_over_the_quota(70);
    let o = srv.tf(&["put", "-r", "--jobs", "1", &format!("{}/", local.display()), "up"]);
    assert!(!o.status.success(), "there was no room: {}", text(&o));
    let (line, mib) = summary_mib(&text(&o), "put");
    let landed = fs::read_dir(srv.path("up")).unwrap().count();
    assert_eq!(landed, 7, "{}\n{:?}", text(&o), dir_names(&srv.path("up")));
    assert!(line.starts_with("put: 7 transferred, 0 skipped, 5 failed"), "{line}");
    assert!((mib - 21.0).abs() < 0.05, "21 MiB landed: {line}");
}

/// The same over four sessions at once (tf's default jobs): never more
/// than the quota holds. Each session's batch links its files only at its
/// end, and another session counted those bytes nowhere meanwhile: 9 or
/// 10 of the 12 landed over the 23M quota.
#[test]
fn a_put_over_four_sessions_never_lands_past_the_quota() {
    let (srv, local) = twelve_over_the_quota(90);
    for run in 0..3 {
        let dst = format!("up{run}");
        let o = srv.tf(&["put", "-r", "--jobs", "4", &format!("{}/", local.display()), &dst]);
        assert!(!o.status.success(), "there was no room: {}", text(&o));
        let landed = fs::read_dir(srv.path(&dst)).unwrap().count();
        assert!(
            landed <= 7,
            "run {run}: {landed} of 12 x 3 MiB landed under 23M: {}",
            text(&o)
        );
        let (line, mib) = summary_mib(&text(&o), "put");
        assert!((mib - 3.0 * landed as f64).abs() < 0.05, "{landed} landed: {line}");
        fs::remove_dir_all(srv.path(&dst)).unwrap();
    }
}

/// Waits until the partial download of `name` below `dir` holds `n` bytes.
fn wait_partial(dir: &Path, name: &str, n: u64) {
    let p = dir.join(format!(".{name}.tf-partial"));
    let t0 = Instant::now();
    while fs::metadata(&p).map_or(0, |m| m.len()) < n {
        assert!(t0.elapsed() < Duration::from_secs(60), "no partial {p:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `get -r` killed half way through a file, then resumed: the resumed
/// run's summary counts what it fetched, not the bytes the partial held
/// (it said 16 MiB).
#[test]
fn a_resumed_get_r_counts_what_it_fetched() {
    let srv = Server::start_with("rate_limit_session 2M\n");
    fs::create_dir_all(srv.path("t")).unwrap();
    let big = pattern(16 * MIB, 80);
    fs::write(srv.path("t/big.bin"), &big).unwrap();
    let here = tempdir("summary_resume");
    let dest = here.join("t");
    let mut child = srv
        .tf_command(&["get", "-r", "t", here.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_partial(&dest, "big.bin", 6 * MIB as u64);
    // the journal records progress every second: let it catch up
    std::thread::sleep(Duration::from_millis(1200));
    let st = Command::new("kill")
        .arg("-9")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let _ = child.wait();
    let o = srv.tf(&["get", "-r", "t", here.to_str().unwrap(), "--resume"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(dest.join("big.bin")).unwrap(), big);
    let (line, mib) = summary_mib(&text(&o), "get");
    assert!(line.starts_with("get: 1 transferred"), "{line}");
    // "…: resuming: K of N bytes already here"
    let here_bytes: u64 = stderr(&o)
        .split_once("resuming: ")
        .and_then(|(_, r)| r.split_once(' '))
        .and_then(|(k, _)| k.parse().ok())
        .unwrap_or_else(|| panic!("{}", text(&o)));
    assert!(here_bytes > 0, "{}", text(&o));
    let fetched = (big.len() as u64 - here_bytes) as f64 / MIB as f64;
    assert!((mib - fetched).abs() < 0.05, "{fetched:.1} MiB fetched: {line}");
}
