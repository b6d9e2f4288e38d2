//! scripts/install and scripts/uninstall, for real, in a scratch root
//! (`DESTDIR`): the installed tree, modes and ownership, a stage without any
//! secret, the key pair and hash the first start makes (and tfd accepts), the unit (checked by `systemd-analyze verify` when it is
//! available), re-running both scripts, and what uninstall leaves behind with and
//! without `--purge`. As root the staging root gets copies of the account files,
//! so the system user is created (and removed) there, never on this machine.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the binaries cargo built for this test run.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_tfd")).parent().unwrap().to_path_buf()
}

fn run(script: &str, destdir: &Path, args: &[&str]) -> Output {
    let out = Command::new(repo().join("scripts").join(script))
        .args(args)
        .env("DESTDIR", destdir)
        .env_remove("PREFIX")
        .env_remove("PURGE")
        .env_remove("BIN_DIR")
        .env_remove("NO_BUILD")
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/{script}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scripts/{script} {args:?}: {:?}\n{text}",
        out.status
    );
    out
}

fn install(destdir: &Path, extra: &[&str]) -> String {
    let bins = bin_dir();
    let mut args = vec!["--bin-dir", bins.to_str().unwrap()];
    args.extend_from_slice(extra);
    String::from_utf8(run("install", destdir, &args).stdout).unwrap()
}

