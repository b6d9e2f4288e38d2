//! Users of one multi-user server who share a group (issue 47, finding 2).
//! README's old package recipe made the served root writable by group tfd
//! (`chmod 2770`): dave replaced carol's 0644 file (an upload is a rename in
//! a directory he may write, and the file became his) and deleted it. Now an
//! upload replaces an existing file only when the session's user could open
//! it for writing, as `cp` onto it would, whatever the directory allows
//! (SNDFILE with overwrite, and a staged upload's commit); and README's
//! recipe, run here as written (its paths and names aside), gives each user
//! a directory nobody else may enter. Real system users, a real tfd, LOGIN
//! as each, through the real `tf`.

use crate::output::text as err;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tfd_testkit::users::{ensure_system_user, userdb_add};
use tfd_testkit::*;

const CAROL: &str = "tfdshcarol";
const DAVE: &str = "tfdshdave";
const GROUP: &str = "tfdshgrp";
const PW: &str = "pw of each";

/// `tf --user LOGIN ARGS` in `cwd`, logging in with the password `PW`;
/// `private_uploads` runs it too, for the same users-of-one-server setup.
pub(super) fn tf_as(srv: &Server, login: &str, args: &[&str], cwd: &Path) -> Output {
    let mut c = Command::new(tf_bin_for_others());
    let mut all = vec!["--user", login];
    all.extend_from_slice(args);
    c.args(srv.tf_command(&all).get_args())
        .env("TF_PASSWORD", PW)
        .env_remove("TF_USER")
        .current_dir(cwd)
        .stdin(Stdio::null());
    c.output().unwrap()
}

/// A tfd serving the logins `carol` and `dave` (the system users
/// `carol_user` and `dave_user`), each with the password `PW`, from a fresh
/// user file in a `tag` directory; `private_uploads` starts its server so too.
pub(super) fn carol_and_dave(tag: &str, carol_user: &str, dave_user: &str) -> Server {
    let db = tempdir(tag).join("userdb");
    let f = db.to_str().unwrap();
    userdb_add(f, "carol", carol_user, PW, &[]);
    userdb_add(f, "dave", dave_user, PW, &[]);
    Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    })
}

/// carol and dave, both in GROUP, each logging in as themselves.
fn users() -> ((u32, u32), (u32, u32)) {
    assert!(is_root(), "this test needs root: it creates system users");
    (ensure_system_user(CAROL, &[GROUP]), ensure_system_user(DAVE, &[GROUP]))
}

/// A local file for uploads, in a directory both users may read.
fn local(tag: &str, data: &[u8]) -> std::path::PathBuf {
    let d = tempdir(tag);
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    let f = d.join("up.bin");
    fs::write(&f, data).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    d
}

