//! tf's run records (crates/tf/src/rerun.rs) decide where a re-run of
//! `get -r`/`put -r` lands, so another account must not be able to choose
//! them (issue 64, finding 3): with `$XDG_STATE_HOME` in a shared directory,
//! a second local user who made `tf/runs` first renamed one of the victim's
//! own records to the computable name of `tf get -r src dest`, and the
//! victim's next run landed in `dest/` instead of `dest/src/`, overwriting
//! `dest/a.txt`, exit 0, without a word. Records now live only in a
//! directory the user alone owns and can write, the way above it checked as
//! ssh checks `~/.ssh`, and a record holding another command line than its
//! name's is ignored with a warning.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

/// The second local user, who controls the shared state directory.
const OTHER: &str = "tfdred4runs";

/// The name tf gives the record of `tf get -r SOURCES DEST` run against
/// `srv` from `cwd` without a login or jail: what the attacker computes.
fn record_name(srv: &Server, cwd: &Path, sources: &[&str], dest: &str) -> String {
    let mut h = Sha256::new();
    let addr = srv.addr();
    let cwd = cwd.canonicalize().unwrap();
    let mut parts: Vec<&[u8]> = vec![addr.as_bytes(), b"", b"", cwd.to_str().unwrap().as_bytes(), b"get"];
    parts.extend(sources.iter().map(|s| s.as_bytes()));
    parts.push(dest.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    tfp_wire::hex::encode(&h.finalize()[..16])
}

fn said(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `tf get -r ARGS` in `cwd` with its records under `state`.
fn get_r(srv: &Server, cwd: &Path, state: &Path, args: &[&str]) -> Command {
    let mut a = vec!["get", "-r"];
    a.extend(args);
    let mut c = srv.tf_command(&a);
    c.current_dir(cwd)
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `get -r other made` (made missing, so the run makes it and records
/// that), interrupted once a file has landed.
fn interrupted_making_run(srv: &Server, cwd: &Path, state: &Path) -> Output {
    let child = get_r(srv, cwd, state, &["other", "made"]).spawn().unwrap();
    let t0 = Instant::now();
    let landed = || fs::read_dir(cwd.join("made")).is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.path().is_file())));
    while !landed() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
    child.wait_with_output().unwrap()
}

/// A server holding `src/a.txt` and a slow tree `other`.
fn server() -> Server {
    let srv = Server::start_with("rate_limit_session 2M\n");
    fs::create_dir_all(srv.path("src")).unwrap();
    fs::write(srv.path("src/a.txt"), "the server's a.txt\n").unwrap();
    fs::create_dir_all(srv.path("other")).unwrap();
    for k in 0..4 {
        fs::write(srv.path(&format!("other/f{k}.bin")), pattern(1 << 20, k)).unwrap();
    }
    srv
}

/// The victim's `dest/` with a file of their own, and a `get -r src dest`
/// into it: cp -r's rule puts the tree in `dest/src/`, and `dest/a.txt`
/// stays theirs.
fn lands_nested(srv: &Server, work: &Path, state: &Path) -> Output {
    fs::create_dir_all(work.join("dest")).unwrap();
    fs::write(work.join("dest/a.txt"), "mine\n").unwrap();
    let o = get_r(srv, work, state, &["src", "dest"]).output().unwrap();
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(
        fs::read_to_string(work.join("dest/a.txt")).unwrap(),
        "mine\n",
        "the victim's dest/a.txt was overwritten: a record moved the run\n{}",
        said(&o)
    );
    assert_eq!(
        fs::read_to_string(work.join("dest/src/a.txt")).unwrap(),
        "the server's a.txt\n",
        "{}",
        said(&o)
    );
    o
}

/// The other user's loop, ended with the test.
struct Racer(std::process::Child);

impl Drop for Racer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The attack as reported, raced: the other user made `tf/runs` in the
/// shared state directory first and, while the victim's runs go on, moves
/// every record that appears there to the name of `get -r src dest` (and
/// plants a file of their own there when none is). The victim's interrupted
/// run says it cannot record itself there and why; the victim's
/// `get -r src dest` warns that the record is ignored and lands in
/// `dest/src/`. On the old code the victim's record was written into the
/// other user's directory, moved, and the run overwrote `dest/a.txt`.
#[test]
fn a_state_directory_another_user_controls_holds_no_record_tf_trusts() {
    assert!(is_root(), "this test needs root (a second local user)");
    let (uid, gid) = ensure_system_user(OTHER, &[]);
    let srv = server();
    let here = tempdir("run_records_shared");
    fs::set_permissions(&here, fs::Permissions::from_mode(0o755)).unwrap();
    let shared = here.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
    let work = here.join("work");
    fs::create_dir(&work).unwrap();
    let name = record_name(&srv, &work, &["src"], "dest");
    let as_other = |script: &str| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script).current_dir(&shared).uid(uid).gid(gid);
        c
    };
    let st = as_other("umask 0 && mkdir -p tf/runs").status().unwrap();
    assert!(st.success());
    let _racer = Racer(
        as_other(&format!(
            "cd tf/runs && while :; do \
               for f in *; do [ \"$f\" = {name} ] || [ \"$f\" = '*' ] || mv -f \"$f\" {name}; done; \
               [ -e {name} ] || : >{name}; sleep 0.01; done"
        ))
        .spawn()
        .unwrap(),
    );
    let first = interrupted_making_run(&srv, &work, &shared);
    let o = lands_nested(&srv, &work, &shared);
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        err.contains("cannot record this run") && err.contains(OTHER),
        "the victim recorded a run in the other user's directory:\n{}",
        said(&first)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "the run record {}",
            shared.join("tf/runs").join(&name).display()
        )) && err.contains("is ignored")
            && err.contains(OTHER),
        "no warning about the planted record:\n{}",
        said(&o)
    );
    let _ = fs::remove_dir_all(&here);
}

/// In the victim's own state directory, a record under another command's
/// name (one of theirs, renamed) is ignored with a warning: a record holds
/// its own command line and destination. The directory tf makes is 0700.
/// On the old code any file of the user's under the name was trusted, and
/// the run overwrote `dest/a.txt`.
#[test]
fn a_record_under_another_commands_name_is_ignored_with_a_warning() {
    let srv = server();
    let here = tempdir("run_records_renamed");
    let state = here.join("state");
    let work = here.join("work");
    fs::create_dir(&work).unwrap();
    let o = interrupted_making_run(&srv, &work, &state);
    assert!(!o.status.success(), "finished before the interrupt: {}", said(&o));
    let runs = state.join("tf/runs");
    for d in [state.join("tf"), runs.clone()] {
        let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    let made = record_name(&srv, &work, &["other"], "made");
    let records: Vec<PathBuf> = fs::read_dir(&runs).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(records, vec![runs.join(&made)], "{}", said(&o));
    let name = record_name(&srv, &work, &["src"], "dest");
    fs::rename(runs.join(&made), runs.join(&name)).unwrap();
    let o = lands_nested(&srv, &work, &state);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("is ignored: it records another command line or destination"),
        "no warning about the renamed record:\n{}",
        said(&o)
    );
    let _ = fs::remove_dir_all(&here);
}
