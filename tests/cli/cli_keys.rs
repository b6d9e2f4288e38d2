//! Key login through the real wire (issue 63): keys made by OpenSSH's own
//! ssh-keygen, registered with `tfpasswd key add`, used by `tf -i`, by a
//! real ssh-agent, and under a passphrase typed at a terminal; refused for
//! another user, once removed, once expired, from another address, and
//! while the name is locked after failures of keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tfd_testkit::users::{ensure_system_user, login_userdb, tfpasswd};
use tfd_testkit::*;

const PW: &str = "alice-pw";

/// A multi-user server with alice (→ tfdkeys1) and bob (→ tfdkeys2), each
/// with a directory, and a key directory of root's.
struct Keyed {
    srv: Server,
    keys: PathBuf,
    dir: PathBuf,
}

/// A tool of OpenSSH's client, which these tests cannot do without: its
/// absence fails the test, naming it (scripts/deps installs openssh-client).
fn tool(name: &'static str) -> &'static str {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{name} is needed (Debian package openssh-client; scripts/deps installs it)"
    );
    name
}

fn keyed(tag: &str, extra: &str) -> Option<Keyed> {
    if !require(is_root(), "needs root (LOGIN switches users)") {
        return None;
    }
    let (uid, gid) = ensure_system_user("tfdkeys1", &[]);
    let (buid, bgid) = ensure_system_user("tfdkeys2", &[]);
    let f = login_userdb(tag, "alice", "tfdkeys1", PW);
    let add = tfpasswd(
        &["-f", &f, "add", "bob", "--system-user", "tfdkeys2", "--stdin"],
        "bob-pw\n",
    );
    assert!(add.status.success(), "{add:?}");
    let dir = tempdir(&format!("{tag}-keys"));
    let keys = dir.join("authorized");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nauthorized_keys_dir {}\n{extra}", keys.display()),
        default_user: false,
        ..Default::default()
    });
    for (d, u, g) in [("alice", uid, gid), ("bob", buid, bgid)] {
        fs::create_dir_all(srv.path(d)).unwrap();
        nix::unistd::chown(&srv.path(d), Some(u.into()), Some(g.into())).unwrap();
    }
    Some(Keyed { srv, keys, dir })
}

/// A new key pair made by ssh-keygen: the private key's path.
fn keygen(dir: &Path, name: &str, args: &[&str], passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new(tool("ssh-keygen"))
        .args(["-q", "-N", passphrase, "-C", name, "-f"])
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen {args:?}: {out:?}");
    path
}

/// `tfpasswd --keys-dir DIR key ...`.
fn key_cmd(k: &Keyed, args: &[&str]) -> Output {
    let mut all = vec!["--keys-dir", k.keys.to_str().unwrap(), "key"];
    all.extend_from_slice(args);
    tfpasswd(&all, "")
}

fn add_key(k: &Keyed, user: &str, key: &Path) {
    let pubf = format!("{}.pub", key.display());
    let out = key_cmd(k, &["add", user, &pubf]);
    assert!(out.status.success(), "{out:?}");
}

/// `tf -v --user USER ARGS… ls USER` with no password at hand, no agent
/// unless given, and a HOME without keys.
fn tf_as(k: &Keyed, user: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["-v", "--user", user];
    all.extend_from_slice(args);
    all.extend_from_slice(&["ls", user]);
    let mut c = k.srv.tf_command(&all);
    for v in ["TF_USER", "TF_PASSWORD", "SSH_AUTH_SOCK"] {
        c.env_remove(v);
    }
    c.env("HOME", &k.dir).envs(env.iter().copied());
    c.stdin(Stdio::null()).output().unwrap()
}

/// A run's stdout and stderr, as one text for assertions.
pub(super) fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn logs_in(k: &Keyed, o: &Output, key: &str) {
    assert!(o.status.success(), "{}\n{}", text(o), k.srv.log());
    assert!(text(o).contains(&format!("tf: logged in by key: {key}")), "{}", text(o));
}

#[track_caller]
fn refused(k: &Keyed, o: &Output, log_says: &str) {
    assert!(!o.status.success(), "{}", text(o));
    let log = k.srv.log();
    assert!(log.contains(log_says), "no {log_says:?} in the log:\n{log}");
}