#[test]
fn an_overwrite_replaces_only_a_file_the_user_may_write() {
    let (carol, dave) = users();
    let srv = carol_and_dave("shared-userdb", CAROL, DAVE);
    // the old recipe: a directory the group writes, set-gid, not sticky
    let shared = srv.path("shared");
    fs::create_dir(&shared).unwrap();
    let gid = nix::unistd::Group::from_name(GROUP).unwrap().unwrap().gid;
    nix::unistd::chown(&shared, Some(0.into()), Some(gid)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o2770)).unwrap();
    let here = local("shared-local", b"dave's replacement\n");
    let theirs = b"carol's own words\n";
    let cl = local("shared-carol", theirs);
    let o = tf_as(&srv, "carol", &["put", "up.bin", "shared/c.txt"], &cl);
    assert!(o.status.success(), "carol's upload: {}", err(&o));
    let target = shared.join("c.txt");
    assert_eq!(fs::metadata(&target).unwrap().uid(), carol.0);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let big = local("shared-big", &pattern(40 << 20, 2));
    for (what, args, cwd) in [
        (
            "put (SNDFILE with overwrite)",
            vec!["put", "up.bin", "shared/c.txt"],
            &here,
        ),
        (
            "sndfile --overwrite",
            vec!["sndfile", "up.bin", "shared/c.txt", "--overwrite"],
            &here,
        ),
        (
            "put --resume (a staged upload)",
            vec!["put", "up.bin", "shared/c.txt", "--resume"],
            &here,
        ),
        (
            "put --streams 2 (a staged upload)",
            vec!["put", "up.bin", "shared/c.txt", "--streams", "2"],
            &big,
        ),
    ] {
        let o = tf_as(&srv, "dave", &args, cwd);
        let said = err(&o);
        assert!(!o.status.success(), "{what}: dave replaced carol's file: {said}");
        assert!(said.contains("Access denied"), "{what}: {said}");
        let m = fs::metadata(&target).unwrap();
        assert!(fs::read(&target).unwrap() == theirs, "{what}: carol's file changed");
        assert_eq!(
            (m.uid(), m.mode() & 0o7777),
            (carol.0, 0o644),
            "{what}: owner and mode kept"
        );
    }
    // carol herself replaces it, keeping its owner and mode
    fs::write(cl.join("up.bin"), b"carol again\n").unwrap();
    let o = tf_as(&srv, "carol", &["put", "up.bin", "shared/c.txt"], &cl);
    assert!(o.status.success(), "carol's overwrite: {}", err(&o));
    assert_eq!(fs::read(&target).unwrap(), b"carol again\n");
    let m = fs::metadata(&target).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (carol.0, 0o644));
    // a file she lets the group write, dave may replace (cp could too)
    fs::set_permissions(&target, fs::Permissions::from_mode(0o664)).unwrap();
    let o = tf_as(&srv, "dave", &["put", "up.bin", "shared/c.txt"], &here);
    assert!(o.status.success(), "a group-writable file: {}", err(&o));
    assert_eq!(fs::read(&target).unwrap(), b"dave's replacement\n");
    let _ = dave;
}

