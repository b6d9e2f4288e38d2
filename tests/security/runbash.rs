//! RUNBASH through the real wire with the real tfd: off unless `runbash` is set
//! (`FAILED 64`, nothing runs); when on, only in a chroot jail and only as the
//! session's own user. A script's output and exit status come back in the
//! reply; it runs inside the jail, as the LOGIN (or defusr) user, with no
//! inherited descriptors and a fixed environment; the wall-clock limit kills
//! its whole process group, backgrounded children included; output beyond the
//! bound is dropped; CPU and memory limits stop hogs; paths outside the root,
//! symlink escapes and missing scripts get their FAILED code and the session
//! goes on; each run is logged without its output.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use tfp_client::replies::Split as _;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, login_userdb, tfpasswd};
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::Status;

fn st(c: &mut Client, line: &str) -> Status {
    Status::parse(&c.raw(line.as_bytes()).unwrap())
}

/// The reply text after `OK ` (panics on anything else).
fn run(c: &mut Client, script: &str) -> String {
    let r = c.raw(format!("RUNBASH {script}").as_bytes()).unwrap();
    let text = String::from_utf8_lossy(&r).into_owned();
    assert!(text.starts_with("OK "), "RUNBASH {script}: {text:?}");
    text[3..].to_string()
}

/// Copies a host file to the same path under `jail` (following symlinks).
fn copy_in(jail: &Path, host: &str) {
    let to = jail.join(host.trim_start_matches('/'));
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(host, &to).unwrap();
}

/// The binaries a script may use, with their shared libraries, copied into
/// `jail` (under usr/bin, with bin a symlink to it as on merged-/usr systems).
fn install_tools(jail: &Path, tools: &[&str]) {
    fs::create_dir_all(jail.join("usr/bin")).unwrap();
    let _ = std::os::unix::fs::symlink("usr/bin", jail.join("bin"));
    for t in tools {
        let host = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| format!("{d}/{t}"))
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| panic!("no {t} on this host"));
        fs::copy(&host, jail.join("usr/bin").join(t)).unwrap();
        let ldd = std::process::Command::new("ldd").arg(&host).output().unwrap();
        for word in String::from_utf8_lossy(&ldd.stdout).split_whitespace() {
            if word.starts_with('/') && Path::new(word).exists() {
                copy_in(jail, word);
            }
        }
    }
}

/// A jail `jails/<name>` (token `tok`) with `tools`: owned by root, as its
/// guard demands, with `w/` the user's to write in.
fn build_jail(srv: &Server, name: &str, uid: u32, gid: u32, tools: &[&str]) -> PathBuf {
    let cell = srv.path(&format!("jails/{name}"));
    fs::create_dir_all(&cell).unwrap();
    fs::write(cell.join("jail.key"), "tok\n").unwrap();
    install_tools(&cell, tools);
    // what a jail for scripts has: bash sends a background job's stdin there
    fs::create_dir_all(cell.join("dev")).unwrap();
    nix::sys::stat::mknod(
        &cell.join("dev/null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    fs::create_dir_all(cell.join("w")).unwrap();
    nix::unistd::chown(&cell.join("w"), Some(uid.into()), Some(gid.into())).unwrap();
    cell
}

fn script(dir: &Path, name: &str, text: &str) {
    data_dir_write(&dir.join(name), text.as_bytes());
    fs::set_permissions(dir.join(name), fs::Permissions::from_mode(0o644)).unwrap();
}

fn pid_alive(pid: i32) -> bool {
    // a zombie is dead for this purpose; gone is dead
    proc_stat(pid).is_some_and(|f| f[0] != "Z")
}

/// Live processes other than tfd's own whose root is `cell`: a script's,
/// whatever its PID namespace calls them (`$$` and `$!` are numbers in there).
fn scripts_in(cell: &Path) -> Vec<(i32, String)> {
    let cell = cell.canonicalize().unwrap();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| fs::read_link(format!("/proc/{p}/root")).is_ok_and(|r| r == cell))
        .filter_map(|p| {
            Some((
                p,
                fs::read_to_string(format!("/proc/{p}/comm")).ok()?.trim().to_string(),
            ))
        })
        .filter(|(p, comm)| comm != "tfd" && pid_alive(*p))
        .collect()
}

/// Waits (up to 5 s) until no script process is left in `cell`.
fn no_scripts_left(cell: &Path) -> Result<(), Vec<(i32, String)>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = scripts_in(cell);
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(left);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn off_by_default_and_runs_nothing() {
    let srv = Server::start();
    let mark = srv.dir.join("ran");
    let text = format!("touch {}\n", mark.display());
    script(&srv.data, "s.sh", &text);
    let mut c = srv.client();
    for arg in ["s.sh", "/s.sh", "../s.sh", "", "missing.sh"] {
        assert_failed(st(&mut c, &format!("RUNBASH {arg}")), 64);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!mark.exists(), "the script ran");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv.log().contains("RUNBASH \"s.sh\" refused: not enabled"), "logged");
}

