//! A CLI people already know (issue 32, item 5), through the real `tf` against
//! a real tfd: `--version`, one-line option errors, `rm`/`mv`, `put FILE DIR`,
//! `ls -la`/`-lh`/`ls FILE`/patterns with local times, `del` of patterns,
//! `sha256` as sha256sum (checked by sha256sum -c itself), `fstat`/`freesp` in
//! words with `--raw`, `tf -b` echoing its commands; files checked on disk.

use crate::output::{ok, stderr, stdout, text};

use sha2::Digest;
use std::fs;
use std::process::Command;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

fn tf_bare(args: &[&str]) -> std::process::Output {
    Command::new(tfd_testkit::tf_bin())
        .args(args)
        .env_remove("TF_SERVER")
        .env("HOME", tempdir("habits-home"))
        .output()
        .unwrap()
}

#[test]
fn version_and_one_line_option_errors() {
    for v in ["--version", "-V"] {
        let o = tf_bare(&[v]);
        ok(&o, v);
        assert_eq!(stdout(&o), format!("tf {}\n", env!("CARGO_PKG_VERSION")));
    }
    // an unknown option before -s, after it, and a typo: one line naming it, one hint
    for args in [&["--bogus", "-s", "alice", "ls"][..], &["-s", "alice", "--bogus", "ls"]] {
        let o = tf_bare(args);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 2, "{e}");
        assert!(e.starts_with("tf: unknown option --bogus\nhint: "), "{e}");
        assert!(e.contains("tf --help"), "{e}");
        assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    }
    // neither a missing server nor a missing command prints the whole help
    let o = tf_bare(&["ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("tf: no server given: --server"),
        "{}",
        stderr(&o)
    );
    let o = tf_bare(&["--sever", "127.0.0.1:1", "ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("did you mean --server?"), "{}", stderr(&o));
}

/// A server with `d/` holding a.txt (2048 bytes), b.txt, c.log and sub/.
fn served(tag: &str) -> Server {
    let srv = Server::start();
    let _ = tag;
    fs::create_dir_all(srv.path("d/sub")).unwrap();
    fs::write(srv.path("d/a.txt"), vec![b'a'; 2048]).unwrap();
    fs::write(srv.path("d/b.txt"), b"bee\n").unwrap();
    fs::write(srv.path("d/c.log"), b"log\n").unwrap();
    srv
}

#[test]
fn rm_mv_and_patterns_outside_the_shell() {
    let srv = served("rm");
    let o = srv.tf(&["rm", "d/*.txt"]);
    ok(&o, "rm d/*.txt");
    assert!(!srv.path("d/a.txt").exists() && !srv.path("d/b.txt").exists());
    assert!(srv.path("d/c.log").exists() && srv.path("d/sub").is_dir());
    let o = srv.tf(&["mv", "d/c.log", "d/e.log"]);
    ok(&o, "mv");
    assert_eq!(fs::read(srv.path("d/e.log")).unwrap(), b"log\n");
    assert!(!srv.path("d/c.log").exists());
    // several operands; a pattern matching nothing and a directory are said so
    fs::write(srv.path("d/x1"), b"1").unwrap();
    fs::write(srv.path("d/x2"), b"2").unwrap();
    let o = srv.tf(&["del", "d/x1", "d/x2", "d/nomatch*", "d/s*"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!srv.path("d/x1").exists() && !srv.path("d/x2").exists());
    assert!(srv.path("d/sub").is_dir());
    assert!(
        stderr(&o).contains("d/nomatch*: no remote name matches"),
        "{}",
        text(&o)
    );
    assert!(stderr(&o).contains("d/sub: is a directory"), "{}", text(&o));
}

#[test]
fn put_into_a_remote_directory_and_get_into_a_local_one() {
    let srv = served("into");
    let here = tempdir("habits-into");
    let f = here.join("up.txt");
    fs::write(&f, b"into the directory\n").unwrap();
    let l = f.to_str().unwrap();
    ok(&srv.tf(&["put", l, "d/sub/"]), "put f d/sub/");
    assert_eq!(fs::read(srv.path("d/sub/up.txt")).unwrap(), b"into the directory\n");
    fs::create_dir(srv.path("e")).unwrap();
    ok(&srv.tf(&["put", l, "e"]), "put f e");
    assert_eq!(fs::read(srv.path("e/up.txt")).unwrap(), b"into the directory\n");
    assert!(srv.path("e").is_dir());
    // a file that is no directory is replaced as before
    ok(&srv.tf(&["put", l, "d/b.txt"]), "put f d/b.txt");
    assert_eq!(fs::read(srv.path("d/b.txt")).unwrap(), b"into the directory\n");
    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    ok(&srv.tf(&["get", "d/c.log", down.to_str().unwrap()]), "get f dir");
    assert_eq!(fs::read(down.join("c.log")).unwrap(), b"log\n");
}

/// `put FILE` and `get FILE` with no destination use FILE's own name, as sftp
/// does (the served root, or the local current directory); a source with no
/// name of its own is still asked for a destination.
#[test]
fn put_and_get_without_a_destination_keep_the_name() {
    let srv = served("implied");
    let here = tempdir("habits-implied");
    let f = here.join("alone.txt");
    fs::write(&f, b"no destination given\n").unwrap();
    ok(&srv.tf(&["put", f.to_str().unwrap()]), "put FILE");
    assert_eq!(fs::read(srv.path("alone.txt")).unwrap(), b"no destination given\n");
    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    let o = srv.tf_command(&["get", "d/c.log"]).current_dir(&down).output().unwrap();
    ok(&o, "get FILE");
    assert_eq!(fs::read(down.join("c.log")).unwrap(), b"log\n");
    assert_eq!(fs::read_dir(&down).unwrap().count(), 1, "only c.log lands");
    for args in [&["put", "-"][..], &["get", ".."]] {
        let o = srv.tf_command(args).current_dir(&down).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(
            stderr(&o).contains("needs a source and a destination"),
            "{}",
            stderr(&o)
        );
    }
}

/// 2026-01-15 12:00:00 UTC.
const MTIME: u64 = 1_768_478_400;

fn set_mtime(p: &std::path::Path) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME))
        .unwrap();
}

