//! The newcomer's path, run for real: `tfd demo` as README's quick start starts
//! it, then every command of every ```sh block of README.md, in order, against
//! that demo, with the binaries cargo built for this test standing in for
//! `target/release/*` and `tf`/`tfd`/`tfpasswd` on PATH. A plain ``` block
//! right after a ```sh block is the output of that block's last command and
//! must appear in it. The few commands that cannot run here (they change the
//! machine, or are the whole test suite) are listed below with the reason and
//! what is checked instead, so a new README command cannot go untested by
//! accident. Also the demo's own promises: it binds before printing, suggests
//! --port when the port is taken, and has its own admin socket.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tfd_testkit::*;

/// A running `tfd demo`, stopped on drop.
struct Demo {
    child: Child,
    banner: String,
    hash: String,
}

impl Demo {
    /// Starts `tfd demo ARGS --port PORT` in `cwd` and waits for its banner.
    fn start(cwd: &Path, args: &[&str], port: u16) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tfd"))
            .args(args)
            .args(["--port", &port.to_string()])
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = String::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    banner.push_str(&line);
                    banner.push('\n');
                    if line.starts_with("Stop with Ctrl-C.") {
                        break;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("tfd demo printed no banner ({e}): {banner}");
                }
            }
        }
        let hash = hash_of(&banner);
        Demo { child, banner, hash }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// A free port whose UDP side is free too (the demo serves both).
