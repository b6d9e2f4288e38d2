//! A download's attributes arrive with its data (issue 67: "never a mix"):
//! `tf mirror -X` and `tf get -r -a -X` give each file its extended
//! attributes on its landing temporary, before the rename, so SIGKILL of
//! tf once some files landed (and Ctrl-C, SIGKILL of the sessions, of tfd)
//! leaves every file either old (its old bytes and attributes) or new (the
//! server's bytes and attributes), never new bytes with old attributes;
//! the rerun completes.

use crate::cli_xattrs::s;
use crate::output::text;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};
use tfd_testkit::*;

pub(crate) fn set(p: &Path, value: &str) {
    let f = fs::File::open(p).unwrap();
    tfd_sys::fsetxattr(f.as_fd(), c"user.v", value.as_bytes()).unwrap();
}

pub(crate) fn get(p: &Path) -> Option<String> {
    let f = fs::File::open(p).unwrap();
    tfd_sys::fgetxattr(f.as_fd(), c"user.v", 4096)
        .ok()
        .map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn a_killed_download_leaves_each_file_old_or_new_with_its_own_attributes() {
    for (i, args) in [
        vec!["mirror", "-X", "--jobs", "2"],
        vec!["get", "-r", "-a", "-X", "--jobs", "2"],
    ]
    .into_iter()
    .enumerate()
    {
        killed(i, &args, Cut::KillTf);
    }
}

/// What interrupts a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// SIGKILL of tf.
    KillTf,
    /// Ctrl-C: SIGINT of tf.
    CtrlC,
    /// SIGKILL of every session on the server.
    KillSessions,
    /// SIGKILL of tfd and its sessions.
    KillTfd,
}

#[test]
fn ctrl_c_and_a_killed_session_or_server_leave_each_file_old_or_new_with_its_own_attributes() {
    for (i, cut) in [Cut::CtrlC, Cut::KillSessions, Cut::KillTfd].into_iter().enumerate() {
        killed(i, &["mirror", "-X", "--jobs", "2"], cut);
    }
}

fn killed(run: usize, args: &[&str], cut: Cut) {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let _there = tmpfs::mount(&srv.path("src"), "64m");
    let here = tempdir("cli_xattrs_landing");
    let _here = tmpfs::mount(&here, "64m");
    let local = here.join("src");
    fs::create_dir_all(&local).unwrap();
    let n = 24;
    let mut olds = Vec::new();
    for i in 0..n {
        let name = format!("f{i:02}.bin");
        let old = pattern(300_000, 100 + i);
        fs::write(local.join(&name), &old).unwrap();
        set(&local.join(&name), "old");
        fs::write(srv.path("src").join(&name), pattern(700_000, 1000 + i)).unwrap();
        set(&srv.path("src").join(&name), &format!("new-{i}"));
        olds.push((name, old));
    }
    let (from, to) = if args[0] == "mirror" {
        ("src".to_string(), s(&local).to_string())
    } else {
        ("src".to_string(), s(&here).to_string())
    };
    let mut all: Vec<&str> = args.to_vec();
    all.extend([from.as_str(), to.as_str()]);
    let mut child = srv
        .tf_command(&all)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !olds.iter().any(|(n, old)| fs::read(local.join(n)).unwrap() != *old) {
        assert!(Instant::now() < deadline, "{run}: nothing landed:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt(&srv, &mut child, cut);
    let (mut new_n, mut old_n) = (0, 0);
    for (i, (name, old)) in olds.iter().enumerate() {
        let p = local.join(name);
        let got = fs::read(&p).unwrap();
        if got == *old {
            assert_eq!(
                get(&p).as_deref(),
                Some("old"),
                "{run}: {name}: old bytes, other attributes"
            );
            old_n += 1;
        } else {
            assert_eq!(
                got,
                fs::read(srv.path("src").join(name)).unwrap(),
                "{name} is neither old nor new"
            );
            assert_eq!(
                get(&p),
                Some(format!("new-{i}")),
                "{run} {args:?}: {name}: new bytes with the old attributes"
            );
            new_n += 1;
        }
    }
    assert!(
        new_n > 0 && old_n > 0,
        "{run}: killed too late or too early: {new_n} new, {old_n} old"
    );
    if cut == Cut::KillTfd {
        // no server to run again against: old or new was the point
        return;
    }
    let o = srv.tf(&all);
    assert!(o.status.success(), "{}", text(&o));
    for (i, (name, _)) in olds.iter().enumerate() {
        assert_eq!(
            get(&local.join(name)),
            Some(format!("new-{i}")),
            "{run}: after the rerun"
        );
    }
}

/// Interrupts the running `tf` (`child`) or `srv`'s sessions as `cut`
/// says, and waits for tf to end.
pub(crate) fn interrupt(srv: &Server, child: &mut std::process::Child, cut: Cut) {
    let sessions = || tfd_testkit::children_of(srv.pid()).0;
    match cut {
        Cut::KillTf => kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap(),
        Cut::CtrlC => kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap(),
        Cut::KillSessions => {
            for p in sessions() {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        Cut::KillTfd => {
            let all = sessions();
            let _ = kill(Pid::from_raw(srv.pid()), Signal::SIGKILL);
            for p in all {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
    }
    let _ = child.wait();
}
