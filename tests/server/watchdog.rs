//! The harness itself: a test binary that is SIGKILLed (no Drop, no exit
//! clean-up) leaves none of the tfds it started, their sessions included,
//! and none of its test directories (crates/tfd-testkit/src/watchdog.rs).

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::Server;

/// Processes whose command line holds `text`.
fn pids_naming(text: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(text.len()).any(|w| w == text.as_bytes()))
        })
        .collect()
}

/// Run by [`a_killed_test_binary_leaves_no_tfd_behind`] in a test binary of
/// its own, never by the suite: starts two servers with a session on each,
/// says where they are, and waits to be killed.
#[test]
#[ignore = "the victim a_killed_test_binary_leaves_no_tfd_behind runs and kills"]
fn victim_of_the_watchdog_test() {
    let Some(out) = std::env::var_os("TFD_WATCHDOG_VICTIM_OUT") else {
        panic!("run only by watchdog::a_killed_test_binary_leaves_no_tfd_behind");
    };
    let servers = [Server::start(), Server::start()];
    let _sessions: Vec<_> = servers.iter().map(|s| s.client()).collect();
    let mut said = String::new();
    for s in &servers {
        let conf = s.conf.display().to_string();
        let deadline = Instant::now() + Duration::from_secs(60);
        // the listener and the session process forked for our client
        while pids_naming(&conf).len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        said.push_str(&format!("{conf}\t{}\n", s.dir.display()));
    }
    let part = Path::new(&out).with_extension("part");
    std::fs::File::create(&part)
        .unwrap()
        .write_all(said.as_bytes())
        .unwrap();
    std::fs::rename(&part, &out).unwrap();
    std::thread::sleep(Duration::from_secs(300));
}

#[test]
fn a_killed_test_binary_leaves_no_tfd_behind() {
    let dir = tfd_testkit::tempdir("watchdog");
    let out = dir.join("victim-said");
    let mut victim = Command::new(std::env::current_exe().unwrap())
        .args(["watchdog::victim_of_the_watchdog_test", "--exact", "--ignored"])
        .env("TFD_WATCHDOG_VICTIM_OUT", &out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("victim.log")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    // bounds, not timings: two starts take a second; a loaded 2-core machine far longer
    let deadline = Instant::now() + Duration::from_secs(240);
    while !out.exists() {
        if let Ok(Some(st)) = victim.try_wait() {
            panic!(
                "the victim ended ({st}) before its servers were up:\n{}",
                std::fs::read_to_string(dir.join("victim.log")).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            let _ = victim.kill();
            let _ = victim.wait();
            panic!("the victim did not start its servers within 240 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let said = std::fs::read_to_string(&out).unwrap();
    let started: Vec<(&str, &str)> = said.lines().filter_map(|l| l.split_once('\t')).collect();
    assert_eq!(started.len(), 2, "{said}");
    for (conf, _) in &started {
        assert!(
            pids_naming(conf).len() >= 2,
            "no session process of {conf} before the kill"
        );
    }
    victim.kill().unwrap(); // SIGKILL
    let _ = victim.wait();
    // the watcher needs well under a second; 60 s is room for a loaded machine
    let deadline = Instant::now() + Duration::from_secs(60);
    let left = loop {
        let procs: Vec<(&str, Vec<i32>)> = started
            .iter()
            .map(|(c, _)| (*c, pids_naming(c)))
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let dirs: Vec<&str> = started
            .iter()
            .map(|(_, d)| *d)
            .filter(|d| Path::new(d).exists())
            .collect();
        if (procs.is_empty() && dirs.is_empty()) || Instant::now() > deadline {
            break (procs, dirs);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // what the old harness left is cleaned up here, then named
    for (_, pids) in &left.0 {
        for &p in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::SIGKILL);
        }
    }
    for d in &left.1 {
        let _ = std::fs::remove_dir_all(d);
    }
    assert!(
        left.0.is_empty() && left.1.is_empty(),
        "60 s after the test binary was SIGKILLed: processes {:?}, directories {:?}",
        left.0,
        left.1
    );
}
