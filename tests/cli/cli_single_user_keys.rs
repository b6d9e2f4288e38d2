//! A single-user server's `authorized_keys` (issue 63): the hash alone no
//! longer lets a client in; `tf` offers its keys when the server asks (-i,
//! then ssh-agent, then ~/.ssh/id_*), with keys made by OpenSSH's own
//! ssh-keygen, and says in one sentence when none was accepted. The file is
//! read at every session: a key removed refuses the next one, no restart.

use super::cli_keys::text;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use tfd_testkit::*;

/// A single-user server (defusr root) whose `authorized_keys` is a file in
/// a directory of root's, and a HOME without keys.
struct Single {
    srv: Server,
    file: PathBuf,
    home: PathBuf,
}

fn single(tag: &str) -> Option<Single> {
    if !require(is_root(), "needs root (the key file is judged as root's)") {
        return None;
    }
    let dir = tempdir(tag);
    let file = dir.join("authorized_keys");
    fs::write(&file, "").unwrap();
    let home = dir.join("home");
    fs::create_dir(&home).unwrap();
    let srv = Server::start_with(&format!("authorized_keys {}\n", file.display()));
    Some(Single { srv, file, home })
}

/// A new Ed25519 key pair made by ssh-keygen: the private key's path.
fn keygen(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", name, "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen is needed (Debian package openssh-client; scripts/deps installs it)");
    assert!(out.status.success(), "ssh-keygen: {out:?}");
    path
}

fn authorize(s: &Single, keys: &[&Path]) {
    let lines: String = keys
        .iter()
        .map(|k| fs::read_to_string(format!("{}.pub", k.display())).unwrap())
        .collect();
    fs::write(&s.file, lines).unwrap();
}

/// `tf -v ARGS… echo hi` with no --user, no agent and `home` as HOME.
fn tf(s: &Single, home: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-v"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["echo", "hi"]);
    let mut c = s.srv.tf_command(&all);
    c.env_remove("TF_USER")
        .env_remove("TF_PASSWORD")
        .env_remove("SSH_AUTH_SOCK");
    c.env("HOME", home).stdin(Stdio::null()).output().unwrap()
}

#[track_caller]
fn connects(s: &Single, o: &Output, key: &str) {
    assert!(o.status.success(), "{}\n{}", text(o), s.srv.log());
    assert!(text(o).contains("hi"), "{}", text(o));
    assert!(text(o).contains(&format!("tf: logged in by key: {key}")), "{}", text(o));
}

/// Refused in one sentence naming the file's role; the server logged why.
#[track_caller]
fn refused(s: &Single, o: &Output, log_says: &str) {
    assert!(!o.status.success(), "{}", text(o));
    assert!(!text(o).contains("hi\n"), "{}", text(o));
    assert!(
        text(o).contains("lets in only the keys of its authorized_keys file"),
        "{}",
        text(o)
    );
    let log = s.srv.log();
    assert!(log.contains(log_says), "no {log_says:?} in the log:\n{log}");
}

#[test]
fn an_authorized_key_connects_and_others_are_refused() {
    let Some(s) = single("single-keys") else { return };
    let dir = s.file.parent().unwrap().to_path_buf();
    let good = keygen(&dir, "good");
    let other = keygen(&dir, "other");
    authorize(&s, &[&good]);
    let g = good.to_str().unwrap();
    connects(&s, &tf(&s, &s.home, &["-i", g]), g);
    assert!(s.srv.log().contains("by key ssh-ed25519"), "{}", s.srv.log());
    // an unknown key, and no key at all: one sentence each
    let o = tf(&s, &s.home, &["-i", other.to_str().unwrap()]);
    refused(&s, &o, "the key is not in the user's key file");
    assert!(text(&o).contains("no key was accepted"), "{}", text(&o));
    let o = tf(&s, &s.home, &[]);
    refused(&s, &o, "");
    assert!(text(&o).contains("no key was found to offer"), "{}", text(&o));
    // ~/.ssh/id_ed25519 is offered by default
    let ssh = s.home.join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    fs::copy(&good, ssh.join("id_ed25519")).unwrap();
    fs::copy(format!("{g}.pub"), ssh.join("id_ed25519.pub")).unwrap();
    let id = ssh.join("id_ed25519");
    connects(&s, &tf(&s, &s.home, &[]), id.to_str().unwrap());
    // removed from the file: the next session is refused, no restart
    authorize(&s, &[&other]);
    refused(&s, &tf(&s, &s.home, &[]), "LOGIN \"-\" refused: key ssh-ed25519");
    let o = tf(&s, &s.home, &["-i", other.to_str().unwrap()]);
    connects(&s, &o, other.to_str().unwrap());
}