/// README's "Multi-user from the package" block, line by line through sh,
/// with the package's paths and names swapped for the test's own.
#[test]
fn the_readme_multi_user_recipe_isolates_users() {
    let (carol, _) = users();
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme.find("Multi-user from the package").expect("README's recipe");
    let block = readme[at..]
        .split("```shell\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let base = tempdir("recipe");
    fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
    let (etc, srv_root) = (base.join("etc"), base.join("srv"));
    fs::create_dir_all(&etc).unwrap();
    // what the package leaves: a root tfd's account owns, 0750, group tfd
    let gid = nix::unistd::Group::from_name(GROUP).unwrap().unwrap().gid;
    fs::create_dir(&srv_root).unwrap();
    nix::unistd::chown(&srv_root, Some(0.into()), Some(gid)).unwrap();
    fs::set_permissions(&srv_root, fs::Permissions::from_mode(0o750)).unwrap();
    // the package's config, as far as the recipe edits it, for a test server
    write_private_key(&base.join("key.pem"));
    fs::set_permissions(base.join("key.pem"), fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let hash = format!("recipehash{port}");
    let conf = etc.join("tfd.conf");
    fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash {hash}\ndbdir {}\nport {port}\nlisten 127.0.0.1\nprivkey_file {}\n\
             shutdown_grace 1\nfai_dir {}\ncontrol_socket ctl.sock\ndefusr tfd\n#userdb /etc/tfd/userdb\n",
            srv_root.display(),
            base.join("key.pem").display(),
            base.join("fai").display()
        )
        .replace("/etc/tfd/userdb", etc.join("userdb").to_str().unwrap()),
    )
    .unwrap();
    let sub = |line: &str, user: &str| {
        line.replace("/etc/tfd/tfd.conf", conf.to_str().unwrap())
            .replace("/etc/tfd/userdb", etc.join("userdb").to_str().unwrap())
            .replace("/srv/tfd", srv_root.to_str().unwrap())
            .replace("alice", user)
            .replace("--groups tfd ", &format!("--groups {GROUP} "))
            .replace(
                "tfpasswd add",
                &format!(
                    "{} -f {} add",
                    env!("CARGO_BIN_EXE_tfpasswd"),
                    etc.join("userdb").display()
                ),
            )
            .replace("--quota 10GB", "--quota 10GB --stdin --rounds 1000")
            .replace("tfd -c", &format!("{} -c", env!("CARGO_BIN_EXE_tfd")))
            .replace("systemctl restart tfd", "true")
    };
    for user in [CAROL, DAVE] {
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let cmd = sub(line, user);
            if cmd.starts_with("useradd") {
                continue; // ensure_system_user made them, in GROUP, and removes them
            }
            let o = Command::new("sh")
                .args(["-c", &cmd])
                .stdin(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    let _ = c.stdin.take().unwrap().write_all(format!("{PW}\n").as_bytes());
                    c.wait_with_output()
                });
            let o = o.unwrap();
            assert!(o.status.success(), "README's `{line}` as `{cmd}`: {}", err(&o));
        }
    }
    let text = fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("\n#defusr tfd") && text.contains(&format!("\nuserdb {}", etc.join("userdb").display())),
        "the recipe's sed did not switch the config to the user file:\n{text}"
    );
    // the server, started on the edited config
    let stderr_path = base.join("stderr.log");
    let srv = Server {
        child: Some(spawn_tfd(&conf, &stderr_path)),
        port,
        dir: base.clone(),
        data: srv_root.clone(),
        conf: conf.clone(),
        hash,
        stderr_path,
        host: "127.0.0.1".parse().unwrap(),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !srv.log().contains("listening on") {
        assert!(
            std::time::Instant::now() < deadline,
            "tfd did not start:\n{}",
            srv.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let cl = local("recipe-carol", b"carol's secret\n");
    let dl = local("recipe-dave", b"dave was here\n");
    let o = tf_as(&srv, CAROL, &["put", "up.bin", &format!("{CAROL}/c.txt")], &cl);
    assert!(o.status.success(), "carol writes in her directory: {}", err(&o));
    let theirs = srv_root.join(CAROL).join("c.txt");
    assert_eq!(fs::metadata(&theirs).unwrap().uid(), carol.0);
    let c_txt = format!("{CAROL}/c.txt");
    for (what, args) in [
        ("read", vec!["get", c_txt.as_str(), "got.txt"]),
        ("list", vec!["ls", CAROL]),
        ("replace", vec!["put", "up.bin", c_txt.as_str()]),
        ("delete", vec!["del", c_txt.as_str()]),
    ] {
        let o = tf_as(&srv, DAVE, &args, &dl);
        assert!(!o.status.success(), "dave could {what} carol's file: {}", err(&o));
    }
    assert!(!dl.join("got.txt").exists());
    assert_eq!(fs::read(&theirs).unwrap(), b"carol's secret\n");
    let o = tf_as(&srv, DAVE, &["put", "up.bin", &format!("{DAVE}/d.txt")], &dl);
    assert!(o.status.success(), "dave writes in his own directory: {}", err(&o));
}

/// `--check-config` names the accounts of a served root owned by an
/// account sessions do not run as by their names (it said "owned by uid
/// 987, neither root, tfd's own user ...", 987 being tfd's own user).
#[test]
fn check_config_names_the_roots_owner_by_name() {
    let (carol, dave) = users();
    let db = tempdir("shared-check").join("userdb");
    let f = db.to_str().unwrap();
    userdb_add(f, "carol", CAROL, PW, &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    nix::unistd::chown(&srv.data, Some(dave.0.into()), None).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["-c", srv.conf.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    let said = err(&o);
    nix::unistd::chown(&srv.data, Some(0.into()), None).unwrap();
    assert!(
        said.contains(&format!("is owned by {DAVE} (uid {})", dave.0))
            && said.contains(&format!("{CAROL} (uid {})", carol.0)),
        "the accounts named by name: {said}"
    );
}
