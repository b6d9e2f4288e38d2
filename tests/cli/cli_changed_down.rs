//! A server file rewritten in place (same size) while `tf get` reads it is
//! not landed (issue 82): tf says it changed on the server while it was read,
//! exits non-zero, and leaves the local file as it was (absent, or the old
//! copy), on each route the transfer engine takes: a single `get` (fresh,
//! onto an old copy, over two streams) and a tree's big file (`get -r`,
//! `mirror`). Before, downloads checked only the size, and landed a file of
//! both contents that never existed, rc 0.

use crate::output::text;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tfd_testkit::*;

const SIZE: usize = 12 << 20;

/// The file's content `v`: the same size whatever `v`.
fn content(v: u8) -> Vec<u8> {
    (0..SIZE).map(|i| (i % 251) as u8 ^ v).collect()
}

/// Runs `args` (slowed to about 3 s) while the server's file `p` is
/// rewritten in place after 0.8 s.
fn while_rewritten(srv: &Server, p: &Path, args: &[&str]) -> std::process::Output {
    fs::write(p, content(0)).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(800));
            let mut f = fs::OpenOptions::new().write(true).open(p).unwrap();
            f.write_all(&content(0x5a)).unwrap();
        });
        srv.tf(args)
    })
}

/// The run failed, said why, and left `local` as `was`.
fn refused(o: &std::process::Output, local: &Path, was: Option<&[u8]>, what: &str) {
    assert!(!o.status.success(), "{what}: exited 0: {}", text(o));
    assert!(
        text(o).contains("changed on the server while it was read; not received"),
        "{what}: {}",
        text(o)
    );
    assert_eq!(fs::read(local).ok().as_deref(), was, "{what}: {}", text(o));
}

#[test]
fn a_download_of_a_file_rewritten_while_read_keeps_the_local_file_and_fails() {
    let srv = Server::start();
    let here = tempdir("cli_changed_down");
    let p = srv.path("big");
    let l = |n: &str| here.join(n);
    let (c, d, e) = (l("c"), l("d"), l("e"));
    // a single get, fresh
    let o = while_rewritten(&srv, &p, &["--bwlimit", "4M", "get", "big", l("a").to_str().unwrap()]);
    refused(&o, &l("a"), None, "get");
    // onto an old copy: kept as it was
    fs::write(l("b"), b"the old copy").unwrap();
    let o = while_rewritten(&srv, &p, &["--bwlimit", "4M", "get", "big", l("b").to_str().unwrap()]);
    refused(&o, &l("b"), Some(b"the old copy"), "get onto a copy");
    // over two streams
    let args = ["--bwlimit", "4M", "get", "--streams", "2", "big", c.to_str().unwrap()];
    let o = while_rewritten(&srv, &p, &args);
    refused(&o, &l("c"), None, "get --streams 2");
    // a tree's big file, down alone through the engine
    fs::create_dir_all(srv.path("t")).unwrap();
    let args = ["--bwlimit", "4M", "get", "-r", "t", d.to_str().unwrap()];
    let o = while_rewritten(&srv, &srv.path("t/big"), &args);
    refused(&o, &l("d").join("big"), None, "get -r");
    let args = ["--bwlimit", "4M", "mirror", "t", e.to_str().unwrap()];
    let o = while_rewritten(&srv, &srv.path("t/big"), &args);
    refused(&o, &l("e").join("big"), None, "mirror");
    // and a file that holds still still lands
    let o = srv.tf(&["get", "big", l("f").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(l("f")).unwrap(), fs::read(&p).unwrap());
    let _ = fs::remove_dir_all(&here);
}

/// The single-file downloads tf moves outside the engine's partials check
/// the same (issue 82): to stdout and in place with `--offset` (what was
/// written cannot be taken back, but tf says it is of neither version and
/// fails), and `rcvfile`/`sdown`, which leave the local file as it was.
#[test]
fn streams_in_place_writes_rcvfile_and_sdown_of_a_rewritten_file_fail() {
    let srv = Server::start();
    let here = tempdir("cli_changed_down_forms");
    let p = srv.path("big");
    let l = |n: &str| here.join(n);
    let said = |o: &std::process::Output, what: &str, leaves: &str| {
        assert!(!o.status.success(), "{what}: exited 0: {}", text(o));
        let t = text(o);
        assert!(
            t.contains("changed on the server while it was read") && t.contains(leaves),
            "{what}: {t}"
        );
    };
    let o = while_rewritten(&srv, &p, &["--bwlimit", "4M", "get", "big", "-"]);
    said(&o, "get to stdout", "what went to stdout is of neither");
    let off = l("off");
    fs::write(&off, b"x").unwrap();
    let o = while_rewritten(
        &srv,
        &p,
        &["--bwlimit", "4M", "get", "--offset", "0", "big", off.to_str().unwrap()],
    );
    said(&o, "get --offset", "holds bytes of both from offset 0");
    for cmd in ["rcvfile", "sdown"] {
        fs::write(l(cmd), b"the old copy").unwrap();
        let o = while_rewritten(&srv, &p, &["--bwlimit", "4M", cmd, "big", l(cmd).to_str().unwrap()]);
        refused(&o, &l(cmd), Some(b"the old copy"), cmd);
    }
    // a file that holds still still comes, each way
    let o = srv.tf(&["get", "big", "-"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(o.stdout, fs::read(&p).unwrap());
    for cmd in ["rcvfile", "sdown"] {
        let o = srv.tf(&[cmd, "big", l(cmd).to_str().unwrap()]);
        assert!(o.status.success(), "{cmd}: {}", text(&o));
        assert_eq!(fs::read(l(cmd)).unwrap(), fs::read(&p).unwrap(), "{cmd}");
    }
    let _ = fs::remove_dir_all(&here);
}
