//! `tf` against a server that lies (issue 26, part 5): crates/tfd-testkit/src/liar/
//! speaks the real protocol and answers from a scripted tree plus lies.
//!
//! These smoke tests prove the liar is a server today's `tf` accepts (ls, lsr,
//! get, fstat, the V2 listings, FSTATLS, uploads) and that `tf` asks it what
//! it asks tfd; the attacks through its lies are in `cli_liar_attacks.rs`.

use crate::output::{stderr, stdout};
use std::fs;
use std::process::Output;
use std::time::{Duration, Instant};
use tfd_testkit::liar::{run_watched, Kind, Liar, Lie, Node, Script, EXTRA_BYTE, HASH, MTIME};
use tfd_testkit::tempdir;
use tfp_client::replies::Split as _;
use tfp_client::{Client, ClientConfig};
use tfp_wire::fstat::{FileType, StatRecord};

fn tf(liar: &Liar, args: &[&str]) -> Output {
    run_watched(liar.tf_command(args), Duration::from_secs(60), u64::MAX).0
}

pub(super) fn tree() -> Script {
    Script::new()
        .file("tree/a.txt", b"alpha\n")
        .file("tree/sub/b.txt", b"bravo bravo\n")
        .dir("tree/sub/empty")
        .file("tree/sub/deeper/c.bin", (0u8..=255).collect::<Vec<u8>>())
}

