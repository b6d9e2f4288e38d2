//! Secrets as sshd keeps its host key (issue 65): a private key or a user file
//! that group or others can read stops a start, fails `--check-config`, and is
//! refused by a reload (the old configuration stays, and the log says so),
//! each naming the `chmod` that mends it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tfd_testkit::users::login_userdb;
use tfd_testkit::*;

fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// `tfd ARGS`' exit code and output (stdout, then stderr); a tfd still
/// running after 20 s (it took the files) is killed and fails the test.
fn tfd(args: &[&str], log: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(log.with_extension("out")).unwrap())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tfd {args:?} served with secrets others can read:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = fs::read_to_string(log.with_extension("out")).unwrap_or_default()
        + &fs::read_to_string(log).unwrap_or_default();
    (status.code(), out)
}

#[test]
fn a_key_and_a_user_file_others_can_read_are_refused_with_the_chmod() {
    if !require_root("multi-user mode reads the user file as root") {
        return;
    }
    let db = login_userdb("secrets-db", "ann", "nobody", "ann-password");
    let mut srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\n"),
        default_user: false,
        ..Default::default()
    });
    let key = srv.dir.join("key.pem");
    let db = Path::new(&db);
    let chmods = [
        format!("chmod go-rwx {}", key.display()),
        format!("chmod go-rwx {}", db.display()),
    ];
    chmod(&key, 0o644);
    chmod(db, 0o644);

    // a reload refuses them and keeps the old configuration
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(srv.pid()), nix::sys::signal::SIGHUP).unwrap();
    let log = srv.wait_log("reload refused, keeping the old configuration");
    let refusal = log.lines().find(|l| l.contains("reload refused")).unwrap_or_default();
    for fix in &chmods {
        assert!(refusal.contains(fix), "the reload's refusal names `{fix}`: {refusal}");
    }
    assert!(!log.contains("configuration reloaded"), "{log}");
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", b"ann ann-password").unwrap());
    assert_eq!(c.raw(b"ECHO still").unwrap(), b"still", "the old configuration serves");
    drop(c);

    // --check-config fails, naming both files and their chmod
    let conf = srv.conf.to_str().unwrap().to_string();
    let (code, out) = tfd(&["-c", &conf, "--check-config"], &srv.dir.join("check.log"));
    assert_eq!(code, Some(1), "{out}");
    for fix in &chmods {
        assert!(out.contains(fix), "--check-config names `{fix}`: {out}");
    }
    assert!(out.contains("group or others can read"), "{out}");
    assert!(!out.contains("is valid"), "{out}");

    // and a start refuses them
    srv.stop();
    let (code, out) = tfd(&["-c", &conf], &srv.dir.join("start.log"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not starting"), "{out}");
    for fix in &chmods {
        assert!(out.contains(fix), "the start names `{fix}`: {out}");
    }

    // mended as told, the same configuration passes
    chmod(&key, 0o600);
    chmod(db, 0o600);
    let (code, out) = tfd(&["-c", &conf, "--check-config"], &srv.dir.join("mended.log"));
    assert_eq!(code, Some(0), "{out}");
}

/// Before the first start the key is not made yet: `--check-config` (and the
/// start) name `--init-secrets`, which makes it, with this configuration.
#[test]
fn a_missing_key_names_init_secrets() {
    let dir = tempdir("secrets-first");
    fs::create_dir(dir.join("data")).unwrap();
    let conf = dir.join("tfd.conf");
    fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash first-start-hash\ndbdir data\nport 1\nprivkey_file key.pem\nfai_dir {}\n",
            dir.join("fai").display()
        ),
    )
    .unwrap();
    let c = conf.to_str().unwrap();
    for (args, log) in [
        (&["-c", c, "--check-config"][..], "check.log"),
        (&["-c", c], "start.log"),
    ] {
        let (code, out) = tfd(args, &dir.join(log));
        assert_eq!(code, Some(1), "{args:?}: {out}");
        assert!(
            out.contains("key.pem") && out.contains(&format!("`tfd -c {c} --init-secrets`")),
            "{args:?} names --init-secrets with this config: {out}"
        );
    }
    // and it does what the sentence says
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["-c", c, "--init-secrets"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let (code, out) = tfd(&["-c", c, "--check-config"], &dir.join("after.log"));
    assert_eq!(code, Some(0), "{out}");
    let _ = fs::remove_dir_all(&dir);
}
