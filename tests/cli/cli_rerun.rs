//! Interrupted runs say how to continue, and that command continues (issue
//! 42 item 4, issue 44's continuations), through the real tf against a real
//! tfd: `put -r` and `get -r` interrupted print the command that continues
//! them with the connection options given (`-s NAME` too), and running it (or
//! the same command again) lands where the first run did by rsync's rule
//! (`src` as DEST/src), never nesting a second copy, and leaves the tree one
//! uninterrupted run leaves; an interrupted `put` says the remote
//! file is as it was and how to send it again; a file edited while `put`
//! sends it (SNDFILE, and `--verify`'s batch) is never committed mixed.

use crate::output::text;
use crate::trees::inventory;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tfd_testkit::*;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tree of `n` files of `size` bytes in two directories.
fn make_tree(root: &Path, n: usize, size: usize) {
    fs::create_dir_all(root.join("sub")).unwrap();
    for i in 0..n {
        let dir = if i % 2 == 0 {
            root.to_path_buf()
        } else {
            root.join("sub")
        };
        fs::write(dir.join(format!("f{i:03}.bin")), pattern(size, i as u64 + 7)).unwrap();
    }
}

/// Starts `cmd`, sends SIGINT once `ready` holds (looked at every 20 ms,
/// for 20 s at most) and `after` more passed, and returns what it said.
fn interrupt(mut cmd: Command, ready: impl Fn() -> bool, after: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !ready() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(after);
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
    child.wait_with_output().unwrap()
}

/// Whether `dir` holds a regular file below it (a file has landed).
fn holds_a_file(dir: &Path) -> bool {
    let Ok(rd) = fs::read_dir(dir) else { return false };
    rd.flatten().any(|e| {
        let p = e.path();
        p.is_file() && !e.file_name().to_string_lossy().starts_with('.') || p.is_dir() && holds_a_file(&p)
    })
}

/// The command between backticks in the last line of stderr that holds one.
fn printed_command(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .rev()
        .find(|l| l.matches('`').count() == 2)
        .unwrap_or_else(|| panic!("no command printed:\n{}", text(o)));
    line.split('`').nth(1).unwrap().to_string()
}

/// Runs a command tf printed, through sh as a user pasting it would, with
/// `tf` meaning the binary under test.
fn paste(cmd: &str, env: &[(&str, &Path)], cwd: &Path) -> Output {
    assert!(cmd.starts_with("tf "), "{cmd}");
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!("{} {}", tf_bin(), &cmd[3..])).current_dir(cwd);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).output().unwrap()
}

/// `put -r SRC DST` (DST missing) interrupted, then the printed command:
/// DST holds SRC as DST/SRC, nothing nested, the same tree one uninterrupted
/// run leaves; the same for the same command run once more. On the old code
/// the interrupted run printed nothing and a re-run copied into DST/SRC.
#[test]
fn an_interrupted_put_r_continues_into_the_same_place() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_rerun_put");
    let src = here.join("src");
    make_tree(&src, 24, 512 * KIB);
    let o = interrupt(
        {
            let mut c = srv.tf_command(&["put", "-r", "--jobs", "2", "src", "dst"]);
            c.current_dir(&here);
            c
        },
        || holds_a_file(&srv.path("dst")),
        Duration::from_millis(200),
    );
    assert!(!o.status.success(), "finished before the interrupt: {}", text(&o));
    assert!(
        srv.path("dst").is_dir(),
        "the first run made no destination: {}",
        text(&o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("interrupted"), "{}", text(&o));
    let cmd = printed_command(&o);
    assert!(cmd.contains(&format!("--server {}", srv.addr())), "{cmd}");
    assert!(cmd.contains("put -r --jobs 2 src dst"), "{cmd}");
    let again = paste(&cmd, &[], &here);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        !srv.path("dst/src/src").exists(),
        "a second copy was nested: {}",
        text(&again)
    );
    assert_eq!(inventory(&srv.path("dst/src")), inventory(&src));
    // one uninterrupted run of the same shape leaves the same tree
    let o = srv
        .tf_command(&["put", "-r", "src", "whole"])
        .current_dir(&here)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(inventory(&srv.path("dst")), inventory(&srv.path("whole")));
    // done whole, the same command once more: nothing nested, nothing moved
    let o = srv
        .tf_command(&["put", "-r", "src", "dst"])
        .current_dir(&here)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!srv.path("dst/src/src").exists(), "nested: {}", text(&o));
    assert_eq!(inventory(&srv.path("dst")), inventory(&srv.path("whole")));
    let _ = fs::remove_dir_all(&here);
}

