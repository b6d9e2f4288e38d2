//! `tf` is safe by default (issue 26, part 4), through the real binary against
//! a real server, checked byte for byte on both disks: a failed download leaves
//! the local file as it was, an upload replaces the remote file whole, a
//! refused upload leaves nothing on the server, `rmdir` keeps a non-empty
//! directory without `-r`, and `ls` is sorted (`-l` with type, size and time).

use crate::output::{stderr, stdout};

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};
use tfd_testkit::*;

/// The names in a local directory, sorted (temporaries included: they start with '.').
fn names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `tf` with `input` on its stdin.
fn tf_stdin(srv: &Server, args: &[&str], input: &[u8]) -> Output {
    let mut child = srv
        .tf_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_failed_download_leaves_the_local_file_byte_for_byte() {
    let srv = Server::start();
    let here = tempdir("cli_safe_get");
    let keep = here.join("keep.txt");
    let old = b"precious local data, version 1\n".to_vec();
    fs::write(&keep, &old).unwrap();
    fs::set_permissions(&keep, fs::Permissions::from_mode(0o640)).unwrap();
    fs::create_dir(srv.path("adir")).unwrap();
    let k = keep.to_str().unwrap();
    let cases: [&[&str]; 7] = [
        &["get", "nosuch", k],
        &["get", "nosuch", k, "--streams", "2"],
        &["get", "adir", k],
        &["rcvfile", "nosuch", k],
        &["rcvfile", "adir", k],
        &["sdown", "nosuch", k],
        &["sdown", "adir", k],
    ];
    for args in cases {
        let o = srv.tf(args);
        assert_ne!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(fs::read(&keep).unwrap(), old, "{args:?} changed the local file");
        assert_eq!(names(&here), ["keep.txt"], "{args:?} left something behind");
    }
    // a complete download replaces it whole, keeping its permissions
    fs::write(srv.path("new.txt"), b"v2\n").unwrap();
    for cmd in ["get", "rcvfile", "sdown"] {
        fs::write(&keep, &old).unwrap();
        let o = srv.tf(&[cmd, "new.txt", k]);
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert_eq!(fs::read(&keep).unwrap(), b"v2\n", "{cmd}");
        assert_eq!(
            fs::metadata(&keep).unwrap().permissions().mode() & 0o7777,
            0o640,
            "{cmd}"
        );
        assert_eq!(names(&here), ["keep.txt"], "{cmd}");
    }
    // `-` is stdout: nothing named '-' appears
    for cmd in ["get", "rcvfile", "sdown"] {
        let o = srv
            .tf_command(&[cmd, "new.txt", "-"])
            .current_dir(&here)
            .output()
            .unwrap();
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert_eq!(o.stdout, b"v2\n", "{cmd}");
        assert_eq!(names(&here), ["keep.txt"], "{cmd}");
    }
    fs::remove_dir_all(&here).unwrap();
}

#[test]
fn an_interrupted_download_leaves_the_local_file_and_no_temporary() {
    let srv = Server::start();
    let here = tempdir("cli_safe_int");
    let keep = here.join("keep.bin");
    let old = b"the old contents\n".to_vec();
    fs::write(&keep, &old).unwrap();
    // big enough that the download is still running when it is interrupted
    data_dir_write(&srv.path("big.bin"), &pattern(400 << 20, 7));
    let child = srv
        .tf_command(&["get", "big.bin", keep.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the temporary appears beside the target, hidden, readable by its owner only
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let tmp = loop {
        let t = names(&here).into_iter().find(|n| n.starts_with('.'));
        if let Some(t) = t {
            break here.join(t);
        }
        assert!(std::time::Instant::now() < deadline, "no temporary appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    if let Ok(m) = fs::metadata(&tmp) {
        assert_eq!(m.permissions().mode() & 0o777, 0o600, "{}", tmp.display());
    }
    assert_eq!(fs::read(&keep).unwrap(), old, "the target changed during the download");
    // interrupted once its journal proves data landed: a partial of nothing
    // is rightly dropped (on a fast machine the signal could otherwise come
    // between the partial's creation and its first bytes)
    let journal = here.join(".keep.bin.tf-partial.journal");
    let landed = || {
        let text = fs::read_to_string(&journal).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.strip_prefix("range "))
            .filter_map(|l| l.split(' ').nth(2)?.parse::<u64>().ok())
            .sum::<u64>()
    };
    while landed() < 1 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "no data landed in {}",
            tmp.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGINT).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "tf finished before it was interrupted");
    assert_eq!(fs::read(&keep).unwrap(), old);
    // the partial and its journal stay for --resume (tests/cli/cli_resume.rs), and tf says so
    assert_eq!(
        names(&here),
        [".keep.bin.tf-partial", ".keep.bin.tf-partial.journal", "keep.bin"],
        "the partial download is kept"
    );
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    fs::remove_dir_all(&here).unwrap();
}

#[test]
fn an_upload_replaces_the_remote_file_whole() {
    let srv = Server::start();
    let here = tempdir("cli_safe_put");
    let short = here.join("short.txt");
    fs::write(&short, b"v3\n").unwrap();
    let s = short.to_str().unwrap();
    let long = b"version 2 of the remote file..\n";
    assert_eq!(long.len(), 31);
    for (i, extra) in [&[][..], &["--streams", "2"][..], &["--verify"][..]].iter().enumerate() {
        let name = format!("f{i}.txt");
        fs::write(srv.path(&name), long).unwrap();
        let mut args = vec!["put", s, name.as_str()];
        args.extend_from_slice(extra);
        let o = srv.tf(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(fs::read(srv.path(&name)).unwrap(), b"v3\n", "{args:?}");
    }
    // sup and sndfile --overwrite too
    for cmd in [&["sup"][..], &["sndfile", "--overwrite"][..]] {
        fs::write(srv.path("g.txt"), long).unwrap();
        let mut args = vec![cmd[0], s, "g.txt"];
        args.extend_from_slice(&cmd[1..]);
        let o = srv.tf(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(fs::read(srv.path("g.txt")).unwrap(), b"v3\n", "{args:?}");
    }
    // `-` is stdin
    fs::write(srv.path("h.txt"), long).unwrap();
    let o = tf_stdin(&srv, &["put", "-", "h.txt", "--verify"], b"from stdin\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(srv.path("h.txt")).unwrap(), b"from stdin\n");
    // stdin and stdout are hashed on the way only for --verify, and then
    // really compared (the hash of the bytes that passed)
    let hex: String = Sha256::digest(b"from stdin\n")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let sum = format!("verified: SHA-256 0x{hex}");
    assert!(stderr(&o).contains(&sum), "{}", stderr(&o));
    let o = srv.tf(&["get", "h.txt", "-", "--verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, b"from stdin\n");
    assert!(stderr(&o).contains(&sum), "{}", stderr(&o));
    // into a file: the same line as put's, with no `tf: ` before it (issue 65)
    let into = tempdir("cli_safe_verified");
    let o = srv.tf(&["get", "h.txt", into.join("h.txt").to_str().unwrap(), "--verify"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).lines().any(|l| l == sum), "{}", stderr(&o));
    fs::remove_dir_all(&into).unwrap();
    let o = srv.tf(&["get", "h.txt", "-"]);
    assert!(o.status.success() && !stderr(&o).contains("verified"), "{}", stderr(&o));
    // --offset writes in place, explicitly: the tail stays
    fs::write(srv.path("i.txt"), long).unwrap();
    let o = srv.tf(&["put", s, "i.txt", "--offset", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read(srv.path("i.txt")).unwrap(),
        b"v3\nsion 2 of the remote file..\n"
    );
    // nothing else was left on the server (no temporaries)
    assert_eq!(
        dir_names(&srv.data),
        ["f0.txt", "f1.txt", "f2.txt", "g.txt", "h.txt", "i.txt"]
    );
    fs::remove_dir_all(&here).unwrap();
}

#[test]
fn a_refused_upload_leaves_nothing_on_the_server() {
    let srv = Server::start();
    let here = tempdir("cli_safe_dir");
    let dir = here.join("DIR");
    fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let missing = here.join("missing.txt");
    let m = missing.to_str().unwrap();
    for cmd in ["put", "sndfile", "sup"] {
        for (src, dst) in [(d, "DIR"), (d, "a/b/DIR"), (m, "a/b/missing.txt")] {
            let o = srv.tf(&[cmd, src, dst, "--parents"]);
            assert_eq!(o.status.code(), Some(1), "{cmd} {src} {dst}: {}", stderr(&o));
            assert!(
                dir_names(&srv.data).is_empty(),
                "{cmd} {src} {dst} left {:?}",
                dir_names(&srv.data)
            );
        }
    }
    let o = srv.tf(&["put", d, "DIR"]);
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    // the empty name is still fine for a --parents upload below it afterwards
    let f = here.join("f.txt");
    fs::write(&f, b"x").unwrap();
    let o = srv.tf(&["put", f.to_str().unwrap(), "DIR/f.txt", "--parents"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(srv.path("DIR/f.txt")).unwrap(), b"x");
    fs::remove_dir_all(&here).unwrap();
}

#[test]
fn rmdir_refuses_a_non_empty_directory_without_r() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("full/sub")).unwrap();
    fs::write(srv.path("full/sub/file.txt"), b"keep me").unwrap();
    fs::create_dir(srv.path("empty")).unwrap();
    let o = srv.tf(&["rmdir", "full"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("full: the directory is not empty"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("rmdir -r"), "{}", stderr(&o));
    assert_eq!(fs::read(srv.path("full/sub/file.txt")).unwrap(), b"keep me");
    // no argument would empty the served root: a usage error
    let o = srv.tf(&["rmdir"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(srv.path("full/sub/file.txt").exists());
    let o = srv.tf(&["rmdir", "empty"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!srv.path("empty").exists());
    let o = srv.tf(&["rmdir", "-r", "full"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!srv.path("full").exists());
    let o = srv.tf(&["rmdir", "nosuch"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn ls_is_sorted_and_ls_l_shows_type_size_and_time() {
    let srv = Server::start();
    // enough names that the directory's own order is not sorted by chance
    let mut want: Vec<String> = (0..40).map(|i| format!("f{:02}-{}.txt", (i * 17) % 40, i)).collect();
    for (i, n) in want.iter().enumerate() {
        fs::write(srv.path(n), vec![b'x'; i]).unwrap();
    }
    fs::create_dir(srv.path("m-dir")).unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    fs::File::options()
        .write(true)
        .open(srv.path(&want[3]))
        .unwrap()
        .set_modified(t)
        .unwrap();
    let old_name = want[3].clone();
    let sizes: std::collections::HashMap<String, usize> =
        want.iter().cloned().enumerate().map(|(i, n)| (n, i)).collect();
    want.push("m-dir".into());
    want.sort();
    let o = srv.tf(&["ls"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got: Vec<String> = stdout(&o)
        .lines()
        .map(|l| l[3..].trim_end_matches('/').to_string())
        .collect();
    assert_eq!(got, want, "plain ls is sorted by name");
    assert!(stdout(&o).contains("D: m-dir/\n"));
    // times are local, with the zone's name (here TZ's)
    let o = srv.tf_command(&["ls", "-l"]).env("TZ", "UTC0").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Vec<String>> = stdout(&o)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(lines.len(), want.len(), "{}", stdout(&o));
    for (mut l, name) in lines.clone().into_iter().zip(&want) {
        assert_eq!(l.len(), 8, "mode owner group size date time zone name: {l:?}");
        assert_eq!(l[6], "UTC", "{l:?}");
        l.remove(6);
        assert_eq!(l[6].trim_end_matches('/'), name);
        if name == "m-dir" {
            assert!(l[0].starts_with('d'), "{l:?}");
            assert_eq!(l[6], "m-dir/");
        } else {
            assert!(l[0].starts_with('-'), "{l:?}");
            assert_eq!(l[3], sizes[name].to_string(), "{name}");
        }
    }
    let old = lines.iter().find(|l| l[7] == old_name).unwrap();
    assert_eq!(
        (old[4].as_str(), old[5].as_str()),
        ("2020-09-13", "12:26:40"),
        "{old:?}"
    );
    // a subdirectory, and -l after the directory
    fs::write(srv.path("m-dir/z"), b"zz").unwrap();
    fs::write(srv.path("m-dir/a"), b"a").unwrap();
    let o = srv.tf(&["ls", "m-dir", "-l"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let firsts: Vec<(String, String)> = stdout(&o)
        .lines()
        .map(|l| {
            let v: Vec<&str> = l.split_whitespace().collect();
            (v[3].to_string(), v[v.len() - 1].to_string())
        })
        .collect();
    assert_eq!(firsts, [("1".to_string(), "a".to_string()), ("2".into(), "z".into())]);
}
