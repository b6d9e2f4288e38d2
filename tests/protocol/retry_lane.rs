//! The library's retry loop (`tfp_client::retry::run`, what the Python
//! package's `retries=` runs) tries a single file's put over several
//! streams again when one of its lanes' connections ended under it (the
//! error the transfer returns, its own session still answering), and the
//! next try continues with resume: the file lands whole.

use std::time::{Duration, Instant};
use tfd_testkit::{pattern, tempdir, Server};
use tfp_client::engine::upload;
use tfp_client::Client;

/// When process `pid` started (clock ticks since boot).
fn started(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    after.split(' ').nth(19).and_then(|f| f.parse().ok()).unwrap_or(0)
}

#[test]
fn a_killed_lane_of_a_streams_put_is_tried_again() {
    let srv = Server::start_with("rate_limit_session 512K\n");
    let here = tempdir("retry_lane_lib");
    let data = pattern(6 << 20, 11);
    let src = here.join("up.bin");
    std::fs::write(&src, &data).unwrap();
    let cfg = srv.client_config();
    let mut c = Client::connect(&cfg).unwrap();
    let pid = srv.pid();
    // once the lanes run, the newest session (a lane) is SIGKILLed
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (live, _) = tfd_testkit::procs::children_of(pid);
            if live.len() > 2 {
                let lane = live.into_iter().max_by_key(|&p| (started(p), p)).unwrap();
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(lane), nix::sys::signal::Signal::SIGKILL);
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let size = data.len() as u64;
    let once = |c: &mut Client, n: u32| {
        let mut req = upload::Request {
            resume: n > 1,
            streams: 4,
            dest: upload::Dest::Deferred,
            ..upload::Request::new(upload::Source::File(&src, size), b"up.bin", upload::Kind::Put)
        };
        let (done, total) = (Default::default(), std::sync::atomic::AtomicU64::new(size));
        let progress = upload::Progress {
            done: &done,
            total: &total,
        };
        upload::send(c, &cfg, &mut req, &progress, &mut |_| {})
            .map(|_| ())
            .map_err(|f| *f.error)
    };
    let (r, tries) = tfp_client::retry::run(&cfg, &mut c, 2, once, |_| false, |_| false);
    assert!(killer.join().unwrap(), "no lane ran:\n{}", srv.log());
    assert!(r.is_ok(), "retries 2: {r:?} after {tries} tries\n{}", srv.log());
    assert!(tries > 1, "the kill broke nothing");
    assert!(
        std::fs::read(srv.path("up.bin")).unwrap() == data,
        "the file is not whole"
    );
    let _ = std::fs::remove_dir_all(&here);
}