/// `tf -s NAME get -r TREE DIR` interrupted: the command it prints carries
/// `-s NAME` and `--resume`, and pasted it completes DIR/TREE as the tree,
/// with no partial left and nothing nested, as one uninterrupted run leaves
/// it. On the old code the printed command dropped `-s NAME` and copied
/// into DIR/TREE.
#[test]
fn an_interrupted_get_r_prints_a_command_that_works_as_pasted() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_rerun_get");
    make_tree(&srv.path("tree"), 24, 512 * KIB);
    let config = here.join("config");
    fs::create_dir_all(config.join("tf")).unwrap();
    let key = srv.dir.join("pub.pem");
    fs::write(&key, &keys().1).unwrap();
    fs::write(
        config.join("tf/config"),
        format!(
            "[box]\nserver = {}\nkey = {}\nhash = {}\n",
            srv.addr(),
            key.display(),
            srv.hash
        ),
    )
    .unwrap();
    let state = here.join("state");
    let env: [(&str, &Path); 2] = [("XDG_CONFIG_HOME", &config), ("XDG_STATE_HOME", &state)];
    let mut c = Command::new(tf_bin());
    c.args(["-s", "box", "get", "-r", "--jobs", "2", "tree", "dir"])
        .current_dir(&here)
        .env_remove("TF_SERVER");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = interrupt(c, || holds_a_file(&here.join("dir")), Duration::from_millis(200));
    assert!(!o.status.success(), "finished before the interrupt: {}", text(&o));
    let cmd = printed_command(&o);
    assert!(cmd.starts_with("tf -s box get -r"), "{cmd}");
    assert!(cmd.ends_with("--resume"), "{cmd}");
    let again = paste(&cmd, &env, &here);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        !here.join("dir/tree/tree").exists(),
        "a second copy was nested: {}",
        text(&again)
    );
    assert_eq!(inventory(&here.join("dir/tree")), inventory(&srv.path("tree")));
    // one uninterrupted run of the same shape leaves the same tree
    let whole = here.join("whole");
    let o = srv.tf(&["get", "-r", "tree", whole.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(inventory(&here.join("dir")), inventory(&whole));
    let _ = fs::remove_dir_all(&here);
}

/// An interrupted `put` says the remote file is as it was and prints the
/// command that sends it again; the remote file is the old one, and after
/// that command the new one. On the old code it printed nothing (exit 130).
#[test]
fn an_interrupted_put_says_what_is_left_and_how_to_send_it_again() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_rerun_single");
    let old = pattern(3 * MIB, 1);
    fs::write(srv.path("big.bin"), &old).unwrap();
    fs::write(here.join("big.bin"), pattern(16 * MIB, 2)).unwrap();
    let o = interrupt(
        {
            let mut c = srv.tf_command(&["put", "big.bin", "big.bin"]);
            c.current_dir(&here);
            c
        },
        || true,
        Duration::from_millis(1500),
    );
    assert!(!o.status.success(), "finished before the interrupt: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("interrupted; the remote file is left as it was"),
        "{}",
        text(&o)
    );
    assert!(fs::read(srv.path("big.bin")).unwrap() == old, "the remote file changed");
    let cmd = printed_command(&o);
    assert!(cmd.ends_with("put big.bin big.bin"), "{cmd}");
    let again = paste(&cmd, &[("XDG_STATE_HOME", &srv.dir.join("state"))], &here);
    assert!(again.status.success(), "{}", text(&again));
    assert!(fs::read(srv.path("big.bin")).unwrap() == fs::read(here.join("big.bin")).unwrap());
    let _ = fs::remove_dir_all(&here);
}

