//! Compressed listings (`TFDLISTZ`, doc/compatibility.md "Compressed
//! listings", issue 62): where tf compresses (`-z` here, on loopback; by
//! default over a slow link), a tree's listing comes as one zstd frame:
//! `get -r` (TFDNAMES), `get -r -a`, `mirror` and `mirror -R` (TFDENTRIES)
//! each land the tree whole, the server saying how few bytes the listing
//! took; a server with `compression no` answers it unknown and tf asks the
//! plain listing, the run as good; a lying server's frame (not zstd, cut
//! short, a bomb past the listing's bound) fails the run in one sentence
//! with nothing landed.

use std::fs;
use std::path::Path;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Script};
use tfd_testkit::*;

use crate::cli_compress_framed::same_with_attrs;
use crate::cli_compress_get::{files_below, ok};

/// A tree of `n` small files below `tree/` on the server, in nested
/// directories with long repeating names, as a source tree's.
fn server_tree(srv: &Server, n: usize) {
    for i in 0..n {
        let p = srv.path(&format!(
            "tree/package_{}/subpackage_{}/module_number_{i}.py",
            i % 9,
            i % 4
        ));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("x = {i}\n")).unwrap();
    }
}

/// The server's compressed listings: (plain bytes, bytes on the wire) each.
fn listings(srv: &Server) -> Vec<(u64, u64)> {
    srv.settled_log()
        .lines()
        .filter_map(|l| {
            let rest = l.split("TFDLISTZ listing: ").nth(1)?;
            let mut w = rest.split(' ');
            let plain = w.next()?.parse().ok()?;
            let wire = w.nth(2)?.parse().ok()?;
            Some((plain, wire))
        })
        .collect()
}

fn asked_z(srv: &Server) -> usize {
    srv.settled_log().matches("TFDLISTZ").count()
}

#[test]
fn a_trees_listing_comes_compressed_on_every_route_and_the_tree_lands_whole() {
    let srv = Server::start();
    server_tree(&srv, 3000);
    let d = tempdir("cli-zlist");
    for (i, args) in [
        vec!["get", "-r", "-z"],
        vec!["get", "-r", "-a", "-z"],
        vec!["mirror", "-z"],
    ]
    .into_iter()
    .enumerate()
    {
        let to = d.join(format!("down{i}"));
        let mut a = args.clone();
        // get -r of `tree/`: its contents in `to`, as mirror's
        a.extend([if args[0] == "get" { "tree/" } else { "tree" }, to.to_str().unwrap()]);
        let before = listings(&srv).len();
        ok(&srv.tf(&a), &a.join(" "));
        let src = srv.path("tree");
        assert_eq!(same_with_attrs_or_bytes(&src, &to, i > 0), 3000, "{a:?}");
        let new = &listings(&srv)[before..];
        assert!(!new.is_empty(), "{a:?}: no compressed listing: {}", srv.log());
        // 3,000 names of a source tree: a fifth of the bytes or less
        let (plain, wire) = new[0];
        assert!(plain > 100_000 && wire * 5 < plain, "{a:?}: {plain} as {wire}");
    }
    // up: mirror -R lists the server's side compressed as well
    let src = d.join("down0");
    fs::write(src.join("package_1/new.py"), b"y = 1\n").unwrap();
    let before = listings(&srv).len();
    ok(
        &srv.tf(&["mirror", "-R", "-z", src.to_str().unwrap(), "tree"]),
        "mirror -R -z",
    );
    assert!(listings(&srv).len() > before, "{}", srv.log());
    assert_eq!(fs::read(srv.path("tree/package_1/new.py")).unwrap(), b"y = 1\n");
    // without -z on loopback nothing is asked compressed
    let before = asked_z(&srv);
    ok(
        &srv.tf(&["get", "-r", "tree/", d.join("plain").to_str().unwrap()]),
        "get -r",
    );
    assert_eq!(asked_z(&srv), before, "{}", srv.log());
}

/// `same_with_attrs` where the copy kept modes and mtimes, else the files'
/// bytes alone; the number of files.
fn same_with_attrs_or_bytes(src: &Path, dst: &Path, attrs: bool) -> usize {
    if attrs {
        return same_with_attrs(src, dst);
    }
    let names = files_below(src);
    assert_eq!(names, files_below(dst));
    for n in &names {
        assert_eq!(fs::read(src.join(n)).unwrap(), fs::read(dst.join(n)).unwrap(), "{n}");
    }
    names.len()
}

#[test]
fn a_server_with_compression_off_is_asked_the_plain_listing() {
    let srv = Server::start_with("compression no\n");
    server_tree(&srv, 200);
    let d = tempdir("cli-zlist-off");
    for args in [vec!["get", "-r", "-z"], vec!["mirror", "-z"]] {
        let to = d.join(args[0]);
        let mut a = args.clone();
        a.extend(["tree", to.to_str().unwrap()]);
        let o = srv.tf(&a);
        ok(&o, &a.join(" "));
        assert_eq!(files_below(&to).len(), 200, "{a:?}");
        // nothing new said about it
        assert!(!String::from_utf8_lossy(&o.stderr).contains("listing"), "{o:?}");
    }
    assert!(listings(&srv).is_empty(), "{}", srv.log());
}

/// `mib` MiB of zeros as one listing's frame (a few KB: what a bomb is).
fn zeros_frame(mib: usize) -> Vec<u8> {
    let mut p = tfp_wire::compress::listing::Packer::new(1).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    for i in 0..mib {
        p.pack(&zeros, i + 1 == mib, &mut out).unwrap();
    }
    out
}

#[test]
fn a_lying_servers_compressed_listing_fails_the_run_and_nothing_lands() {
    let honest = {
        let mut p = tfp_wire::compress::listing::Packer::new(3).unwrap();
        let mut out = Vec::new();
        p.pack(b"F 1 1700000000 644 5 a.txt\n", false, &mut out).unwrap();
        out
    };
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        (
            "not zstd",
            vec![b"this is no zstd frame at all".to_vec()],
            "does not decode",
        ),
        ("cut short", vec![honest.clone()], "ended before its frame"),
        (
            "bomb",
            zeros_frame(300).chunks(60_000).map(<[u8]>::to_vec).collect(),
            "MiB",
        ),
    ];
    for (what, chunks, says) in cases {
        let liar = Liar::start(Script::new().file("t/a.txt", b"hello").listz(chunks));
        let dest = tempdir("cli-zlist-liar");
        let cmd = liar.tf_command(&["get", "-r", "-z", "t", dest.to_str().unwrap()]);
        let (o, rss) = run_watched(cmd, Duration::from_secs(60), 1 << 30);
        let said = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: {said}");
        assert!(said.contains(says), "{what}: {said}");
        assert_eq!(files_below(&dest), Vec::<String>::new(), "{what}: {said}");
        // the bound of a plain listing (256 MiB), never what the frame expands to
        assert!(rss < 400 << 20, "{what}: {rss} bytes of RSS");
        assert!(
            liar.requests()
                .iter()
                .any(|r| r.starts_with(b"TFDLISTZ yes TFDNAMES t")),
            "{what}: {:?}",
            liar.requests()
                .iter()
                .map(|r| String::from_utf8_lossy(r))
                .collect::<Vec<_>>()
        );
    }
}