#[test]
fn keys_of_each_type_log_in_and_only_as_their_user() {
    let Some(k) = keyed("keys-types", "") else { return };
    let ed = keygen(&k.dir, "ed", &["-t", "ed25519"], "");
    let ec = keygen(&k.dir, "ec", &["-t", "ecdsa", "-b", "256"], "");
    let rsa = keygen(&k.dir, "rsa", &["-t", "rsa", "-b", "3072"], "");
    for key in [&ed, &ec, &rsa] {
        add_key(&k, "alice", key);
    }
    for key in [&ed, &ec, &rsa] {
        let s = key.to_str().unwrap();
        let o = tf_as(&k, "alice", &["-i", s], &[]);
        logs_in(&k, &o, s);
    }
    // the server logged each as a key login, with the session a password gives
    let log = k.srv.log();
    assert_eq!(log.matches("LOGIN \"alice\" by key").count(), 3, "{log}");
    assert!(log.contains("as tfdkeys1"), "{log}");
    // alice's key never logs in bob (no terminal to ask bob's password either)
    let o = tf_as(&k, "bob", &["-i", ed.to_str().unwrap()], &[]);
    refused(&k, &o, "LOGIN \"bob\" refused: key ssh-ed25519");
    // tfpasswd lists what it added, with ssh-keygen's fingerprints
    let list = key_cmd(&k, &["list", "alice"]);
    let fp = Command::new(tool("ssh-keygen"))
        .arg("-lf")
        .arg(format!("{}.pub", ed.display()))
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(String::from_utf8_lossy(&list.stdout).contains(&fp), "{list:?}");
}

#[test]
fn removed_expired_and_elsewhere_keys_are_refused_at_the_next_login() {
    let Some(k) = keyed("keys-gone", "") else { return };
    let key = keygen(&k.dir, "ed", &["-t", "ed25519"], "");
    let s = key.to_str().unwrap();
    add_key(&k, "alice", &key);
    logs_in(&k, &tf_as(&k, "alice", &["-i", s], &[]), s);
    // removed by fingerprint: refused at once, no restart
    let fp = tfp_wire::keylogin::fingerprint(
        &tfp_wire::keylogin::line::parse(&fs::read_to_string(format!("{s}.pub")).unwrap())
            .unwrap()
            .unwrap()
            .blob,
    );
    let out = key_cmd(&k, &["del", "alice", &fp]);
    assert!(out.status.success(), "{out:?}");
    refused(
        &k,
        &tf_as(&k, "alice", &["-i", s], &[]),
        "the key is not in the user's key file",
    );
    // expired
    let line = fs::read_to_string(format!("{s}.pub")).unwrap();
    let file = k.keys.join("alice");
    fs::write(&file, format!("expiry-time=\"20000101\" {line}")).unwrap();
    refused(
        &k,
        &tf_as(&k, "alice", &["-i", s], &[]),
        "expired (expiry-time=\"20000101\")",
    );
    // from another address only
    fs::write(&file, format!("from=\"10.1.2.3,!127.0.0.1\" {line}")).unwrap();
    refused(&k, &tf_as(&k, "alice", &["-i", s], &[]), "does not take this address");
    // and from here again
    fs::write(&file, format!("from=\"127.0.0.*\",expiry-time=\"29990101\" {line}")).unwrap();
    logs_in(&k, &tf_as(&k, "alice", &["-i", s], &[]), s);
}

