//! The command tf prints to continue an interrupted run, pasted into every
//! shell a user may have (issue 64, finding 2): dash (Debian's and Ubuntu's
//! /bin/sh), bash, zsh and busybox sh must each read it back as exactly the
//! arguments of the run, whatever the remote names hold (quotes, controls,
//! bidi and zero-width marks, `$(...)`, globs, zsh's `=cmd`), and run
//! nothing a name carries. A shell that is missing fails the test: it is
//! the proof that the printed command is safe there.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// The shells a printed command is pasted into: the program and its words.
const SHELLS: [&[&str]; 4] = [&["dash"], &["bash"], &["zsh"], &["busybox", "sh"]];

/// Remote directory names that break a careless quoting: the issue's two,
/// then each class of character a shell or a terminal treats specially.
const NAMES: [&str; 17] = [
    "\x1b';touch PWNED_7;'",
    "it's",
    "\u{202e}cod.exe",
    "zero\u{200b}width",
    "tab\there",
    "cr\rx",
    "line\nbreak",
    "%d\\n\\",
    "a`b $(touch PWNED_8) \"q\"",
    "=ls",
    "!x",
    "del\x7f",
    "c1\u{85}\u{9b}x",
    "é ü",
    "é\u{200f}ü",
    "~",
    "*",
];

/// The program `name` on PATH; the test fails naming it when it is missing.
fn shell_on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: a printed command must be proved in it (scripts/deps installs it)")
        })
}

/// A directory holding a `tf` that writes its arguments, each ended by a
/// NUL, to the file named by `$TF_ARGV`.
fn fake_tf(at: &Path) -> PathBuf {
    let bin = at.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let tf = bin.join("tf");
    fs::write(&tf, "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$TF_ARGV\"\n").unwrap();
    fs::set_permissions(&tf, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `cmd` pasted into `shell` (read from its standard input, as a terminal
/// gives it) in the empty directory `cwd`: the arguments the fake tf got.
fn pasted(shell: &[&str], cmd: &str, bin: &Path, cwd: &Path) -> Vec<String> {
    let argv = cwd.parent().unwrap().join(format!("argv-{}", shell.join("-")));
    let _ = fs::remove_file(&argv);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new(shell_on_path(shell[0]))
        .args(&shell[1..])
        .current_dir(cwd)
        .env("PATH", path)
        .env("TF_ARGV", &argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{cmd}\n").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let got = fs::read(&argv).unwrap_or_else(|_| panic!("{shell:?} never ran tf: {}", said(&o)));
    let mut words: Vec<String> = got
        .split(|b| *b == 0)
        .map(|w| String::from_utf8(w.to_vec()).unwrap())
        .collect();
    words.pop(); // after the last NUL
    words
}

fn said(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `tf get -r NAMES... out` run in `here` against `srv` (slowed), interrupted
/// once a file has landed: what it said, and the words of the run after `tf`.
fn interrupted_get(srv: &Server, names: &[&str], here: &Path) -> (Output, Vec<String>) {
    let mut args = vec!["get", "-r"];
    args.extend(names);
    args.push("out");
    fs::create_dir_all(here.join("out")).unwrap();
    let mut cmd = srv.tf_command(&args);
    cmd.current_dir(here)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let words: Vec<String> = cmd.get_args().map(|a| a.to_str().unwrap().to_string()).collect();
    let child = cmd.spawn().unwrap();
    let t0 = Instant::now();
    let landed = || {
        fs::read_dir(here.join("out"))
            .map(|rd| {
                rd.flatten()
                    .any(|e| fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some()))
            })
            .unwrap_or(false)
    };
    while !landed() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
    (child.wait_with_output().unwrap(), words)
}

/// A server whose tree holds a directory per name, each with files slow
/// enough to send that the run is interrupted in the middle.
fn server_with(names: &[&str]) -> Server {
    let srv = Server::start_with("rate_limit_session 2M\n");
    for (i, name) in names.iter().enumerate() {
        let d = srv.path(name);
        fs::create_dir_all(&d).unwrap();
        for k in 0..2 {
            fs::write(d.join(format!("f{k}.bin")), pattern(1 << 20, (i * 2 + k) as u64)).unwrap();
        }
    }
    srv
}

/// Finding 2: tf printed `$'\x1b\';touch PWNED_7;\''`, which dash reads as
/// `$` and a quoted string, so pasting the continuation ran `touch PWNED_7`.
/// Now the printed command holds POSIX quoting alone, no character raw that
/// a terminal acts on, and each shell reads back exactly the run's words
/// (with `--resume`) and runs nothing else. On the old code dash got other
/// arguments and made PWNED_7.
#[test]
fn a_printed_continuation_reads_back_exactly_in_every_shell() {
    let shells: Vec<PathBuf> = SHELLS.iter().map(|s| shell_on_path(s[0])).collect();
    assert_eq!(shells.len(), SHELLS.len());
    let srv = server_with(&NAMES);
    let here = tempdir("paste_continuation");
    let (o, words) = interrupted_get(&srv, &NAMES, &here);
    assert!(!o.status.success(), "finished before the interrupt: {}", said(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("`tf ") && l.contains("` continues"))
        .unwrap_or_else(|| panic!("no command printed: {}", said(&o)));
    let cmd = &line[line.find("`tf ").unwrap() + 1..line.rfind("` continues").unwrap()];
    let mut want = words.clone();
    want.push("--resume".into());
    let bin = fake_tf(&here);
    let results: Vec<(String, Vec<String>, Vec<String>)> = std::thread::scope(|s| {
        let hands: Vec<_> = SHELLS
            .iter()
            .map(|shell| {
                let (bin, here) = (&bin, &here);
                s.spawn(move || {
                    let cwd = here.join(format!("paste-{}", shell.join("-")));
                    fs::create_dir_all(&cwd).unwrap();
                    let got = pasted(shell, cmd, bin, &cwd);
                    let left: Vec<String> = fs::read_dir(&cwd)
                        .unwrap()
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    (shell.join(" "), got, left)
                })
            })
            .collect();
        hands.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (shell, got, left) in results {
        assert!(
            left.is_empty(),
            "pasted into {shell}, a name ran a command: {left:?}\n{cmd}"
        );
        assert_eq!(got, want, "{shell} read back other arguments from\n{cmd}");
    }
    assert!(
        !cmd.chars().any(|c| c.is_control() || tfp_wire::escape::hides_text(c)),
        "the printed command holds a character raw: {cmd:?}"
    );
    let _ = fs::remove_dir_all(&here);
}

/// A name ending in a line break cannot be pasted (a command substitution
/// drops it, a quoted one spans lines): the interrupted run says which
/// command continues it and why it is not printed, with the name escaped.
#[test]
fn a_name_no_shell_keeps_is_refused_for_pasting_with_the_reason() {
    let names = ["ends\n", "plain"];
    let srv = server_with(&names);
    let here = tempdir("paste_refused");
    let (o, _) = interrupted_get(&srv, &names, &here);
    assert!(!o.status.success(), "finished before the interrupt: {}", said(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "the same command with --resume (not printed for pasting: ends\\n ends in a line break, \
             which a shell drops from a pasted word) continues them"
        ),
        "{}",
        said(&o)
    );
    assert!(!err.contains("`tf "), "{}", said(&o));
    let _ = fs::remove_dir_all(&here);
}
