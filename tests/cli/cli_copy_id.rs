//! A user's own keys through the real wire (issue 63): `tf copy-id` as
//! ssh-copy-id, then a login by that key with no password, on a multi-user
//! server whose users are jailed by the user file; `tf keys` lists and
//! removes them; `user_keys no` refuses in one sentence; a wrong password
//! is refused and counts toward the lock-out; a key of alice never reaches bob.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tfd_testkit::users::{ensure_system_user, userdb_add};
use tfd_testkit::*;

const PW: &str = "alice-pw";
const BOB_PW: &str = "bob-pw";

struct Jailed {
    srv: Server,
    keys: PathBuf,
    dir: PathBuf,
}

/// A multi-user server with alice (→ tfdcopy1, jail /jails/alice) and bob
/// (→ tfdcopy2, jail /jails/bob), each jail root's with a `home` its user
/// owns, and a key directory of root's.
fn jailed(tag: &str, extra: &str) -> Option<Jailed> {
    if !require(is_root(), "needs root (LOGIN switches users)") {
        return None;
    }
    let a = ensure_system_user("tfdcopy1", &[]);
    let b = ensure_system_user("tfdcopy2", &[]);
    let dir = tempdir(&format!("{tag}-copy-id"));
    let f = dir.join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "alice", "tfdcopy1", PW, &["--jail", "/jails/alice"]);
    userdb_add(f, "bob", "tfdcopy2", BOB_PW, &["--jail", "/jails/bob"]);
    let keys = dir.join("authorized");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nauthorized_keys_dir {}\n{extra}", keys.display()),
        default_user: false,
        ..Default::default()
    });
    for (name, (u, g)) in [("alice", a), ("bob", b)] {
        let home = srv.path(&format!("jails/{name}/home"));
        fs::create_dir_all(&home).unwrap();
        nix::unistd::chown(&home, Some(u.into()), Some(g.into())).unwrap();
    }
    Some(Jailed { srv, keys, dir })
}

/// A key pair made by OpenSSH's ssh-keygen (scripts/deps installs it).
fn keygen(path: &Path, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen is needed (Debian package openssh-client)");
    assert!(out.status.success(), "{out:?}");
}