#[test]
fn runbash_key_is_accepted_with_limits() {
    let c = tfd::config::Config::parse_str(
        "proto 2.4.1\nhash h\ndbdir /tmp\nport 1\nprivkey_file /x\nrunbash\nrunbash_timeout 5\nrunbash_memory 32M\n",
    )
    .unwrap();
    let rb = c.runbash.expect("enabled");
    assert_eq!(rb.timeout, Duration::from_secs(5));
    assert_eq!(rb.memory, 32 << 20);
    assert_eq!(rb.output_max, 64 << 10, "default");
    let off =
        tfd::config::Config::parse_str("proto 2.4.1\nhash h\ndbdir /tmp\nport 1\nprivkey_file /x\nrunbash_timeout 5\n")
            .unwrap();
    assert!(off.runbash.is_none(), "limits alone do not enable it");
}

#[test]
fn a_root_or_unjailed_session_is_refused() {
    if !require(is_root(), "needs root") {
        return;
    }
    // defusr root: the session is still root
    let srv = Server::start_with("runbash\n");
    let mark = srv.dir.join("ran-root");
    script(&srv.data, "s.sh", &format!("touch {}\n", mark.display()));
    let mut c = srv.client();
    assert_failed(st(&mut c, "RUNBASH s.sh"), 64);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv.log().contains("still runs as root"), "{}", srv.log());

    // a LOGIN user without a chroot jail: the script would see the host
    let (_uid, _gid) = ensure_system_user("tfdrb2", &[]);
    let f = login_userdb("runbash-userdb", "rita", "tfdrb2", "rita pw");
    let srv2 = Server::start_opts(Opts {
        extra: &format!("userdb {f}\nrunbash\n"),
        default_user: false,
        ..Default::default()
    });
    script(&srv2.data, "s.sh", &format!("touch {}\n", mark.display()));
    let mut c = srv2.client();
    assert_ok(c.call("LOGIN", b"rita rita pw").unwrap());
    assert_failed(st(&mut c, "RUNBASH s.sh"), 64);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv2.log().contains("not in a chroot jail"), "{}", srv2.log());
    std::thread::sleep(Duration::from_millis(200));
    assert!(!mark.exists(), "a refused script ran");
}