#[test]
fn an_agents_keys_log_in_and_failed_keys_lock_the_name() {
    let Some(k) = keyed(
        "keys-agent",
        "login_max_failures_ip 0\nlogin_max_failures_user 3\nlogin_lock 30\n",
    ) else {
        return;
    };
    let good = keygen(&k.dir, "good", &["-t", "ecdsa", "-b", "256"], "");
    let other = keygen(&k.dir, "other", &["-t", "ed25519"], "");
    add_key(&k, "alice", &good);
    // other is alice's too, but not from here: refused, and counted
    let other_line = fs::read_to_string(format!("{}.pub", other.display())).unwrap();
    let lines = fs::read_to_string(k.keys.join("alice")).unwrap();
    fs::write(k.keys.join("alice"), format!("{lines}from=\"10.9.9.9\" {other_line}")).unwrap();
    // a key merely not registered is refused but not counted (an agent offers
    // every key a person has): three of them lock nothing
    let stranger = keygen(&k.dir, "stranger", &["-t", "ed25519"], "");
    for _ in 0..3 {
        let o = tf_as(&k, "alice", &["-i", stranger.to_str().unwrap()], &[]);
        assert!(!o.status.success(), "{}", text(&o));
    }
    assert!(k.srv.log().contains("(not counted as a failure)"), "{}", k.srv.log());
    let sock = k.dir.join("agent.sock");
    let mut agent = Command::new(tool("ssh-agent"))
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sock.exists() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sock_s = sock.to_str().unwrap();
    for key in [&other, &good] {
        let added = Command::new(tool("ssh-add"))
            .arg(key)
            .env("SSH_AUTH_SOCK", sock_s)
            .output()
            .unwrap();
        assert!(added.status.success(), "ssh-add: {added:?}");
    }
    // the agent's first key is refused, its second logs in: no key file, no password
    let o = tf_as(&k, "alice", &[], &[("SSH_AUTH_SOCK", sock_s)]);
    logs_in(&k, &o, "agent key SHA256:");
    assert!(text(&o).contains("good"), "{}", text(&o));
    // three refused keys (from elsewhere only) lock the name: then even the
    // right key is refused
    for _ in 0..3 {
        let o = tf_as(&k, "alice", &["-i", other.to_str().unwrap()], &[]);
        assert!(!o.status.success(), "{}", text(&o));
    }
    let o = tf_as(&k, "alice", &["-i", good.to_str().unwrap()], &[]);
    refused(&k, &o, "LOGIN \"alice\" refused: name locked for");
    let _ = agent.kill();
    let _ = agent.wait();
}

#[test]
fn a_key_under_a_passphrase_asks_it_at_the_terminal() {
    let Some(k) = keyed("keys-pass", "") else { return };
    let key = keygen(&k.dir, "locked", &["-t", "rsa", "-b", "3072"], "open sesame");
    add_key(&k, "alice", &key);
    let s = key.to_str().unwrap();
    let mut pty = tfd_testkit::pty::Pty::start(
        &k.srv,
        &["-v", "--user", "alice", "-i", s],
        None,
        &["TF_PASSWORD", "TF_USER", "SSH_AUTH_SOCK", "HOME"],
    );
    pty.wait_for(&format!("Enter passphrase for key '{s}': "), 1);
    pty.type_line("open sesame");
    pty.wait_for(&format!("tf: logged in by key: {s}"), 1);
    pty.wait_for("tf:/> ", 1);
    pty.type_line("exit");
    let _ = pty.child.wait();
    assert!(!pty.transcript().contains("open sesame"), "the passphrase was echoed");
}

/// Issue 88: `tfpasswd -c tfd.conf key add` takes the key directory and the
/// user file from tfd's own configuration (it refused -c, so --keys-dir had
/// to repeat it), refuses a name the user file lacks (it wrote a key no login
/// could use, silently), and adding a key already there succeeds, as
/// ssh-copy-id does (it exited 1).
#[test]
fn tfpasswd_key_reads_tfd_conf_checks_the_name_and_adds_idempotently() {
    let Some(k) = keyed("keys-conf", "") else { return };
    let key = keygen(&k.dir, "conf", &["-t", "ed25519"], "");
    let pubf = format!("{}.pub", key.display());
    let conf = k.srv.conf.to_str().unwrap().to_string();
    let add = |name: &str| tfpasswd(&["-c", &conf, "key", "add", name, &pubf], "");
    let o = add("alice");
    assert!(o.status.success(), "{}", text(&o));
    assert!(k.keys.join("alice").exists(), "not in tfd.conf's authorized_keys_dir");
    let before = fs::read(k.keys.join("alice")).unwrap();
    // again: said, exit 0, the file unchanged
    let o = add("alice");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("already has key"), "{}", text(&o));
    assert_eq!(fs::read(k.keys.join("alice")).unwrap(), before);
    // a name the user file lacks: refused, nothing written
    let o = add("carol");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("\"carol\" is not in the user file"), "{}", text(&o));
    assert!(!k.keys.join("carol").exists());
    // list by the configuration too, and the key logs in
    let o = tfpasswd(&["-c", &conf, "key", "list", "alice"], "");
    assert!(
        o.status.success() && text(&o).contains("ssh-ed25519 256"),
        "{}",
        text(&o)
    );
    let s = key.to_str().unwrap();
    let o = tf_as(&k, "alice", &["-i", s], &[]);
    logs_in(&k, &o, s);
}
