//! Backups with history on a multi-user server (issue 69): a jailed user
//! cannot list, restore from, link from (TFDLINK), prune or verify
//! (TFDHMAC) another user's backups, whether they lie outside her jail
//! (`..`, an absolute or relative symlink in her home) or inside it in his
//! private directory; through `tf` and raw, four of her sessions at once.
//! Her own backups work throughout, and his stay whole (his verify passes).

use crate::output::text;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_wire::link::Link;
use tfp_wire::prove::{self, Answer, Key, Request};
use tfp_wire::Status;

/// Runs tf as the login `user` (password `<user> pw`), its state in `state`;
/// `backup_privacy` runs it too, for the same logins' backups.
pub(super) fn tf_as(srv: &Server, user: &str, state: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--user", user];
    all.extend_from_slice(args);
    Command::new(tf_bin_for_others())
        .args(srv.tf_command(&all).get_args())
        .env("TF_PASSWORD", format!("{user} pw"))
        .env_remove("TF_USER")
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_jailed_user_cannot_reach_another_users_backups() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed { srv, alice, bob, home } = alice_jailed("tfdbk", Some(0o777));
    let here = tempdir("security_backups");
    fs::set_permissions(&here, fs::Permissions::from_mode(0o755)).unwrap();
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/secret"), b"bob's secret").unwrap();
    fs::write(src.join("f"), pattern(50_000, 1)).unwrap();
    let (bob_state, alice_state) = (here.join("bob-state"), here.join("alice-state"));
    // bob's backups: outside her jail, and inside it in his private directory
    let area = srv.path("bobarea");
    fs::create_dir_all(&area).unwrap();
    nix::unistd::chown(&area, Some(bob.0.into()), Some(bob.1.into())).unwrap();
    fs::set_permissions(&area, fs::Permissions::from_mode(0o700)).unwrap();
    for name in ["bobarea/bk", "jails/alice/home/bobbk/bk"] {
        let o = tf_as(&srv, "bob", &bob_state, &["backup", src.to_str().unwrap(), name]);
        assert!(o.status.success(), "bob's backup {name}: {}", text(&o));
    }
    fs::set_permissions(home.join("bobbk"), fs::Permissions::from_mode(0o700)).unwrap();
    let snap = dir_names(&area.join("bk")).pop().unwrap();
    let inside = dir_names(&home.join("bobbk/bk")).pop().unwrap();
    symlink(area.join("bk"), home.join("tobob")).unwrap();
    symlink("../../../bobarea/bk", home.join("tobob2")).unwrap();
    // hers
    let o = tf_as(
        &srv,
        "alice",
        &alice_state,
        &["backup", src.to_str().unwrap(), "/home/mine"],
    );
    assert!(o.status.success(), "her backup: {}", text(&o));
    let o = tf_as(&srv, "alice", &alice_state, &["backup", "verify", "/home/mine"]);
    assert!(o.status.success(), "her verify: {}", text(&o));

    let targets = [
        ("/../../bobarea/bk", snap.clone()),
        ("/home/tobob", snap.clone()),
        ("/home/tobob2", snap.clone()),
        ("/home/bobbk/bk", inside.clone()),
    ];
    let dest = here.join("restored");
    for (t, s) in &targets {
        let o = tf_as(&srv, "alice", &alice_state, &["backup", "list", t]);
        assert!(!text(&o).contains(s.as_str()), "list {t}: {}", text(&o));
        let at = format!("{t}@{s}");
        let o = tf_as(&srv, "alice", &alice_state, &["restore", &at, dest.to_str().unwrap()]);
        assert!(!o.status.success(), "restore {at}: {}", text(&o));
        let o = tf_as(&srv, "alice", &alice_state, &["backup", "verify", &at]);
        assert!(!o.status.success(), "verify {at}: {}", text(&o));
        let o = tf_as(&srv, "alice", &alice_state, &["backup", "prune", t, "--keep-last", "0"]);
        assert!(!text(&o).contains(&format!("removed {s}")), "prune {t}: {}", text(&o));
    }
    assert!(
        !dest.join("d/secret").exists() && !dest.join("f").exists(),
        "bob's file restored"
    );

    let mine = format!("/home/mine/{}/tree/f", dir_names(&home.join("mine")).pop().unwrap());
    // raw, four sessions at once
    let paths: Vec<(String, String)> = targets
        .iter()
        .map(|(t, s)| (format!("{t}/{s}"), format!("{t}/{s}/tree/d/secret")))
        .collect();
    std::thread::scope(|sc| {
        for w in 0..4 {
            let (srv, paths, mine) = (&srv, &paths, &mine);
            sc.spawn(move || {
                let mut c = srv.client();
                assert_ok(c.call("LOGIN", b"alice alice pw").unwrap());
                for round in 0..10 {
                    for (snapdir, file) in paths {
                        let l = Link {
                            existing: file.clone().into_bytes(),
                            new: format!("/home/stolen{w}_{round}").into_bytes(),
                        };
                        let st = c.command(&l.line().unwrap()).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDLINK {file}: {st:?}");
                        let r = Request {
                            key: Key::Plain,
                            paths: vec![file.clone().into_bytes(), format!("{snapdir}/index").into_bytes()],
                        };
                        match c.command(&r.line().unwrap()).unwrap() {
                            Status::Ok(t) => {
                                let a = prove::parse_answers(&t, 2).unwrap();
                                assert!(a.iter().all(|a| matches!(a, Answer::Failed(_))), "{file}: {a:?}");
                            }
                            other => panic!("TFDHMAC {file}: {other:?}"),
                        }
                        let mut sink = Vec::new();
                        let got = c.rcvfile(format!("{snapdir}/index").as_bytes(), false, &mut sink);
                        assert!(got.is_err() || sink.is_empty(), "{snapdir}/index was read");
                        let gone = format!("{snapdir} | /home/moved{w}_{round}");
                        assert!(matches!(c.call("RENAM", gone.as_bytes()).unwrap(), Status::Failed(..)));
                        assert!(matches!(
                            c.call("RMDIR", snapdir.as_bytes()).unwrap(),
                            Status::Failed(..)
                        ));
                        if let Ok(l) = c.listdir(snapdir.as_bytes()) {
                            assert!(l.iter().all(|e| !e.rel.starts_with(b"tree")), "{snapdir} listed");
                        }
                    }
                }
                // her session goes on, her own file proven
                let r = Request {
                    key: Key::Plain,
                    paths: vec![mine.clone().into_bytes()],
                };
                let st = c.command(&r.line().unwrap()).unwrap();
                assert!(
                    matches!(st, Status::Ok(ref t) if !t.starts_with(b"X")),
                    "her own file: {st:?}"
                );
            });
        }
    });
    // nothing of his moved, linked or lost: his verify passes
    assert!(!fs::read_dir(&home).unwrap().any(|e| {
        let n = e.unwrap().file_name().into_string().unwrap();
        n.starts_with("stolen") || n.starts_with("moved")
    }));
    for name in ["bobarea/bk", "jails/alice/home/bobbk/bk"] {
        let o = tf_as(&srv, "bob", &bob_state, &["backup", "verify", name]);
        assert!(o.status.success(), "bob's verify {name}: {}", text(&o));
        assert!(
            text(&o).contains("2 files held as backed up (a fresh key"),
            "{}",
            text(&o)
        );
    }
    let _ = alice;
    let _ = fs::remove_dir_all(&here);
}