#[test]
fn login_user_runs_scripts_in_the_jail() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb1", &["tfdrbg1"]);
    let extra_gid = nix::unistd::Group::from_name("tfdrbg1").unwrap().unwrap().gid.as_raw();
    let dir = tempdir("runbash-userdb");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    assert!(tfpasswd(
        &["-f", f, "add", "rob", "--system-user", "tfdrb1", "--stdin"],
        "rob pw\n"
    )
    .status
    .success());
    assert!(tfpasswd(
        &[
            "-f",
            f,
            "add",
            "quin",
            "--system-user",
            "tfdrb1",
            "--quota",
            "10M",
            "--stdin"
        ],
        "quin pw\n"
    )
    .status
    .success());
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\ninjail\nrunbash\nrunbash_output_max 1K\n"),
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash", "id"]);
    plant_the_scripts(&srv.data, &cell);

    let mut c = srv.client();
    assert_ok(c.call("LOGIN", b"rob rob pw").unwrap());
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());

    // output (stdout and stderr) and exit status come back
    assert_eq!(run(&mut c, "out.sh"), "exit 3\nhello-7f3a\noops-7f3a\n");
    // run as the LOGIN user and groups: the file it wrote is theirs
    assert_eq!(run(&mut c, "/who.sh"), "exit 0\n");
    let who = fs::read_to_string(cell.join("w/who.txt")).unwrap();
    let (u, groups) = who.split_once('\n').unwrap();
    assert_eq!(u, uid.to_string());
    let mut groups: Vec<u32> = groups.split_whitespace().map(|g| g.parse().unwrap()).collect();
    groups.sort();
    let mut want = vec![gid, extra_gid];
    want.sort();
    assert_eq!(groups, want, "primary and supplementary groups");
    let m = fs::metadata(cell.join("w/who.txt")).unwrap();
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    assert_eq!(
        run(&mut c, "suid.sh"),
        format!("exit 0\n{uid}\n"),
        "set-user-ID took effect"
    );
    // inside the jail: its / is the jail, nothing outside is visible
    assert_eq!(run(&mut c, "where.sh"), "exit 0\njail-is-root\nno-outside\n/\n");
    // nothing but stdin and stdout (stderr, captured above, the probe closed)
    assert_eq!(run(&mut c, "fds.sh"), "exit 0\nopen 0\nopen 1\n");
    // the environment is PATH and HOME (bash adds its own PWD, SHLVL, OLDPWD)
    assert_the_environment_is_path_and_home(&mut c);
    // output beyond runbash_output_max (1K) is dropped and said so
    let big = run(&mut c, "big.sh");
    let (head, body) = big.split_once('\n').unwrap();
    assert_eq!(head, "exit 0 truncated");
    assert_eq!(body.len(), 1024);
    assert!(body.starts_with("0123456789abcdefghijklmnopqrstuvwxyz\n"));

    // refusals: FAILED code, nothing runs, the session goes on
    for (arg, code) in [
        ("../../outside.sh", 1),
        ("/../outside.sh", 1),
        ("abs.sh", 1),
        ("rel.sh", 1),
        ("missing.sh", 9),
        ("adir", 9),
        ("", 9),
        ("jail.key/x", 9),
    ] {
        assert_failed(st(&mut c, &format!("RUNBASH {arg}")), code);
        assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive", "after RUNBASH {arg}");
    }

    // TFPSFS: RUNBASH is not tagged [Supports TFPSFS], so a secure directory's
    // scripts are refused, and the metadata is never reachable
    assert_ok(c.call("MKDIR", b"w/sec").unwrap());
    script(&cell, "w/sec/s.sh", "echo secure\n");
    assert_ok(c.call("SETFSID", b"alice").unwrap());
    assert_ok(c.call("SETFSPERM", b"alice:4095 w/sec").unwrap());
    assert!(cell.join("w/sec/.securefs_metadata.rd").exists());
    for arg in ["w/sec/s.sh", "w/sec/.securefs_metadata.rd", "w/sec/.securefs_metadata"] {
        assert_failed(st(&mut c, &format!("RUNBASH {arg}")), 1);
        assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive", "after RUNBASH {arg}");
    }

    // a user with a quota may not run scripts (their writes would bypass it)
    let mut q = srv.client();
    assert_ok(q.call("LOGIN", b"quin quin pw").unwrap());
    assert_ok(q.call("INJAIL", b"tok | jails/cell").unwrap());
    assert_failed(st(&mut q, "RUNBASH who.sh"), 64);
    assert_eq!(q.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv.log().contains("a quota is in force"), "{}", srv.log());

    // each run is logged with user, path and ending, never its output
    let log = srv.log();
    assert!(
        log.contains(&format!("RUNBASH \"/out.sh\" user=rob uid={uid} exit 3 duration=")),
        "{log}"
    );
    assert!(log.contains("output_bytes=74000 truncated"), "{log}");
    assert!(
        !log.contains("hello-7f3a") && !log.contains("oops-7f3a"),
        "output in the log"
    );
}

