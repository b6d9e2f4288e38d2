//! What tf says is true (issue 44, the client's messages): names the server
//! cannot store refused before anything is sent, every name escaped on the
//! terminal, names on the server holding control characters skipped by name
//! (never "File does not exist"), `put --resume` onto the same file sending
//! nothing, `put -r`'s summary and its one symlink sentence, a server that
//! stops under a tree run named as under a get, and a jail its user can
//! write named as the server's fault. Each through the real tfd and `tf`.

use crate::output::{stderr, stdout, text};

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, userdb_add};
use tfd_testkit::*;
use tfp_client::replies::AsStatus as _;

/// Fails when any byte tf wrote is a control character other than a line
/// end (an escape sequence recolours or retitles the user's terminal).
#[track_caller]
fn assert_clean(o: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !bytes.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
            "{what}: raw control bytes on {stream}: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Local names tfd refuses to create, and how tf shows them.
const BAD: [(&[u8], &str); 3] = [
    (b"new\nline", "new\\nline"),
    (b"t\tab", "t\\tab"),
    // ESC c resets the terminal; no glob character (`[` would make a pattern)
    (b"e\x1bcx", "e\\u{1b}cx"),
];

fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

/// The served `srv/`, made outside the protocol: `ok.txt` ("ok") beside one
/// file ("odd") for each of [`BAD`]'s names. Returns its path.
fn odd_tree(srv: &Server) -> PathBuf {
    let t = srv.path("srv");
    fs::create_dir(&t).unwrap();
    fs::write(t.join("ok.txt"), b"ok").unwrap();
    for (name, _) in BAD {
        fs::write(t.join(os(name)), b"odd").unwrap();
    }
    t
}

/// `tf put` of a file whose remote name holds a newline, a tab or ESC is
/// refused before anything is sent, naming it escaped and why (it was
/// "FAILED 7 : File transfer API error."); `put -r` and `mirror -R` leave
/// out such a file (or directory) with one line each, count it failed, move
/// the rest, and exit non-zero; nothing tf prints holds a raw control character.
#[test]
fn names_the_server_cannot_store_are_refused_before_sending() {
    let srv = Server::start();
    let here = tempdir("truth_names");
    fs::create_dir(srv.path("d")).unwrap();
    for (name, shown) in BAD {
        let local = here.join(os(name));
        fs::write(&local, b"data").unwrap();
        let remote = std::str::from_utf8(name).unwrap();
        for dest in [remote.to_string(), "d/".to_string()] {
            let o = srv.tf(&["put", local.to_str().unwrap(), &dest]);
            let what = format!("put {shown} {dest:?}");
            assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
            let e = stderr(&o);
            assert!(e.contains(shown) && e.contains("control character"), "{what}: {e}");
            assert!(e.contains("nothing sent"), "{what}: {e}");
            assert!(!e.contains("File transfer API"), "{what}: {e}");
            assert_clean(&o, &what);
        }
    }
    assert_eq!(dir_names(&srv.path("d")), Vec::<String>::new());
    assert!(
        !srv.log().contains("SNDFILE"),
        "an upload reached the server:\n{}",
        srv.log()
    );
    // another client that sends such a name anyway is told why (it was "File
    // transfer API error." alone), the code still the document's 7
    let st = srv
        .client()
        .sndfile(b"d/new\nline", true, &mut &b"x"[..], &mut |_| {})
        .status()
        .unwrap();
    match &st {
        tfp_wire::Status::Failed(7, t) => assert!(t.contains("control character"), "{st:?}"),
        other => panic!("SNDFILE of a name with a newline: {other:?}"),
    }
    assert_eq!(dir_names(&srv.path("d")), Vec::<String>::new());

    // a tree: one good file, the bad names as files, one as a directory
    let tree = here.join("tree");
    fs::create_dir_all(tree.join(os(b"dir\x1b]0;x\x07"))).unwrap();
    fs::write(tree.join(os(b"dir\x1b]0;x\x07")).join("inner.txt"), b"in").unwrap();
    fs::write(tree.join("good.txt"), b"good").unwrap();
    for (name, _) in BAD {
        fs::write(tree.join(os(name)), b"bad").unwrap();
    }
    // put -r of `tree/`: its contents in `up`, as mirror -R's in `m`
    let contents = format!("{}/", tree.display());
    for (args, landed) in [
        (vec!["put", "-r", &contents, "up"], "up/good.txt"),
        (vec!["mirror", "-R", tree.to_str().unwrap(), "m"], "m/good.txt"),
    ] {
        let o = srv.tf(&args);
        let what = format!("{:?}", &args[..2]);
        assert!(!o.status.success(), "{what}: {}", text(&o));
        assert_clean(&o, &what);
        assert_eq!(fs::read(srv.path(landed)).unwrap(), b"good", "{what}: {}", text(&o));
        let e = stderr(&o);
        for (_, shown) in BAD {
            let lines: Vec<&str> = e.lines().filter(|l| l.contains(shown)).collect();
            assert_eq!(lines.len(), 1, "{what}: {shown} told once: {e}");
            // not sent, and counted as the summary counts it: failed, not
            // "skipped" (issue 65: the line said skipped, the summary failed)
            assert!(
                lines[0].contains("control character")
                    && lines[0].contains("not sent")
                    && !lines[0].contains("skipped"),
                "{what}: {e}"
            );
        }
        assert!(
            text(&o).contains(&format!(" {} failed", BAD.len() + 1)),
            "{what}: {}",
            text(&o)
        );
        // the directory once, what is inside it not again
        assert_eq!(e.matches("dir\\u{1b}]0;x\\u{7}").count(), 1, "{what}: {e}");
        assert!(!e.contains("inner.txt"), "{what}: {e}");
        assert!(!e.contains("File transfer API"), "{what}: {e}");
    }
    let _ = fs::remove_dir_all(&here);
}

/// Names already on the server that hold control characters (made outside
/// the protocol) list as `?`; `get -r` asked for the `?` name and said "File
/// does not exist". Now it skips each by name, escaped, saying why, fetches
/// the rest and exits non-zero.
#[test]
fn names_on_the_server_with_control_characters_are_skipped_by_name() {
    let srv = Server::start();
    let t = odd_tree(&srv);
    let back = tempdir("truth_back");
    for args in [
        vec!["get", "-r", "srv", back.to_str().unwrap()],
        vec!["mirror", "srv", back.join("m").to_str().unwrap()],
    ] {
        let o = srv.tf(&args);
        let what = format!("{:?}", &args[..2]);
        assert!(!o.status.success(), "{what}: {}", text(&o));
        assert_clean(&o, &what);
        let e = stderr(&o);
        assert!(!e.contains("does not exist"), "{what}: {e}");
        for (_, shown) in BAD {
            let lines: Vec<&str> = e.lines().filter(|l| l.contains(shown)).collect();
            assert_eq!(lines.len(), 1, "{what}: {shown} told once by its name: {e}");
            assert!(
                lines[0].contains("control character") && lines[0].contains("skipped"),
                "{what}: {e}"
            );
        }
    }
    assert_eq!(fs::read(back.join("srv/ok.txt")).unwrap(), b"ok");
    assert_eq!(fs::read(back.join("m/ok.txt")).unwrap(), b"ok");
    // still there, by their real bytes
    for (name, _) in BAD {
        assert!(t.join(os(name)).exists());
    }
    let _ = fs::remove_dir_all(&back);
}

/// A remote pattern matches a name holding a control character by its real
/// bytes (LS shows the character as `?`, and the match named a file that
/// does not exist: `rm 'srv/*'` and `get 'srv/*'` said "File does not
/// exist"): `ls` shows the real name escaped, `get` refuses to make it here
/// by name and fetches the rest, `rm` of a pattern removes the real file.
#[test]
fn patterns_match_names_with_control_characters_by_their_real_bytes() {
    let srv = Server::start();
    let t = odd_tree(&srv);
    let o = srv.tf(&["ls", "srv/*"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_clean(&o, "ls");
    for (_, shown) in BAD {
        assert!(
            stdout(&o).contains(&format!("srv/{shown}")),
            "ls shows {shown}: {}",
            stdout(&o)
        );
    }
    let back = tempdir("truth_glob");
    let o = srv.tf(&["get", "srv/*", back.to_str().unwrap()]);
    assert!(!o.status.success(), "{}", text(&o));
    assert_clean(&o, "get");
    let e = stderr(&o);
    assert!(!e.contains("does not exist"), "{e}");
    for (_, shown) in BAD {
        let lines: Vec<&str> = e.lines().filter(|l| l.contains(shown)).collect();
        assert_eq!(lines.len(), 1, "{shown} told once by its name: {e}");
        assert!(lines[0].contains("control character"), "{e}");
    }
    assert_eq!(fs::read(back.join("ok.txt")).unwrap(), b"ok");
    assert_eq!(dir_names(&back), ["ok.txt"]);
    // `?` matches the newline itself: the real file goes
    let o = srv.tf(&["rm", "srv/new?line"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!t.join(os(b"new\nline")).exists(), "{}", text(&o));
    let o = srv.tf(&["rm", "srv/*"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_clean(&o, "rm");
    assert_eq!(dir_names(&t), Vec::<String>::new(), "{}", text(&o));
    let _ = fs::remove_dir_all(&back);
}

/// Names on the server that are not UTF-8 (a Latin-1 `é`, the bytes 0xff
/// 0xfe) are acted on by their real bytes (issue 44): `ls -l` of their
/// directory and of a pattern gives each its size and shows it escaped, `get`
/// of a pattern fetches each under its own bytes, `rm` of a pattern removes
/// them. tf made such a name valid UTF-8 (U+FFFD for each bad byte), another
/// name: `ls -l` asked FSTAT of it and showed `? ? ? ?`, and `rm 'srv8/*'`
/// said "File does not exist" of files that are there.
#[test]
fn names_on_the_server_that_are_not_utf8_are_acted_on_by_their_bytes() {
    const ODD: [(&[u8], &str); 2] = [(b"lat\xe9n", "lat\\xe9n"), (b"\xff\xfe", "\\xff\\xfe")];
    let srv = Server::start();
    let t = srv.path("srv8");
    fs::create_dir(&t).unwrap();
    for (name, _) in ODD {
        fs::write(t.join(os(name)), b"odd").unwrap();
    }
    for args in [&["ls", "-l", "srv8"][..], &["ls", "-l", "srv8/*"]] {
        let o = srv.tf(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert_clean(&o, "ls -l");
        let out = stdout(&o);
        for (_, shown) in ODD {
            let line = out.lines().find(|l| l.ends_with(shown));
            assert!(
                line.is_some_and(|l| l.starts_with('-') && l.contains(" 3 ")),
                "{args:?}: no line with {shown}'s size: {out}"
            );
        }
    }
    let back = tempdir("truth_utf8");
    let o = srv.tf(&["get", "srv8/*", back.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_clean(&o, "get");
    for (name, _) in ODD {
        assert_eq!(
            fs::read(back.join(os(name))).unwrap_or_default(),
            b"odd",
            "{}",
            text(&o)
        );
    }
    let o = srv.tf(&["rm", "srv8/*"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_clean(&o, "rm");
    assert!(!stderr(&o).contains("does not exist"), "{}", text(&o));
    assert_eq!(dir_names(&t), Vec::<String>::new(), "{}", text(&o));
    let _ = fs::remove_dir_all(&back);
}

/// `put --resume` onto a remote file that is already this file whole sends
/// nothing and says so (it sent all of it again: sftp's reput and lftp send
/// nothing); the remote file is not replaced (same inode, same mtime). A
/// file of the same size but other bytes is still sent.
#[test]
fn resume_onto_the_same_file_sends_nothing() {
    let srv = Server::start();
    let here = tempdir("truth_resume");
    let local = here.join("f.bin");
    let data = pattern(3 << 20, 44);
    fs::write(&local, &data).unwrap();
    let o = srv.tf(&["put", local.to_str().unwrap(), "f.bin"]);
    assert!(o.status.success(), "{}", text(&o));
    let before = fs::metadata(srv.path("f.bin")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let o = srv.tf(&["put", local.to_str().unwrap(), "f.bin", "--resume"]);
    assert!(o.status.success(), "{}", text(&o));
    let e = stderr(&o);
    assert!(e.contains("nothing sent"), "{e}");
    assert!(!e.contains("sent it whole"), "{e}");
    let after = fs::metadata(srv.path("f.bin")).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec(), before.mtime()),
        (after.ino(), after.mtime_nsec(), after.mtime()),
        "the remote file was written again"
    );
    // same size, one byte changed: sent whole, as the rule says
    let mut other = data.clone();
    other[12345] ^= 0xff;
    fs::write(&local, &other).unwrap();
    let o = srv.tf(&["put", local.to_str().unwrap(), "f.bin", "--resume"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!stderr(&o).contains("nothing sent"), "{}", stderr(&o));
    assert_eq!(fs::read(srv.path("f.bin")).unwrap(), other);
    let _ = fs::remove_dir_all(&here);
}

/// `put -r` prints a summary as mirror does (files moved, skipped, failed,
/// bytes and time), and a symlink it leaves out is told in the same words
/// as `mirror -R` tells it.
#[test]
fn put_r_sums_up_and_tells_a_symlink_as_mirror_does() {
    let srv = Server::start();
    let here = tempdir("truth_sum");
    let tree = here.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("a.txt"), pattern(1000, 1)).unwrap();
    fs::write(tree.join("b.txt"), pattern(2000, 2)).unwrap();
    std::os::unix::fs::symlink("a.txt", tree.join("ln")).unwrap();
    let o = srv.tf(&["put", "-r", tree.to_str().unwrap(), "up"]);
    assert!(o.status.success(), "{}", text(&o));
    let sum = stdout(&o);
    let line = sum
        .lines()
        .find(|l| l.starts_with("put: "))
        .unwrap_or_else(|| panic!("no summary: {}", text(&o)));
    assert!(
        line.starts_with("put: 2 transferred, 1 skipped, 0 failed (") && line.ends_with(" s)"),
        "{line}"
    );
    let said = |o: &Output, cmd: &str| -> String {
        let e = stderr(o);
        let l = e
            .lines()
            .find(|l| l.contains("ln:"))
            .unwrap_or_else(|| panic!("{cmd}: the symlink is not told: {e}"));
        l.split("ln:").nth(1).unwrap_or_default().to_string()
    };
    let put_says = said(&o, "put -r");
    // mirror keeps links unless told not to (issue 61)
    let o = srv.tf(&["mirror", "-R", "--no-links", tree.to_str().unwrap(), "m"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(put_says, said(&o, "mirror -R"), "{}", text(&o));
    assert_eq!(put_says, " a symlink (not followed), skipped");
    assert!(!srv.path("up/ln").exists() && !srv.path("m/ln").exists());
    let _ = fs::remove_dir_all(&here);
}

/// Waits for `child` (at most 60 s) and returns its output.
fn finish(mut child: Child) -> Output {
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// tfd stopped (SIGTERM) while `mirror`, `mirror -R`, `get -r`, `put -r`
/// and a plain `get` move files: each says the server closed the session
/// because tfd is stopping, as the get always did; the tree commands said
/// "secure transport: the stream ended without a close record (truncated)".
#[test]
fn a_server_stopping_under_a_tree_run_is_named_as_under_a_get() {
    let mut srv = Server::start_with("rate_limit_session 1M\n");
    let here = tempdir("truth_stop");
    let local = here.join("tree");
    fs::create_dir_all(srv.path("tree")).unwrap();
    fs::create_dir_all(&local).unwrap();
    for f in ["a.bin", "b.bin", "c.bin"] {
        fs::write(srv.path("tree").join(f), pattern(8 << 20, 7)).unwrap();
        fs::write(local.join(f), pattern(8 << 20, 8)).unwrap();
    }
    let l = local.to_str().unwrap();
    let runs: Vec<(String, Vec<String>)> = [
        vec!["mirror", "tree", &format!("{}/m", here.display())],
        vec!["get", "-r", "tree", &format!("{}/g", here.display())],
        vec!["mirror", "-R", l, "mr"],
        vec!["put", "-r", l, "pr"],
        vec!["get", "tree/a.bin", &format!("{}/one.bin", here.display())],
    ]
    .iter()
    .map(|a| (a.join(" "), a.iter().map(|s| s.to_string()).collect()))
    .collect();
    fs::create_dir_all(here.join("g")).unwrap();
    let children: Vec<(String, Child)> = runs
        .iter()
        .map(|(name, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let child = srv
                .tf_command(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (name.clone(), child)
        })
        .collect();
    // every run under way: its data moving (at 1 MiB/s a file takes 8 s)
    std::thread::sleep(Duration::from_millis(2500));
    srv.stop();
    for (name, child) in children {
        let o = finish(child);
        let e = stderr(&o);
        assert!(!o.status.success(), "{name}: {}", text(&o));
        assert!(e.contains("tfd is stopping"), "{name}: {e}");
        assert!(!e.contains("truncated") && !e.contains("close record"), "{name}: {e}");
    }
    let _ = fs::remove_dir_all(&here);
}

/// LOGIN into a user whose jail directory the user owns is refused (FAILED
/// 48); tf's hint asked whether the server is multi-user. Now it says the
/// jail is at fault and is the operator's to fix.
#[test]
fn a_jail_its_user_can_write_is_named_as_the_servers() {
    assert!(is_root(), "this test needs root (a system user, a jail owned by it)");
    let who = ensure_system_user("tfdtruth1", &[]);
    let f = tempdir("truth_jail").join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "jo", "tfdtruth1", "jo pw 12345", &["--jail", "/jails/jo"]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let jail = srv.path("jails/jo");
    fs::create_dir_all(&jail).unwrap();
    nix::unistd::chown(&jail, Some(who.0.into()), Some(who.1.into())).unwrap();
    let o = srv
        .tf_command(&["--user", "jo", "ls"])
        .env("TF_PASSWORD", "jo pw 12345")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let e = stderr(&o);
    assert!(!o.status.success(), "{e}");
    assert!(e.contains("FAILED 48"), "{e}");
    assert!(e.contains("jail") && e.contains("operator"), "{e}");
    assert!(!e.contains("multi-user"), "{e}");
    let _ = fs::remove_dir_all(Path::new(f).parent().unwrap());
}