#[test]
fn ls_takes_la_lh_files_patterns_and_shows_local_time() {
    let srv = served("ls");
    set_mtime(&srv.path("d/a.txt"));
    let tf_tz = |args: &[&str]| srv.tf_command(args).env("TZ", "EST5").output().unwrap();
    let o = tf_tz(&["ls", "-la", "d"]);
    ok(&o, "ls -la");
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "-rw-r--r-- 0      0      {:>12} 2026-01-15 07:00:00 EST  a.txt\n",
            2048
        )),
        "{out}"
    );
    assert!(out.contains("  sub/\n"), "{out}");
    let o = tf_tz(&["ls", "-lh", "d"]);
    ok(&o, "ls -lh");
    assert!(
        stdout(&o).contains(&format!(
            "-rw-r--r-- 0      0      {:>12} 2026-01-15 07:00:00 EST  a.txt\n",
            "2.0K"
        )),
        "{}",
        stdout(&o)
    );
    let o = srv.tf(&["ls", "d/a.txt"]);
    ok(&o, "ls FILE");
    assert_eq!(stdout(&o), "F: d/a.txt\n");
    let o = tf_tz(&["ls", "-l", "d/a.txt"]);
    ok(&o, "ls -l FILE");
    assert_eq!(
        stdout(&o),
        format!(
            "-rw-r--r-- 0      0      {:>12} 2026-01-15 07:00:00 EST  d/a.txt\n",
            2048
        )
    );
    let o = srv.tf(&["ls", "d/*.txt"]);
    ok(&o, "ls pattern");
    assert_eq!(stdout(&o), "F: d/a.txt\nF: d/b.txt\n");
    let o = srv.tf(&["ls", "d/nothing*"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = srv.tf(&["ls", "-x", "d"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("unknown option -x"), "{}", stderr(&o));
}

#[test]
fn sha256_is_sha256sum_and_fstat_freesp_speak_words() {
    let srv = served("sum");
    set_mtime(&srv.path("d/a.txt"));
    let o = srv.tf(&["sha256", "d/a.txt", "d/b.txt"]);
    ok(&o, "sha256");
    let want: String = ["d/a.txt", "d/b.txt"]
        .iter()
        .map(|n| format!("{:x}  {n}\n", sha2::Sha256::digest(fs::read(srv.path(n)).unwrap())))
        .collect();
    assert_eq!(stdout(&o), want);
    // sha256sum itself checks the files against tf's lines
    let sums = srv.dir.join("sums");
    fs::write(&sums, stdout(&o)).unwrap();
    let c = Command::new("sha256sum")
        .arg("-c")
        .arg(&sums)
        .current_dir(&srv.data)
        .output()
        .expect("sha256sum (coreutils) is needed");
    assert!(c.status.success(), "sha256sum -c: {}", text(&c));
    let o = srv.tf(&["sha256", "--raw", "d/b.txt"]);
    assert_eq!(stdout(&o), format!("OK 0x{:x}\n", sha2::Sha256::digest(b"bee\n")));

    let o = srv
        .tf_command(&["fstat", "d/a.txt"])
        .env("TZ", "EST5")
        .output()
        .unwrap();
    ok(&o, "fstat");
    let out = stdout(&o);
    assert!(out.contains("Type: regular file\n"), "{out}");
    assert!(out.contains("Size: 2048 bytes (2.0K)\n"), "{out}");
    assert!(out.contains("Modify: 2026-01-15 07:00:00 EST\n"), "{out}");
    let o = srv.tf(&["fstat", "--raw", "d/a.txt"]);
    assert!(stdout(&o).starts_with("OK F 2048 "), "{}", stdout(&o));
    assert!(stdout(&o).ends_with(&format!(" {MTIME}\n")), "{}", stdout(&o));

    let o = srv.tf(&["freesp"]);
    ok(&o, "freesp");
    let raw = stdout(&srv.tf(&["freesp", "--raw"]));
    let n: u64 = raw.trim().strip_prefix("OK ").unwrap().parse().unwrap();
    // the disk is shared: its free space moves between the two asks
    let human = stdout(&o);
    let (size, bytes) = human.trim_end().split_once(" free (").expect(&human);
    let shown: u64 = bytes.strip_suffix(" bytes)").expect(&human).parse().unwrap();
    assert!(shown.abs_diff(n) < 1 << 30, "{human} vs {raw}");
    assert!(
        size.ends_with(['K', 'M', 'G', 'T', 'P', 'E']) || shown < 1024,
        "{human}"
    );
}

#[test]
fn batch_echoes_each_command_as_sftp_does() {
    let srv = served("batch");
    let script = srv.dir.join("cmds");
    fs::write(
        &script,
        "mkdir x\n-del nosuch\n# a comment\nls x\nrm d/b.txt\ncd d\nls -l / ..\n",
    )
    .unwrap();
    let o = srv.tf(&["-b", script.to_str().unwrap()]);
    ok(&o, "batch");
    let out = stdout(&o);
    assert!(out.starts_with("OK\nOK\n"), "{out}");
    // the root, by '/' and by '..' from d: the two listings, each headed
    assert_eq!(out.matches("  x/\n").count(), 2, "{out}");
    assert!(out.contains("\n/:\n"), "{out}");
    let e = stderr(&o);
    let echoed: Vec<&str> = e.lines().filter(|l| l.starts_with("tf> ")).collect();
    assert_eq!(
        echoed,
        [
            "tf> mkdir x",
            "tf> -del nosuch",
            "tf> ls x",
            "tf> rm d/b.txt",
            "tf> cd d",
            "tf> ls -l / .."
        ],
        "{e}"
    );
    // each echo comes before what its command said
    assert!(e.find("tf> -del nosuch").unwrap() < e.find("FAILED").unwrap(), "{e}");
    assert!(e.find("FAILED").unwrap() < e.find("tf> ls x").unwrap(), "{e}");
    assert!(srv.path("x").is_dir() && !srv.path("d/b.txt").exists());
    // no command: two lines, not the whole help
    let o = srv.tf(&[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "tf: no command given\nhint: tf --help lists the commands; tf ... shell runs many on one session\n"
    );
}

#[test]
fn completion_scripts_come_from_the_tables_and_complete() {
    // bash: the function itself answers what a Tab would
    let o = tf_bare(&["completion", "bash"]);
    ok(&o, "completion bash");
    let dir = tempdir("habits-completion");
    let bash = dir.join("tf.bash");
    fs::write(&bash, stdout(&o)).unwrap();
    let ask = |words: &str, cword: usize| {
        let line = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _tf; echo \"${{COMPREPLY[*]}}\"",
            bash.display()
        );
        let o = Command::new("bash")
            .args(["-c", &line])
            .output()
            .expect("bash is needed");
        assert!(o.status.success(), "{}", text(&o));
        stdout(&o).trim().to_string()
    };
    assert_eq!(ask("tf mirr", 1), "mirror");
    assert_eq!(ask("tf -s home put --jo", 4), "--jobs");
    assert_eq!(ask("tf --vers", 1), "--version");
    assert_eq!(ask("tf sha256 --r", 2), "--raw");
    assert_eq!(ask("tf fsta", 1), "fstat fstatls");
    // zsh: the script parses and names the commands; fish: `complete -C` answers
    let o = tf_bare(&["completion", "zsh"]);
    ok(&o, "completion zsh");
    assert!(stdout(&o).starts_with("#compdef tf\n"));
    assert!(stdout(&o).contains("'mirror:make a directory a copy of another'"));
    let zsh = dir.join("_tf");
    fs::write(&zsh, stdout(&o)).unwrap();
    let z = Command::new("zsh")
        .arg("-n")
        .arg(&zsh)
        .output()
        .expect("zsh is needed (scripts/deps installs it)");
    assert!(z.status.success(), "zsh -n: {}", text(&z));
    let o = tf_bare(&["completion", "fish"]);
    ok(&o, "completion fish");
    let fish = dir.join("tf.fish");
    fs::write(&fish, stdout(&o)).unwrap();
    let line = format!(
        "source {}; complete -C 'tf mirr'; complete -C 'tf mirror --dr'; complete -C 'tf --vers'",
        fish.display()
    );
    let f = Command::new("fish")
        .args(["-c", &line])
        .output()
        .expect("fish is needed (scripts/deps installs it)");
    assert!(f.status.success(), "{}", text(&f));
    let answers = stdout(&f);
    let got: Vec<&str> = answers.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(got, ["mirror", "--dry-run", "--version"], "{answers}");
    let o = tf_bare(&["completion", "tcsh"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("usage: tf completion bash|zsh|fish"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tab_completes_commands_and_remote_names_in_the_shell() {
    let srv = served("tab");
    fs::write(srv.path("d/sub/only.txt"), b"only\n").unwrap();
    let mut pty = tfd_testkit::pty::Pty::start(&srv, &[], None, &[]);
    pty.wait_for("tf:/> ", 1);
    // a command name (cut to what fstat and fstatls share), then a remote
    // name below a directory, one Tab each
    pty.typed("fsta\t");
    pty.wait_for("fstat", 1);
    pty.typed(" d/s\t");
    pty.wait_for("d/sub/", 1);
    pty.typed("on\t\r");
    pty.wait_for("File: d/sub/only.txt", 1);
    pty.wait_for("tf:/> ", 2);
    // remote names follow cd; several candidates: Tab twice lists them
    pty.typed("cd d\r");
    pty.wait_for("tf:/d> ", 1);
    pty.typed("rm c.\t\r");
    // (a Tab redraws the prompt too: wait for the file instead)
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while srv.path("d/c.log").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "rm c.<Tab> did not remove d/c.log: {}",
            pty.transcript()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pty.typed("ls \t\t");
    pty.wait_for("a.txt  b.txt  sub/", 1);
    pty.typed("\x15quit\r");
    let status = pty.child.wait().unwrap();
    assert!(status.success(), "{}", pty.transcript());
}

/// The names of the files below `root`, relative, sorted.
fn files_below(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// a.txt, a.log, keep/b.txt, keep/b.log, build/c.txt, .hidden.txt below `root`.
fn filter_tree(root: &std::path::Path) {
    for (p, body) in [
        ("a.txt", "a"),
        ("a.log", "al"),
        ("keep/b.txt", "b"),
        ("keep/b.log", "bl"),
        ("build/c.txt", "c"),
    ] {
        let p = root.join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
}

#[test]
fn exclude_and_include_for_trees_and_mirror_first_match_wins() {
    let srv = Server::start();
    let here = tempdir("habits-filter");
    let src = here.join("src");
    filter_tree(&src);
    let s = src.to_str().unwrap();
    // put -r: *.log and the build directory left out
    fs::create_dir(srv.path("up")).unwrap();
    let o = srv.tf(&["put", "-r", "--exclude", "*.log", "--exclude", "build/", s, "up"]);
    ok(&o, "put -r --exclude");
    assert_eq!(files_below(&srv.path("up/src")), ["a.txt", "keep/b.txt"]);
    assert!(!srv.path("up/src/build").exists(), "an excluded directory is not made");
    // get -r: first match wins: keep/ included before '*' excludes the rest
    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    let o = srv.tf(&[
        "get",
        "-r",
        "--include",
        "keep/",
        "--include",
        "keep/*.txt",
        "--exclude",
        "*",
        "up/src",
        down.to_str().unwrap(),
    ]);
    ok(&o, "get -r --include --exclude");
    assert_eq!(files_below(&down.join("src")), ["keep/b.txt"]);
    // mirror down: excluded names are neither copied nor deleted by --delete
    let m = here.join("m");
    fs::create_dir(&m).unwrap();
    fs::write(m.join("local.log"), "mine").unwrap();
    fs::write(m.join("gone.txt"), "old").unwrap();
    filter_tree(&srv.path("tree"));
    let o = srv.tf(&["mirror", "--delete", "--exclude", "*.log", "tree", m.to_str().unwrap()]);
    ok(&o, "mirror --exclude");
    assert_eq!(
        files_below(&m),
        ["a.txt", "build/c.txt", "keep/b.txt", "local.log"],
        "{}",
        text(&o)
    );
    // mirror -R likewise
    let o = srv.tf(&["mirror", "-R", "--exclude", "keep", s, "mup"]);
    ok(&o, "mirror -R --exclude");
    assert_eq!(files_below(&srv.path("mup")), ["a.log", "a.txt", "build/c.txt"]);
    // a missing pattern is one line
    let o = srv.tf(&["put", "-r", s, "up", "--exclude"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--exclude needs a pattern"), "{}", stderr(&o));
}

/// `tf shell` fed by a pipe: one command sent, its answer awaited.
struct Piped {
    child: std::process::Child,
    input: Option<std::process::ChildStdin>,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Piped {
    fn start(srv: &Server) -> Piped {
        let mut child = srv
            .tf_command(&["shell"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut p = Piped { child, input, out };
        p.echo("first");
        p
    }

    /// `echo WORD`, and its line back.
    fn echo(&mut self, word: &str) {
        std::io::Write::write_all(self.input.as_mut().unwrap(), format!("echo {word}\n").as_bytes()).unwrap();
        let mut l = String::new();
        std::io::BufRead::read_line(&mut self.out, &mut l).unwrap();
        assert_eq!(l, format!("{word}\n"));
    }

    /// One more command after the session was ended; stderr of the whole run.
    fn last(mut self) -> String {
        let mut input = self.input.take().unwrap();
        std::io::Write::write_all(&mut input, b"echo after\n").unwrap();
        drop(input);
        let o = self.child.wait_with_output().unwrap();
        stderr(&o)
    }
}

#[test]
fn a_session_the_server_ends_is_said_in_plain_words() {
    let dir = tempdir("habits-ended");
    let sock = dir.join("ctl.sock");
    let conf = format!("control_socket {}\nshutdown_grace 1\n", sock.display());
    // kicked: the server still runs and accepts connections
    let srv = Server::start_with(&conf);
    let sh = Piped::start(&srv);
    let (ok_, out) = tfd_ctl(&sock, &["kick", &srv.session_pid().to_string()]);
    assert!(ok_, "{out}");
    std::thread::sleep(Duration::from_millis(200));
    let e = sh.last();
    assert!(
        e.contains("tf: the server closed the session: kicked by the server's operator"),
        "{e}"
    );
    assert!(!e.contains("truncated"), "{e}");
    // banned: the session is kicked and new connections are refused at once
    let sh = Piped::start(&srv);
    let (ok_, out) = tfd_ctl(&sock, &["ban", "127.0.0.1", "1h"]);
    assert!(ok_, "{out}");
    std::thread::sleep(Duration::from_millis(200));
    let e = sh.last();
    assert!(e.contains("this address is refused now (banned"), "{e}");
    let o = srv.tf(&["ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("banned"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("is tfd running"), "{}", stderr(&o));
    let (ok_, out) = tfd_ctl(&sock, &["unban", "127.0.0.1"]);
    assert!(ok_, "{out}");
    // stopping: tfd closes its port, then ends the session after the grace period
    let mut srv = srv;
    let sh = Piped::start(&srv);
    let st = srv.stop();
    assert!(st.success(), "{st:?}");
    let e = sh.last();
    assert!(e.contains("tf: the server closed the session: tfd is stopping"), "{e}");
}

/// A session the server ends under a `put` is named as such (issue 65: it
/// said "Connection reset by peer" and no more), with the command that
/// continues, as for any other interruption; plain and `--resume`.
#[test]
fn a_session_ended_under_a_put_is_named_with_its_continuation() {
    let dir = tempdir("habits-put-kicked");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\nrate_limit_session 4M\n", sock.display()));
    let local = dir.join("big.bin");
    std::fs::write(&local, pattern(40 << 20, 61)).unwrap();
    for (extra, goes_on) in [
        (None, "sends it again"),
        (Some("--resume"), "continues from what the server kept"),
    ] {
        let mut args = vec!["put", local.to_str().unwrap(), "big.bin"];
        args.extend(extra);
        let child = srv
            .tf_command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1200));
        let (ok_, out) = tfd_ctl(&sock, &["kick", &srv.session_pid().to_string()]);
        assert!(ok_, "{out}");
        let o = child.wait_with_output().unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {e}");
        assert!(
            e.contains("tf: the server closed the session: kicked by the server's operator"),
            "{extra:?}: {e}"
        );
        assert!(
            !e.contains("reset by peer") && !e.contains("Broken pipe"),
            "{extra:?}: {e}"
        );
        assert!(e.contains(goes_on), "{extra:?}: {e}");
    }
}

/// `--progress` draws the bar when stderr is not a terminal (issue 65: no
/// way to force it); without it a script reading stderr gets no carriage
/// return.
#[test]
fn progress_forces_the_bar_off_a_terminal() {
    let srv = Server::start();
    let dir = tempdir("habits-progress");
    let local = dir.join("p.bin");
    fs::write(&local, pattern(2 << 20, 62)).unwrap();
    let o = srv.tf(&["--progress", "put", local.to_str().unwrap(), "p.bin"]);
    ok(&o, "put --progress");
    assert!(
        stderr(&o).contains('\r') && stderr(&o).contains("MiB"),
        "{:?}",
        stderr(&o)
    );
    let o = srv.tf(&["--progress", "get", "-r", ".", dir.join("down").to_str().unwrap()]);
    ok(&o, "get -r --progress");
    // a tree's line, its whole known from the listing (cli_progress.rs)
    let last = stderr(&o).rsplit('\r').next().unwrap_or_default().to_string();
    assert!(
        last.starts_with("2.0 MiB of 2.0 MiB  100%") && last.contains("1/1 files"),
        "{:?}",
        stderr(&o)
    );
    let o = srv.tf(&["put", local.to_str().unwrap(), "p.bin"]);
    ok(&o, "put");
    assert!(!stderr(&o).contains('\r'), "{:?}", stderr(&o));
}

/// `ls -l` shows each entry's mode and owner as `ls -l` does (issue 65: it
/// showed neither), numeric since the protocol names no users; `lsr -l`
/// too, and `ls -l FILE`. The plain `ls` is as it was.
#[test]
fn ls_l_shows_mode_owner_and_group() {
    use std::os::unix::fs::PermissionsExt;
    if !require(is_root(), "needs root (chown)") {
        return;
    }
    let srv = served("ls_mode");
    let set = |rel: &str, mode: u32, owner: u32| {
        let p = srv.path(rel);
        // chown first: it clears the set-id bits
        std::os::unix::fs::lchown(&p, Some(owner), Some(owner + 1)).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    };
    set("d/a.txt", 0o640, 1234);
    set("d/sub", 0o1750, 4321);
    fs::write(srv.path("d/sub/x"), b"x").unwrap();
    set("d/sub/x", 0o4755, 99);
    let line = |args: &[&str], name: &str| {
        let o = srv.tf(args);
        ok(&o, "ls -l");
        let out = stdout(&o);
        let l = out
            .lines()
            .find(|l| l.ends_with(name))
            .unwrap_or_else(|| panic!("{name}: {out}"));
        l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(line(&["ls", "-l", "d"], " a.txt"), "-rw-r----- 1234 1235");
    assert_eq!(line(&["ls", "-l", "d"], " sub/"), "drwxr-x--T 4321 4322");
    assert_eq!(line(&["ls", "-l", "d/a.txt"], " d/a.txt"), "-rw-r----- 1234 1235");
    assert_eq!(line(&["lsr", "-l", "d"], " sub/x"), "-rwsr-xr-x 99 100");
    let o = srv.tf(&["ls", "d"]);
    ok(&o, "ls");
    assert_eq!(stdout(&o), "F: a.txt\nF: b.txt\nF: c.log\nD: sub/\n");
}

/// An option a tree command does not take is one sentence that sends to
/// `tf help CMD`, which lists every option the tables give the command (no
/// hand-kept list that the next option leaves behind).
#[test]
fn an_unknown_tree_option_points_to_tf_help_which_lists_them_all() {
    let srv = served("tree-option");
    let o = srv.tf(&["put", "-r", "--bogus", "d", "x"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--bogus is not an option of put -r (tf help put lists its options)"),
        "{}",
        stderr(&o)
    );
    let help = tf_bare(&["help", "put"]);
    ok(&help, "help put");
    for o in tf::options::commands::all().filter(|o| o.commands.contains(&"put")) {
        assert!(
            stdout(&help).contains(o.name),
            "tf help put does not list {}:\n{}",
            o.name,
            stdout(&help)
        );
    }
}