/// The scripts and links of [`login_user_runs_scripts_in_the_jail`]: in the
/// jail `cell`, each probe (output and status, ids, set-user-ID, the view of
/// `/`, open descriptors, environment, a big output) and the ways out (an
/// absolute link, a relative one to a script in `data`, outside the jail).
fn plant_the_scripts(data: &Path, cell: &Path) {
    script(data, "outside.sh", "echo outside\n");
    std::os::unix::fs::symlink("/etc/hostname", cell.join("abs.sh")).unwrap();
    std::os::unix::fs::symlink("../../outside.sh", cell.join("rel.sh")).unwrap();
    fs::create_dir(cell.join("adir")).unwrap();
    script(cell, "out.sh", "echo hello-7f3a\necho oops-7f3a >&2\nexit 3\n");
    script(cell, "who.sh", "id -u > /w/who.txt\nid -G >> /w/who.txt\n");
    // a set-user-ID root copy of id: NO_NEW_PRIVS makes the bit inert
    fs::copy(cell.join("usr/bin/id"), cell.join("usr/bin/suid-id")).unwrap();
    fs::set_permissions(cell.join("usr/bin/suid-id"), fs::Permissions::from_mode(0o4755)).unwrap();
    script(cell, "suid.sh", "suid-id -u\n");
    script(
        cell,
        "where.sh",
        "[ -e /jail.key ] && echo jail-is-root\n[ -e /outside.sh ] || echo no-outside\ncd /.. && pwd\n",
    );
    script(
        cell,
        "fds.sh",
        // stderr closed first (for good, so bash saves no copy of it) to silence
        // the probes' errors; `exec` in a subshell saves nothing either
        "exec 2>&-\nfor ((fd=0; fd<1024; fd++)); do t=7; [ $fd = 7 ] && t=8\n\
         (eval \"exec $t<&$fd\") && echo \"open $fd\"\ndone\nexit 0\n",
    );
    script(cell, "env.sh", "export -p\n");
    script(
        cell,
        "big.sh",
        "for ((i=0; i<2000; i++)); do echo 0123456789abcdefghijklmnopqrstuvwxyz; done\n",
    );
}

/// `env.sh` in the jail sees PATH and HOME only (bash adds its own PWD,
/// SHLVL, OLDPWD), nothing inherited from the daemon.
fn assert_the_environment_is_path_and_home(c: &mut Client) {
    let env = run(c, "env.sh");
    let mut names = Vec::new();
    for line in env.lines().skip(1) {
        let decl = line.strip_prefix("declare -x ").unwrap_or_else(|| panic!("{env}"));
        names.push(decl.split('=').next().unwrap().to_string());
    }
    assert!(env.contains("declare -x PATH=\"/usr/bin:/bin\"\n"), "{env}");
    assert!(env.contains("declare -x HOME=\"/\"\n"), "{env}");
    for n in &names {
        assert!(
            ["PATH", "HOME", "PWD", "SHLVL", "OLDPWD"].contains(&n.as_str()),
            "{n} in {env}"
        );
    }
    assert!(!env.contains("RUST_LOG"), "inherited from the daemon: {env}");
}

