//! What tfd and tfpasswd make of what an operator wrote (issue 32), through
//! the real binaries: "did you mean" for a mistyped key, sizes written
//! `10MB`/`10MiB`, and tfpasswd naming the file it wanted.

use std::process::Command;
use tfd_testkit::users::tfpasswd;
use tfd_testkit::*;

fn check_config(tag: &str, extra: &str) -> (bool, String) {
    let dir = tempdir(tag);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    write_private_key(&dir.join("key.pem"));
    let conf = dir.join("tfd.conf");
    std::fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash polish\ndbdir {}\nport 1\nprivkey_file {}\nfai_dir {}\n{extra}",
            dir.join("data").display(),
            dir.join("key.pem").display(),
            dir.join("fai").display()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("-c")
        .arg(&conf)
        .arg("--check-config")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn a_mistyped_key_gets_a_did_you_mean() {
    let (ok, text) = check_config("polish-typo", "quota_defualt 1G\n");
    assert!(!ok, "{text}");
    assert!(
        text.contains("unknown key \"quota_defualt\" (did you mean \"quota_default\"?)"),
        "{text}"
    );
    // nonsense is not bent into a key, nor quoted (the file may not be a
    // config at all: src/config/plausible.rs)
    let (ok, text) = check_config("polish-nonsense", "frobnicate 1\n");
    assert!(
        !ok && text.contains("not a configuration line")
            && !text.contains("frobnicate")
            && !text.contains("did you mean"),
        "{text}"
    );
}

/// `10MB` and `10MiB` are sizes, in tfd.conf and in the user file, the same as
/// `10M` (tfd.conf(5), tfpasswd(8)).
#[test]
fn sizes_take_mb_and_mib() {
    for size in ["10MB", "10MiB", "10mb", "10M"] {
        let (ok, text) = check_config("polish-size", &format!("quota_default {size}\nhpf_max_buffer 4MiB\n"));
        assert!(ok, "{size}: {text}");
    }
    let (ok, text) = check_config("polish-size-bad", "quota_default 10MBB\n");
    assert!(!ok && text.contains("quota_default"), "{text}");
    let dir = tempdir("polish-quota");
    let file = dir.join("userdb");
    for (name, q) in [("mb", "10MB"), ("mib", "10MiB")] {
        let o = tfpasswd(
            &[
                "-f",
                file.to_str().unwrap(),
                "add",
                name,
                "--system-user",
                "root",
                "--allow-root",
                "--quota",
                q,
                "--stdin",
                "--rounds",
                "1000",
            ],
            "pw\n",
        );
        assert!(o.status.success(), "{q}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = tfpasswd(&["-f", file.to_str().unwrap(), "list"], "");
    let list = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        list.lines()
            .filter(|l| l.split_whitespace().nth(2) == Some("10M"))
            .count(),
        2,
        "{list}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where the user file cannot be, tfpasswd names it (not its lock file) and
/// says how to start one.
#[test]
fn tfpasswd_names_the_file_it_wanted() {
    let dir = tempdir("polish-tfpasswd");
    let file = dir.join("missing/userdb");
    let f = file.to_str().unwrap();
    let o = tfpasswd(&["-f", f, "add", "x", "--stdin"], "pw\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains(".lock"), "{err}");
    assert!(
        err.contains(&format!("the user file {f}"))
            && err.contains(&format!("mkdir -p -m 0755 {}", dir.join("missing").display())),
        "{err}"
    );
    for cmd in [&["list"][..], &["del", "x"], &["passwd", "x", "--stdin"]] {
        let mut args = vec!["-f", f];
        args.extend_from_slice(cmd);
        let o = tfpasswd(&args, "pw\n");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{cmd:?}");
        assert!(
            err.contains(&format!(
                "the user file {f} does not exist; start one with `tfpasswd -f {f} add NAME`"
            )),
            "{cmd:?}: {err}"
        );
    }
    // with its directory there, add starts the file (and its lock beside it)
    std::fs::create_dir(dir.join("missing")).unwrap();
    let o = tfpasswd(
        &[
            "-f",
            f,
            "add",
            "x",
            "--system-user",
            "root",
            "--allow-root",
            "--stdin",
            "--rounds",
            "1000",
        ],
        "pw\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(file.is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tfpasswd list` shows each quota's use beside its limit (issue 65),
/// measured as tfd measures it at an upload: the files the user's system
/// user owns beneath its root (the served root, or its jail), no link
/// followed; `-` without a quota.
#[test]
fn tfpasswd_list_shows_quota_use() {
    let dir = tempdir("polish-used");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("jails/j/home")).unwrap();
    std::fs::create_dir_all(dir.join("outside")).unwrap();
    std::fs::write(data.join("a.bin"), vec![1u8; 3 << 20]).unwrap();
    std::fs::write(data.join("jails/j/home/b.bin"), vec![2u8; 1 << 19]).unwrap();
    std::fs::write(dir.join("outside/big"), vec![3u8; 5 << 20]).unwrap();
    std::os::unix::fs::symlink(dir.join("outside"), data.join("link")).unwrap();
    write_private_key(&dir.join("key.pem"));
    let conf = dir.join("tfd.conf");
    std::fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash polish\ndbdir {}\nport 1\nprivkey_file {}\nfai_dir {}\nquota_default 50M\n",
            data.display(),
            dir.join("key.pem").display(),
            dir.join("fai").display()
        ),
    )
    .unwrap();
    let file = dir.join("userdb");
    let f = file.to_str().unwrap();
    for (name, extra) in [
        ("lim", &["--quota", "10M"][..]),
        ("dflt", &[][..]),
        ("none", &["--quota", "0"][..]),
        ("jailed", &["--quota", "10M", "--jail", "/jails/j"][..]),
    ] {
        let mut args = vec!["-f", f, "add", name, "--system-user", "root", "--allow-root"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--stdin", "--rounds", "1000"]);
        let o = tfpasswd(&args, "pw\n");
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = tfpasswd(&["-f", f, "-c", conf.to_str().unwrap(), "list"], "");
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{list}{}", String::from_utf8_lossy(&o.stderr));
    let used = |name: &str| {
        list.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
    };
    assert!(
        list.lines()
            .next()
            .is_some_and(|h| h.contains("QUOTA") && h.contains("USED")),
        "{list}"
    );
    assert_eq!(used("lim").as_deref(), Some("3.5M"), "{list}");
    assert_eq!(used("dflt").as_deref(), Some("3.5M"), "{list}");
    assert_eq!(used("none").as_deref(), Some("-"), "{list}");
    assert_eq!(used("jailed").as_deref(), Some("512.0K"), "{list}");
    // a tfd.conf that cannot be read is named, not skipped
    let missing = dir.join("nope.conf");
    let o = tfpasswd(&["-f", f, "-c", missing.to_str().unwrap(), "list"], "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains(missing.to_str().unwrap()), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
