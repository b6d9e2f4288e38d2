//! `tf get --streams N -z` (doc/compatibility.md "Compression", issue 62):
//! each stream's lanes come compressed (`TFDGETCANZ`) and land whole and
//! verified, also after a cut mid-file and `--resume`; a lying server's
//! ranged blocks (a bomb, a block beyond its window, a short one, an
//! unknown kind) are
//! refused with nothing landing and tf's memory bounded; a server without
//! the ranged form gets today's GETCAN.

use crate::cli_compress::text;
use crate::cli_resume::{interrupt_get, names, sha};
use crate::output::stderr;
use std::fs;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Script};
use tfd_testkit::*;

fn ok(o: &std::process::Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", stderr(o));
}

/// The server's log lines of compressed lanes, and the bytes they saved.
fn lanes(srv: &Server) -> (usize, u64) {
    let log = srv.settled_log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("TFDGETCANZ sent")).collect();
    let saved = lines
        .iter()
        .filter_map(|l| {
            let (_, rest) = l.split_once(" of them compressed into ")?;
            let before: u64 = l.split_once('(')?.1.split(' ').next()?.parse().ok()?;
            let after: u64 = rest.split(')').next()?.parse().ok()?;
            Some(before.saturating_sub(after))
        })
        .sum();
    (lines.len(), saved)
}

#[test]
fn get_streams_z_comes_down_compressed_and_no_compress_does_not() {
    let srv = Server::start();
    let data = text(6 << 20);
    fs::write(srv.path("big.log"), &data).unwrap();
    let d = tempdir("cli-zstreams");
    let to = d.join("a.log");
    let o = srv.tf(&["get", "--streams", "4", "-z", "big.log", to.to_str().unwrap()]);
    ok(&o, "get --streams 4 -z");
    assert!(fs::read(&to).unwrap() == data, "bytes differ");
    assert!(stderr(&o).contains("verified"), "{}", stderr(&o));
    let (n, saved) = lanes(&srv);
    assert!(n >= 4, "{n} compressed lanes: {}", srv.log());
    assert!(saved > 3 << 20, "saved only {saved} bytes: {}", srv.log());
    let to = d.join("b.log");
    ok(
        &srv.tf(&[
            "get",
            "--streams",
            "4",
            "--no-compress",
            "big.log",
            to.to_str().unwrap(),
        ]),
        "--no-compress",
    );
    assert!(fs::read(&to).unwrap() == data, "bytes differ");
    assert_eq!(lanes(&srv).0, n, "{}", srv.log());
}

#[test]
fn a_compressed_streams_get_cut_mid_file_resumes_byte_identical_and_verified() {
    // slow enough on the wire that the compressed lanes are still moving
    // when the journal records a MiB
    let srv = Server::start_with("rate_limit_session 128K\n");
    let big = text(24 << 20);
    fs::write(srv.path("big.bin"), &big).unwrap();
    let here = tempdir("cli-zstreams-resume");
    let t = here.join("big.bin");
    interrupt_get(&srv, &t, b"old", &["--streams", "4", "-z"], 2);
    assert!(lanes(&srv).0 > 0, "{}", srv.log());
    let before = lanes(&srv).0;
    let o = srv.tf(&[
        "get",
        "big.bin",
        t.to_str().unwrap(),
        "--resume",
        "--streams",
        "4",
        "-z",
    ]);
    ok(&o, "--resume");
    assert!(stderr(&o).contains("resuming"), "{}", stderr(&o));
    assert!(stderr(&o).contains("verified"), "{}", stderr(&o));
    assert_eq!(sha(&fs::read(&t).unwrap()), sha(&big), "byte-identical");
    assert_eq!(names(&here), ["big.bin"], "partial gone");
    assert!(
        lanes(&srv).0 > before,
        "the resume's lanes came compressed: {}",
        srv.log()
    );
}

#[test]
fn a_lying_servers_ranged_blocks_are_refused_and_nothing_lands() {
    let zeros = vec![0u8; 256 << 10];
    let cases: Vec<(&str, usize, Vec<u8>)> = vec![
        // 256 KiB of zeros announced as 1 KiB
        ("bomb", 4 << 20, lying_block(&zeros, 1024)),
        // honest about its 400 KiB, more than the 256 KiB window
        ("window", 4 << 20, lying_block(&vec![0u8; 400 << 10], 400 << 10)),
        // a kind no version knows
        ("kind", 4 << 20, [&[9u8, 0, 0, 0, 4][..], b"abcd"].concat()),
        // decodes to less than it announced
        ("short", 4 << 20, lying_block(b"only this", 5000)),
    ];
    for (what, size, unit) in cases {
        let script = Script::new()
            .file("a.log", vec![b'x'; size])
            .answer("TFDZSTD", "OK 9 21")
            .getcan()
            .getcanz(vec![unit]);
        let liar = Liar::start(script);
        let dest = tempdir("cli-zstreams-liar");
        let to = dest.join("a.log");
        let cmd = liar.tf_command(&["get", "-z", "--streams", "4", "a.log", to.to_str().unwrap()]);
        let (o, rss) = run_watched(cmd, Duration::from_secs(60), 1 << 30);
        let said = String::from_utf8_lossy(&o.stderr);
        let asked: Vec<String> = liar
            .requests()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        assert!(!o.status.success(), "{what}: {said} {asked:?}");
        assert!(said.contains("TFDGETCANZ") && said.contains("block"), "{what}: {said}");
        assert_eq!(dir_names(&dest), Vec::<String>::new(), "{what}: {said}");
        assert!(rss < 64 << 20, "{what}: {rss} bytes of RSS");
        assert!(
            asked.iter().any(|r| r.starts_with("TFDGETCANZ yes a.log")),
            "{what}: {asked:?}"
        );
    }
}

#[test]
fn a_server_without_the_ranged_form_gets_todays_getcan() {
    let data = text(3 << 20);
    let script = Script::new().file("a.log", &data).answer("TFDZSTD", "OK 9 21").getcan();
    let liar = Liar::start(script);
    let dest = tempdir("cli-zstreams-old");
    let to = dest.join("a.log");
    let o = liar
        .tf_command(&["get", "-z", "--streams", "4", "a.log", to.to_str().unwrap()])
        .output()
        .unwrap();
    ok(&o, "get --streams 4 -z of a server without TFDGETCANZ");
    assert!(fs::read(&to).unwrap() == data, "bytes differ");
    let asked = liar.requests();
    assert!(asked.iter().any(|r| r.starts_with(b"TFDGETCANZ ")));
    assert!(asked.iter().any(|r| r.starts_with(b"GETCAN ")));
}