#[test]
fn ls_and_lsr_show_the_scripted_tree_and_its_lies() {
    let liar = Liar::start(tree().lie(Lie::file("tree", "../x")).lie(Lie::dir("tree", "../../up")));
    let o = tf(&liar, &["ls", "tree"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // sorted by tf, tags and the lies as sent
    assert_eq!(stdout(&o), "D: ../../up/\nF: ../x\nF: a.txt\nD: sub/\n");
    let o = tf(&liar, &["lsr", "tree/sub"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "F: b.txt\nD: deeper/\nF: deeper/c.bin\nD: empty/\n",
        "LSR paths are relative to the listed directory"
    );
    let o = tf(&liar, &["ls", "nosuch"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("FAILED 10"), "{}", stderr(&o));
    // the transport tf chose by itself: the liar offers no secure one
    let o = tf(&liar, &["-v", "echo", "hi", "there"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hi there\n");
    assert!(stderr(&o).contains("legacy"), "{}", stderr(&o));
    let seen = liar.requests();
    assert!(
        seen.iter().any(|r| r.starts_with(b"TFDSECURE ")),
        "tf asked for the upgrade"
    );
    assert!(seen.iter().any(|r| r == b"LSR tree/sub"), "{seen:?}");
}

#[test]
fn ls_l_reads_fstat_from_the_liar() {
    let liar = Liar::start(tree().lie(Lie::Size {
        path: "tree/a.txt".into(),
        size: 1 << 60,
    }));
    let mut cmd = liar.tf_command(&["ls", "-l", "tree"]);
    cmd.env("TZ", "UTC0");
    let o = run_watched(cmd, Duration::from_secs(60), u64::MAX).0;
    assert!(o.status.success(), "{}", stderr(&o));
    let when = format!("{} UTC", tfp_wire::date::format_utc(MTIME as i64).unwrap());
    assert_eq!(
        stdout(&o),
        format!(
            "-????????? ?      ?      {:>12} {when}  a.txt\nd????????? ?      ?      {:>12} {when}  sub/\n",
            1u64 << 60,
            4096
        )
    );
    let o = tf(&liar, &["fstat", "--raw", "tree/sub/b.txt"]);
    assert_eq!(stdout(&o), format!("OK F 12 {MTIME} {MTIME}\n"));
    let o = tf(&liar, &["fstat", "tree/none"]);
    assert!(stderr(&o).contains("FAILED 9"), "{}", stderr(&o));
}

#[test]
fn get_rcvfile_and_sdown_bring_the_scripted_bytes() {
    let big = tfd_testkit::pattern(3 * 1024 * 1024 + 17, 7);
    let liar = Liar::start(tree().file("tree/big.bin", &big));
    let here = tempdir("liar_get");
    for (cmd, name, want) in [
        ("get", "tree/a.txt", &b"alpha\n"[..]),
        ("get", "tree/big.bin", &big[..]),
        ("rcvfile", "tree/big.bin", &big[..]),
        ("sdown", "tree/big.bin", &big[..]),
        ("get", "tree/sub/deeper/c.bin", &(0u8..=255).collect::<Vec<u8>>()[..]),
    ] {
        let local = here.join(format!("{cmd}.out"));
        let _ = fs::remove_file(&local);
        let o = tf(&liar, &[cmd, name, local.to_str().unwrap()]);
        assert!(o.status.success(), "{cmd} {name}: {}", stderr(&o));
        assert!(fs::read(&local).unwrap() == want, "{cmd} {name}: bytes differ");
    }
    // small buffers: many HPF chunks, and --verify asks SHA256
    let local = here.join("small-bufs");
    let o = tf(
        &liar,
        &[
            "get",
            "tree/big.bin",
            local.to_str().unwrap(),
            "--bufsz",
            "1000",
            "--verify",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big);
    // parallel ranges: GETs at offsets on four connections, each cancelled
    // once its range is in
    let local = here.join("streams");
    let o = tf(
        &liar,
        &[
            "get",
            "tree/big.bin",
            local.to_str().unwrap(),
            "--streams",
            "4",
            "--bufsz",
            "65536",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big, "--streams 4: bytes differ");
    let gets = liar.requests().iter().filter(|r| r.starts_with(b"GET ")).count();
    assert!(gets >= 4 + 3, "{gets} GETs");
    let o = tf(&liar, &["fsize", "tree/big.bin"]);
    assert_eq!(stdout(&o), format!("{}\n", big.len()));
    let o = tf(&liar, &["get", "tree/missing", here.join("m").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!here.join("m").exists());
    let _ = fs::remove_dir_all(&here);
}

/// `tf get` asks FSTAT once before the data: the size its progress bar
/// shows is the one the download goes by (issue 42: a second FSTAT was a
/// round trip before the first byte, 20 ms of a 3 s download at 200 Mbit/s,
/// 20 ms), with one stream and with several, and the bytes are right. One
/// more comes after the data, from a server without TFDSTATID: the check
/// that the file held still while it was read (issue 82).
#[test]
fn get_asks_fstat_once() {
    let big = tfd_testkit::pattern(2 * 1024 * 1024 + 5, 3);
    let liar = Liar::start(tree().file("tree/big.bin", &big));
    let here = tempdir("liar_one_fstat");
    let fstats = || {
        liar.requests()
            .iter()
            .filter(|r| r.as_slice() == b"FSTAT tree/big.bin")
            .count()
    };
    for (n, streams) in [(2, "1"), (4, "4")] {
        let local = here.join(format!("s{streams}"));
        let o = tf(
            &liar,
            &["get", "tree/big.bin", local.to_str().unwrap(), "--streams", streams],
        );
        assert!(o.status.success(), "--streams {streams}: {}", stderr(&o));
        assert!(fs::read(&local).unwrap() == big, "--streams {streams}: bytes differ");
        assert_eq!(
            fstats(),
            n,
            "--streams {streams}: one FSTAT before the data per get, one after"
        );
    }
    let _ = fs::remove_dir_all(&here);
}

/// `tf get -r` against a server without tfd's listings (the liar answers
/// TFDNAMES and TFDLIST `UNKNOWN`, as the reference server does): tf sends
/// it no `CONT` but in answer to a chunk it sent (the liar reads those in
/// its LSR, so none is among the commands it recorded); the tree lands.
#[test]
fn get_r_sends_no_cont_a_server_did_not_ask_for() {
    let liar = Liar::start(tree());
    let here = tempdir("liar_no_cont");
    let local = here.join("t");
    let o = tf(&liar, &["get", "-r", "--jobs", "1", "tree/", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(local.join("sub/b.txt")).unwrap(), b"bravo bravo\n");
    let seen: Vec<String> = liar
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert!(seen.iter().any(|r| r == "LSR tree"), "listed with LSR: {seen:?}");
    assert!(!seen.iter().any(|r| r == "CONT"), "a CONT read as a command: {seen:?}");
    let _ = fs::remove_dir_all(&here);
}

/// A fresh `tf get` (no local copy, no partial) sends its GET right behind
/// FSTAT: the client waits for no answer before the data but the GET's own
/// (issue 42: FSTAT's round trip was 20 ms before the first byte at 200
/// Mbit/s, 20 ms); TFDSTATID rides with them (the liar answers it
/// `UNKNOWN`, as a server without it), and an FSTAT after the data checks
/// that the file held still while it was read (issue 82), sent with
/// TFDMODE in the same write as the GET's FIN, so neither costs a round
/// trip of its own. Over a copy it
/// still asks FSTAT first (the delta decision needs the size), and a
/// missing file or a directory is still reported as before, the session
/// going on to END.
#[test]
fn a_fresh_get_asks_fstat_and_get_together() {
    let big = tfd_testkit::pattern(3 * 1024 * 1024 + 7, 5);
    let liar = Liar::start(tree().file("tree/big.bin", &big));
    let here = tempdir("liar_fresh_get");
    let local = here.join("fresh");
    let o = tf(&liar, &["get", "tree/big.bin", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big, "bytes differ");
    let asked = liar.requests();
    // after the offer of the secure transport, which the liar declines
    let names: Vec<String> = asked
        .iter()
        .map(|r| String::from_utf8_lossy(r.split(|&b| b == b' ').next().unwrap_or(r)).into_owned())
        .filter(|n| n != "TFDSECURE")
        .collect();
    // the session's features asked in the handshake's flight; a server
    // that tells none gets the protocol's own commands, never a probe
    assert_eq!(names, ["TFDFEATURES", "FSTAT", "GET", "FSTAT", "END"]);
    let waited = liar.waited_for();
    // the first FSTAT leaves with the GET, and the check after the data
    // rides behind the GET's FIN: no round trip of its own (the last of
    // the flight is the FIN's); the features question rides the
    // handshake's flight, waited for by nothing
    assert!(
        !waited
            .iter()
            .any(|r| r.starts_with(b"TFDSTATID") || r.starts_with(b"TFDFEATURES"))
            && waited.iter().filter(|r| r.starts_with(b"FSTAT")).count() <= 1,
        "a check after the data waited for its own answer: {:?}",
        waited.iter().map(|r| String::from_utf8_lossy(r)).collect::<Vec<_>>()
    );
    for (remote, says) in [("tree/nosuch", "no such file"), ("tree/sub", "not a regular file")] {
        let gone = here.join("gone");
        let o = tf(&liar, &["get", remote, gone.to_str().unwrap()]);
        assert!(!o.status.success(), "{remote}");
        assert!(stderr(&o).contains(says), "{remote}: {}", stderr(&o));
        assert!(
            fs::read_dir(&here).unwrap().count() == 1,
            "{remote}: left something beside"
        );
        assert_eq!(liar.requests().last().map(Vec::as_slice), Some(&b"END"[..]), "{remote}");
    }
    let _ = fs::remove_dir_all(&here);
}

/// `get --streams 2` asks for each stream's next lane right behind the
/// stop word of its lane: no GETCAN but each stream's first waits for the
/// last window of the lane before it (issue 42: a round trip with the
/// stream's socket empty, for every lane but the first), and the bytes
/// are right.
#[test]
fn streams_ask_their_next_lane_behind_the_stop() {
    // 8 MiB: four pieces of 2 MiB, in 256 KiB windows
    let big = tfd_testkit::pattern(8 * 1024 * 1024 + 3, 7);
    let liar = Liar::start(tree().file("tree/big.bin", &big).getcan());
    let here = tempdir("liar_next_lane");
    let local = here.join("big");
    let o = tf(
        &liar,
        &["get", "tree/big.bin", local.to_str().unwrap(), "--streams", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big, "bytes differ");
    let lanes = liar.requests().iter().filter(|r| r.starts_with(b"GETCAN ")).count();
    assert!(lanes >= 4, "{lanes} GETCANs: the streams did not move lanes");
    let waited = liar.waited_for().iter().filter(|r| r.starts_with(b"GETCAN ")).count();
    // a stream's last lane is followed by its END: that one it waits for
    assert!(
        waited <= 2,
        "{waited} of {lanes} GETCANs waited for before the next command: {:?}",
        liar.waited_for()
            .iter()
            .map(|r| String::from_utf8_lossy(r))
            .collect::<Vec<_>>()
    );
    let _ = fs::remove_dir_all(&here);
}

/// `tf get --offset 0` (written in place, trusting GET's stream) shows the
/// liar really does send more than it announced (the attack tests below need
/// that to be so); a plain `get`, `rcvfile` and `sdown` keep only the
/// announced size, so they refuse the file and keep nothing.
#[test]
fn the_liar_sends_more_than_it_announces() {
    let liar = Liar::start(tree().lie(Lie::Extra {
        path: "tree/a.txt".into(),
        extra: 1000,
    }));
    let here = tempdir("liar_extra");
    let o = tf(&liar, &["fsize", "tree/a.txt"]);
    assert_eq!(stdout(&o), "6\n");
    let local = here.join("raw");
    let o = tf(&liar, &["get", "tree/a.txt", local.to_str().unwrap(), "--offset", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = fs::read(&local).unwrap();
    assert_eq!(got.len(), 1006);
    assert!(got.starts_with(b"alpha\n") && got[6..].iter().all(|&b| b == EXTRA_BYTE));
    for cmd in ["get", "rcvfile", "sdown"] {
        let local = here.join(cmd);
        let o = tf(&liar, &[cmd, "tree/a.txt", local.to_str().unwrap()]);
        assert!(!o.status.success(), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("announced"), "{cmd}: {}", stderr(&o));
        assert!(!local.exists(), "{cmd}");
    }
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn uploads_and_mkdir_land_in_the_virtual_tree() {
    let liar = Liar::start(tree());
    let here = tempdir("liar_put");
    let src = here.join("src");
    let data = tfd_testkit::pattern(700_000, 3);
    fs::write(&src, &data).unwrap();
    // put: SNDFILE with overwrite; put --offset: PUT in place
    for (cmd, remote, opts) in [
        ("put", "tree/p.bin", &[][..]),
        ("sndfile", "tree/s.bin", &[][..]),
        ("put", "tree/hpf.bin", &["--offset", "0", "--bufsz", "65536"][..]),
    ] {
        let mut args = vec![cmd, src.to_str().unwrap(), remote];
        args.extend_from_slice(opts);
        let o = tf(&liar, &args);
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert_eq!(liar.node(remote), Some(Node::File(data.clone())), "{cmd}");
    }
    let o = tf(&liar, &["mkdir", "tree/newdir"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(liar.node("tree/newdir"), Some(Node::Dir));
    let o = tf(&liar, &["mkdir", "tree/newdir"]);
    assert!(stderr(&o).contains("FAILED 4"), "{}", stderr(&o));
    let _ = fs::remove_dir_all(&here);
}

pub(super) fn client(liar: &Liar) -> Client {
    let mut cfg = ClientConfig::new(&liar.addr(), tfd_testkit::keys().1.clone(), HASH);
    cfg.timeout = Some(Duration::from_secs(20));
    Client::connect(&cfg).expect("connect to the liar")
}

/// The V2 listings as raw units: `OK`, `[i32 len][line]`…, −10.
fn lsv2down(c: &mut Client, cmd: &str, dir: &str) -> Vec<Vec<u8>> {
    let first = c.raw(format!("{cmd} {dir}").as_bytes()).unwrap();
    assert_eq!(first, b"OK", "{}", String::from_utf8_lossy(&first));
    let mut lines = Vec::new();
    loop {
        let n = c.chan.rx.recv_i32().unwrap();
        if n == -10 {
            return lines;
        }
        assert!(n > 0, "{cmd}: length {n}");
        let mut b = vec![0u8; n as usize];
        c.chan.rx.recv_unit(&mut b).unwrap();
        lines.push(b);
    }
}

#[test]
fn v2_listings_and_fstatls_answer_as_tfd_does() {
    let liar = Liar::start(
        tree()
            .lie(Lie::file("tree", "a\nb"))
            .lie(Lie::dir("tree/sub", "../../up"))
            .lie(Lie::file("tree/sub/../../up", "y"))
            .lie(Lie::Size {
                path: "tree/a.txt".into(),
                size: u64::MAX / 2,
            }),
    );
    let mut c = client(&liar);
    let got = lsv2down(&mut c, "LSV2DOWN", "tree");
    let want: Vec<&[u8]> = vec![b"tree/a.txt\n", b"tree/sub/\n", b"tree/a\nb\n"];
    assert_eq!(got, want);
    let got = lsv2down(&mut c, "LSRV2DOWN", "tree/sub");
    let want: Vec<&[u8]> = vec![
        b"tree/sub/b.txt\n",
        b"tree/sub/deeper/\n",
        b"tree/sub/deeper/c.bin\n",
        b"tree/sub/empty/\n",
        b"tree/sub/../../up/\n",
        b"tree/sub/../../up/y\n",
    ];
    assert_eq!(got, want);
    assert_eq!(
        tfp_wire::Status::parse(&c.raw(b"LSV2DOWN nosuch").unwrap()),
        tfp_wire::Status::Failed(53, tfp_wire::Failed::LsrV2.text().into())
    );
    // LSRV2 writes the list file; FSTATLS reads it back
    assert_eq!(c.raw(b"LSRV2 tree@||@list.txt").unwrap(), b"OK");
    match liar.node("list.txt") {
        Some(Node::File(t)) => assert!(
            t.starts_with(b"tree/a.txt\ntree/sub/\n"),
            "{}",
            String::from_utf8_lossy(&t)
        ),
        other => panic!("no list file: {other:?}"),
    }
    let recs = c.fstatls(b"list.txt").unwrap();
    assert_eq!(
        recs[0],
        StatRecord::Stat {
            kind: FileType::Regular,
            size: u64::MAX / 2,
            atime: MTIME,
            mtime: MTIME
        }
    );
    assert!(matches!(
        recs[1],
        StatRecord::Stat {
            kind: FileType::Dir,
            ..
        }
    ));
    // the lying names stat as missing: no serve_anything here
    assert!(recs.contains(&StatRecord::Fail));
    c.end().unwrap();
}

/// The flood the bound tests use really arrives: a million entries in LSR
/// and in LSRV2DOWN, in seconds.
#[test]
fn the_liar_floods_a_listing() {
    const N: usize = 1_000_000;
    let liar = Liar::start(tree().lie(Lie::Many {
        dir: "tree/sub".into(),
        kind: Kind::File,
        name: "f".into(),
        count: N,
        distinct: true,
    }));
    let start = Instant::now();
    let mut c = client(&liar);
    let text = c.list(true, b"tree").split().unwrap().unwrap();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), N + 6);
    assert_eq!(lines[N + 5], b"F: sub/f999999");
    let v2 = lsv2down(&mut c, "LSRV2DOWN", "tree/sub");
    assert_eq!(v2.len(), N + 4);
    assert_eq!(v2[4], b"tree/sub/f0\n");
    c.end().unwrap();
    eprintln!("two listings of a million entries: {:?}", start.elapsed());
}
