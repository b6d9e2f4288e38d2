//! A directory one user may not read, in a tree another user mirrors with
//! `--delete` (issue 82): bob closes his directory inside alice's jail, and
//! her mirror keeps her copy of it, names it (and nothing below it) and
//! ends with status 2, also while bob opens and closes it again and again
//! during her runs; the other way, a local directory alice's own account
//! cannot read keeps its copy on the server, named, status 1.

use crate::output::text;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use tfd_testkit::perms::{chmod, chown_tree};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;

/// `tf --user alice ARGS`, run locally as `as_user` (root when None).
fn alice(srv: &Server, state: &Path, args: &[&str], as_user: Option<(u32, u32)>) -> Output {
    let mut all = vec!["--user", "alice"];
    all.extend_from_slice(args);
    let mut c = Command::new(tf_bin_for_others());
    c.args(srv.tf_command(&all).get_args())
        .env("TF_PASSWORD", "alice pw")
        .env_remove("TF_USER")
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null());
    if let Some((uid, gid)) = as_user {
        c.uid(uid).gid(gid);
    }
    c.output().unwrap()
}

#[test]
fn another_users_closed_directory_keeps_the_mirrors_copy() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed {
        srv,
        alice: a,
        bob,
        home,
    } = alice_jailed("tfdunread", Some(0o755));
    let shared = home.join("shared");
    fs::create_dir_all(shared.join("bobs/inner")).unwrap();
    fs::write(shared.join("bobs/notes"), b"bob's notes").unwrap();
    fs::write(shared.join("bobs/inner/secret-name"), b"s").unwrap();
    fs::write(shared.join("hers.txt"), b"hers").unwrap();
    chown_tree(&shared, a);
    chown_tree(&shared.join("bobs"), bob);
    let here = tempdir("security_unreadable");
    chmod(&here, 0o755);
    let state = here.join("state");
    let copy = here.join("copy");
    let o = alice(&srv, &state, &["mirror", "/home/shared", copy.to_str().unwrap()], None);
    assert!(o.status.success(), "her first mirror: {}", text(&o));
    assert_eq!(fs::read(copy.join("bobs/notes")).unwrap(), b"bob's notes");
    fs::write(copy.join("extra"), b"x").unwrap();
    chmod(&shared.join("bobs"), 0o700);
    let o = alice(
        &srv,
        &state,
        &["mirror", "--delete", "/home/shared", copy.to_str().unwrap()],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let said = text(&o);
    assert_eq!(said.matches("shared/bobs").count(), 1, "named once: {said}");
    assert!(!said.contains("secret-name") && !said.contains("inner"), "{said}");
    assert_eq!(fs::read(copy.join("bobs/notes")).unwrap(), b"bob's notes");
    assert!(copy.join("bobs/inner/secret-name").exists() && copy.join("extra").exists());

    // bob opens and closes it while her mirrors run, four at once, each
    // into a copy of her copy: each run is whole (status 0) or says what
    // it missed (2); none removes anything of bob's from her copies
    for i in 0..4 {
        let st = Command::new("cp")
            .arg("-a")
            .arg(&copy)
            .arg(here.join(format!("copy{i}")))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let (stop, bobs) = (&stop, shared.join("bobs"));
        sc.spawn(move || {
            let mut open = false;
            while !stop.load(Ordering::Relaxed) {
                chmod(&bobs, if open { 0o755 } else { 0o700 });
                open = !open;
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            chmod(&bobs, 0o700);
        });
        let runs: Vec<_> = (0..4)
            .map(|i| {
                let (srv, here) = (&srv, &here);
                sc.spawn(move || {
                    let mine = here.join(format!("copy{i}"));
                    let st = here.join(format!("state{i}"));
                    for _ in 0..6 {
                        let o = alice(
                            srv,
                            &st,
                            &["mirror", "--delete", "/home/shared", mine.to_str().unwrap()],
                            None,
                        );
                        let code = o.status.code();
                        assert!(matches!(code, Some(0) | Some(2)), "{}", text(&o));
                        if code == Some(2) {
                            assert!(text(&o).contains("shared/bobs"), "{}", text(&o));
                        }
                        for f in ["bobs/notes", "bobs/inner/secret-name"] {
                            assert!(mine.join(f).exists(), "copy{i}: {f} removed: {}", text(&o));
                        }
                    }
                })
            })
            .collect();
        let ended: Vec<_> = runs.into_iter().map(|r| r.join()).collect();
        stop.store(true, Ordering::Relaxed);
        for e in ended {
            if let Err(panic) = e {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_local_directory_tf_cannot_read_keeps_the_servers_copy() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed {
        srv, alice: a, home, ..
    } = alice_jailed("tfdunreadup", Some(0o755));
    let here = tempdir("security_unreadable_up");
    chmod(&here, 0o755);
    let src = here.join("src");
    fs::create_dir_all(src.join("locked/deeper")).unwrap();
    fs::write(src.join("locked/f"), b"data").unwrap();
    fs::write(src.join("locked/deeper/g"), b"more").unwrap();
    fs::write(src.join("top.txt"), b"top").unwrap();
    let state = here.join("state");
    fs::create_dir_all(&state).unwrap();
    chown_tree(&here, a);
    let as_her = Some(a);
    let s = src.to_str().unwrap();
    let o = alice(&srv, &state, &["mirror", "-R", s, "/home/up"], as_her);
    assert!(o.status.success(), "first upload: {}", text(&o));
    let up = home.join("up");
    fs::write(up.join("extra"), b"x").unwrap();
    chmod(&src.join("locked"), 0o000);
    for words in [&["mirror", "-R", "--delete"][..], &["mirror", "-R"], &["put", "-r"]] {
        let mut args = words.to_vec();
        args.extend([s, "/home/up"]);
        let o = alice(&srv, &state, &args, as_her);
        assert_eq!(o.status.code(), Some(1), "{words:?}: {}", text(&o));
        let said = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(
            said.lines().filter(|l| l.contains("src/locked")).count(),
            1,
            "{words:?}: one line names it: {said}"
        );
        assert_eq!(fs::read(up.join("locked/f")).unwrap(), b"data", "{words:?}");
        assert_eq!(fs::read(up.join("locked/deeper/g")).unwrap(), b"more", "{words:?}");
        assert!(up.join("extra").exists(), "{words:?}: an extra removed");
    }
    chmod(&src.join("locked"), 0o755);
    let _ = fs::remove_dir_all(&here);
}
