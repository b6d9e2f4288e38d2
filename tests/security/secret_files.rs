//! tf's secrets as ssh treats its own (issue 31 item 6), and config errors
//! that never quote a file holding a secret (item 8). tf runs as root and as
//! a created non-root user, against files in the states ssh would refuse:
//! a token cache directory another user owns or can enter, a password file
//! others can read or another user owns, a config file others can write or
//! another user owns. tfd is pointed with `-c` at /etc/shadow-like files, a
//! private key and a password file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

/// One bad state: what, the file's owner (uid, gid) and mode, who runs tf
/// (None: root), and the fix the refusal must name.
type Case<'a> = (&'a str, (u32, u32), u32, Option<(u32, u32)>, &'a str);

/// The non-root user tf runs as, and the "other user" of root's cases.
const USER: &str = "tfdsec1";

fn user() -> (u32, u32) {
    assert!(
        is_root(),
        "these tests need root: they create a system user and chown files to it"
    );
    ensure_system_user(USER, &[])
}

fn chown(p: &Path, uid: u32, gid: u32) {
    nix::unistd::chown(p, Some(uid.into()), Some(gid.into())).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `tf ARGS` against `srv`, as root or (`as_user`) as USER (through the tf
/// every user can reach, wherever the checkout lies).
fn tf(srv: &Server, args: &[&str], env: &[(&str, &Path)], as_user: Option<(u32, u32)>) -> Output {
    let mut c = Command::new(tfd_testkit::tf_bin_for_others());
    c.args(srv.tf_command(args).get_args());
    c.env_remove("TF_PASSWORD").env_remove("TF_USER");
    for (k, v) in env {
        c.env(k, v);
    }
    if let Some((uid, gid)) = as_user {
        c.uid(uid).gid(gid);
    }
    c.output().unwrap()
}

/// A directory everyone can pass through, so USER reaches what is below it.
fn open_dir(tag: &str) -> std::path::PathBuf {
    let d = tempdir(tag);
    chmod(&d, 0o755);
    d
}

/// Asserts `o` is one refusal naming `path` and saying how to fix it.
fn assert_refused(o: &Output, path: &Path, fix: &str, what: &str) {
    let e = err(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {e}");
    assert!(
        e.contains(&path.display().to_string()) && e.contains("refused") && e.contains(fix),
        "{what}: the refusal names the file and `{fix}`: {e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{what}: one sentence: {e}");
}

#[test]
fn the_fai_token_cache_must_be_the_users_and_closed() {
    let (uid, gid) = user();
    let srv = Server::start();
    let base = open_dir("sec-cache");
    let cache = base.join("tf");
    let no_token = |what: &str| {
        let left: Vec<_> = fs::read_dir(&cache).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "{what}: tf wrote into the refused directory: {left:?}");
    };

    // root's cache in a directory another user owns (and so could fill with
    // files of theirs for tf to write the token into)
    fs::create_dir(&cache).unwrap();
    chown(&cache, uid, gid);
    chmod(&cache, 0o777);
    let o = tf(&srv, &["--fai", "echo", "hi"], &[("XDG_CACHE_HOME", &base)], None);
    assert_refused(&o, &cache, "chown root", "root, a directory USER owns");
    no_token("root, a directory USER owns");

    // USER's cache in a directory root owns
    chown(&cache, 0, 0);
    chmod(&cache, 0o755);
    let o = tf(
        &srv,
        &["--fai", "echo", "hi"],
        &[("XDG_CACHE_HOME", &base)],
        Some((uid, gid)),
    );
    assert_refused(&o, &cache, &format!("chown {USER}"), "USER, a directory root owns");

    // the user's own, but open to others
    for (who, owner, mode) in [("root", None, 0o755), ("USER", Some((uid, gid)), 0o733)] {
        let (u, g) = owner.unwrap_or((0, 0));
        chown(&cache, u, g);
        chmod(&cache, mode);
        let o = tf(&srv, &["--fai", "echo", "hi"], &[("XDG_CACHE_HOME", &base)], owner);
        assert_refused(&o, &cache, "chmod go-rwx", &format!("{who}, mode {mode:o}"));
        no_token(who);
    }

    // a symbolic link in its place
    fs::remove_dir(&cache).unwrap();
    let elsewhere = base.join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    chmod(&elsewhere, 0o700);
    std::os::unix::fs::symlink(&elsewhere, &cache).unwrap();
    let o = tf(&srv, &["--fai", "echo", "hi"], &[("XDG_CACHE_HOME", &base)], None);
    assert_refused(&o, &cache, "symbolic link", "a symlink");

    // the user's own, closed: used (as root and as USER), made 0700 when missing
    fs::remove_file(&cache).unwrap();
    let o = tf(&srv, &["--fai", "echo", "hi"], &[("XDG_CACHE_HOME", &base)], None);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
    let mine = base.join("mine");
    fs::create_dir(&mine).unwrap();
    chown(&mine, uid, gid);
    let o = tf(
        &srv,
        &["--fai", "echo", "hi"],
        &[("XDG_CACHE_HOME", &mine)],
        Some((uid, gid)),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(!err(&o).contains("is refused"), "{}", err(&o));
    let _ = fs::remove_dir_all(&base);
}

#[test]
fn a_password_file_others_can_read_or_another_user_owns_is_refused() {
    let (uid, gid) = user();
    let srv = Server::start();
    let base = open_dir("sec-pw");
    let pw = base.join("pw");
    fs::write(&pw, "a secret password\n").unwrap();
    let p = pw.to_str().unwrap();
    let args = ["--user", "alice", "--password-file", p, "echo", "hi"];
    let cases: [Case; 5] = [
        ("root, mode 0644", (0, 0), 0o644, None, "chmod go-rwx"),
        ("root, mode 0640", (0, 0), 0o640, None, "chmod go-rwx"),
        ("root, USER's file", (uid, gid), 0o600, None, "chown root"),
        (
            "USER, root's readable file",
            (0, 0),
            0o644,
            Some((uid, gid)),
            "chown tfdsec1",
        ),
        (
            "USER, own file 0604",
            (uid, gid),
            0o604,
            Some((uid, gid)),
            "chmod go-rwx",
        ),
    ];
    for (what, (u, g), mode, as_user, fix) in cases {
        chown(&pw, u, g);
        chmod(&pw, mode);
        let o = tf(&srv, &args, &[], as_user);
        assert_refused(&o, &pw, fix, what);
        assert!(!err(&o).contains("a secret password"), "{what}: {}", err(&o));
    }
    assert!(
        !srv.log().contains("LOGIN"),
        "a refused password file is never sent:\n{}",
        srv.log()
    );
    // 0600 and the user's own: read and sent (this server has no users: LOGIN fails)
    for (u, g, as_user) in [(0, 0, None), (uid, gid, Some((uid, gid)))] {
        chown(&pw, u, g);
        chmod(&pw, 0o600);
        let o = tf(&srv, &args, &[], as_user);
        assert!(!err(&o).contains("is refused"), "{}", err(&o));
    }
    // a pipe of the user's (bash's `<(...)`, mode 0600) is a password file too
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "exec {} --server {} --key {} --hash {} --user alice --password-file <(echo pw) echo hi",
            tfd_testkit::tf_bin(),
            srv.addr(),
            srv.dir.join("pub.pem").display(),
            srv.hash
        ))
        .output()
        .unwrap();
    assert!(err(&o).contains("refused the login"), "a pipe is read: {}", err(&o));
    let _ = fs::remove_dir_all(&base);
}

#[test]
fn a_config_others_can_write_or_another_user_owns_is_refused() {
    let (uid, gid) = user();
    let srv = Server::start();
    let key = srv.dir.join("pub.pem");
    fs::write(&key, &keys().1).unwrap();
    chmod(&key, 0o644);
    let home = open_dir("sec-conf");
    let conf_dir = home.join("tf");
    fs::create_dir(&conf_dir).unwrap();
    chmod(&conf_dir, 0o755);
    let conf = conf_dir.join("config");
    fs::write(
        &conf,
        format!(
            "[here]\nserver = {}\nkey = {}\nhash = {}\n",
            srv.addr(),
            key.display(),
            srv.hash
        ),
    )
    .unwrap();
    let run = |as_user: Option<(u32, u32)>| {
        let mut c = Command::new(tfd_testkit::tf_bin_for_others());
        c.args(["-s", "here", "echo", "hi"]).env("XDG_CONFIG_HOME", &home);
        for v in ["TF_SERVER", "TF_KEY", "TF_HASH", "TF_USER", "TF_PASSWORD"] {
            c.env_remove(v);
        }
        if let Some((u, g)) = as_user {
            c.uid(u).gid(g);
        }
        c.output().unwrap()
    };
    let cases: [Case; 5] = [
        ("root, mode 0666", (0, 0), 0o666, None, "chmod go-w"),
        ("root, mode 0664", (0, 0), 0o664, None, "chmod go-w"),
        ("root, USER's file", (uid, gid), 0o644, None, "chown root"),
        (
            "USER, nobody's file",
            (65534, 65534),
            0o644,
            Some((uid, gid)),
            "chown tfdsec1",
        ),
        ("USER, own file 0646", (uid, gid), 0o646, Some((uid, gid)), "chmod go-w"),
    ];
    for (what, (u, g), mode, as_user, fix) in cases {
        chown(&conf, u, g);
        chmod(&conf, mode);
        let o = run(as_user);
        assert_refused(&o, &conf, fix, what);
    }
    // the user's own, or root's (as ssh allows), writable by nobody else: used
    for (what, (u, g), as_user) in [
        ("root's own", (0, 0), None),
        ("USER's own", (uid, gid), Some((uid, gid))),
        ("root's, run by USER", (0, 0), Some((uid, gid))),
    ] {
        chown(&conf, u, g);
        chmod(&conf, 0o644);
        let o = run(as_user);
        assert!(o.status.success(), "{what}: {}", err(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "hi\n", "{what}");
    }
    let _ = fs::remove_dir_all(&home);
}

/// `tfd ARGS`' output.
fn tfd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tfd")).args(args).output().unwrap()
}

#[test]
fn tfd_pointed_at_a_secret_never_quotes_it() {
    let dir = tempdir("sec-quote");
    let shadow = dir.join("shadow");
    fs::write(
        &shadow,
        "root:$6$Sa1t$ROOTSHADOWHASHxyz:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    let key = dir.join("key.pem");
    write_private_key(&key);
    let pw = dir.join("pw");
    fs::write(&pw, "hunter2secret\n").unwrap();
    let pem = String::from_utf8(keys().0.clone()).unwrap();
    let files: [(&Path, Vec<&str>); 3] = [
        (&shadow, vec!["ROOTSHADOWHASH", "root:", "$6$"]),
        (&key, pem.lines().collect()),
        (&pw, vec!["hunter2secret"]),
    ];
    for (file, secrets) in files {
        let f = file.to_str().unwrap();
        for args in [
            vec!["--check-config", "-c", f],
            vec!["-c", f, "--init-secrets"],
            vec!["-c", f],
        ] {
            let o = tfd(&args);
            let e = format!("{}{}", err(&o), String::from_utf8_lossy(&o.stdout));
            assert!(!o.status.success(), "{args:?}: {e}");
            assert!(
                e.contains(":1: not a configuration line"),
                "{args:?}: by line number: {e}"
            );
            for s in &secrets {
                assert!(!e.contains(s), "{args:?}: the file's text {s:?} is in the error: {e}");
            }
        }
    }
    // a mistyped key is still quoted: that is what helps
    let typo = dir.join("typo.conf");
    fs::write(&typo, "proto 2.4.1\nprot 9999\n").unwrap();
    let o = tfd(&["--check-config", "-c", typo.to_str().unwrap()]);
    assert!(err(&o).contains(":2: unknown key \"prot\""), "{}", err(&o));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn init_secrets_writes_nothing_for_a_config_that_does_not_parse() {
    let dir = tempdir("sec-init");
    let conf = dir.join("tfd.conf");
    let text = format!(
        "proto 2.4.1\nhash change-me\nprivkey_file {}\ndbdir {}\nport 1\nroot:$6$Sa1t$ROOTSHADOWHASHxyz:19000::\n",
        dir.join("key.pem").display(),
        dir.display()
    );
    fs::write(&conf, &text).unwrap();
    let o = tfd(&["-c", conf.to_str().unwrap(), "--init-secrets"]);
    let e = err(&o);
    assert!(!o.status.success(), "{e}");
    assert!(
        e.contains(":6: not a configuration line") && !e.contains("ROOTSHADOWHASH"),
        "{e}"
    );
    assert_eq!(fs::read_to_string(&conf).unwrap(), text, "the config was changed");
    let mut names: Vec<_> = fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    names.sort();
    assert_eq!(names, ["tfd.conf"], "--init-secrets wrote files");
    // the same config, parsing: the hash and both keys are made
    fs::write(&conf, text.lines().take(5).collect::<Vec<_>>().join("\n")).unwrap();
    let o = tfd(&["-c", conf.to_str().unwrap(), "--init-secrets"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(dir.join("key.pem").exists() && dir.join("pub.pem").exists());
    assert!(!fs::read_to_string(&conf).unwrap().contains("change-me"));
    let _ = fs::remove_dir_all(&dir);
}