/// `tf --user USER ARGS…` with `home` as HOME, no agent, the password given
/// only when `pw` is.
fn tf(j: &Jailed, user: &str, args: &[&str], home: &Path, pw: Option<&str>) -> Output {
    let mut all = vec!["-v", "--user", user];
    all.extend_from_slice(args);
    let mut c = j.srv.tf_command(&all);
    for v in ["TF_USER", "TF_PASSWORD", "SSH_AUTH_SOCK"] {
        c.env_remove(v);
    }
    if let Some(pw) = pw {
        c.env("TF_PASSWORD", pw);
    }
    c.env("HOME", home).stdin(Stdio::null()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn copy_id_then_a_key_login_with_no_password_and_keys_del_ends_it() {
    let Some(j) = jailed("copy", "user_keys yes\n") else {
        return;
    };
    let key = j.dir.join("alice_key");
    keygen(&key, "alice@laptop");
    let k = key.to_str().unwrap();
    let o = tf(&j, "alice", &["copy-id", "-i", k], &j.dir, Some(PW));
    assert!(o.status.success(), "{}\n{}", text(&o), j.srv.log());
    assert!(text(&o).contains("Number of key(s) added: 1"), "{}", text(&o));
    assert!(text(&o).contains("tf --server"), "{}", text(&o));
    // the file as tfpasswd writes it: root's, 0644, the line without options
    let file = j.keys.join("alice");
    let meta = fs::metadata(&file).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::mode(&meta) & 0o777, 0o644);
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    let line = fs::read_to_string(&file).unwrap();
    assert!(
        line.starts_with("ssh-ed25519 ") && line.trim_end().ends_with(" alice@laptop"),
        "{line}"
    );
    // the line it says to try, pasted into dash as printed (tf on the
    // PATH), logs in by key with no password at hand: it carries the
    // server's --key and --hash (issue 88: it omitted --hash)
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("Now try logging in with: `"))
        .and_then(|l| l.strip_suffix('`'))
        .unwrap_or_else(|| panic!("no line to try in: {out}"));
    assert!(line.contains("--hash") && line.contains(&format!("-i {}", k)), "{line}");
    let bin = Path::new(tf_bin()).parent().unwrap().to_str().unwrap().to_string();
    let pasted = Command::new("dash")
        .args(["-c", &format!("{line} home")])
        .env("PATH", format!("{bin}:/usr/bin:/bin"))
        .env("HOME", &j.dir)
        .env_remove("TF_PASSWORD")
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null())
        .output()
        .expect("dash (scripts/deps installs it)");
    assert!(pasted.status.success(), "{line}: {}\n{}", text(&pasted), j.srv.log());
    // now by key, no password at hand, into the jail
    let o = tf(&j, "alice", &["-i", k, "ls", "home"], &j.dir, None);
    assert!(o.status.success(), "{}\n{}", text(&o), j.srv.log());
    assert!(text(&o).contains(&format!("tf: logged in by key: {k}")), "{}", text(&o));
    // a second copy-id adds nothing
    let o = tf(&j, "alice", &["copy-id", "-i", k], &j.dir, Some(PW));
    assert!(o.status.success() && text(&o).contains("added: 0"), "{}", text(&o));
    // alice's key never logs bob in, and bob's file has none of it
    let o = tf(&j, "bob", &["-i", k, "ls", "home"], &j.dir, None);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!j.keys.join("bob").exists());
    // bob's own default key (~/.ssh/id_ed25519.pub), copied with no -i
    let bob_home = j.dir.join("bob-home");
    fs::create_dir_all(bob_home.join(".ssh")).unwrap();
    keygen(&bob_home.join(".ssh/id_ed25519"), "bob@desk");
    let o = tf(&j, "bob", &["copy-id"], &bob_home, Some(BOB_PW));
    assert!(o.status.success() && text(&o).contains("added: 1"), "{}", text(&o));
    let o = tf(&j, "bob", &["ls", "home"], &bob_home, None);
    assert!(o.status.success(), "{}\n{}", text(&o), j.srv.log());
    assert!(text(&o).contains("logged in by key"), "{}", text(&o));
    assert!(!fs::read_to_string(&file).unwrap().contains("bob@desk"));
    // tf keys lists alice's key; del by comment removes it; the next key login is refused
    let o = tf(&j, "alice", &["keys"], &j.dir, Some(PW));
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.starts_with("SHA256:") && out.contains("ssh-ed25519 256 alice@laptop"),
        "{out}"
    );
    let o = tf(&j, "alice", &["keys", "del", "alice@laptop"], &j.dir, Some(PW));
    assert!(o.status.success(), "{}", text(&o));
    let o = tf(&j, "alice", &["-i", k, "ls", "home"], &j.dir, None);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("logged in by key"), "{}", text(&o));
}

#[test]
fn user_keys_no_refuses_copy_id_in_one_sentence() {
    let Some(j) = jailed("copy-off", "") else { return };
    let key = j.dir.join("k");
    keygen(&key, "k");
    let o = tf(&j, "alice", &["copy-id", "-i", key.to_str().unwrap()], &j.dir, Some(PW));
    assert!(!o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("does not let users manage their own keys (user_keys no)"),
        "{err}"
    );
    assert!(!j.keys.join("alice").exists());
    let o = tf(&j, "alice", &["keys"], &j.dir, Some(PW));
    assert!(!o.status.success() && text(&o).contains("user_keys no"), "{}", text(&o));
}

#[test]
fn a_wrong_password_is_refused_and_counts_toward_the_lock_out() {
    let limits = "user_keys yes\nlogin_max_failures_ip 0\nlogin_max_failures_user 2\nlogin_lock 30\n";
    let Some(j) = jailed("copy-pw", limits) else { return };
    let key = j.dir.join("k");
    keygen(&key, "k");
    let k = key.to_str().unwrap();
    for _ in 0..2 {
        let o = tf(&j, "alice", &["copy-id", "-i", k], &j.dir, Some("not it"));
        assert!(!o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("login refused for alice"), "{}", text(&o));
    }
    // locked now: the right password adds nothing, nor logs in
    let o = tf(&j, "alice", &["copy-id", "-i", k], &j.dir, Some(PW));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!j.keys.join("alice").exists());
    let o = tf(&j, "alice", &["ls", "home"], &j.dir, Some(PW));
    assert!(!o.status.success(), "{}", text(&o));
    let log = j.srv.log();
    assert_eq!(
        log.matches("LOGIN \"alice\" refused: wrong password").count(),
        2,
        "{log}"
    );
    assert!(log.contains("locked for"), "{log}");
}
