//! README's backup lines for cron and systemd, run as printed against a real
//! tfd (issue 88: they lacked the port and the hash, so they could not run,
//! and tf then said "no server given" although --server was given); and the
//! git the README tests run, in a checkout another user owns.

use crate::output::{stderr, text};
use std::fs;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

/// README's example address, key and hash, which the lines are run with
/// this test's server's in their place.
const ADDR: &str = "backup.example.org:10345";
const HASH: &str = "0123456789abcdef0123456789abcdef";

/// The README section from "from cron" to "enabled with".
fn backup_section() -> String {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme.find("snapshot, from cron").expect("README has no cron lines");
    let end = readme[at..]
        .find("enabled with")
        .expect("README's systemd unit has no end")
        + at;
    readme[at..end].to_string()
}

/// Runs `line` with `sh`, cron's shell, as user `home`'s: README's server
/// replaced by `srv`, `/home/me` and `%h` by `home`, the tf on the line by
/// the one built.
fn run(srv: &Server, home: &Path, line: &str) -> std::process::Output {
    let h = home.to_str().unwrap();
    let line = line
        .replace(ADDR, &srv.addr())
        .replace(HASH, &srv.hash)
        .replace("/home/me", h)
        .replace("%h", h)
        .replace("/usr/local/bin/tf ", "tf ");
    let key = home.join("backup.pem");
    if !key.exists() {
        fs::copy(srv.key_file(), &key).unwrap();
    }
    let tf_dir = Path::new(tf_bin()).parent().unwrap().to_str().unwrap().to_string();
    Command::new("sh")
        .args(["-c", &line])
        .env("HOME", home)
        .env("PATH", format!("{tf_dir}:/usr/bin:/bin"))
        .env_remove("XDG_STATE_HOME")
        .env_remove("TF_SERVER")
        .env_remove("TF_HASH")
        .output()
        .unwrap()
}

#[test]
fn readme_cron_and_systemd_backup_lines_run_as_printed() {
    let section = backup_section();
    let cron: Vec<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" tf "))
        .collect();
    let unit: Vec<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("ExecStart"))
        .collect();
    assert_eq!(cron.len(), 3, "{section}");
    assert_eq!(unit.len(), 2, "{section}");
    for l in cron.iter().chain(&unit) {
        assert!(l.contains(ADDR) && l.contains(HASH), "not the example server: {l}");
    }
    let srv = Server::start();
    let home = tempdir("readme_lines_home");
    fs::create_dir_all(home.join("work/notes")).unwrap();
    fs::write(home.join("work/notes/a.txt"), "first").unwrap();
    // cron: the five time fields, then the command for sh
    for l in &cron {
        let cmd = &l[l.find(" tf ").unwrap() + 1..];
        let o = run(&srv, &home, cmd);
        assert!(o.status.success(), "cron line {l:?}: {}", text(&o));
    }
    // the unit: ExecStart=, then ExecStartPost=, as systemd runs them
    fs::write(home.join("work/notes/b.txt"), "second").unwrap();
    for l in &unit {
        let cmd = l.split_once('=').unwrap().1;
        let o = run(&srv, &home, cmd);
        assert!(o.status.success(), "unit line {l:?}: {}", text(&o));
    }
    // two snapshots: cron's and the unit's
    let list = format!("tf --server {ADDR} --key /home/me/backup.pem --hash {HASH} backup list work");
    let o = run(&srv, &home, &list);
    assert!(o.status.success(), "{}", text(&o));
    let snaps = String::from_utf8_lossy(&o.stdout).matches(" added").count();
    assert_eq!(snaps, 2, "{}", text(&o));
    let _ = fs::remove_dir_all(&home);
}

/// A line that gives --server but not --hash is told what it lacks: the
/// hash, not "no server given". On the old code: "tf: no server given".
#[test]
fn a_server_without_its_hash_is_told_the_hash_is_missing() {
    let o = Command::new(tf_bin())
        .args(["--server", "127.0.0.1:10345", "ls"])
        .env_remove("TF_SERVER")
        .env_remove("TF_HASH")
        .env("HOME", tempdir("readme_lines_nohash"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(!e.contains("no server given"), "{e}");
    assert!(
        e.starts_with("tf: no hash given: --server 127.0.0.1:10345 needs the server's --hash too"),
        "{e}"
    );
}

/// The README tests' git works in a checkout another user owns (README's
/// quick start builds as a user, `scripts/test` then runs as root in the
/// same checkout), where a plain git refuses it: "dubious ownership".
#[test]
fn the_readme_tests_git_trusts_a_checkout_another_user_owns() {
    if !require(is_root(), "needs root (a checkout owned by another user)") {
        return;
    }
    let repo = tempdir("readme_lines_git");
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(&repo).output().unwrap();
    assert!(git(&["init", "-q"]).status.success());
    fs::write(repo.join("README.md"), "x").unwrap();
    perms::chown_tree(&repo, (65534, 65534));
    let plain = git(&["ls-files", "--others"]);
    assert!(
        !plain.status.success() && stderr(&plain).contains("dubious ownership"),
        "a plain git should refuse it here: {}",
        text(&plain)
    );
    let o = crate::readme::git_in(&repo)
        .args(["ls-files", "--others"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "README.md\n");
    let _ = fs::remove_dir_all(&repo);
}

/// Every relative link of README (and of the docs beside it) names a file
/// in this checkout (issue 88: the protocol's documents were linked as
/// `../shared/...`, outside a clone, where a reader found nothing); the
/// files beside the checkout are named in words, with where they are.
#[test]
fn readmes_links_resolve_inside_the_checkout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for e in fs::read_dir(root.join("doc")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            files.push(p);
        }
    }
    let mut dangling = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let at = f.parent().unwrap().join(target);
            let inside = at
                .canonicalize()
                .map(|p| p.starts_with(root.canonicalize().unwrap()))
                .unwrap_or(false);
            if !inside {
                dangling.push(format!("{}: {target}", f.display()));
            }
        }
    }
    assert!(
        dangling.is_empty(),
        "links that leave the checkout or name nothing: {dangling:#?}"
    );
}
