//! Nothing a server sends reaches the terminal raw (issue 31 item 7): `tf`
//! against the lying server of crates/tfd-testkit/src/liar/, whose names, FSTAT
//! fields, FAILED texts and ECHO carry terminal escape sequences (a title
//! change `ESC ]0;… BEL`, an erase-and-rewrite `ESC [2K ESC [1A`, a C1 CSI, a
//! bidi override, bytes that are not UTF-8), and whose listings never end.
//! Every byte `tf` writes is checked for control characters; the escaped
//! forms must show, and an endless listing must end in bounded memory.

use crate::output::{stderr, stdout};

use std::process::Output;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Lie, Script};

/// Names carrying what a hostile server would send.
const EVIL: [&[u8]; 5] = [
    b"t\x1b]0;pwned\x07itle",
    b"e\x1b[2K\x1b[1Arase",
    "c1\u{9b}31mred".as_bytes(),
    "bidi\u{202e}txt.exe".as_bytes(),
    b"raw\xff\x1bcbyte",
];

/// The escaped forms `tf` shows for them.
const SHOWN: [&str; 5] = [
    "t\\u{1b}]0;pwned\\u{7}itle",
    "e\\u{1b}[2K\\u{1b}[1Arase",
    "c1\\u{9b}31mred",
    "bidi\\u{202e}txt.exe",
    "raw\\xff\\u{1b}cbyte",
];

fn tf(liar: &Liar, args: &[&str]) -> Output {
    run_watched(liar.tf_command(args), Duration::from_secs(60), 1 << 30).0
}

/// Fails when any byte `tf` wrote is a control character other than a line
/// end, or a C1 or bidi control (UTF-8 encoded).
fn assert_clean(o: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let bad = bytes.iter().position(|&b| (b < 0x20 && b != b'\n') || b == 0x7f);
        let text = String::from_utf8_lossy(bytes);
        let hidden = text
            .chars()
            .find(|&c| c.is_control() && c != '\n' || ('\u{202a}'..='\u{202e}').contains(&c));
        assert!(
            bad.is_none() && hidden.is_none() && std::str::from_utf8(bytes).is_ok(),
            "{what}: raw control bytes reached the terminal on {stream}: {text:?}"
        );
    }
}

#[test]
fn names_in_listings_are_escaped() {
    let mut script = Script::new().file("d/plain.txt", "x");
    for name in EVIL {
        script = script.lie(Lie::file("d", name));
    }
    let liar = Liar::start(script.lie(Lie::dir("d", b"sub\x1b[31m")));
    for args in [
        &["ls", "d"][..],
        &["lsr", "d"],
        &["ls", "-l", "d"],
        &["lsv2", "d"],
        &["lsrv2down", "d"],
    ] {
        let o = tf(&liar, args);
        assert_clean(&o, &format!("{args:?}"));
        let out = stdout(&o);
        for s in SHOWN {
            assert!(out.contains(s), "{args:?}: {s} is not shown: {out}");
        }
        assert!(
            out.contains("plain.txt") && out.contains("sub\\u{1b}[31m/"),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn fstat_fields_are_parsed_or_escaped() {
    let evil = b"OK F 5\x1b[2J\x1b]0;x\x07 1700000000 17000\x1b[1A00000";
    let liar = Liar::start(Script::new().file("d/a.txt", "hello").answer("FSTAT", evil));
    // ls -l prints only numbers it parsed: '?' for the size and time that lie
    let o = tf(&liar, &["ls", "-l", "d"]);
    assert_clean(&o, "ls -l");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("-????????? ?      ?      {:>12} {:<23}  a.txt\n", "?", "? ? ?")
    );
    // fstat prints the answer as sent, escaped
    let o = tf(&liar, &["fstat", "d/a.txt"]);
    assert_clean(&o, "fstat");
    assert!(
        stdout(&o).contains("5\\u{1b}[2J\\u{1b}]0;x\\u{7}"),
        "fstat shows the field escaped: {}",
        stdout(&o)
    );
    // a size past u64 is no number either
    let liar = Liar::start(
        Script::new()
            .file("d/a.txt", "hello")
            .answer("FSTAT", "OK F 99999999999999999999999 1 1"),
    );
    let o = tf(&liar, &["ls", "-l", "d"]);
    assert_eq!(
        stdout(&o),
        format!("-????????? ?      ?      {:>12} {:<23}  a.txt\n", "?", "? ? ?")
    );
}

#[test]
fn failed_texts_and_echo_are_escaped() {
    let failed = b"FAILED 10 : no such\x1b]0;pwned\x07 dir\x1b[2K\x1b[1A\rOK all fine";
    let shown = "FAILED 10 : no such\\u{1b}]0;pwned\\u{7} dir\\u{1b}[2K\\u{1b}[1A\\rOK all fine";
    let mut script = Script::new().file("d/a.txt", "hello");
    for cmd in [
        "LS",
        "LSR",
        "FSTAT",
        "GET",
        "RCVFILE",
        "SDOWN",
        "MKDIR",
        "SHA256",
        "LSV2DOWN",
        "LSRV2DOWN",
    ] {
        script = script.answer(cmd, failed);
    }
    let liar = Liar::start(script);
    let local = tfd_testkit::tempdir("escape-get");
    let l = local.join("a.txt");
    let l = l.to_str().unwrap();
    let into = local.join("tree");
    for args in [
        &["ls", "d"][..],
        &["lsr", "d"],
        &["fstat", "d/a.txt"],
        // a remote path in tf's explanation is escaped too
        &["fstat", "d/n\x1b[2Jo"],
        &["get", "d/a.txt", l],
        &["get", "-r", "d", into.to_str().unwrap()],
        &["mkdir", "d/x"],
        &["sha256", "d/a.txt"],
        &["lsv2", "d"],
    ] {
        let o = tf(&liar, args);
        assert_clean(&o, &format!("{args:?}"));
        assert!(!o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(shown),
            "{args:?}: the FAILED text escaped: {}",
            stderr(&o)
        );
    }
    let o = tf(&liar, &["echo", "hi\x1b]0;pwned\x07there"]);
    assert_clean(&o, "echo");
    assert_eq!(stdout(&o), "hi\\u{1b}]0;pwned\\u{7}there\n");
    let _ = std::fs::remove_dir_all(&local);
}

#[test]
fn an_endless_listing_ends_in_bounded_memory() {
    let liar = Liar::start(
        Script::new()
            .dir("d")
            .endless("d")
            .endless("d/list")
            .file("d/short", "d/a\n")
            .endless("d/short"),
    );
    let cases = [
        (&["ls", "d"][..], "longer than 256 MiB"),
        (&["lsr", "d"], "longer than 256 MiB"),
        (&["lsrv2down", "d"], "longer than 256 MiB"),
        (&["fstatls", "d/list"], "longer than 256 MiB"),
        (&["fstatls", "d/short"], "FSTATLS: no end record"),
    ];
    for (args, says) in cases {
        let (o, peak) = run_watched(liar.tf_command(args), Duration::from_secs(180), 768 << 20);
        let what = format!("{args:?}");
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{what}: says why it stopped: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{what}: printed part of an endless listing");
        assert!(peak < 640 << 20, "{what}: peak {} MiB", peak >> 20);
        eprintln!("{what}: broken off, peak {} MiB resident", peak >> 20);
    }
}
