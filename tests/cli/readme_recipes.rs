//! README's recipes that change the machine, run as written (issue 65): the
//! `install -d` lines of the jail recipe in a temporary root standing for
//! `/srv/tfd`, for system users the test creates (removed when it exits),
//! and the multi-user recipe's `tfpasswd` lines in a temporary directory,
//! whose user then logs in to a real tfd until the recipe's lock; the
//! served root's owner and mode asserted after each. README is read by its
//! markers, so a change to a recipe is what runs.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

/// The lines of the first `sh` block after the line holding `marker`.
fn block_after(readme: &str, marker: &str) -> Vec<String> {
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"));
    let mut lines = readme[at..].lines().map(str::trim).skip_while(|l| *l != "```sh");
    assert_eq!(lines.next(), Some("```sh"), "no sh block after {marker:?}");
    lines.take_while(|l| !l.starts_with("```")).map(String::from).collect()
}

/// Owner and permission bits of `p`.
fn owner_mode(p: &Path) -> (u32, u32) {
    let m = fs::metadata(p).unwrap();
    (m.uid(), m.mode() & 0o7777)
}

#[test]
fn the_jail_recipe_keeps_the_served_roots_owner_and_mode() {
    if !require(is_root(), "needs root (system users, chown)") {
        return;
    }
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let recipe = block_after(&readme, "A recipe, for `/srv/tfd` served to `alice` (jailed)");
    let (tfd_uid, tfd_gid) = users::ensure_system_user("tfdrcp-t", &[]);
    let (alice, _) = users::ensure_system_user("tfdrcp-a", &[]);
    users::ensure_system_user("tfdrcp-b", &[]);
    // the package's served root: tfd's, 0750
    let top = tempdir("recipe_jail");
    let root = top.join("srv/tfd");
    fs::create_dir_all(&root).unwrap();
    nix::unistd::chown(&root, Some(tfd_uid.into()), Some(tfd_gid.into())).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o750)).unwrap();
    let script: String = recipe
        .iter()
        .filter(|l| l.starts_with("install -d"))
        .map(|l| {
            let l = l.split("  #").next().unwrap_or(l);
            l.replace("/srv/tfd", root.to_str().unwrap())
                .replace("-o alice -g alice", "-o tfdrcp-a -g tfdrcp-a")
                .replace("-o bob -g bob", "-o tfdrcp-b -g tfdrcp-b")
                + "\n"
        })
        .collect();
    assert!(
        script.lines().count() >= 2,
        "no install -d lines in the recipe: {recipe:?}"
    );
    let o = Command::new("sh").args(["-ec", &script]).output().unwrap();
    assert!(o.status.success(), "{script}\n{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        owner_mode(&root),
        (tfd_uid, 0o750),
        "the served root changed:\n{script}"
    );
    assert_eq!(owner_mode(&root.join("jails/alice")), (0, 0o755));
    assert_eq!(owner_mode(&root.join("jails/alice/home")), (alice, 0o750));
}

#[test]
fn the_multi_user_recipe_runs_as_written_and_its_user_logs_in() {
    if !require(
        is_root(),
        "needs root (a multi-user server switches to the user's system account)",
    ) {
        return;
    }
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let recipe = block_after(&readme, "The user\n  file (`userdb`) is managed with `tfpasswd`:");
    let dir = tempdir("recipe_users");
    let bin_dir = daemon_bin("tfpasswd").parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let run = |lines: &[String]| {
        let script: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let o = Command::new("sh")
            .args(["-ec", &script])
            .current_dir(&dir)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{script}\n{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // every line but the lock first: the user it makes then logs in
    let (lock, before): (Vec<String>, Vec<String>) = recipe.iter().cloned().partition(|l| l.contains(" lock "));
    assert!(
        before.iter().any(|l| l.contains(" add alice ")) && lock.len() == 1,
        "README's recipe changed shape: {recipe:?}"
    );
    let listed = run(&before);
    assert!(listed.contains("alice") && listed.contains("10G"), "{listed}");
    let users = dir.join("users");
    assert_eq!(owner_mode(&users), (0, 0o600), "the user file's owner and mode");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {}\n", users.display()),
        default_user: false,
        ..Default::default()
    });
    let root = srv.path("");
    let before_root = owner_mode(&root);
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    fs::create_dir(srv.path("alice")).unwrap();
    nix::unistd::chown(&srv.path("alice"), Some(nobody.uid), Some(nobody.gid)).unwrap();
    let local = dir.join("note.txt");
    fs::write(&local, b"from alice\n").unwrap();
    let put = |who: &str| {
        let mut c = srv.tf_command(&["--user", "alice", "put", local.to_str().unwrap(), who]);
        c.env_remove("TF_USER").env_remove("SSH_AUTH_SOCK");
        c.env("TF_PASSWORD", "s3cret-passw0rd").env("HOME", &dir);
        c.output().unwrap()
    };
    let o = put("alice/note.txt");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        srv.log()
    );
    let landed = srv.path("alice/note.txt");
    assert_eq!(fs::read(&landed).unwrap(), b"from alice\n");
    assert_eq!(
        fs::metadata(&landed).unwrap().uid(),
        nobody.uid.as_raw(),
        "runs as alice's system user"
    );
    // the lock line, as written: the next login is refused
    run(&lock);
    let o = put("alice/again.txt");
    assert!(!o.status.success(), "a locked user logged in");
    assert!(!srv.path("alice/again.txt").exists());
    assert_eq!(owner_mode(&root), before_root, "the served root changed");
}