#[test]
fn several_sessions_log_in_by_key_at_once() {
    let Some(s) = single("single-keys-many") else { return };
    let dir = s.file.parent().unwrap().to_path_buf();
    let key = keygen(&dir, "k");
    authorize(&s, &[&key]);
    let k = key.to_str().unwrap();
    // a tree upload's parallel sessions each log in by key too
    let tree = dir.join("tree");
    fs::create_dir(&tree).unwrap();
    for i in 0..12 {
        fs::write(tree.join(format!("f{i}")), pattern(40_000, i)).unwrap();
    }
    let runs: Vec<_> = (0..6)
        .map(|i| {
            let mut c = s
                .srv
                .tf_command(&["-i", k, "put", "-r", &format!("{}/", tree.display()), &format!("up{i}")]);
            c.env_remove("SSH_AUTH_SOCK").env("HOME", &s.home).stdin(Stdio::null());
            c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for (i, r) in runs.into_iter().enumerate() {
        let o = r.wait_with_output().unwrap();
        assert!(o.status.success(), "{}\n{}", text(&o), s.srv.log());
        same_tree(&tree, &s.srv.path(&format!("up{i}")));
    }
}

#[test]
fn a_server_without_the_setting_never_asks_for_keys() {
    let srv = Server::start();
    let home = tempdir("single-nokeys");
    // a default key file that does not read: offering it would say so
    fs::create_dir(home.join(".ssh")).unwrap();
    fs::write(home.join(".ssh/id_ed25519"), "not a key").unwrap();
    let mut c = srv.tf_command(&["-v", "echo", "hi"]);
    c.env_remove("SSH_AUTH_SOCK").env("HOME", &home).stdin(Stdio::null());
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("not offering"), "{}", text(&o));
    assert!(!text(&o).contains("by key"), "{}", text(&o));
}

#[test]
fn fai_still_enters_a_single_user_server_by_its_token() {
    let cache = tempdir("single-fai-cache");
    let fai = cache.join("state").join("fai");
    if !require(is_root(), "needs root for the system user") {
        return;
    }
    // FAITOK serves no session that runs as root
    tfd_testkit::users::ensure_system_user("tfdsinglefai", &[]);
    let srv = Server::start_with(&format!(
        "defusr tfdsinglefai\nfai_dir {}\nfai_max_minutes 30\n",
        fai.display()
    ));
    let run = |args: &[&str]| {
        let mut c = srv.tf_command(args);
        c.env_remove("SSH_AUTH_SOCK")
            .env("XDG_CACHE_HOME", &cache)
            .env("HOME", &cache);
        c.stdin(Stdio::null()).output().unwrap()
    };
    let o = run(&["faitok", "5"]);
    assert!(o.status.success(), "{}\n{}", text(&o), srv.log());
    // the key login a server may ask for does not take the token's way in
    let o = run(&["--fai", "echo", "fast"]);
    assert!(o.status.success(), "{}\n{}", text(&o), srv.log());
    assert!(!text(&o).contains("no Fast Access token"), "{}", text(&o));
    assert!(srv.log().contains("FAI entrance"), "{}", srv.log());
}