fn free_tcp_udp_port() -> u16 {
    loop {
        let p = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// A working directory with `target/release/{tfd,tf,tfpasswd}` and a `bin/`
/// for PATH, both pointing at the binaries under test.
fn workdir(tag: &str) -> (PathBuf, String) {
    let dir = tempdir(tag);
    let rel = dir.join("target/release");
    let bin = dir.join("bin");
    fs::create_dir_all(&rel).unwrap();
    fs::create_dir_all(&bin).unwrap();
    for (name, exe) in [
        ("tfd", env!("CARGO_BIN_EXE_tfd")),
        ("tf", tfd_testkit::tf_bin()),
        ("tfpasswd", env!("CARGO_BIN_EXE_tfpasswd")),
    ] {
        std::os::unix::fs::symlink(exe, rel.join(name)).unwrap();
        std::os::unix::fs::symlink(exe, bin.join(name)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    (dir, path)
}

/// Commands README shows that this test does not run, why, and what it checks
/// instead (`None`: nothing more than the reason).
fn not_run(line: &str) -> Option<(&'static str, Option<Vec<&'static str>>)> {
    if line == "scripts/test" {
        return Some(("the whole suite, of which this test is a part", None));
    }
    if line == "cargo build --release" {
        return Some(("cargo built the binaries under test already", None));
    }
    if line.starts_with("apt-get install -y ") {
        // the packages must be installed here, or nothing would have built
        return Some((
            "changes the machine",
            Some(vec![
                "build-essential",
                "pkg-config",
                "libssl-dev",
                "curl",
                "ca-certificates",
            ]),
        ));
    }
    // README's jail recipe: a served root under /srv, the system's user file
    // and config, for system users alice and bob
    if line.contains("/srv/tfd")
        || line.starts_with("tfpasswd add alice --jail")
        || line == "tfpasswd add bob"
        || line == "tfd -c /etc/tfd/tfd.conf --check-config"
    {
        return Some((
            "changes the machine; tests/security/user_jail.rs and checks_agree.rs build that layout for real",
            None,
        ));
    }
    // README's key-login recipe: the system's key directory, a user alice with keys
    if line.starts_with("tfpasswd key ")
        || line.starts_with("tf -v --user alice")
        || line.starts_with("tf --user alice -i")
        || line.contains("/etc/tfd/authorized_keys")
        || line == "tf -v ls"
    {
        return Some((
            "changes the machine; tests/cli/cli_keys.rs and cli_single_user_keys.rs do it for real with keys made by ssh-keygen and an ssh-agent",
            None,
        ));
    }
    // README's copy-id recipe: a multi-user server with user_keys yes
    if line.starts_with("tf --user alice ") {
        return Some((
            "needs a multi-user server; tests/cli/cli_copy_id.rs does it for real, on a jailed one, with keys made by ssh-keygen",
            None,
        ));
    }
    if line == "python3 -m venv tfd-venv && tfd-venv/bin/pip install ./python" {
        return Some((
            "python/tests/test_readme.py runs README's Python example against tfd demo with the package pip installed from the checkout (scripts/pytest-client)",
            None,
        ));
    }
    if line.starts_with("curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh") {
        return Some(("downloads rustup; cargo built this test, so Rust is there", None));
    }
    None
}

struct Block {
    lang: String,
    lines: Vec<String>,
}

fn fenced_blocks(md: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut cur: Option<Block> = None;
    for line in md.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("```") {
            match cur.take() {
                Some(b) => blocks.push(b),
                None => {
                    cur = Some(Block {
                        lang: rest.trim().to_string(),
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(b) = cur.as_mut() {
            b.lines.push(t.to_string());
        }
    }
    assert!(cur.is_none(), "README.md has an unclosed fenced block");
    blocks
}

/// `cmd   # comment` → (cmd, comment).
fn split_comment(line: &str) -> (String, String) {
    match line.find("  #").or_else(|| line.find(" # ")) {
        Some(i) => (
            line[..i].trim().to_string(),
            line[i..].trim().trim_start_matches('#').trim().to_string(),
        ),
        None => (line.trim().to_string(), String::new()),
    }
}

#[test]
fn every_readme_command_runs_against_a_real_demo() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = fenced_blocks(&readme);
    let (dir, path) = workdir("readme");
    let port = free_tcp_udp_port();
    // files the examples move
    fs::write(dir.join("big.iso"), pattern(3 << 20, 7)).unwrap();
    fs::write(dir.join("notes.txt"), b"meeting at 10\n").unwrap();
    let subst = |line: &str, hash: &str| {
        line.replace("10345", &port.to_string())
            .replace("--hash ...", &format!("--hash {hash}"))
            .replace("TF_HASH=...", &format!("TF_HASH={hash}"))
    };
    let mut demo: Option<Demo> = None;
    // what README exports stays in force for the blocks after it, as in a shell
    let mut exports = String::new();
    let mut ran = 0;
    let mut last_output: Option<(String, String)> = None;
    for b in &blocks {
        if b.lang.is_empty() {
            // the output of the previous block's last command
            if let Some((cmd, out)) = &last_output {
                for want in b.lines.iter().filter(|l| !l.is_empty()) {
                    assert!(
                        out.contains(want.as_str()),
                        "README shows {want:?} for `{cmd}`, it printed:\n{out}"
                    );
                }
            }
            last_output = None;
            continue;
        }
        if b.lang != "sh" {
            last_output = None;
            continue;
        }
        let mut script = String::new();
        let mut cmds: Vec<(String, i32)> = Vec::new();
        for raw in &b.lines {
            let (cmd, comment) = split_comment(raw);
            if cmd.is_empty() {
                continue;
            }
            // the quick start: built by cargo already (the workdir's
            // target/release holds the binaries under test)
            if let Some(rest) = cmd.strip_prefix("cargo build --release && target/release/tfd demo") {
                assert!(demo.is_none(), "README starts the demo twice");
                let mut args = vec!["demo"];
                args.extend(rest.split_whitespace());
                let d = Demo::start(&dir, &args, port);
                // it printed how to connect: the tf line and the ctl line work
                assert!(d.banner.contains(&format!(
                    "--server 127.0.0.1:{port} --key tfd-demo/pub.pem --hash {}",
                    d.hash
                )));
                assert!(d.banner.contains("python3 -m venv"), "{}", d.banner);
                assert!(d.banner.contains(&format!("ctl-{port}.sock stats")), "{}", d.banner);
                demo = Some(d);
                ran += 1;
                continue;
            }
            if let Some((why, packages)) = not_run(&cmd) {
                eprintln!("not run: {cmd} ({why})");
                if let Some(pkgs) = packages {
                    if Path::new("/usr/bin/dpkg").exists() {
                        let o = Command::new("dpkg").arg("-s").args(&pkgs).output().unwrap();
                        assert!(
                            o.status.success(),
                            "README's packages are not all installed here: {pkgs:?}"
                        );
                    }
                }
                continue;
            }
            let hash = demo.as_ref().map(|d| d.hash.clone()).unwrap_or_default();
            let expect = comment.strip_prefix("exits ").and_then(|n| n.parse().ok()).unwrap_or(0);
            let idx = cmds.len();
            cmds.push((subst(&cmd, &hash), expect));
            script.push_str(&format!("{{ {} ; }} 2>&1; echo \"{idx} $?\" >&3\n", subst(&cmd, &hash)));
            if cmd.starts_with("export ") {
                exports.push_str(&format!("{} 2>/dev/null\n", subst(&cmd, &hash)));
            }
        }
        if cmds.is_empty() {
            last_output = None;
            continue;
        }
        assert!(demo.is_some(), "README runs {:?} before starting the demo", cmds[0].0);
        let rc_file = dir.join("rc");
        let out: Output = Command::new("bash")
            .arg("-c")
            .arg(format!("exec 3>{}\n{}{script}", rc_file.display(), exports))
            .current_dir(&dir)
            .env("PATH", &path)
            .env_remove("TF_SERVER")
            .env_remove("TF_KEY")
            .env_remove("TF_HASH")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let rcs = fs::read_to_string(&rc_file).unwrap();
        let rcs: Vec<i32> = rcs
            .lines()
            .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(rcs.len(), cmds.len(), "a README block stopped early:\n{script}\n{text}");
        for ((cmd, want), got) in cmds.iter().zip(&rcs) {
            assert_eq!(
                got, want,
                "README command `{cmd}` exited {got}, expected {want}:\n{text}"
            );
        }
        ran += cmds.len();
        // the block's last command's output, for a following plain block: run
        // again alone would change state, so take the whole block's output
        last_output = Some((cmds.last().unwrap().0.clone(), text));
    }
    drop(demo);
    assert!(ran >= 20, "only {ran} README commands ran");
    // what the examples did, on disk
    let data = dir.join("tfd-demo/data");
    assert_eq!(
        fs::read(data.join("isos/big.iso")).unwrap(),
        fs::read(dir.join("big.iso")).unwrap()
    );
    assert_eq!(fs::read(data.join("docs/2026/notes.txt")).unwrap(), b"meeting at 10\n");
    assert_eq!(fs::read(dir.join("copy.txt")).unwrap(), b"meeting at 10\n");
    assert!(!data.join("notes.txt").exists(), "rcvfile --delete left it");
    assert!(!data.join("missing").exists());
    let users = fs::read_to_string(dir.join("users")).unwrap();
    assert!(users.starts_with("alice:") && users.contains("$6$"), "{users}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn demo_on_a_taken_port_says_so_first_and_suggests_another() {
    let dir = tempdir("demo-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["demo", "--port", &port.to_string()])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        o.stdout.is_empty(),
        "printed before binding: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        err.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{err}"
    );
    // the next port above that was free when it looked (another test may hold
    // port + 1 at that moment)
    let suggested: u16 = err
        .split("hint: pick another port: tfd demo --port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no port suggested: {err}"));
    assert!(suggested > port && suggested <= port.saturating_add(100), "{err}");
    assert!(!dir.join("tfd-demo").exists(), "created the demo folder anyway");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn demo_has_its_own_admin_socket_and_ctl_names_the_one_it_asks() {
    let (dir, _) = workdir("demo-ctl");
    let port = free_tcp_udp_port();
    let d = Demo::start(&dir, &["demo"], port);
    let sock = format!("tfd-demo/ctl-{port}.sock");
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["ctl", "--socket", &sock, "stats"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // everything the demo keeps is in its folder: Fast Access tokens too
    let cfg = tfd::config::Config::load(&dir.join("tfd-demo/tfd.conf")).unwrap();
    let demo_dir = fs::canonicalize(dir.join("tfd-demo")).unwrap();
    assert!(cfg.fai_dir.starts_with(&demo_dir), "{}", cfg.fai_dir.display());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("uptime"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // without -c/--socket: it says which socket it asks; /etc/tfd/tfd.conf and
    // /run/tfd/ctl.sock belong to the system, so a config naming a dead socket
    // stands in for "some other tfd"
    let conf = dir.join("other.conf");
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["ctl", "-c", conf.to_str().unwrap(), "stats"])
        .current_dir(&dir)
        .output()
        .unwrap();
    // -c given: no notice, the configured (here: default) socket is used
    assert!(!String::from_utf8_lossy(&o.stderr).contains("asking the tfd at"));
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["ctl", "stats"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tfd ctl: asking the tfd at "), "{err}");
    assert!(err.contains("-c FILE or --socket PATH picks another"), "{err}");
    if !o.status.success() {
        // no system tfd here: the live demo socket is offered
        assert!(
            err.contains(&format!("hint: a tfd demo here answers on --socket {sock}")),
            "{err}"
        );
    }
    drop(d);
    let _ = fs::remove_dir_all(&dir);
}

/// git run in the checkout `root`, which it trusts whoever owns it: README's
/// quick start builds as an ordinary user and `scripts/test` runs as root in
/// the same checkout, where a plain git refuses a repository another user
/// owns ("dubious ownership", issue 88). `-c safe.directory` is config git
/// honours from its command line.
pub(crate) fn git_in(root: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-c")
        .arg(format!("safe.directory={}", root.display()))
        .current_dir(root);
    c
}

/// `dir` emptied of everything but `keep`, then filled with the checkout's
/// files (what git tracks or would track: a fresh clone of the working tree),
/// each with its modification time, so cargo's fingerprints see what changed.
fn fresh_copy(dir: &Path, keep: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = git_in(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "git ls-files in {}: {e} (this test copies the checkout with git)",
                root.display()
            )
        });
    assert!(
        listed.status.success(),
        "git ls-files in {}: {} (this test copies a git checkout)",
        root.display(),
        String::from_utf8_lossy(&listed.stderr)
    );
    fs::create_dir_all(dir).unwrap();
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.file_name() != keep {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                fs::remove_dir_all(&p).unwrap();
            } else {
                fs::remove_file(&p).unwrap();
            }
        }
    }
    for rel in listed.stdout.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let from = root.join(rel);
        let Ok(meta) = fs::symlink_metadata(&from) else {
            continue;
        }; // deleted, not yet staged
        let to = dir.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from).unwrap(), &to).unwrap();
        } else if meta.is_file() {
            fs::copy(&from, &to).unwrap();
            fs::File::options()
                .write(true)
                .open(&to)
                .unwrap()
                .set_modified(meta.modified().unwrap())
                .unwrap();
        }
    }
}

/// README's "Quick start" section: its ```sh blocks, each a list of commands.
fn quick_start_blocks() -> Vec<Vec<String>> {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("\n## Quick start\n")
        .nth(1)
        .and_then(|r| r.split("\n## ").next())
        .expect("README has a Quick start section");
    fenced_blocks(section)
        .into_iter()
        .filter(|b| b.lang == "sh")
        .map(|b| {
            b.lines
                .iter()
                .map(|l| split_comment(l).0)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

/// README's quick start as a newcomer meets it: in a fresh copy of the
/// checkout, whose target/release holds no tfd, tf or tfpasswd yet, the
/// quick start's lines for real (cargo builds what they say), the demo
/// started by its line, then README's next line and every tf and `tfd ctl`
/// command the demo printed, each as printed, with a PATH that holds no tf
/// nor tfd (issue 44: `cargo run --release --bin tfd -- demo` built tfd
/// alone, so README's `tf ...` had nothing to run, and the demo's `tfd ctl
/// ...` named a program not on PATH). The copy's target directory is kept
/// between runs, seeded from this build's target/release, so cargo builds
/// only what changed; the copy itself is made afresh each run.
#[test]
fn the_quick_start_works_line_by_line_in_a_fresh_copy() {
    let blocks = quick_start_blocks();
    assert!(
        blocks.len() >= 2,
        "README's quick start has its commands and the tf line: {blocks:?}"
    );
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("quick-start");
    let copy = base.join("checkout");
    fresh_copy(&copy, "target");
    // cargo's own cache, as a newcomer's second build has it; the binaries
    // themselves are gone, as in a fresh clone
    keep_the_build_cache_only(&copy);
    // cargo's directory and the system's: no tf, no tfd
    let path = cargo_and_system_path();
    let port = free_tcp_udp_port();
    let sh = |line: &str| {
        let mut c = Command::new("bash");
        c.arg("-c")
            .arg(line)
            .current_dir(&copy)
            .env("PATH", &path)
            .env("XDG_STATE_HOME", base.join("state"))
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("TF_SERVER")
            .env_remove("TF_KEY")
            .env_remove("TF_HASH");
        c
    };
    let _ = fs::remove_dir_all(copy.join("tfd-demo"));
    // the first block: commands before the demo, then the demo (in the
    // background, its own process group, stopped at the end)
    let mut demo: Option<(Child, mpsc::Receiver<String>)> = None;
    for line in &blocks[0] {
        if line == "scripts/test" {
            continue;
        }
        let line = line.replace("10345", &port.to_string());
        if line.contains(" demo") && demo.is_none() {
            let line = if line.contains("--port") {
                line
            } else {
                format!("{line} --port {port}")
            };
            let mut c = sh(&line);
            std::os::unix::process::CommandExt::process_group(&mut c, 0);
            demo = Some(spawn_reading_lines(c));
        } else {
            let o = sh(&line).output().unwrap();
            assert!(
                o.status.success(),
                "README's quick start `{line}` failed:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    let (mut child, rx) = demo.expect("README's quick start starts the demo");
    struct Stop(i32);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-self.0), nix::sys::signal::SIGTERM);
        }
    }
    let _stop = Stop(child.id() as i32);
    // a fresh build comes first: minutes on a loaded machine
    let banner = wait_for_the_demo(&mut child, &rx);
    let hash = hash_of(&banner);
    made_here_is_ignored_by_git(&banner);
    // started as root (as this test runs), it says plainly what that means
    if is_root() {
        assert!(
            banner.contains("tfd demo: WARNING: started as root, so this demo serves as root: every client"),
            "{banner}"
        );
    }
    // README's next lines, then the tf and ctl commands the demo printed,
    // each as it stands
    let mut lines: Vec<String> = blocks[1]
        .iter()
        .map(|l| {
            l.replace("10345", &port.to_string())
                .replace("--hash ...", &format!("--hash {hash}"))
        })
        .collect();
    let printed: Vec<String> = banner
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| l.contains("--server") || l.contains(" ctl "))
        .map(str::to_string)
        .collect();
    assert!(printed.len() >= 3, "the demo printed no tf or ctl commands:\n{banner}");
    lines.extend(printed);
    for line in &lines {
        let o = sh(line).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "`{line}`, as README or the demo printed it, failed in a fresh copy:\n{out}\nthe demo said:\n{banner}"
        );
        if line.ends_with("echo hello") {
            assert!(out.contains("hello"), "`{line}`: {out}");
        }
        if line.ends_with(" stats") {
            assert!(out.contains("uptime"), "`{line}`: {out}");
        }
    }
    drop(_stop);
    let _ = child.wait();
    let _ = fs::remove_dir_all(copy.join("tfd-demo"));
}

/// What the demo's printed commands make in the current directory (its
/// folder, the Python venv it suggests) is ignored by git, so a newcomer who
/// follows them in the checkout sees a clean `git status` (issue 65).
fn made_here_is_ignored_by_git(banner: &str) {
    let mut made: Vec<&str> = banner
        .split_whitespace()
        .filter_map(|w| w.strip_suffix("/pub.pem"))
        .collect();
    made.extend(
        banner
            .split("python3 -m venv ")
            .skip(1)
            .filter_map(|r| r.split_whitespace().next()),
    );
    made.sort_unstable();
    made.dedup();
    assert!(made.len() >= 2, "the demo printed no folder or venv:\n{banner}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in made {
        let o = git_in(root)
            .args(["check-ignore", "-q", "--no-index", &format!("{name}/")])
            .status()
            .unwrap_or_else(|e| panic!("git check-ignore in {}: {e}", root.display()));
        assert!(
            o.success(),
            "`{name}`, which the demo's printed commands make in the current directory, is not in .gitignore"
        );
    }
}

/// Leaves in `copy` cargo's cache of our release build (a newcomer's second
/// build has it) without the binaries themselves, as in a fresh clone.
fn keep_the_build_cache_only(copy: &Path) {
    let release = copy.join("target/release");
    let ours = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("release");
    if !release.exists() && ours.is_dir() {
        fs::create_dir_all(copy.join("target")).unwrap();
        let st = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(&ours)
            .arg(&release)
            .status()
            .unwrap();
        assert!(st.success(), "cp -a {} {}", ours.display(), release.display());
    }
    for bin in ["tfd", "tf", "tfpasswd"] {
        let _ = fs::remove_file(release.join(bin));
    }
}

/// The PATH README's lines run with: cargo's directory and the system's,
/// neither holding a tf or a tfd.
fn cargo_and_system_path() -> String {
    // (CARGO under cargo test; else the cargo on this PATH)
    let cargo = std::env::var_os("CARGO")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join("cargo"))
                .find(|p| p.is_file())
        })
        .expect("this test runs README's cargo line: no cargo (CARGO, or on PATH)");
    let cargo_dir = cargo.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let path = format!("{cargo_dir}:/usr/bin:/bin");
    for dir in path.split(':') {
        for bin in ["tf", "tfd"] {
            assert!(!Path::new(dir).join(bin).exists(), "{dir}/{bin} is on this test's PATH");
        }
    }
    path
}

