//! Bans an operator controls, and shared state that cannot be emptied into
//! freedom (issues 31 items 2 and 10, 32 item 1): `tfd ctl bans` names every
//! ban and lock, `tfd ctl unban` lifts any of them, a refused client is told
//! why in plain words, and a shared bans file deleted, emptied or swapped
//! through a writable ancestor keeps every ban.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tfd_testkit::{self, *};

const PW: &str = "the right one";

/// A multi-user server with `alice` (system user tfdban1), a control socket
/// and the throttle at 3 failures per address and per name, for a minute;
/// `extra` adds lines. Returns it and its control socket.
fn throttled(extra: &str) -> (Server, PathBuf) {
    assert!(
        is_root(),
        "these tests need root (LOGIN's system users, source addresses)"
    );
    let (uid, gid) = tfd_testkit::users::ensure_system_user("tfdban1", &[]);
    let f = tfd_testkit::tempdir("ban-userdb").join("userdb");
    let f = f.to_str().unwrap().to_string();
    tfd_testkit::users::userdb_add(&f, "alice", "tfdban1", PW, &[]);
    let sock = tfd_testkit::tempdir("ban-ctl").join("ctl.sock");
    let srv = Server::start_opts(Opts {
        extra: &format!(
            "userdb {f}\ncontrol_socket {}\nlogin_max_failures_ip 3\nlogin_max_failures_user 3\n\
             login_window 60\nlogin_ban 60\nlogin_lock 60\n{extra}",
            sock.display()
        ),
        default_user: false,
        ..Opts::default()
    });
    let home = srv.data.join("alice");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(uid.into()), Some(gid.into())).unwrap();
    (srv, sock)
}

fn login(srv: &Server, from: &str, name: &str, pw: &str) -> tfp_wire::Status {
    let mut cfg = srv.client_config();
    cfg.bind = Some(from.parse().unwrap());
    cfg.timeout = Some(Duration::from_secs(10));
    let mut c = tfp_client::Client::connect(&cfg).unwrap_or_else(|e| panic!("connect from {from}: {e}"));
    c.call("LOGIN", format!("{name} {pw}").as_bytes()).unwrap()
}

fn failed_text(st: &tfp_wire::Status) -> String {
    match st {
        tfp_wire::Status::Failed(37, t) => t.to_string(),
        other => panic!("expected FAILED 37, got {other:?}"),
    }
}

fn ctl(sock: &Path, req: &[&str]) -> String {
    tfd_ctl(sock, req).1
}

/// The row of `ctl bans` naming `what`, if any.
fn row(list: &str, what: &str) -> Option<String> {
    list.lines()
        .find(|l| l.split('\t').next() == Some(what))
        .map(String::from)
}

