//! `tf backup` cut short every way issue 69 names besides tf's SIGKILL
//! (cli_snap): Ctrl-C, SIGKILL of the session, of tfd and its sessions, a
//! quota and a full disk on the server. After each, every snapshot the
//! server lists is complete (its tree is the source, its index there);
//! and the next run (against a new tfd on the same files, after tfd's
//! kill; with the source shrunk to fit, after the quota and the full disk)
//! completes one, leaving no part behind.

use crate::cli_snap::{state, write};
use crate::output::{ok, text};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names below the server's `bk`: (complete snapshots, parts).
fn below(data: &Path) -> (Vec<String>, Vec<String>) {
    let Ok(dir) = fs::read_dir(data.join("bk")) else {
        return (Vec::new(), Vec::new());
    };
    let mut names: Vec<String> = dir.map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names.into_iter().partition(|n| !n.starts_with('.'))
}

/// Every snapshot listed is whole: its tree is `src`, its index there.
fn only_whole(data: &Path, src: &Path, what: &str) {
    for sn in below(data).0 {
        assert!(
            data.join(format!("bk/{sn}/index")).exists(),
            "{what}: {sn} has no index"
        );
        assert_eq!(
            state(&data.join(format!("bk/{sn}/tree"))),
            state(src),
            "{what}: {sn} is listed and is not complete"
        );
    }
}

/// `n` files of 20 kB in 10 directories, a minute old.
fn source(src: &Path, n: usize) {
    for i in 0..n {
        let p = src.join(format!("d{}/f{i}", i % 10));
        write(&p, &pattern(20_000, i as u64), 0o644, 60);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cut {
    CtrlC,
    KillSessions,
    KillTfd,
}

/// `tf backup SRC bk` and tf's process id. For Ctrl-C, as a script's
/// background job starts it: with SIGINT ignored (as a non-interactive
/// shell starts `cmd &`; the full suite runs so), which tf's handler must
/// override. Before, backup had none: the Ctrl-C was lost and the run went
/// on to make its snapshot.
fn start(srv: &Server, src: &Path, cut: Cut) -> (std::process::Child, i32) {
    use std::io::BufRead;
    let tf = srv.tf_command(&["backup", s(src), "bk"]);
    let mut c = match cut {
        Cut::CtrlC => {
            let mut sh = std::process::Command::new("sh");
            sh.args(["-c", "trap '' INT; \"$@\" & echo $!; wait $!", "sh"])
                .arg(tf.get_program())
                .args(tf.get_args());
            for (k, v) in tf.get_envs() {
                if let Some(v) = v {
                    sh.env(k, v);
                }
            }
            sh
        }
        _ => tf,
    };
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = match cut {
        Cut::CtrlC => {
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.as_mut().unwrap())
                .read_line(&mut line)
                .unwrap();
            line.trim().parse().unwrap()
        }
        _ => child.id() as i32,
    };
    (child, pid)
}

#[test]
fn ctrl_c_or_a_killed_session_or_server_leaves_no_incomplete_snapshot_and_the_next_run_completes() {
    for cut in [Cut::CtrlC, Cut::KillSessions, Cut::KillTfd] {
        // slow enough to be cut mid-run: 8 MB at 2 MB/s
        let srv = Server::start_with("rate_limit_session 2M\n");
        let here = tempdir("cli_snap_cuts");
        let src = here.join("src");
        source(&src, 400);
        let (mut child, tf) = start(&srv, &src, cut);
        // cut once the part holds some of the files (any of its
        // directories: the batches fill them in no set order)
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let parts = below(&srv.path("")).1;
            let landed: usize = parts
                .iter()
                .flat_map(|p| (0..10).map(move |d| format!("bk/{p}/tree/d{d}")))
                .map(|d| fs::read_dir(srv.path(&d)).map_or(0, |d| d.count()))
                .sum();
            if landed >= 10 {
                break;
            }
            assert!(Instant::now() < deadline, "{cut:?}: nothing landed:\n{}", srv.log());
            std::thread::sleep(Duration::from_millis(5));
        }
        let sessions = tfd_testkit::children_of(srv.pid()).0;
        match cut {
            Cut::CtrlC => kill(Pid::from_raw(tf), Signal::SIGINT).unwrap(),
            Cut::KillSessions => {
                for p in sessions {
                    let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
                }
            }
            Cut::KillTfd => {
                let _ = kill(Pid::from_raw(srv.pid()), Signal::SIGKILL);
                for p in sessions {
                    let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
                }
            }
        }
        let st = child.wait().unwrap();
        assert!(!st.success(), "{cut:?}: the cut run said it made a snapshot");
        let data = srv.path("");
        only_whole(&data, &src, &format!("{cut:?}"));
        assert!(below(&data).0.is_empty(), "{cut:?}: cut before its end, yet a snapshot");
        // the next run, against a tfd serving the same files (after tfd's
        // kill, a new one they are moved to)
        let next = if cut == Cut::KillTfd {
            let again = Server::start();
            fs::rename(srv.path("bk"), again.path("bk")).unwrap();
            again
        } else {
            srv
        };
        ok(
            &next.tf(&["backup", s(&src), "bk"]),
            &format!("the backup after {cut:?}"),
        );
        let data = next.path("");
        let (done, parts) = below(&data);
        assert_eq!(done.len(), 1, "{cut:?}: {done:?}");
        assert!(parts.is_empty(), "{cut:?}: parts left: {parts:?}");
        only_whole(&data, &src, &format!("{cut:?}, then a run"));
        drop(next);
        let _ = fs::remove_dir_all(&here);
    }
}