#[test]
fn wall_clock_limit_kills_the_script_and_its_children() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb3", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdrb3\ninjail\nrunbash\nrunbash_timeout 3\n",
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash", "sleep", "setsid"]);
    script(
        &cell,
        "sleepy.sh",
        "sleep 1000 &\necho $! > /w/bg.pid\necho $$ > /w/lead.pid\nsleep 1000\n",
    );
    script(&cell, "quick.sh", "sleep 1000 &\necho $! > /w/bg2.pid\necho started\n");
    // setsid (the call) is refused, so nothing can leave the killed group
    script(
        &cell,
        "escape.sh",
        "setsid sleep 1000 &\necho $! > /w/esc.pid\nsetsid sleep 1000\necho \"rc=$?\"\n",
    );
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());

    // wall clock: the script and its backgrounded child are killed
    let t = Instant::now();
    assert_eq!(run(&mut c, "sleepy.sh"), "timeout\n");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(cell.join("w/bg.pid").exists() && cell.join("w/lead.pid").exists());
    no_scripts_left(&cell).expect("survived the timeout");
    // a script that ends leaves nothing running behind it. Its run ends with
    // it, not with the background child: waiting for that child would run
    // into the 3 s wall clock and end "timeout" (src/sandbox/run.rs), so the
    // ending proves it with no bound on elapsed time (a bound of 2 s was a
    // race on a loaded 2-core machine)
    assert_eq!(run(&mut c, "quick.sh"), "exit 0\nstarted\n");
    assert!(cell.join("w/bg2.pid").exists());
    no_scripts_left(&cell).expect("a background child outlived its script");

    let esc = run(&mut c, "escape.sh");
    // (the background setsid's complaint may come before, after or even inside
    // the line "rc=1": both processes write to the one pipe, and CI once read
    // "setsid failedrc=1\n: Operation not permitted")
    assert!(esc.starts_with("exit 0\n") && esc.contains("rc=1\n"), "{esc:?}");
    assert!(esc.contains("Operation not permitted"), "{esc:?}");
    assert!(cell.join("w/esc.pid").exists());
    no_scripts_left(&cell).expect("a setsid child outlived its script");

    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn cpu_and_memory_limits_stop_hogs() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb6", &[]);
    // a long wall-clock limit, so only the CPU and memory limits can end these
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdrb6\ninjail\nrunbash\nrunbash_timeout 120\nrunbash_cpu_seconds 1\nrunbash_memory 64M\n",
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash"]);
    script(&cell, "cpu.sh", "while :; do :; done\n");
    script(&cell, "mem.sh", "s=xxxxxxxxxxxxxxxx\nwhile :; do s=$s$s; done\n");
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    // CPU: SIGXCPU at the soft limit (SIGKILL a second later), before the timeout
    let cpu = run(&mut c, "cpu.sh");
    assert!(cpu == "signal 24\n" || cpu == "signal 9\n", "{cpu:?}");
    // memory: bash cannot grow past RLIMIT_AS and dies before the timeout
    let mem = run(&mut c, "mem.sh");
    assert!(mem != "timeout\n" && !mem.starts_with("exit 0"), "{mem:?}");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv.log().contains("RUNBASH \"/cpu.sh\" user="), "{}", srv.log());
}

/// A server running RUNBASH as `user` (made here) with a jail `cell` holding
/// `sleepy.sh`: a background sleep and a foreground one, each for 1000 s,
/// their pids written to `bg.pid` and `lead.pid`; None (skipped) without root.
fn sleepy_jail(user: &str) -> Option<(Server, PathBuf)> {
    if !require(is_root(), "needs root") {
        return None;
    }
    let (uid, gid) = ensure_system_user(user, &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("defusr {user}\ninjail\nrunbash\nrunbash_timeout 600\n"),
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash", "sleep"]);
    script(
        &cell,
        "sleepy.sh",
        "sleep 1000 &\necho $! > /w/bg.pid\necho $$ > /w/lead.pid\nsleep 1000\n",
    );
    Some((srv, cell))
}

#[test]
fn a_killed_session_takes_its_script_along() {
    let Some((srv, cell)) = sleepy_jail("tfdrb4") else {
        return;
    };
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    let session = srv.session_pid();
    let waiter = std::thread::spawn(move || c.raw(b"RUNBASH sleepy.sh").is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(cell.join("w/bg.pid").exists() && cell.join("w/lead.pid").exists()) {
        assert!(Instant::now() < deadline, "the script did not start:\n{}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let running = scripts_in(&cell);
    // bash execs its last command: two sleeps
    assert!(running.len() >= 2, "running before the kill: {running:?}");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(session), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(waiter.join().unwrap(), "the connection ended with the session");
    // nothing else would ever end them: the timeout belonged to the dead session
    no_scripts_left(&cell).expect("script processes outlived their killed session");
}

#[test]
fn a_jail_without_bash_fails_cleanly() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb5", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdrb5\ninjail\nrunbash\n",
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "bare", uid, gid, &[]);
    script(&cell, "s.sh", "echo hi\n");
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/bare").unwrap());
    assert_failed(st(&mut c, "RUNBASH s.sh"), 64);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv.log().contains("no bash in the jail"), "{}", srv.log());
    // FLYCONTEXT as the user confines by descriptor only, which a child would
    // not inherit: refused before anything is looked up
    assert_ok(c.call("FLYCONTEXT", b"w/deeper").unwrap());
    assert_failed(st(&mut c, "RUNBASH /s.sh"), 64);
    assert!(srv.log().contains("not in a chroot jail"), "{}", srv.log());
}

/// Where a whole-script memory limit can be had on this machine, as tfd looks
/// for it: `/sys/fs/cgroup` as a cgroup v2 hierarchy with the memory and pids
/// controllers enabled, else a cgroup v1 memory hierarchy (and a pids one, if
/// mounted) from /proc/self/mountinfo. The directories where tfd makes its
/// groups (`…/tfd-runbash`), memory's first; empty when there is none.
fn runbash_cgroup_parents() -> Vec<PathBuf> {
    let v2 = Path::new("/sys/fs/cgroup");
    let is_v2 =
        nix::sys::statfs::statfs(v2).is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    if is_v2 {
        let enabled = fs::read_to_string(v2.join("cgroup.subtree_control")).unwrap_or_default();
        let on = |c: &str| enabled.split_whitespace().any(|w| w == c);
        return if on("memory") && on("pids") {
            vec![v2.join("tfd-runbash")]
        } else {
            Vec::new()
        };
    }
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let v1 = |controller: &str| {
        mounts.lines().find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mut r = right.split_whitespace();
            let (kind, _, options) = (r.next()?, r.next()?, r.next()?);
            let at = left.split_whitespace().nth(4)?;
            (kind == "cgroup" && options.split(',').any(|o| o == controller)).then(|| Path::new(at).join("tfd-runbash"))
        })
    };
    match v1("memory") {
        Some(memory) => std::iter::once(memory).chain(v1("pids")).collect(),
        None => Vec::new(),
    }
}

