//! The lifecycle rule every tfd helper process follows (key process, UDP
//! responder, sessions): a signal to the whole process group (Ctrl-C) stops tfd
//! without a hang and without restarting what the same signal killed; a SIGKILLed
//! listener leaves no process and no socket behind, so a restart on the same port
//! works at once.
// the lint cannot see that start_in_own_group's caller waits for the child
#![allow(clippy::zombie_processes)]

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// Every process whose parent is `ppid`, live or zombie.
fn all_children(ppid: i32) -> Vec<i32> {
    let (mut live, zombies) = children_of(ppid);
    live.extend(key_process_of(ppid));
    live.extend(udp_responder_of(ppid));
    live.extend(fai_issuer_of(ppid));
    live.extend(sweeper_of(ppid));
    live.extend(zombies);
    live
}

/// True while `pid` exists and has not died (a zombie has died).
fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|f| f.first().is_some_and(|st| st != "Z" && st != "X"))
}

/// Live processes of the process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    proc_stats()
        .into_iter()
        .filter(|(_, f)| f.get(3).and_then(|p| p.parse::<i32>().ok()) == Some(pgid) && f[0] != "Z" && f[0] != "X")
        .map(|(pid, _)| pid)
        .collect()
}

/// Starts tfd as the leader of a process group of its own (as a shell does for a
/// foreground job), and waits until it answers and both helpers run.
fn start_in_own_group(dir: &std::path::Path) -> Child {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let port = free_port();
    let conf = format!(
        "proto 2.4.1\nhash h{port}\ndbdir {}\nport {port}\nlisten 127.0.0.1\nprivkey_file {}\n\
         shutdown_grace 1\ncontrol_socket {}\n{}",
        data.display(),
        dir.join("key.pem").display(),
        dir.join("ctl.sock").display(),
        if is_root() { "defusr nobody\n" } else { "" }
    );
    std::fs::write(dir.join("tfd.conf"), conf).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("-c")
        .arg(dir.join("tfd.conf"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && key_process_of(pid).is_some()
            && udp_responder_of(pid).is_some();
        if up {
            return child;
        }
        if Instant::now() > deadline {
            let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
            let _ = child.wait();
            panic!("tfd did not start");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ctrl-C (SIGINT) and `kill -TERM -PGID` reach every process of the group at
/// once. tfd used to restart the helpers the same signal killed and then wait
/// for ever in "shutting down" (about 1 stop in 6).
#[test]
fn signal_to_the_process_group_always_stops_tfd() {
    let rounds = 16;
    let mut hangs = Vec::new();
    for round in 0..rounds {
        let dir = tempdir("group");
        let mut child = start_in_own_group(&dir);
        let pgid = child.id() as i32;
        let sig = if round % 2 == 0 {
            Signal::SIGINT
        } else {
            Signal::SIGTERM
        };
        kill(Pid::from_raw(-pgid), sig).unwrap();
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut stopped = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                stopped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
        if !stopped {
            hangs.push(format!("round {round} ({sig:?}):\n{log}"));
            let _ = kill(Pid::from_raw(-pgid), Signal::SIGKILL);
        }
        let _ = child.wait();
        assert!(
            !log.contains(" restarted "),
            "round {round}: restarted a helper while stopping:\n{log}"
        );
        // nothing of that tfd is left running
        let deadline = Instant::now() + Duration::from_secs(3);
        while !group_members(pgid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(group_members(pgid), Vec::<i32>::new(), "round {round}: leftovers");
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        hangs.is_empty(),
        "{} of {rounds} stops hung:\n{}",
        hangs.len(),
        hangs.join("\n")
    );
}

/// A SIGKILLed listener: every helper (UDP responder and key process as
/// `nobody`, the FAI issuer, sessions switched to `defusr`) dies with it, nothing keeps the TCP
/// port or the control socket, and a new tfd starts on the same port at once.
#[test]
fn sigkilled_listener_leaves_no_process_and_the_port_free() {
    if !require(is_root(), "needs root (helpers switch users)") {
        return;
    }
    let ctl = tempdir("ctl").join("ctl.sock");
    let extra = format!("defusr nobody\nudp_user nobody\ncontrol_socket {}\n", ctl.display());
    let mut old = Server::start_opts(Opts {
        extra: &extra,
        ..Opts::default()
    });
    let port = old.port;
    // two sessions past their handshake: they run as nobody
    let mut sessions = vec![old.client(), old.client()];
    for c in &mut sessions {
        assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    }
    let listener = old.pid();
    let helpers = all_children(listener);
    assert!(
        helpers.len() >= 5,
        "key process, UDP responder, FAI issuer, 2 sessions: {helpers:?}"
    );
    assert!(helpers.iter().any(|&h| is_fai_issuer(h)), "{helpers:?}");
    // the FAI issuer (it writes the root-only token store) and the sweeper
    // (it removes every user's upload temporaries) alone keep root
    assert!(helpers.iter().any(|&h| is_sweeper(h)), "{helpers:?}");
    for &h in helpers.iter().filter(|&&h| !is_fai_issuer(h) && !is_sweeper(h)) {
        assert_runs_as_nobody(h);
    }
    kill(Pid::from_raw(listener), Signal::SIGKILL).unwrap();
    let mut child = old.child.take().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while helpers.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<i32> = helpers.iter().copied().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "processes of the killed tfd still run: {left:?}");
    // the port is free: nobody accepts there any more, and a new tfd binds it
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    let _ = std::fs::remove_file(&ctl);
    let started = Instant::now();
    let new = Server::start_opts(Opts {
        extra: &extra,
        port: Some(port),
        ..Opts::default()
    });
    assert!(started.elapsed() < Duration::from_secs(10));
    let mut c = new.client();
    assert_eq!(c.raw(b"ECHO y").unwrap(), b"y");
    assert!(!new.log().contains("Address already in use"));
}