#[test]
fn a_quota_or_a_full_disk_leaves_no_incomplete_snapshot_and_the_next_run_completes() {
    for full in ["quota", "disk"] {
        let srv = match full {
            "quota" => Server::start_with("quota_default 3M\n"),
            _ => Server::start(),
        };
        let _small = (full == "disk").then(|| tmpfs::mount(&srv.path("bk"), "3m"));
        let here = tempdir("cli_snap_full");
        let src = here.join("src");
        source(&src, 400);
        let o = srv.tf(&["backup", s(&src), "bk"]);
        assert!(!o.status.success(), "{full}: 8 MB in 3 MB: {}", text(&o));
        assert!(
            text(&o).contains("not complete"),
            "{full}: no plain sentence: {}",
            text(&o)
        );
        // the run stops at the first refusal for room, saying so, and names
        // at most ten of the files already on their way (issue 88: a line a
        // file, some 1,800 of them)
        let lines = text(&o).lines().count();
        assert!(lines <= 12, "{full}: {lines} lines: {}", text(&o));
        assert!(
            text(&o).contains("the server has no room for more; the run stops there")
                && text(&o).contains("(more refused so are counted, not named)"),
            "{full}: {}",
            text(&o)
        );
        let data = srv.path("");
        assert!(below(&data).0.is_empty(), "{full}: a snapshot of what did not fit");
        only_whole(&data, &src, full);
        // what fits goes: the next run completes a snapshot of it
        for i in 40..400 {
            fs::remove_file(src.join(format!("d{}/f{i}", i % 10))).unwrap();
        }
        ok(
            &srv.tf(&["backup", s(&src), "bk"]),
            &format!("the backup after the {full}"),
        );
        let (done, parts) = below(&data);
        assert_eq!(done.len(), 1, "{full}: {done:?}");
        assert!(parts.is_empty(), "{full}: parts left: {parts:?}");
        only_whole(&data, &src, &format!("{full}, then a run"));
        let o = srv.tf(&["backup", "list", "bk"]);
        ok(&o, "backup list");
        assert_eq!(text(&o).matches("40 files").count(), 1, "{}", text(&o));
        let _ = fs::remove_dir_all(&here);
    }
}