/// Runs `tf ARGS` (an upload of `local`) and, 1.5 s into it, writes `edit`'s
/// bytes at its offset of `local`.
fn edited_while_put(srv: &Server, args: &[&str], local: &Path, edit: (&[u8], u64)) -> Output {
    let child = srv
        .tf_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    fs::File::options()
        .write(true)
        .open(local)
        .unwrap()
        .write_all_at(edit.0, edit.1)
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A file edited while `put` sends it is not committed: the remote file
/// stays the old one whole, tf names the cause and fails, and the next put
/// sends the new version. Through SNDFILE (plain put on loopback) and
/// through `--verify`'s batch. On the old code SNDFILE stored the mix of
/// both versions and put exited 0 (`--verify` then reported the mismatch
/// after the mix had replaced the old file).
#[test]
fn a_file_edited_while_put_sends_it_is_not_committed_mixed() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_rerun_edit");
    for (i, extra) in [&[][..], &["--verify"][..]].into_iter().enumerate() {
        let name = format!("big{i}.bin");
        let old = pattern(24 * MIB, 10 + i as u64);
        fs::write(srv.path(&name), &old).unwrap();
        let local = here.join(&name);
        fs::write(&local, pattern(24 * MIB, 20 + i as u64)).unwrap();
        let mut args = vec!["put"];
        args.extend(extra);
        args.extend([s(&local), name.as_str()]);
        // the last 2 MiB, not yet read at 4 MiB/s (socket buffers hold a few MiB)
        let o = edited_while_put(&srv, &args, &local, (&pattern(2 * MIB, 30), 22 * MIB as u64));
        assert!(!o.status.success(), "{extra:?}: the put must fail: {}", text(&o));
        assert!(
            text(&o).contains("changed while it was read"),
            "{extra:?}: {}",
            text(&o)
        );
        assert!(
            fs::read(srv.path(&name)).unwrap() == old,
            "{extra:?}: the remote file is not the old one whole"
        );
        let o = srv.tf(&args);
        assert!(o.status.success(), "{extra:?}: {}", text(&o));
        assert!(fs::read(srv.path(&name)).unwrap() == fs::read(&local).unwrap());
    }
    let leftovers: Vec<PathBuf> = fs::read_dir(&srv.data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".tfd-part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = fs::remove_dir_all(&here);
}

/// Issue 88: a NEW file (none on the server) edited while `put` sends it is
/// refused without claiming "the server keeps its old copy" (it has none):
/// the sentence says nothing of it was committed, and no file appears on the
/// server. Through SNDFILE (plain put on loopback), `--verify`'s batch and
/// `-p`'s tree batch. On the old code each said "the server keeps its old copy".
#[test]
fn a_new_file_edited_while_put_sends_it_claims_no_old_copy() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_rerun_edit_new");
    for (i, extra) in [&[][..], &["--verify"][..], &["-p"][..]].into_iter().enumerate() {
        let name = format!("new{i}.bin");
        let local = here.join(&name);
        fs::write(&local, pattern(24 * MIB, 40 + i as u64)).unwrap();
        let mut args = vec!["put"];
        args.extend(extra);
        args.extend([s(&local), name.as_str()]);
        let o = edited_while_put(&srv, &args, &local, (&pattern(2 * MIB, 50), 22 * MIB as u64));
        let t = text(&o);
        assert!(!o.status.success(), "{extra:?}: the put must fail: {t}");
        assert!(t.contains("changed while it was read"), "{extra:?}: {t}");
        assert!(!t.contains("old copy"), "{extra:?}: there is no old copy: {t}");
        assert!(t.contains("nothing of it was committed"), "{extra:?}: {t}");
        assert!(!srv.path(&name).exists(), "{extra:?}: a file was made");
    }
    let _ = fs::remove_dir_all(&here);
}

/// `put --resume` follows plain put's rule (issue 65): 4 bytes changed at
/// offset 100 while the file moves (already sent and hashed) → refused
/// with plain put's sentence, nonzero, and the remote file is the old one
/// whole; the next run sends the new version. On the old code it exited 0,
/// "verified", with the remote holding the older snapshot.
#[test]
fn put_resume_refuses_a_file_changed_while_it_was_read() {
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_rerun_resume_edit");
    let old = pattern(16 * MIB, 42);
    fs::write(srv.path("r.bin"), &old).unwrap();
    let local = here.join("r.bin");
    fs::write(&local, pattern(16 * MIB, 44)).unwrap();
    let args = ["put", s(&local), "r.bin", "--resume"];
    let o = edited_while_put(&srv, &args, &local, (b"EDIT", 100));
    assert!(!o.status.success(), "the put must fail: {}", text(&o));
    assert!(
        text(&o).contains(
            "it changed while it was read; nothing of it was committed (a copy the server had stays as it was)"
        ),
        "{}",
        text(&o)
    );
    assert!(
        fs::read(srv.path("r.bin")).unwrap() == old,
        "the remote file is not the old one whole"
    );
    let o = srv.tf(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(fs::read(srv.path("r.bin")).unwrap() == fs::read(&local).unwrap());
    let _ = fs::remove_dir_all(&here);
}

/// `put DIR x` suggests `put -r` as one command to paste (issue 65): the
/// suggestion, run through sh, uploads the directory whole (as x/DIR, by
/// rsync's rule; twice, still once). On the old code
/// the command stood between doubled backticks, which a pasting user
/// carried into the shell as a command substitution.
#[test]
fn put_of_a_directory_prints_the_put_r_that_uploads_it() {
    let srv = Server::start();
    let here = tempdir("cli_rerun_put_dir");
    make_tree(&here.join("site"), 3, 4 * KIB);
    let o = {
        let mut c = srv.tf_command(&["put", "site", "www"]);
        c.current_dir(&here);
        c.output().unwrap()
    };
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("site: is a directory; `tf "), "{err}");
    assert!(!err.contains("``"), "{err}");
    let cmd = printed_command(&o);
    assert!(cmd.contains(" put -r site www"), "{cmd}");
    for _ in 0..2 {
        let again = paste(&cmd, &[], &here);
        assert!(again.status.success(), "{}", text(&again));
        assert_eq!(inventory(&srv.path("www/site")), inventory(&here.join("site")));
        assert_eq!(dir_names(&srv.path("www")), ["site"]);
    }
}