/// Every file and symlink below `root`, relative, except the account files.
fn files(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let account = ["passwd", "group", "shadow", "gshadow"]
                    .iter()
                    .any(|f| rel == format!("etc/{f}") || rel == format!("etc/{f}-"));
                if !account {
                    out.insert(rel);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The staged user's (uid, gid), if any.
fn staged_user(root: &Path) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string(root.join("etc/passwd")).ok()?;
    let line = passwd.lines().find(|l| l.starts_with("tfd:"))?;
    let f: Vec<&str> = line.split(':').collect();
    Some((f[2].parse().ok()?, f[3].parse().ok()?))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn install_and_uninstall_in_a_scratch_root() {
    // the other tests of this binary run in this process: none may add a user
    // to the host until the last comparison below (package.rs installs the
    // package's user tfd for a while, which the copy below must not catch)
    let _users = tfd_testkit::users::host_users_lock();
    let root = tfd_testkit::tempdir("install");
    if tfd_testkit::require_root("the system user is made in the staged /etc") {
        fs::create_dir_all(root.join("etc")).unwrap();
        for f in ["passwd", "group", "shadow", "gshadow"] {
            if Path::new("/etc").join(f).exists() {
                fs::copy(Path::new("/etc").join(f), root.join("etc").join(f)).unwrap();
            }
        }
        assert!(
            staged_user(&root).is_none(),
            "a tfd user already exists on this machine"
        );
    }
    let host_passwd = fs::read_to_string("/etc/passwd").unwrap();

    let log = install(&root, &[]);
    assert_installed_files(&root, &log);
    assert_eq!(
        fs::read_to_string("/etc/passwd").unwrap(),
        host_passwd,
        "the host was touched"
    );

    // The installed binary runs.
    let out = Command::new(root.join("usr/local/sbin/tfd"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tfd {}", env!("CARGO_PKG_VERSION"))
    );

    // The config: the example with sessions as tfd and its placeholder hash,
    // which tfd refuses to serve with.
    let conf = fs::read_to_string(root.join("etc/tfd/tfd.conf")).unwrap();
    let example = fs::read_to_string(repo().join("conf/tfd.conf")).unwrap();
    let placeholder = example.lines().find(|l| l.starts_with("hash ")).unwrap();
    assert!(
        conf.lines().any(|l| l == placeholder),
        "the stage holds a hash:\n{conf}"
    );
    assert!(conf.lines().any(|l| l == "defusr tfd"));
    assert_eq!(conf.lines().count(), example.lines().count());
    assert!(log.contains("no key and no hash made"), "{log}");

    let unit = the_first_start_makes_the_secrets(&root, &conf, &example);

    // The unit points at the installed binary and passes systemd's own checks.
    assert!(unit.contains("\nType=notify\n"));
    assert!(unit.contains("\nExecStart=/usr/local/sbin/tfd -c /etc/tfd/tfd.conf\n"));
    verify_unit(&root, &unit, "/usr/local/sbin/tfd");

    // Re-running changes nothing that was configured.
    let before = secrets(&root);
    fs::write(root.join("srv/tfd/data.txt"), "keep me").unwrap();
    let log = install(&root, &[]);
    assert!(log.contains("kept the existing /etc/tfd/tfd.conf"), "{log}");
    assert_eq!(before, secrets(&root));
    if tfd_testkit::is_root() {
        let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
        assert_eq!(passwd.lines().filter(|l| l.starts_with("tfd:")).count(), 1);
    }

    // Uninstall keeps configuration, keys, data and the user; twice is fine.
    for _ in 0..2 {
        run("uninstall", &root, &[]);
        assert_eq!(
            files(&root),
            set(&[
                "etc/tfd/key.pem",
                "etc/tfd/pub.pem",
                "etc/tfd/tfd.conf",
                "srv/tfd/data.txt"
            ])
        );
    }
    if tfd_testkit::is_root() {
        assert!(staged_user(&root).is_some());
    }
    // A new install picks the kept files up again.
    install(&root, &[]);
    assert_eq!(fs::read(root.join("etc/tfd/key.pem")).unwrap(), before[1]);

    // --purge removes everything tfd's, the user too.
    run("uninstall", &root, &["--purge"]);
    assert_eq!(files(&root), BTreeSet::new());
    assert!(!root.join("etc/tfd").exists() && !root.join("srv/tfd").exists());
    assert!(staged_user(&root).is_none());
    if tfd_testkit::is_root() {
        let group = fs::read_to_string(root.join("etc/group")).unwrap();
        assert!(!group.lines().any(|l| l.starts_with("tfd:")), "{group}");
    }
    run("uninstall", &root, &["--purge"]);
    assert_eq!(
        fs::read_to_string("/etc/passwd").unwrap(),
        host_passwd,
        "the host was touched"
    );
    fs::remove_dir_all(&root).unwrap();
}

/// What an install stages in `root` (`log`: what it said): exactly the
/// binaries, man pages, completions (what this tf prints), unit and config,
/// with their modes, and the system user tfd in the staged passwd (as root).
fn assert_installed_files(root: &Path, log: &str) {
    // a stage holds no secret: no key, and the example's placeholder hash
    let installed = set(&[
        "etc/systemd/system/tfd.service",
        "etc/tfd/tfd.conf",
        "usr/local/bin/tf",
        "usr/local/sbin/tfd",
        "usr/local/sbin/tfpasswd",
        "usr/local/share/man/man1/tf.1",
        "usr/local/share/man/man5/tfd.conf.5",
        "usr/local/share/man/man8/tfd.8",
        "usr/local/share/man/man8/tfpasswd.8",
        "usr/local/share/bash-completion/completions/tf",
        "usr/local/share/zsh/site-functions/_tf",
        "usr/local/share/fish/vendor_completions.d/tf.fish",
    ]);
    // the shell completions are what this tf prints
    let bash_script = Command::new(tfd_testkit::tf_bin())
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(bash_script.status.success(), "tf completion bash failed");
    assert_eq!(
        fs::read(root.join("usr/local/share/bash-completion/completions/tf")).unwrap(),
        bash_script.stdout
    );
    assert_eq!(files(root), installed, "{log}");
    let bash = fs::read_to_string(root.join("usr/local/share/bash-completion/completions/tf")).unwrap();
    assert!(bash.contains("complete -o filenames -F _tf tf"), "{bash}");
    for bin in ["usr/local/bin/tf", "usr/local/sbin/tfd", "usr/local/sbin/tfpasswd"] {
        assert_eq!(mode(&root.join(bin)), 0o755, "{bin}");
    }
    assert_eq!(
        fs::read(root.join("usr/local/share/man/man8/tfd.8")).unwrap(),
        fs::read(repo().join("man/tfd.8")).unwrap()
    );
    assert_eq!(mode(&root.join("etc/tfd/tfd.conf")), 0o600);
    assert_eq!(mode(&root.join("srv/tfd")), 0o750);
    if tfd_testkit::is_root() {
        let (uid, gid) = staged_user(root).unwrap_or_else(|| panic!("no user tfd in the staged passwd\n{log}"));
        let meta = fs::metadata(root.join("srv/tfd")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
        let passwd = fs::read_to_string(root.join("etc/passwd")).unwrap();
        let line = passwd.lines().find(|l| l.starts_with("tfd:")).unwrap();
        assert!(line.ends_with(":/srv/tfd:/usr/sbin/nologin"), "{line}");
        assert!(uid < 1000, "a system uid: {line}");
        let group = fs::read_to_string(root.join("etc/group")).unwrap();
        assert!(
            group.lines().any(|l| l.starts_with(&format!("tfd:x:{gid}:"))),
            "{group}"
        );
    } else {
        assert!(log.contains("system user tfd not created"), "{log}");
    }
}

/// The secrets of the config, the key and the public key under `r`.
fn secrets(r: &Path) -> Vec<Vec<u8>> {
    ["etc/tfd/tfd.conf", "etc/tfd/key.pem", "etc/tfd/pub.pem"]
        .iter()
        .map(|f| fs::read(r.join(f)).unwrap())
        .collect()
}

/// The first start on the target (the unit's ExecStartPre, here with the
/// config `conf`'s paths moved into the scratch `root`) makes the host's
/// secrets once, which tfd and openssl accept. Returns the unit.
fn the_first_start_makes_the_secrets(root: &Path, conf: &str, example: &str) -> String {
    let unit = fs::read_to_string(root.join("etc/systemd/system/tfd.service")).unwrap();
    let pre = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre=+"))
        .unwrap_or_else(|| panic!("no ExecStartPre=+ in the unit:\n{unit}"));
    assert_eq!(pre, "/usr/local/sbin/tfd -c /etc/tfd/tfd.conf --init-secrets");
    let staged_conf = root.join("etc/tfd/tfd.conf");
    fs::write(
        &staged_conf,
        conf.replace("/etc/tfd/key.pem", &root.join("etc/tfd/key.pem").display().to_string()),
    )
    .unwrap();
    let first_start = || {
        let out = Command::new(root.join("usr/local/sbin/tfd"))
            .arg("-c")
            .arg(&staged_conf)
            .arg("--init-secrets")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = first_start();
    assert!(said.contains("generated") && said.contains("random hash"), "{said}");
    let conf = fs::read_to_string(&staged_conf).unwrap();
    let hash = conf.lines().find_map(|l| l.strip_prefix("hash ")).unwrap().to_string();
    assert_eq!(hash.len(), 48, "{hash}");
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(conf.lines().count(), example.lines().count());
    assert_eq!(mode(&staged_conf), 0o600);
    assert_eq!(mode(&root.join("etc/tfd/key.pem")), 0o600);
    assert_eq!(mode(&root.join("etc/tfd/pub.pem")), 0o644);
    // and the next start changes nothing
    let made = secrets(root);
    assert!(first_start().contains("already in place"));
    assert_eq!(secrets(root), made);
    // tfd accepts the config (dbdir moved into the scratch root, and tfd's
    // user as defusr, if it exists here only in the staged passwd) and the key
    let check = conf
        .replace("dbdir /srv/tfd", &format!("dbdir {}", root.join("srv/tfd").display()))
        .replace("defusr tfd", "defusr root");
    let check_path = root.join("check.conf");
    fs::write(&check_path, check).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("-c")
        .arg(&check_path)
        .arg("--check-config")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    fs::remove_file(&check_path).unwrap();
    let out = Command::new("openssl")
        .args(["pkey", "-pubin", "-noout", "-text", "-in"])
        .arg(root.join("etc/tfd/pub.pem"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("2048 bit"));
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(root.join("etc/tfd/key.pem"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, made[2], "pub.pem is the key's public half");
    unit
}

#[test]
fn prefix_moves_binaries_and_the_units_exec_lines() {
    let root = tfd_testkit::tempdir("install-prefix");
    install(&root, &["--prefix", "/opt/tfd"]);
    for f in [
        "opt/tfd/sbin/tfd",
        "opt/tfd/bin/tf",
        "opt/tfd/share/man/man5/tfd.conf.5",
    ] {
        assert!(root.join(f).is_file(), "{f}");
    }
    assert!(!root.join("usr").exists());
    let unit = fs::read_to_string(root.join("etc/systemd/system/tfd.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/opt/tfd/sbin/tfd -c /etc/tfd/tfd.conf\n"),
        "{unit}"
    );
    assert!(unit.contains("\nExecReload=/opt/tfd/sbin/tfd -c /etc/tfd/tfd.conf --check-config\n"));
    assert!(!unit.contains("/usr/local"));
    verify_unit(&root, &unit, "/opt/tfd/sbin/tfd");
    let out = Command::new(repo().join("scripts/uninstall"))
        .args(["--prefix", "/opt/tfd", "--purge", "--destdir"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&root), BTreeSet::new());
    fs::remove_dir_all(&root).unwrap();
}

/// `systemd-analyze verify` on a copy of the unit whose binary path points into
/// the scratch root (it checks that ExecStart is executable); where
/// systemd-analyze is missing the test cannot run in full (`tfd_testkit::require`).
fn verify_unit(root: &Path, unit: &str, bin: &str) {
    let dir = root.join("verify");
    fs::create_dir_all(&dir).unwrap();
    let staged_bin = root.join(bin.trim_start_matches('/'));
    fs::write(
        dir.join("tfd.service"),
        unit.replace(bin, &staged_bin.display().to_string()),
    )
    .unwrap();
    match Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.join("tfd.service"))
        .output()
    {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && text.trim().is_empty(),
                "systemd-analyze verify:\n{text}"
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tfd_testkit::require(false, "no systemd-analyze (systemd): the unit is not verified");
        }
        Err(e) => panic!("systemd-analyze: {e}"),
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// The directories the unit leaves writable under `ProtectSystem=strict`:
/// `ReadWritePaths=` (a leading `-` only makes a missing one harmless) and the
/// directories systemd creates for `StateDirectory=`, `RuntimeDirectory=`,
/// `LogsDirectory=` and `CacheDirectory=`.
fn writable_under(unit: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let base = match key.trim() {
            "ReadWritePaths" => "",
            "StateDirectory" => "/var/lib",
            "RuntimeDirectory" => "/run",
            "LogsDirectory" => "/var/log",
            "CacheDirectory" => "/var/cache",
            _ => continue,
        };
        for item in value.split_whitespace() {
            let item = item.trim_start_matches(['-', '+']);
            out.push(if base.is_empty() {
                PathBuf::from(item)
            } else {
                Path::new(base).join(item)
            });
        }
    }
    out
}

/// Every path tfd writes with the shipped configuration (as it is, and with
/// the paths its comments suggest switched on), taken from the config code
/// (`Config::written_paths`, which falls back to the code's defaults), must be
/// writable in the shipped unit's sandbox. The unit once had no
/// `StateDirectory=`, so under `ProtectSystem=strict` the default `fai_dir`
/// (/var/lib/tfd/fai) was read-only and every FAITOK failed.
#[test]
fn the_unit_leaves_every_path_of_the_default_config_writable() {
    let unit = fs::read_to_string(repo().join("scripts/tfd.service")).unwrap();
    assert!(
        unit.contains("\nProtectSystem=strict\n"),
        "the check assumes a read-only system"
    );
    let writable = writable_under(&unit);
    let shipped = fs::read_to_string(repo().join("conf/tfd.conf")).unwrap();
    // `#key /absolute/path` lines are the example's suggestions
    let suggested: String = shipped
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest)
                if rest.split_whitespace().nth(1).is_some_and(|v| v.starts_with('/'))
                    && rest
                        .split_whitespace()
                        .next()
                        .is_some_and(|k| tfd::config::key(k).is_some()) =>
            {
                rest
            }
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(suggested, shipped, "the example suggests no paths any more");
    let mut checked = BTreeSet::new();
    for text in [&shipped, &suggested] {
        let cfg = tfd::config::Config::parse_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let paths = cfg.written_paths();
        assert!(paths.iter().any(|(k, _)| *k == "fai_dir"), "{paths:?}");
        for (key, path) in paths {
            assert!(path.is_absolute(), "{key} {}", path.display());
            assert!(
                writable.iter().any(|w| path.starts_with(w)),
                "{key} {} is read-only under the unit (writable: {writable:?})",
                path.display()
            );
            checked.insert(key);
        }
    }
    assert!(
        checked.contains("xferlog") && checked.contains("control_socket"),
        "{checked:?}"
    );
    // --daemon (and its pidfile) is for init systems without supervision
    assert!(!unit.contains("--daemon"), "the unit runs tfd in the foreground");

    // systemd's own checks, when it is installed (no running systemd needed)
    let root = tfd_testkit::tempdir("unit-verify");
    let bin = root.join("usr/local/sbin/tfd");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_tfd"), &bin).unwrap();
    verify_unit(&root, &unit, "/usr/local/sbin/tfd");
    fs::remove_dir_all(&root).unwrap();
}