/// `runbash_memory` bounds the whole script, not each process, where a
/// memory cgroup (v2, or v1 as on hybrid hosts) is usable: eight background
/// processes of ~20 MB each cannot all hold their memory under 64M together.
/// Issue 23 item 5: each process had its own RLIMIT_AS of 64M, so all eight
/// held theirs (160 MB). The session's group is gone once tfd stops.
#[test]
fn memory_limit_bounds_the_whole_script() {
    if !require(is_root(), "needs root") {
        return;
    }
    let parents = runbash_cgroup_parents();
    if !require(
        !parents.is_empty(),
        "no usable memory cgroup (v2 with memory+pids, or v1 memory) on this machine",
    ) {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb8", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdrb8\ninjail\nrunbash\nrunbash_timeout 60\nrunbash_memory 64M\n",
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash", "sleep"]);
    // each holds 20,000,000 bytes in a bash variable for 3 s, then says so
    script(
        &cell,
        "many.sh",
        "for i in 1 2 3 4 5 6 7 8; do ( printf -v s '%*s' 20000000 '' && sleep 3 && echo held ) & done\nwait\n",
    );
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    let session = srv.session_pid();
    let log = srv.log();
    let Some(ready) = log
        .lines()
        .find(|l| l.contains("RUNBASH script host ready"))
        .map(str::to_string)
    else {
        panic!("no script host:\n{log}");
    };
    let out = run(&mut c, "many.sh");
    let held = out.lines().filter(|l| *l == "held").count();
    // the group's own peak, while the session (and so the group) still lives
    let group = parents[0].join(format!("s{session}"));
    let peak = ["memory.peak", "memory.max_usage_in_bytes"]
        .iter()
        .find_map(|f| fs::read_to_string(group.join(f)).ok())
        .map(|p| p.trim().to_string());
    eprintln!("{held} of 8 processes held 20 MB each; group peak {peak:?} bytes; {ready}");
    assert!(
        held * 20 <= 64,
        "{held} processes held 20 MB each ({} MB) under 64M; {ready}",
        held * 20
    );
    assert!(
        ready.contains("ready: cgroup v"),
        "cgroups are usable here, yet {ready}"
    );
    let peak: u64 = peak.expect("the group's peak usage").parse().unwrap();
    assert!(peak <= 64 << 20, "group peak {peak} bytes over 64M");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    c.end().unwrap();
    // once the session is reaped, the listener removes its group in every
    // hierarchy (the host dies a moment after its session: a busy group is
    // tried again), while tfd runs on
    let groups: Vec<PathBuf> = parents.iter().map(|p| p.join(format!("s{session}"))).collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while groups.iter().any(|g| g.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for g in &groups {
        assert!(!g.exists(), "{} left behind", g.display());
    }
}

/// A script cannot signal anything outside its own run: `kill -STOP` on
/// another session of the same system user fails (the script has a PID
/// namespace of its own), and that session keeps answering. Issue 23 item 5:
/// the script shared the host's PID namespace and stopped it.
#[test]
fn a_script_cannot_stop_another_session_of_its_user() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb9", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdrb9\ninjail\nrunbash\nrunbash_timeout 20\n",
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash"]);
    let mut other = srv.client();
    assert_ok(other.call("INJAIL", b"tok | jails/cell").unwrap());
    assert_eq!(other.raw(b"ECHO before").unwrap(), b"before");
    let victim = srv.session_pid();
    script(&cell, "stop.sh", &format!("kill -STOP {victim}; echo sent=$?\n"));
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    let out = run(&mut c, "stop.sh");
    let stopped = proc_stat(victim).is_some_and(|f| f[0] == "T");
    // leave nothing stopped behind, whatever happened
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(victim), nix::sys::signal::Signal::SIGCONT);
    assert!(!stopped, "the script stopped session {victim} ({out:?})");
    assert_eq!(other.raw(b"ECHO after").unwrap(), b"after");
    assert!(out.contains("sent=1"), "{out:?}");
    // the session that started the script host still starts threads (a GET of
    // several chunks reads the client's cancel codes in one)
    fs::write(cell.join("big"), vec![7u8; 4096]).unwrap();
    let mut got = Vec::new();
    assert_eq!(
        c.get(b"big", 0, 64, &mut got, &mut |_| {}).split().unwrap().unwrap(),
        4096
    );
    assert_eq!(got, vec![7u8; 4096]);
}

