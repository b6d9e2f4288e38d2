//! scripts/package, for real, on this machine: the .deb it builds (from the
//! binaries of this test run) is installed with `dpkg -i`, started as its unit
//! would start it, used by `tf`, upgraded over itself with an admin's change to
//! the conffile kept, switched to multi-user as README says (a LOGIN user's upload
//! written as its own account), and purged with `dpkg -P`, which must leave /etc,
//! /usr, /var and /lib as they were and no user tfd. Needs root, dpkg and a host without tfd.
//!
//! It holds `host_users_lock` from before the install to after the purge, so no
//! other test of this binary sees the package's user (install.rs compares
//! /etc/passwd). Whatever happens, the package is purged when the test ends.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`run`], tried again for up to 10 s while it fails: useradd and userdel fail,
/// not wait, while a program elsewhere on this host holds /etc/passwd's lock.
fn run_retried(cmd: &mut Command) -> Output {
    for _ in 0..20 {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        if out.status.success() {
            return out;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    run(cmd)
}

/// Every path below `dirs`, except what the system and other programs on this
/// host change on their own (dpkg's database and log, caches, GlusterFS's state
/// for other tests, the account files' backups) unless it is named like the
/// package's own (a component `tfd`, or `tfd.` something).
fn tree(dirs: &[&str]) -> BTreeSet<String> {
    const VOLATILE: [&str; 11] = [
        "/var/lib/dpkg/",
        "/var/cache/",
        "/var/log/",
        "/var/tmp/",
        "/var/backups/",
        "/var/lib/apt/",
        "/var/lib/systemd/",
        "/var/lib/ucf/",
        "/var/lib/glusterd/",
        "/var/lib/nfs/",
        "/var/spool/",
    ];
    /// The account files' backups, and the locks and temporaries of useradd
    /// run by other programs at the same moment.
    fn account_scratch(path: &str) -> bool {
        let Some(name) = path.strip_prefix("/etc/") else {
            return false;
        };
        let base = ["-", "+", ".lock"].iter().find_map(|x| name.strip_suffix(x));
        name == ".pwd.lock"
            || base.is_some_and(|b| ["passwd", "group", "shadow", "gshadow", "subuid", "subgid"].contains(&b))
    }
    /// Other tfds' default token directories (and the two directories above
    /// them, which those keep): not the package's, and made by tests running
    /// beside this one.
    fn other_instances(path: &str) -> bool {
        path == "/var/lib/tfd" || path == "/var/lib/tfd/fai" || path.starts_with("/var/lib/tfd/fai/")
    }
    fn ours(path: &str) -> bool {
        path.split('/').any(|c| c == "tfd" || c.starts_with("tfd."))
    }
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let s = p.display().to_string();
            let volatile = VOLATILE.iter().any(|v| s.starts_with(v)) || account_scratch(&s);
            if (!volatile || ours(&s)) && !other_instances(&s) {
                out.insert(s);
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    for d in dirs {
        walk(Path::new(d), &mut out);
    }
    out
}

/// Purges the package when the test ends, passed or not, so a failure leaves
/// the machine as it was for the other tests.
struct Purge;
impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["-P", "tfd"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The unit's value of `key` (the first line).
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in the unit:\n{unit}"))
}

/// Starts tfd as the unit does: StateDirectory and LogsDirectory made as
/// systemd makes them, ExecStartPre (as root, `+`), then ExecStart.
fn start_as_the_unit(unit: &str, log: &Path) -> Child {
    for (key, base) in [("StateDirectory", "/var/lib"), ("LogsDirectory", "/var/log")] {
        let dir = Path::new(base).join(unit_value(unit, key));
        let mode = u32::from_str_radix(unit_value(unit, &format!("{key}Mode")), 8).unwrap();
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
    }
    let pre: Vec<&str> = unit_value(unit, "ExecStartPre")
        .trim_start_matches('+')
        .split_whitespace()
        .collect();
    let out = run(Command::new(pre[0]).args(&pre[1..]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("generated") || said.contains("already in place"),
        "{said}"
    );
    let exec: Vec<&str> = unit_value(unit, "ExecStart").split_whitespace().collect();
    let child = Command::new(exec[0])
        .args(&exec[1..])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fs::read_to_string(log).unwrap_or_default().contains("listening on") {
        assert!(
            Instant::now() < deadline,
            "tfd did not start:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Runs a step, catching its panic so that what it made on the host can be
/// removed before the test fails.
fn catching(step: impl FnOnce()) -> std::thread::Result<()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
}

fn stop(mut child: Child) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGTERM);
    let _ = child.wait();
}

#[test]
fn the_package_installs_serves_upgrades_and_purges_to_nothing() {
    assert!(
        tfd_testkit::is_root(),
        "this test needs root: it installs the package with dpkg -i"
    );
    for tool in ["dpkg", "dpkg-deb"] {
        assert!(
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "this test needs {tool} (apt install dpkg)"
        );
    }
    let _users = tfd_testkit::users::host_users_lock();
    assert_host_without_tfd();

    // --- build -------------------------------------------------------------
    let dir = tfd_testkit::tempdir("package");
    let deb = build_the_package(&dir);

    // --- install -----------------------------------------------------------
    let before = tree(&["/etc", "/usr", "/var", "/lib"]);
    let passwd_before = fs::read_to_string("/etc/passwd").unwrap();
    let group_before = fs::read_to_string("/etc/group").unwrap();
    let _purge = Purge;
    run(Command::new("dpkg").arg("-i").arg(&deb));
    let user = nix::unistd::User::from_name("tfd")
        .unwrap()
        .expect("postinst made no user tfd");
    assert!(user.uid.as_raw() < 1000, "not a system uid: {user:?}");
    assert_eq!(user.shell, PathBuf::from("/usr/sbin/nologin"));
    let srv = fs::metadata("/srv/tfd").unwrap();
    assert_eq!((srv.uid(), srv.mode() & 0o7777), (user.uid.as_raw(), 0o750));
    let conf_path = Path::new("/etc/tfd/tfd.conf");
    assert_eq!(fs::metadata(conf_path).unwrap().mode() & 0o777, 0o600);
    let shipped = fs::read_to_string(conf_path).unwrap();
    assert!(shipped.lines().any(|l| l == "defusr tfd"), "{shipped}");
    assert!(
        shipped.lines().any(|l| l.starts_with("hash CHANGE-ME")),
        "a hash shipped:\n{shipped}"
    );
    assert!(!Path::new("/etc/tfd/key.pem").exists(), "a key shipped");

    // The admin's change: loopback, a free port, a control socket of the test's.
    let port = tfd_testkit::free_port();
    let sock = dir.join("ctl.sock");
    let changed: String = shipped
        .lines()
        .map(|l| {
            if l.starts_with("port ") {
                format!("port {port}")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect::<String>()
        + &format!("listen 127.0.0.1\ncontrol_socket {}\n", sock.display());
    fs::write(conf_path, &changed).unwrap();

    // --- start as the unit, move a file with tf ----------------------------
    let unit = fs::read_to_string("/lib/systemd/system/tfd.service").unwrap();
    assert_eq!(unit_value(&unit, "ExecStart"), "/usr/sbin/tfd -c /etc/tfd/tfd.conf");
    // its comment names where the package put it (issue 65: only scripts/install's place)
    assert!(unit.lines().next().is_some_and(|l| l.starts_with('#')), "{unit}");
    assert!(unit.contains("/lib/systemd/system/tfd.service"), "{unit}");
    // the versions tfd speaks, as tfd.conf's proto lines allow them
    assert_eq!(
        unit_value(&unit, "Description"),
        "tfd, a TF Protocol server (protocol 2.4.1 and 2.5.1)"
    );
    let log = dir.join("tfd.log");
    let tfd = start_as_the_unit(&unit, &log);
    let conf = fs::read_to_string(conf_path).unwrap();
    let hash = conf.lines().find_map(|l| l.strip_prefix("hash ")).unwrap().to_string();
    assert!(!hash.starts_with("CHANGE-ME") && hash.len() >= 32, "{hash}");
    assert!(
        conf.contains(&format!("port {port}\n")),
        "the first start lost the admin's change"
    );
    let key = fs::read("/etc/tfd/key.pem").unwrap();
    let tf = |args: &[&str]| tf_as_the_admin(port, &hash, &dir, &log, args);
    let data = tfd_testkit::pattern(300_000, 7);
    fs::write(dir.join("up.bin"), &data).unwrap();
    tf(&["put", "up.bin", "moved.bin"]);
    let on_disk = Path::new("/srv/tfd/moved.bin");
    assert_eq!(fs::read(on_disk).unwrap(), data);
    assert_eq!(
        fs::metadata(on_disk).unwrap().uid(),
        user.uid.as_raw(),
        "not written as tfd"
    );
    tf(&["get", "moved.bin", "back.bin"]);
    assert_eq!(fs::read(dir.join("back.bin")).unwrap(), data);
    tf(&["del", "moved.bin"]);
    assert!(!on_disk.exists());
    stop(tfd);

    // --- upgrade over itself: the admin's conffile and the secrets stay ----
    run(Command::new("dpkg").arg("-i").arg(&deb));
    assert_eq!(
        fs::read_to_string(conf_path).unwrap(),
        conf,
        "the upgrade changed tfd.conf"
    );
    assert_eq!(
        fs::read("/etc/tfd/key.pem").unwrap(),
        key,
        "the upgrade changed the key"
    );
    assert_eq!(
        fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("tfd:"))
            .count(),
        1
    );
    // and it still serves
    let tfd = start_as_the_unit(&unit, &log);
    tf(&["put", "up.bin", "again.bin"]);
    tf(&["del", "again.bin"]);
    stop(tfd);

    // --- multi-user, as README sets it up from the package -----------------
    multi_user_as_readme_sets_it_up(&unit, &log, &dir, port, &hash);

    // --- purge: nothing left ----------------------------------------------
    run(Command::new("dpkg").args(["-P", "tfd"]));
    assert_purged_to_nothing(&before, &passwd_before, &group_before);

    // --- purge with data in /srv/tfd: kept, said so, and root's ----------
    a_purge_keeps_data_and_gives_it_to_root(&deb);
    let _ = fs::remove_dir_all(&dir);
}

/// The installed tf aimed at the installed tfd on `port`: its public key,
/// the `hash` its first start wrote.
fn installed_tf(port: u16, hash: &str) -> Command {
    let mut c = Command::new("/usr/bin/tf");
    c.args([
        "--server",
        &format!("127.0.0.1:{port}"),
        "--key",
        "/etc/tfd/pub.pem",
        "--hash",
        hash,
    ]);
    c
}

/// `tf ARGS` as the admin runs it against the installed tfd (its public key,
/// the hash its first start wrote), in `dir`; it must succeed.
fn tf_as_the_admin(port: u16, hash: &str, dir: &Path, log: &Path, args: &[&str]) {
    let o = installed_tf(port, hash)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tf {args:?}: {}{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// Asserts this host has no tfd installed (the test installs and purges the
/// package, and compares the system before and after).
fn assert_host_without_tfd() {
    for p in [
        "/usr/sbin/tfd",
        "/etc/tfd",
        "/srv/tfd",
        "/var/log/tfd",
        "/lib/systemd/system/tfd.service",
    ] {
        assert!(
            !Path::new(p).exists(),
            "{p} exists: this test needs a host without tfd installed"
        );
    }
    // /var/lib/tfd may hold only other tfds' default token directories
    // (/var/lib/tfd/fai/<hash of their config path>: tests elsewhere start tfd
    // as root with configs of their own); the purge keeps those
    if let Ok(rd) = fs::read_dir("/var/lib/tfd") {
        let other: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "fai")
            .collect();
        assert!(
            other.is_empty(),
            "/var/lib/tfd holds {other:?}: this test needs a host without tfd installed"
        );
    }
    assert!(
        nix::unistd::User::from_name("tfd").unwrap().is_none(),
        "a user tfd exists: this test needs a host without tfd installed"
    );
    let status = Command::new("dpkg").args(["-s", "tfd"]).output().unwrap();
    assert!(!status.status.success(), "the package tfd is installed here already");
}

/// Builds the package into `dir` with scripts/package and checks what it
/// holds (binaries, man pages, unit, config as its one conffile,
/// completions, no key) and that lintian passes it; returns the `.deb`.
fn build_the_package(dir: &Path) -> PathBuf {
    let bins = Path::new(env!("CARGO_BIN_EXE_tfd")).parent().unwrap().to_path_buf();
    let out = run(Command::new(repo().join("scripts/package"))
        .arg("--bin-dir")
        .arg(&bins)
        .arg("--out")
        .arg(dir)
        // gzip, not none: lintian calls an uncompressed package an error
        .args(["--compression", "gzip"]));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let deb = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap_or_else(|| panic!("no .deb in {}: {said}", dir.display()));
    let listing = String::from_utf8_lossy(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)).stdout).into_owned();
    for f in [
        "./usr/sbin/tfd",
        "./usr/sbin/tfpasswd",
        "./usr/bin/tf",
        "./usr/share/man/man8/tfd.8.gz",
        "./usr/share/man/man5/tfd.conf.5.gz",
        "./usr/share/man/man1/tf.1.gz",
        "./usr/share/man/man8/tfpasswd.8.gz",
        "./lib/systemd/system/tfd.service",
        "./etc/tfd/tfd.conf",
        // Debian's policy 12.7: every package has its changelog
        "./usr/share/doc/tfd/changelog.Debian.gz",
        "./usr/share/doc/tfd/copyright",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(&format!(" {f}"))),
            "{f} not in the package:\n{listing}"
        );
    }
    assert!(!listing.contains(".pem"), "a key in the package:\n{listing}");
    // the completions tf prints from its own tables
    for f in [
        "./usr/share/bash-completion/completions/tf",
        "./usr/share/zsh/vendor-completions/_tf",
        "./usr/share/fish/vendor_completions.d/tf.fish",
    ] {
        assert!(listing.contains(f), "{f} not in the package:\n{listing}");
    }
    let info = String::from_utf8_lossy(&run(Command::new("dpkg-deb").args(["-I"]).arg(&deb).arg("conffiles")).stdout)
        .into_owned();
    assert_eq!(info.trim(), "/etc/tfd/tfd.conf");
    // lintian clean: no error and no warning but those the package's overrides
    // file keeps with its reason (scripts/package); the default Maintainer was
    // root@localhost, three errors
    if tfd_testkit::require_tool("lintian", &["--version"], "scripts/deps installs it") {
        let o = Command::new("lintian")
            .args(["--fail-on", "error,warning"])
            .arg(&deb)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "lintian:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    deb
}

/// README's multi-user setup from the package: a LOGIN user of the tfd group
/// with a directory of its own under /srv/tfd, in the default user file; tf
/// `--user` then writes as that account. The account goes again, whatever
/// happened.
fn multi_user_as_readme_sets_it_up(unit: &str, log: &Path, dir: &Path, port: u16, hash: &str) {
    let login = "pkgalice";
    run(Command::new("sed").args([
        "-i",
        "s/^defusr tfd$/#defusr tfd/; s|^#userdb /etc/tfd/userdb$|userdb /etc/tfd/userdb|",
        "/etc/tfd/tfd.conf",
    ]));
    run_retried(Command::new("useradd").args([
        "--system",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "--groups",
        "tfd",
        login,
    ]));
    let alice = nix::unistd::User::from_name(login).unwrap().unwrap();
    let multi = catching(|| {
        // README's recipe: a directory of the user's own, /srv/tfd left as the package made it
        let own = format!("/srv/tfd/{login}");
        run(Command::new("install").args(["-d", "-o", login, "-g", login, "-m", "0700", &own]));
        // no -f: the default /etc/tfd/userdb, beside the package's config
        let o = tfd_testkit::users::tfpasswd(
            &["add", login, "--quota", "10MB", "--stdin", "--rounds", "1000"],
            "s3cret\n",
        );
        assert!(
            o.status.success(),
            "tfpasswd add: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let check = run(Command::new("/usr/sbin/tfd").args(["-c", "/etc/tfd/tfd.conf", "--check-config"]));
        let said = String::from_utf8_lossy(&check.stdout).into_owned() + &String::from_utf8_lossy(&check.stderr);
        assert!(said.contains("is valid"), "{said}");
        let tfd = start_as_the_unit(unit, log);
        let o = installed_tf(port, hash)
            .args(["--user", login, "put", "up.bin", &format!("{login}/alice.bin")])
            .env("TF_PASSWORD", "s3cret")
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        stop(tfd);
        let written = fs::metadata(format!("{own}/alice.bin")).map(|m| m.uid());
        let _ = fs::remove_dir_all(&own);
        assert!(
            o.status.success(),
            "tf --user: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            fs::read_to_string(log).unwrap_or_default()
        );
        assert_eq!(
            written.unwrap(),
            alice.uid.as_raw(),
            "not written as the LOGIN user's account"
        );
    });
    let _ = catching(|| {
        run_retried(Command::new("userdel").arg(login));
    });
    if let Err(e) = multi {
        std::panic::resume_unwind(e);
    }
}

/// After `dpkg -P`: nothing under /etc, /usr, /var and /lib differs from
/// `before`, /srv/tfd is gone, and so are the user and group tfd.
fn assert_purged_to_nothing(before: &BTreeSet<String>, passwd_before: &str, group_before: &str) {
    let after = tree(&["/etc", "/usr", "/var", "/lib"]);
    let added: Vec<&String> = after.difference(before).collect();
    let removed: Vec<&String> = before.difference(&after).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "purge left {added:?}, took {removed:?}"
    );
    assert!(!Path::new("/srv/tfd").exists(), "/srv/tfd left");
    let tfd_lines = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("tfd:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(
        tfd_lines(&fs::read_to_string("/etc/passwd").unwrap()).is_empty(),
        "user tfd left"
    );
    assert!(
        tfd_lines(&fs::read_to_string("/etc/group").unwrap()).is_empty(),
        "group tfd left"
    );
    assert_eq!(tfd_lines(passwd_before), Vec::<String>::new());
    assert_eq!(tfd_lines(group_before), Vec::<String>::new());
}

/// On a host without systemd, the postinst's command for starting tfd, run as
/// printed (on loopback and a free port, as the admin's first change): it
/// serves, and its pidfile stops it.
fn started_as_printed(said: &str) {
    let cmd = said
        .lines()
        .find_map(|l| l.split_once("start it with: ").map(|(_, c)| c.to_string()))
        .unwrap_or_else(|| panic!("no command to start it: {said}"));
    assert_eq!(cmd, "tfd --init-secrets && tfd --daemon", "{said}");
    let port = tfd_testkit::free_port();
    let conf_path = Path::new("/etc/tfd/tfd.conf");
    let shipped = fs::read_to_string(conf_path).unwrap();
    let changed: String = shipped
        .lines()
        .map(|l| {
            if l.starts_with("port ") {
                format!("port {port}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect::<String>()
        + "listen 127.0.0.1\n";
    fs::write(conf_path, changed).unwrap();
    // the daemon makes /run/tfd for its control socket, where systemd would
    struct Stop(bool);
    impl Drop for Stop {
        fn drop(&mut self) {
            if let Some(pid) = fs::read_to_string("/run/tfd.pid")
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                let until = Instant::now() + Duration::from_secs(10);
                while nix::sys::signal::kill(pid, None).is_ok() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            if !self.0 {
                // what a tfd that did not stop cleanly leaves (a clean stop
                // removes both)
                let _ = fs::remove_file("/run/tfd/ctl.sock");
                let _ = fs::remove_dir("/run/tfd");
            }
        }
    }
    let _stop = Stop(Path::new("/run/tfd").exists());
    run(Command::new("sh")
        .args(["-c", &cmd])
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
    let conf = fs::read_to_string(conf_path).unwrap();
    let hash = conf.lines().find_map(|l| l.strip_prefix("hash ")).unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(10);
    let o = loop {
        let o = installed_tf(port, &hash)
            .args(["echo", "hello"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if o.status.success() || Instant::now() > until {
            break o;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("hello"),
        "tf echo: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    fs::write(conf_path, shipped).unwrap();
}

/// A purge with data in /srv/tfd keeps it, says so, and gives it to root:
/// the user tfd goes, and what it owned must not be left to its free uid.
fn a_purge_keeps_data_and_gives_it_to_root(deb: &Path) {
    struct RemoveSrv;
    impl Drop for RemoveSrv {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all("/srv/tfd");
        }
    }
    let _srv = RemoveSrv;
    // what to start it with, for the init this host has (before: systemctl
    // whether or not systemd ran)
    let said = String::from_utf8_lossy(&run(Command::new("dpkg").arg("-i").arg(deb)).stdout).into_owned();
    if Path::new("/run/systemd/system").is_dir() {
        assert!(said.contains("Start it with: systemctl enable --now tfd"), "{said}");
    } else {
        assert!(!said.contains("systemctl"), "{said}");
        started_as_printed(&said);
    }
    let user = nix::unistd::User::from_name("tfd")
        .unwrap()
        .expect("postinst made no user tfd");
    // an account left in group tfd, as README's multi-user recipe makes them
    struct Member;
    impl Drop for Member {
        fn drop(&mut self) {
            let _ = Command::new("userdel").arg("pkgbob").output();
        }
    }
    let _member = Member;
    run_retried(Command::new("useradd").args(["--system", "--no-create-home", "--groups", "tfd", "pkgbob"]));
    fs::create_dir("/srv/tfd/sub").unwrap();
    fs::write("/srv/tfd/sub/data.txt", b"the admin's").unwrap();
    for p in ["/srv/tfd/sub", "/srv/tfd/sub/data.txt"] {
        nix::unistd::chown(p, Some(user.uid), Some(user.gid)).unwrap();
    }
    let purged = run(Command::new("dpkg").args(["-P", "tfd"]));
    let said = String::from_utf8_lossy(&purged.stdout).into_owned();
    assert!(
        said.contains("tfd: /srv/tfd is not empty: kept, and root's now that the user tfd is gone"),
        "{said}"
    );
    // quiet: before, userdel's "group tfd not removed because it has other
    // members", though the group went next
    let warned = String::from_utf8_lossy(&purged.stderr).into_owned();
    assert!(!warned.contains("userdel"), "{warned}");
    assert!(nix::unistd::User::from_name("tfd").unwrap().is_none(), "user tfd left");
    assert!(
        nix::unistd::Group::from_name("tfd").unwrap().is_none(),
        "group tfd left"
    );
    for p in ["/srv/tfd", "/srv/tfd/sub", "/srv/tfd/sub/data.txt"] {
        let m = fs::metadata(p).unwrap();
        assert_eq!((m.uid(), m.gid()), (0, 0), "{p} left to the deleted user's ids");
    }
    assert_eq!(fs::read("/srv/tfd/sub/data.txt").unwrap(), b"the admin's");
}
