//! The host's users for the tests: system users and groups made with
//! useradd (and removed when the test process exits), and LOGIN user files
//! written by the real `tfpasswd`.

use crate::{daemon_bin, tempdir};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `tfpasswd` with `args`, feeding `stdin`.
pub fn tfpasswd(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut c = Command::new(daemon_bin("tfpasswd"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = c.stdin.take().unwrap().write_all(stdin.as_bytes());
    c.wait_with_output().unwrap()
}

/// The system users and groups this test process created, removed when it
/// exits: tests of one binary run in parallel and may share a user, so none of
/// them may remove it on its own; users that existed before are left alone.
static CREATED: std::sync::Mutex<Vec<(&'static str, String)>> = std::sync::Mutex::new(Vec::new());

/// Records what was created and, the first time, registers the clean-up.
fn created(kind: &'static str, name: &str) {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        assert!(
            tfd_sys::at_exit(remove_created),
            "cannot register the test users' clean-up"
        );
    });
    CREATED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((kind, name.to_string()));
}

/// Deletes the users (then the groups) recorded by [`created`]. A user whose
/// session processes are still exiting is retried for a moment, then removed
/// with --force.
extern "C" fn remove_created() {
    let list = std::mem::take(&mut *CREATED.lock().unwrap_or_else(|p| p.into_inner()));
    for (kind, name) in list
        .iter()
        .filter(|(k, _)| *k == "user")
        .chain(list.iter().filter(|(k, _)| *k == "group"))
    {
        let tool = if *kind == "user" { "userdel" } else { "groupdel" };
        let mut done = false;
        for _ in 0..20 {
            let st = Command::new(tool).arg(name).stderr(Stdio::null()).status();
            if st.map(|s| s.success()).unwrap_or(false) {
                done = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !done && *kind == "user" {
            let _ = Command::new("userdel")
                .args(["--force", name])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Held while the host's users and groups change, or must not: the tests of an
/// area share one process (useradd fails, not waits, while another holds
/// /etc/passwd's lock), and install's compare /etc/passwd before and after.
pub fn host_users_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Creates a system user (as root, with useradd) unless it exists; returns
/// (uid, gid). `groups` are supplementary groups, created as needed. What it
/// creates is deleted when the test process exits.
pub fn ensure_system_user(name: &str, groups: &[&str]) -> (u32, u32) {
    let _users = host_users_lock();
    for g in groups {
        if nix::unistd::Group::from_name(g).unwrap().is_none() {
            let st = Command::new("groupadd")
                .args(["--system", g])
                .status()
                .expect("groupadd");
            if st.success() {
                created("group", g);
            }
            assert!(
                st.success() || nix::unistd::Group::from_name(g).unwrap().is_some(),
                "groupadd {g}"
            );
        }
    }
    if nix::unistd::User::from_name(name).unwrap().is_none() {
        let mut cmd = Command::new("useradd");
        cmd.args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]);
        if !groups.is_empty() {
            cmd.args(["--groups", &groups.join(",")]);
        }
        let st = cmd.arg(name).status().expect("useradd");
        if st.success() {
            created("user", name);
        }
        // a parallel test may have created it meanwhile
        assert!(
            st.success() || nix::unistd::User::from_name(name).unwrap().is_some(),
            "useradd {name}"
        );
    }
    let u = nix::unistd::User::from_name(name).unwrap().unwrap();
    (u.uid.as_raw(), u.gid.as_raw())
}

/// A fresh user file (in its own temp dir) holding `login` → `system_user`
/// with password `pw`, made by the real `tfpasswd`; returns its path as the
/// text a `userdb` config line takes.
pub fn login_userdb(tag: &str, login: &str, system_user: &str, pw: &str) -> String {
    let db = tempdir(tag).join("userdb");
    let f = db.to_str().unwrap().to_string();
    let out = tfpasswd(
        &["-f", &f, "add", login, "--system-user", system_user, "--stdin"],
        &format!("{pw}\n"),
    );
    assert!(out.status.success(), "tfpasswd add {login}: {out:?}");
    f
}

/// Adds `login` → `system_user` with password `pw` to the user file `file`
/// through the real `tfpasswd`, at 1000 rounds (these tests are about logins,
/// not the hash's cost), with `more` options such as `--quota N`.
pub fn userdb_add(file: &str, login: &str, system_user: &str, pw: &str, more: &[&str]) {
    let mut args = vec!["-f", file, "add", login, "--system-user", system_user];
    args.extend_from_slice(more);
    args.extend_from_slice(&["--stdin", "--rounds", "1000"]);
    let out = tfpasswd(&args, &format!("{pw}\n"));
    assert!(out.status.success(), "tfpasswd add {login}: {out:?}");
}

/// The attack tests' multi-user server: login `alice` (system user
/// `{stem}1`) jailed to `/jails/alice`, with a `home` inside she owns, and
/// login `bob` (`{stem}2`) with the whole root; their passwords are
/// `alice pw` and `bob pw`.
pub struct AliceJailed {
    pub srv: crate::Server,
    /// alice's uid and gid.
    pub alice: (u32, u32),
    /// bob's uid and gid.
    pub bob: (u32, u32),
    /// `/jails/alice/home` on the server's disk.
    pub home: std::path::PathBuf,
}

/// Makes [`AliceJailed`]'s users and server; `home_mode` (0o777 lets any
/// account's files be put there) sets her home's mode when given.
pub fn alice_jailed(stem: &str, home_mode: Option<u32>) -> AliceJailed {
    use std::os::unix::fs::PermissionsExt;
    let alice = ensure_system_user(&format!("{stem}1"), &[]);
    let bob = ensure_system_user(&format!("{stem}2"), &[]);
    let f = tempdir(&format!("{stem}-db")).join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "alice", &format!("{stem}1"), "alice pw", &["--jail", "/jails/alice"]);
    userdb_add(f, "bob", &format!("{stem}2"), "bob pw", &[]);
    let srv = crate::Server::start_opts(crate::Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let home = srv.path("jails/alice/home");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(alice.0.into()), Some(alice.1.into())).unwrap();
    if let Some(mode) = home_mode {
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    AliceJailed { srv, alice, bob, home }
}