/// A session that came in through a Fast Access token into a jail gets its
/// script host too: its scripts run, in a PID namespace of their own.
#[test]
fn a_fast_access_session_runs_scripts_in_its_own_pid_namespace() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdrb10", &[]);
    let db = login_userdb("runbash-fai", "ria", "tfdrb10", "ria pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\ninjail\nrunbash\nfai_max_minutes 5\n"),
        default_user: false,
        ..Default::default()
    });
    let cell = build_jail(&srv, "cell", uid, gid, &["bash"]);
    script(&cell, "pid.sh", "echo $$\n");
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", b"ria ria pw").unwrap());
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    // bash is the first process after the host (process 1) in its namespace
    assert_eq!(run(&mut c, "pid.sh"), "exit 0\n2\n");
    let token = c.faitok(5).split().unwrap().expect("FAITOK");
    c.end().unwrap();
    let (mut f, _) = Client::connect_fai(&srv.client_config(), &token).unwrap();
    assert_eq!(run(&mut f, "pid.sh"), "exit 0\n2\n");
    let log = srv.log();
    assert_eq!(log.matches("RUNBASH script host ready").count(), 2, "{log}");
}

/// A client that leaves while its RUNBASH runs ends the script and the session
/// at once (issue 23, item 4): the wait for the script watches the client's
/// socket too. It used to run on until `runbash_timeout` (up to an hour), the
/// session process with it, for nobody to read the answer.
#[test]
fn a_client_that_leaves_ends_its_script_and_session() {
    let Some((srv, cell)) = sleepy_jail("tfdrb7") else {
        return;
    };
    let mut cfg = srv.client_config();
    cfg.timeout = Some(Duration::from_millis(1500));
    let mut c = Client::connect(&cfg).unwrap();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    let session = srv.session_pid();
    assert!(
        c.raw(b"RUNBASH sleepy.sh").is_err(),
        "the script runs on: the client gives up"
    );
    // `$$` and `$!` are numbers in the script's own PID namespace: look by root
    let running = scripts_in(&cell);
    assert!(running.len() >= 2, "running before the client left: {running:?}");
    drop(c);
    // a bound, not a timing: 30 s tells "at once" from the 600 s
    // runbash_timeout it used to run on for, with room for a loaded machine
    let t = Instant::now();
    while pid_alive(session) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the session outlived its client by {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    no_scripts_left(&cell).expect("script processes outlived their client");
    srv.wait_sessions(0, "the slot freed");
}