/// Spawns `c` (the demo, in its own process group) with a thread per output
/// stream sending its lines.
fn spawn_reading_lines(mut c: Command) -> (Child, mpsc::Receiver<String>) {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
    }
    (child, rx)
}

/// The demo's banner, up to its "Stop with Ctrl-C." line; it must come
/// within 30 minutes (a fresh build comes first) and before the demo ends.
fn wait_for_the_demo(child: &mut Child, rx: &mpsc::Receiver<String>) -> String {
    let mut banner = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(1800);
    loop {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(l) => {
                banner.push_str(&l);
                banner.push('\n');
                if l.starts_with("Stop with Ctrl-C.") {
                    break;
                }
            }
            Err(_) => {
                if let Some(st) = child.try_wait().unwrap() {
                    panic!("README's quick start ended ({st}) before the demo served:\n{banner}");
                }
                assert!(std::time::Instant::now() < deadline, "no demo after 30 min:\n{banner}");
            }
        }
    }
    banner
}

/// The application hash in the demo's banner line, `tfd demo: serving DIR
/// on ADDR (protocol P, hash H)`: what comes after `, hash ` (a fresh
/// build's output before it names crates such as `universal-hash v0.5.1`).
fn hash_of(banner: &str) -> String {
    banner
        .split(", hash ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no hash in the banner: {banner}"))
        .to_string()
}
