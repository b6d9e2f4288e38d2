//! Issue 88: every command of tf's table, and every subcommand, with its
//! stdout (then its stderr) a pipe whose reader is already gone, ends
//! quietly: by SIGPIPE or with a status of its own, never a panic, a
//! backtrace or "panicked". The commands are read from tf itself (`tf
//! --help` lists each row of the table, `tf help NAME` its usage), so a new
//! command is run here without a word of this file changing: with the
//! examples below when it has some, else with its usage's placeholders
//! filled in. A usage alternative that starts with a literal word (`backup
//! list`, `probe tlb`, `completion zsh`) must have an example of its own.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// One run: the words after `tf`'s connection options, and what its stdin
/// holds (the shell's and `put -`'s input).
struct Run {
    words: Vec<String>,
    stdin: &'static str,
}

fn run(words: &[&str]) -> Run {
    Run {
        words: words.iter().map(|w| w.to_string()).collect(),
        stdin: "",
    }
}

/// The commands `tf --help` lists (every row of tf's table, once).
fn commands() -> Vec<String> {
    let o = Command::new(tf_bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut names: Vec<String> = Vec::new();
    for l in help.lines() {
        let b = l.as_bytes();
        if b.len() < 3 || b[0] != b' ' || !(b[1] == b' ' || b[1] == b'*') || !b[2].is_ascii_lowercase() {
            continue;
        }
        let name: String = l[2..].split(' ').next().unwrap_or_default().to_string();
        if name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    assert!(names.len() > 60, "tf --help lists too few commands: {names:?}\n{help}");
    names
}

/// `tf help NAME`'s arguments: what follows `usage: tf ... NAME `.
fn usage_of(name: &str) -> String {
    let o = Command::new(tf_bin()).args(["help", name]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let head = format!("usage: tf ... {name}");
    let line = text.lines().next().unwrap_or_default();
    assert!(line.starts_with(&head), "tf help {name}: {text}");
    line[head.len()..].trim().to_string()
}

/// The usage's alternatives (split at a top-level `|`) that start with a
/// literal word: a subcommand (`list NAME`, `tlb`, `zsh`, and the optional
/// `[del FINGERPRINT|COMMENT]`'s `del`).
fn subcommands(usage: &str) -> Vec<String> {
    let mut alts = vec![String::new()];
    let mut depth = 0;
    for c in usage.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '|' if depth == 0 => {
                alts.push(String::new());
                continue;
            }
            _ => {}
        }
        alts.last_mut().unwrap().push(c);
    }
    if alts.len() == 1 {
        // a whole optional subcommand: `[del FINGERPRINT|COMMENT]`
        let u = usage.trim();
        if u.starts_with('[') && u.ends_with(']') && !u[1..].starts_with('-') {
            alts = vec![u[1..u.len() - 1].split('|').next().unwrap_or_default().to_string()];
        }
    }
    alts.iter()
        .filter_map(|a| a.split_whitespace().next())
        .filter(|w| w.bytes().all(|b| b.is_ascii_lowercase()) && !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A usage's placeholders filled in: the words outside brackets, each
/// upper-case one a value of its kind; literal words kept.
fn filled(name: &str, usage: &str) -> Run {
    let mut words = vec![name.to_string()];
    let first = usage.split(" | ").next().unwrap_or_default();
    let mut depth = 0;
    for w in first.split_whitespace() {
        let opens = w.matches('[').count() as i32;
        let closes = w.matches(']').count() as i32;
        if depth == 0 && opens == 0 {
            let bare = w.trim_end_matches("...").trim_matches('\'');
            words.push(
                match bare {
                    "DIR" | "SRC" => "m/d",
                    "LOCAL" => "src/d/f01",
                    "TEXT" => "hello",
                    "N" | "ID" | "TIMEOUT" | "MINUTES" => "1",
                    _ if bare.bytes().any(|b| b.is_ascii_uppercase()) => "m/d/f01",
                    _ => bare,
                }
                .to_string(),
            );
        }
        depth += opens - closes;
    }
    Run { words, stdin: "" }
}

/// The examples of the commands that want more than their usage filled in
/// (a file of the right kind, a subcommand, an option that prints more).
fn examples(l: &str) -> BTreeMap<&'static str, Vec<Run>> {
    let mut m: BTreeMap<&'static str, Vec<Run>> = BTreeMap::new();
    let mut add = |name: &'static str, r: Run| m.entry(name).or_default().push(r);
    add("fstat", run(&["fstat", "--raw", "m/d/f01"]));
    add("sha256", run(&["sha256", "m/d/f01", "m/d/f02"]));
    add("sha256", run(&["sha256", "--raw", "m/d/f01"]));
    add("freesp", run(&["freesp", "--raw"]));
    add("df", run(&["df", "nightly"]));
    add("df", run(&["df", "--raw"]));
    add("ls", run(&["ls", "-l", "m/d"]));
    add("lsr", run(&["lsr", "-lah", "m"]));
    add("lock", run(&["lock", "m"]));
    add("dtof", run(&["dtof", "1700000000"]));
    add("ftod", run(&["ftod", "2024-01-02 03:04:05"]));
    add("raw", run(&["raw", "ECHO hello"]));
    add(
        "shell",
        Run {
            words: vec!["shell".into()],
            stdin: "ls m/d\ncd m\nls -l d\npwd\nhelp\nquit\n",
        },
    );
    add("keys", run(&["keys", "del", "nosuchkey"]));
    add("completion", run(&["completion", "bash"]));
    add("completion", run(&["completion", "zsh"]));
    add("completion", run(&["completion", "fish"]));
    add("partials", run(&["partials", l]));
    add("partials", run(&["partials", "--discard", l]));
    add("put", run(&["put", "src/d/f01", "up1"]));
    add("put", run(&["put", "-p", "src/d/f02", "up2"]));
    add("put", run(&["put", "-r", "src", "up3"]));
    add(
        "put",
        Run {
            words: vec!["put".into(), "-".into(), "up4".into()],
            stdin: "from stdin\n",
        },
    );
    add("get", run(&["get", "m/d/f01", "-"]));
    add("get", run(&["get", "-r", "-i", "m", l]));
    add("rcvfile", run(&["rcvfile", "m/d/f01", "-"]));
    add("sdown", run(&["sdown", "m/d/f01", "-"]));
    add("fsizels", run(&["fsizels", "list"]));
    add("mirror", run(&["mirror", "-n", "-i", "m", l]));
    add("mirror", run(&["mirror", "-n", "m", l]));
    add("mirror", run(&["mirror", "-R", "-n", "-i", "src", "m2"]));
    add("mirror", run(&["mirror", "m", l]));
    add("backup", run(&["backup", "src", "nightly"]));
    add("backup", run(&["backup", "list", "nightly"]));
    add(
        "backup",
        run(&["backup", "prune", "nightly", "--keep-last", "9", "--dry-run"]),
    );
    add("backup", run(&["backup", "verify", "nightly"]));
    add("backup", run(&["backup", "verify", "nightly@nosuch"]));
    add("restore", run(&["restore", "nightly", l]));
    add("xcopy", run(&["xcopy", "xc", "m/d/f01", "m"]));
    add("probe", run(&["probe", "host"]));
    add("probe", run(&["probe", "proc", "00"]));
    add("probe", run(&["probe", "sock", "00"]));
    add("probe", run(&["probe", "tlb"]));
    add("oob", run(&["oob", "3"]));
    add("keepalive", run(&["keepalive", "1", "10", "5", "3"]));
    add("ftype", run(&["ftype", "m/d/f01", "m/d"]));
    add("ftypels", run(&["ftypels", "list"]));
    add("fstatls", run(&["fstatls", "list"]));
    add("intread", run(&["intread", "m/d/f01", "-"]));
    add("intwrite", run(&["intwrite", "src/d/f03", "iw"]));
    add("netmutacq_try", run(&["netmutacq_try", "m/d", "tok"]));
    add("netmutrel", run(&["netmutrel", "m/d", "tok"]));
    add("setfsid", run(&["setfsid", "5"]));
    add("setfsperm", run(&["setfsperm", "5", "rfile", "m/d"]));
    add("remfsperm", run(&["remfsperm", "5", "m/d"]));
    add("getfsperm", run(&["getfsperm", "5", "m/d"]));
    add("settz", run(&["settz", "Europe/Paris"]));
    add("dateftz", run(&["dateftz", "UTC"]));
    add("runbash", run(&["runbash", "echo hello"]));
    add("flycontext", run(&["flycontext", "fly"]));
    add("rmkdir", run(&["rmkdir", "a/b/c"]));
    add("mkdir", run(&["mkdir", "made"]));
    add("touch", run(&["touch", "touched"]));
    // last: these change m (a copy of it, where they can)
    add("cpdir", run(&["cpdir", "m/d", "m3"]));
    add("copy", run(&["copy", "m/d/f01", "c1"]));
    add("renam", run(&["renam", "c1", "c2"]));
    add("mv", run(&["mv", "c2", "c3"]));
    add("del", run(&["del", "m3/f4*"]));
    add("rm", run(&["rm", "m3/f3*"]));
    add("xdel", run(&["xdel", "m3", "f2*"]));
    add("xrmdir", run(&["xrmdir", "a", "c"]));
    add("rmdir", run(&["rmdir", "-r", "m3"]));
    m
}

/// Runs `cmd` (stdin `input`) with stdout, or with `stderr` stderr, a pipe
/// whose reader is gone; the text it wrote on the other one and how it ended.
fn closed(mut cmd: Command, input: &str, stderr: bool) -> (String, std::process::ExitStatus) {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    if stderr {
        cmd.stdout(Stdio::piped()).stderr(Stdio::from(w));
    } else {
        cmd.stdout(Stdio::from(w)).stderr(Stdio::piped());
    }
    let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    // read what it says on the open stream while waiting, so it never blocks
    let mut open = if stderr {
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>
    } else {
        Box::new(child.stderr.take().unwrap())
    };
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = open.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let text = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    (text, status)
}

/// `cmd` run three times: stdout closed, stderr closed, then as usual. The
/// first two end quietly ([`quiet`]); when the usual run printed on stdout,
/// the first ended as a Unix tool whose reader went away does, by SIGPIPE
/// (not a success that hides the lost output). What went wrong, if anything.
fn check(cmd: impl Fn() -> Command, input: &str, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let (out_text, out_status) = closed(cmd(), input, false);
    if !quiet(&out_text, out_status) {
        bad.push(format!("tf {what} (stdout closed): {out_status:?}\n{out_text}"));
    }
    let (text, status) = closed(cmd(), input, true);
    if !quiet(&text, status) {
        bad.push(format!("tf {what} (stderr closed): {status:?}\n{text}"));
    }
    let mut c = cmd();
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let o = child.wait_with_output().unwrap();
    if !o.stdout.is_empty() && out_status.signal() != Some(libc::SIGPIPE) {
        bad.push(format!(
            "tf {what} prints {} bytes on stdout, but with stdout closed it ended {out_status:?}, not by SIGPIPE\n{out_text}",
            o.stdout.len()
        ));
    }
    bad
}

/// No panic, no backtrace, "panicked" nowhere, and SIGPIPE or a status of
/// tf's own (not 101, Rust's panic).
fn quiet(text: &str, status: std::process::ExitStatus) -> bool {
    !text.contains("panicked")
        && !text.contains("RUST_BACKTRACE")
        && !text.contains("stack backtrace")
        && (status.signal() == Some(libc::SIGPIPE) || status.code().is_some_and(|c| c != 101))
}

#[test]
fn every_command_and_subcommand_of_the_table_ends_quietly_when_its_reader_is_gone() {
    let srv = Server::start();
    let here = tempdir("cli_closed_pipe_all");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..50 {
        fs::write(src.join(format!("d/f{i:02}")), format!("file {i}\n").repeat(200)).unwrap();
    }
    let local = here.join("down");
    let l = local.to_str().unwrap().to_string();
    let setup = |args: &[&str]| {
        let o = srv.tf_command(args).current_dir(&here).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    setup(&["mirror", "-R", "src", "m"]);
    setup(&["backup", "src", "nightly"]);
    fs::write(srv.path("list"), "m/d/f01\nm/d/f02\nm/d\n").unwrap();
    let mut examples = examples(&l);
    let mut bad: Vec<String> = Vec::new();
    let mut ran = 0;
    for name in commands() {
        let usage = usage_of(&name);
        if name == "watch" {
            // waits for news: watch_ends_quietly_when_its_reader_is_gone
            continue;
        }
        let mine = examples.remove(name.as_str()).unwrap_or_default();
        for sub in subcommands(&usage) {
            assert!(
                mine.iter().any(|r| r.words.get(1) == Some(&sub)),
                "tf {name} {sub} (its usage: {usage}) has no example here: add one"
            );
        }
        let mut runs = vec![filled(&name, &usage)];
        runs.extend(mine);
        // the command's own help prints too
        runs.push(run(&["help", &name]));
        for r in runs {
            let words: Vec<&str> = r.words.iter().map(String::as_str).collect();
            let cmd = || {
                let mut c = srv.tf_command(&words);
                c.current_dir(&here);
                c
            };
            ran += 1;
            bad.extend(check(cmd, r.stdin, &words.join(" ")));
            let _ = fs::remove_dir_all(&local);
        }
    }
    assert!(
        examples.is_empty(),
        "examples of commands tf --help does not list: {:?}",
        examples.keys().collect::<Vec<_>>()
    );
    // no server needed: the help, the version, a batch file, watch's wait
    let batch = here.join("batch");
    fs::write(&batch, "ls m/d\nfstat m/d/f01\necho hello\n").unwrap();
    for words in [
        &["--help"][..],
        &["--version"],
        &["help"],
        &["-b", batch.to_str().unwrap()],
    ] {
        let cmd = || {
            let mut c = if words[0] == "-b" {
                srv.tf_command(words)
            } else {
                let mut c = Command::new(tf_bin());
                c.args(words);
                c
            };
            c.current_dir(&here);
            c
        };
        ran += 1;
        bad.extend(check(cmd, "", &words.join(" ")));
    }
    eprintln!("{ran} command lines, each run with stdout closed, stderr closed and as usual");
    assert!(
        bad.is_empty(),
        "{} of {ran} runs did not end quietly:\n{}",
        bad.len(),
        bad.join("\n")
    );
    let _ = fs::remove_dir_all(&here);
}

/// A full disk behind `>`: the listing is lost, and tf says so with status
/// 1, where ls, lsv2, mirror -n and runbash's output went unsaid with 0.
#[test]
fn a_listing_that_cannot_be_written_is_an_error() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("d")).unwrap();
    fs::write(srv.path("d/f"), "x").unwrap();
    for words in [&["ls", "d"][..], &["lsv2", "d"]] {
        let o = srv
            .tf_command(words)
            .stdout(fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.code() == Some(1) && err.contains("cannot write to standard output"),
            "tf {}: {:?} {err}",
            words.join(" "),
            o.status
        );
    }
}

#[test]
fn watch_ends_quietly_when_its_reader_is_gone() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("w")).unwrap();
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    let mut child = srv
        .tf_command(&["watch", "w", ""])
        .stdin(Stdio::null())
        .stdout(Stdio::from(w))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "watch still running after 30 s");
        // a new file each round, until watch has heard of one and written
        let o = srv.tf(&["touch", &format!("w/f{n}")]);
        assert!(o.status.success(), "touch: {}", String::from_utf8_lossy(&o.stderr));
        n += 1;
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut err = String::new();
    use std::io::Read;
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert!(
        quiet(&err, status) && status.signal() == Some(libc::SIGPIPE),
        "watch: {status:?}\n{err}"
    );
}