fn ban_lifecycle(srv: &Server, sock: &Path, scope: &str) {
    // three wrong passwords from .41 ban the address; even the right one is
    // then refused, in plain words, never as a wrong password
    for name in ["ghost1", "ghost2", "ghost3"] {
        assert_failed(login(srv, "127.0.0.41", name, "guess"), 37);
    }
    let told = failed_text(&login(srv, "127.0.0.41", "alice", PW));
    assert!(
        told.contains("Temporarily refused") && told.contains("127.0.0.41") && told.contains("seconds"),
        "{told}"
    );
    // three wrong passwords for a name from three addresses lock it
    for from in ["127.0.0.42", "127.0.0.43", "127.0.0.44"] {
        assert_failed(login(srv, from, "bob", "guess"), 37);
    }
    let told = failed_text(&login(srv, "127.0.0.45", "bob", "x"));
    assert!(told.contains("the name \"bob\" is locked"), "{told}");
    // ctl bans names both, with cause, time left and scope; and an admin ban
    assert!(ctl(sock, &["ban", "198.51.100.77", "10m"]).contains("ok: banned"));
    let list = ctl(sock, &["bans"]);
    // with shared state the address is listed twice (this node, every node),
    // in no fixed order: the row of the scope under test
    let r = list
        .lines()
        .find(|l| l.split('\t').next() == Some("127.0.0.41") && l.contains(scope))
        .map(String::from)
        .unwrap_or_else(|| panic!("no {scope} row for 127.0.0.41:\n{list}"));
    assert!(r.contains("address\tfailed logins\t"), "{list}");
    let left: u64 = r.split('\t').nth(3).unwrap().parse().unwrap();
    assert!((50..=60).contains(&left), "{list}");
    let r = row(&list, "bob").unwrap_or_else(|| panic!("no row for bob:\n{list}"));
    assert!(r.contains("name\tfailed logins\t"), "{list}");
    let r = row(&list, "198.51.100.77").unwrap_or_else(|| panic!("no row for the admin ban:\n{list}"));
    assert!(r.contains("ctl ban"), "{list}");
    // unban lifts them: the address and the name log in again
    let out = ctl(sock, &["unban", "127.0.0.41"]);
    assert!(out.starts_with("ok: unbanned 127.0.0.41"), "{out}");
    assert_ok(login(srv, "127.0.0.41", "alice", PW));
    let out = ctl(sock, &["unban", "bob"]);
    assert!(out.starts_with("ok: unbanned name \"bob\""), "{out}");
    let told = failed_text(&login(srv, "127.0.0.46", "bob", "x"));
    assert!(!told.contains("Temporarily"), "bob still locked: {told}");
    assert!(ctl(sock, &["unban", "198.51.100.77"]).starts_with("ok:"));
    let list = ctl(sock, &["bans"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(ctl(sock, &["unban", "127.0.0.41"]).contains("was not banned"));
}

/// One node without shared state: the throttle's bans and locks listed and
/// lifted. Before, `ctl unban` answered "was not banned", nothing listed bans,
/// and the client read "wrong user name or password".
#[test]
fn ctl_bans_lists_and_unban_lifts_every_ban_on_one_node() {
    let (srv, sock) = throttled("");
    ban_lifecycle(&srv, &sock, "this node");
}

/// The same with `shared_state_dir`: the rows say "every node" too.
#[test]
fn ctl_bans_lists_and_unban_lifts_shared_bans() {
    let state = tfd_testkit::tempdir("ban-state").join("state");
    let (srv, sock) = throttled(&format!("shared_state_dir {}\n", state.display()));
    ban_lifecycle(&srv, &sock, "every node");
}

/// `tf` tells a throttled user what happened, not "wrong user name or password".
#[test]
fn tf_says_the_address_is_temporarily_refused() {
    let (srv, _sock) = throttled("");
    let run = |pw: &str| {
        srv.tf_command(&["--user", "alice", "ls"])
            .env("TF_PASSWORD", pw)
            .output()
            .unwrap()
    };
    for _ in 0..3 {
        assert!(!run("guess").status.success());
    }
    let out = run(PW);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("temporarily refused") && err.contains("127.0.0.1") && !err.contains("wrong user name"),
        "{err}"
    );
}

fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn refused(srv: &Server, from: &str) -> bool {
    let mut cfg = srv.client_config();
    cfg.bind = Some(from.parse().unwrap());
    cfg.timeout = Some(Duration::from_secs(5));
    tfp_client::Client::connect(&cfg)
        .and_then(|mut c| c.call("KEEPALIVE", b"0 0 | 0 | 0"))
        .is_err()
}

/// The shared bans file emptied, then deleted, while tfd runs: the ban holds
/// throughout, the file is rebuilt holding it, and the log says DAMAGE.
/// Before, either lifted every ban on every node, silently.
#[test]
fn a_shared_bans_file_emptied_or_deleted_keeps_its_bans() {
    let state = tfd_testkit::tempdir("ban-damage").join("state");
    let sock = tfd_testkit::tempdir("ban-damage-ctl").join("ctl.sock");
    let srv = Server::start_with(&format!(
        "shared_state_dir {}\ncontrol_socket {}\n",
        state.display(),
        sock.display()
    ));
    let bans = state.join("bans");
    let full = std::fs::metadata(&bans).unwrap().len();
    assert!(ctl(&sock, &["ban", "127.0.0.51", "10m"]).contains("on every node"));
    assert!(refused(&srv, "127.0.0.51"));
    for damage in ["emptied", "deleted", "deleted just before a reload"] {
        match damage {
            "emptied" => std::fs::OpenOptions::new()
                .write(true)
                .open(&bans)
                .unwrap()
                .set_len(0)
                .unwrap(),
            "deleted" => std::fs::remove_file(&bans).unwrap(),
            _ => {
                std::fs::remove_file(&bans).unwrap();
                assert!(ctl(&sock, &["reload"]).contains("ok"));
            }
        }
        // the listener reads the file at least every 3 s: give it two reads
        std::thread::sleep(Duration::from_secs(4));
        assert!(
            refused(&srv, "127.0.0.51"),
            "the bans file {damage} let a banned address in"
        );
        assert!(
            eventually(Duration::from_secs(5), || std::fs::metadata(&bans)
                .is_ok_and(|m| m.len() == full)),
            "the bans file was not rebuilt after it was {damage}"
        );
        // what the file now holds, as a node starting afresh reads it
        let list = ctl(&sock, &["bans"]);
        assert!(row(&list, "127.0.0.51").is_some(), "{list}");
    }
    assert!(!refused(&srv, "127.0.0.52"));
    let log = srv.log();
    assert!(log.contains("DAMAGE") && log.contains("deleted while tfd ran"), "{log}");
}

/// A state directory under a directory others may write is refused at start;
/// one whose ancestor becomes writable and is swapped for an empty one while
/// tfd runs makes the reload fail, and the bans hold (tfd keeps the directory
/// it checked open). Before, tfd checked only the directory itself, at start,
/// and then reopened its files by name.
#[test]
fn a_state_directory_swapped_through_a_writable_ancestor_is_refused() {
    let top = tfd_testkit::tempdir("ban-swap");
    let anc = top.join("anc");
    std::fs::create_dir(&anc).unwrap();
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    // at start: refused, naming the ancestor
    mode(&anc, 0o777);
    let conf = |extra: &str| {
        let srv = Server::start();
        let text = std::fs::read_to_string(&srv.conf).unwrap() + extra;
        (srv, text)
    };
    let (mut probe, text) = conf(&format!("shared_state_dir {}\n", anc.join("state").display()));
    probe.stop();
    let c = top.join("tfd.conf");
    std::fs::write(&c, &text).unwrap();
    let log = top.join("start.log");
    let mut tfd = spawn_tfd(&c, &log);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = tfd.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() >= deadline {
            let _ = tfd.kill();
            let _ = tfd.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.is_some_and(|s| !s.success()),
        "tfd started under a world-writable ancestor: {err}"
    );
    assert!(
        err.contains(anc.to_str().unwrap()) && err.contains("writable by group or others"),
        "{err}"
    );

    // at reload: a trusted path at start, then the ancestor opened and the
    // directory swapped for an empty one
    mode(&anc, 0o755);
    let sock = top.join("ctl.sock");
    let srv = Server::start_with(&format!(
        "shared_state_dir {}\ncontrol_socket {}\n",
        anc.join("state").display(),
        sock.display()
    ));
    assert!(ctl(&sock, &["ban", "127.0.0.61", "10m"]).contains("on every node"));
    mode(&anc, 0o777);
    std::fs::rename(anc.join("state"), anc.join("old")).unwrap();
    std::fs::create_dir(anc.join("state")).unwrap();
    mode(&anc.join("state"), 0o700);
    // ctl says the reload was refused, and why
    let out = ctl(&sock, &["reload"]);
    assert!(
        out.starts_with("error: reload refused, keeping the old configuration")
            && out.contains("writable by group or others"),
        "{out}"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(refused(&srv, "127.0.0.61"), "a swapped state directory lifted a ban");
    let log = srv.log();
    assert!(
        log.contains("reload refused") && log.contains("writable by group or others"),
        "{log}"
    );
    // the new directory was never used
    assert!(!anc.join("state").join("bans").exists());
    mode(&anc, 0o755);
}

/// A client an operator banned is told so where its first answer would be,
/// and `tf` prints it, rather than a closed connection ("is tfd running?").
#[test]
fn tf_says_an_admin_banned_address_is_temporarily_refused() {
    let (srv, sock) = throttled("");
    assert!(ctl(&sock, &["ban", "127.0.0.1", "10m"]).contains("ok: banned"));
    let out = srv
        .tf_command(&["--user", "alice", "ls"])
        .env("TF_PASSWORD", PW)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("temporarily refused") && err.contains("127.0.0.1 is banned for"),
        "{err}"
    );
}

/// What README says of bans across a restart: `tfd ctl ban` is counted in
/// `tfd_bans_total{kind="control"}`, and the ban is gone after a restart
/// unless `shared_state_dir` keeps it, where it outlives the restart.
#[test]
fn a_ctl_ban_is_counted_and_outlives_a_restart_only_in_shared_state() {
    for shared in [false, true] {
        let state = tfd_testkit::tempdir("ban-restart").join("state");
        let extra = if shared {
            format!("shared_state_dir {}\n", state.display())
        } else {
            String::new()
        };
        let mut srv = Server::start_with(&extra);
        let sock = srv.dir.join("ctl.sock");
        assert!(ctl(&sock, &["ban", "198.51.100.78", "10m"]).contains("ok: banned"));
        let m = ctl(&sock, &["metrics"]);
        assert!(m.contains("tfd_bans_total{kind=\"control\"} 1\n"), "{m}");
        srv.restart_with_new_key();
        let list = ctl(&sock, &["bans"]);
        assert_eq!(
            row(&list, "198.51.100.78").is_some(),
            shared,
            "shared_state_dir {shared}:\n{list}"
        );
    }
}
