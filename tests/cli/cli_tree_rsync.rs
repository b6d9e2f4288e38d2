//! rsync's tree spellings on `put -r` and `get -r` as on `mirror`: `-l`
//! (`--links`), `--safe-links`, `--checksum`, `-o` and `-g` without `-a`,
//! each given to `rsync -r` between two local directories and to tf's runs
//! through a real tfd, the copies compared on disk. They keep what rsync
//! -r with them keeps and no more: no mode or mtime of the source's.

use crate::cli_archive::{chmod, stamp};
use crate::output::{ok, text};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

/// The source's files' mtime: long past, so a copy that kept it shows.
const PAST: i64 = 1_500_000_000;

/// Files of three modes, a subdirectory, and links of every reach: within
/// the tree (`rel`, `d/back`), absolute, and climbing out of it.
fn build(src: &Path) {
    fs::create_dir_all(src.join("d")).unwrap();
    for (name, body, mode) in [("f", "eff", 0o600), ("x", "exec", 0o751), ("d/g", "gee", 0o644)] {
        fs::write(src.join(name), body).unwrap();
        chmod(&src.join(name), mode);
        stamp(&src.join(name), PAST, 7);
    }
    for (name, target) in [
        ("rel", "f"),
        ("abs", "/etc/passwd"),
        ("out", "../outside"),
        ("d/back", "../f"),
    ] {
        std::os::unix::fs::symlink(target, src.join(name)).unwrap();
    }
}

/// Every entry below `root` by relative path: a link's target, a file's
/// bytes and mode bits, a directory as such.
fn entries(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link {}", fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                let body = String::from_utf8(fs::read(&p).unwrap()).unwrap();
                format!("file {:o} {body}", m.permissions().mode() & 0o7777)
            };
            out.insert(rel, what);
        }
    }
    out
}

/// The files below `root` whose mtime is the source's: none, as rsync -r
/// leaves them.
fn kept_mtimes(root: &Path) -> Vec<String> {
    ["f", "x", "d/g"]
        .iter()
        .filter(|n| fs::metadata(root.join(n)).is_ok_and(|m| m.mtime() == PAST))
        .map(|n| n.to_string())
        .collect()
}

fn rsync(words: &[&str], src: &Path, dst: &Path) {
    let o = Command::new("rsync")
        .args(words)
        .arg(format!("{}/", src.display()))
        .arg(dst)
        .output()
        .unwrap_or_else(|e| panic!("rsync is needed for this test (scripts/deps installs it): {e}"));
    assert!(o.status.success(), "rsync {words:?}: {}", text(&o));
}

/// `put -r -l`, `get -r -l` (and `--links`, `-rl`, with `--safe-links`)
/// make what `rsync -r -l` makes, links and all, no mtime kept, and the
/// links are those `mirror -l` makes both ways. On the old code each was
/// refused: `-l` and `--safe-links` were no options of put -r and get -r.
#[test]
fn links_and_safe_links_are_taken_by_put_and_get_as_rsync_r_takes_them() {
    let srv = Server::start();
    let here = tempdir("cli_tree_rsync_links");
    let src = here.join("src");
    build(&src);
    let s = src.to_str().unwrap();
    let contents = format!("{s}/");
    // the server's copy get -r starts from, links and all
    ok(&srv.tf(&["mirror", "-R", s, "full"]), "mirror -R");
    for (i, (words, rsync_words)) in [
        (&["-r", "-l"][..], &["-r", "-l"][..]),
        (&["-r", "--links"], &["-r", "-l"]),
        (&["-rl"], &["-r", "-l"]),
        (&["-r", "-l", "--safe-links"], &["-r", "-l", "--safe-links"]),
        (&["-r", "--safe-links"], &["-r", "--safe-links"]),
    ]
    .into_iter()
    .enumerate()
    {
        let reference = here.join(format!("ref{i}"));
        rsync(rsync_words, &src, &reference);
        let want = entries(&reference);
        let what = |cmd: &str| format!("{cmd} {}", words.join(" "));
        // put of `src/`: the destination gets the source's contents (rsync's rule)
        let dst = format!("up{i}");
        let o = srv.tf(&[&["put"][..], words, &[contents.as_str(), dst.as_str()]].concat());
        ok(&o, &what("put"));
        assert_eq!(entries(&srv.path(&dst)), want, "{}: {}", what("put"), text(&o));
        assert!(kept_mtimes(&srv.path(&dst)).is_empty(), "{}: mtimes kept", what("put"));
        let down = here.join(format!("down{i}"));
        let o = srv.tf(&[&["get"][..], words, &["full/", down.to_str().unwrap()]].concat());
        ok(&o, &what("get"));
        assert_eq!(entries(&down), want, "{}: {}", what("get"), text(&o));
        // mirror's links with the same words are the same links
        let links = |m: &BTreeMap<String, String>| -> Vec<String> {
            m.iter()
                .filter(|(_, v)| v.starts_with("link"))
                .map(|(k, v)| format!("{k} {v}"))
                .collect()
        };
        let mwords: Vec<&str> = words.iter().copied().filter(|w| *w != "-r").collect();
        if !(mwords.contains(&"-l") || mwords.contains(&"--links") || mwords.contains(&"-rl")) {
            continue;
        }
        let mdst = format!("mup{i}");
        ok(
            &srv.tf(&[&["mirror", "-R"][..], &mwords, &[s, mdst.as_str()]].concat()),
            "mirror -R",
        );
        assert_eq!(links(&entries(&srv.path(&mdst))), links(&want), "mirror -R {mwords:?}");
        let mdown = here.join(format!("mdown{i}"));
        ok(
            &srv.tf(&[&["mirror"][..], &mwords, &["full", mdown.to_str().unwrap()]].concat()),
            "mirror",
        );
        assert_eq!(links(&entries(&mdown)), links(&want), "mirror {mwords:?}");
    }
    let _ = fs::remove_dir_all(&here);
}

/// What the destination holds before a `--checksum` run: `same` as the
/// source's but dated otherwise, `diff` of the same size and other bytes.
fn prior(at: &Path) {
    fs::create_dir_all(at.join("d")).unwrap();
    fs::write(at.join("f"), "eff").unwrap();
    fs::write(at.join("x"), "EXEC").unwrap();
    stamp(&at.join("f"), 1_600_000_000, 0);
    stamp(&at.join("x"), 1_600_000_000, 0);
}

/// The destination's `f` at `at`, the same bytes as the source's, was not
/// sent again: put and get leave it as it was (its mtime its own, as rsync
/// -r --checksum does), a mirror counts it unchanged (and gives it the
/// source's mtime, as it keeps mtimes).
fn left_alone(cmd: &str, at: &Path, o: &std::process::Output) {
    let when = fs::metadata(at.join("f")).unwrap().mtime();
    if cmd == "mirror" {
        assert!(text(o).contains(" 1 unchanged"), "{cmd}: {}", text(o));
    } else {
        assert_eq!(when, 1_600_000_000, "{cmd}: the same file left: {}", text(o));
    }
}

/// `put -r --checksum` and `get -r --checksum` leave a file the destination
/// holds with the same bytes as it is, whatever its mtime, and replace one
/// that differs, as `rsync -r --checksum` and `mirror --checksum` do; plain
/// `put -r` sends it again. On the old code `--checksum` was no option of
/// put -r or get -r.
#[test]
fn checksum_leaves_the_same_files_as_rsync_r_checksum_does() {
    let srv = Server::start();
    let here = tempdir("cli_tree_rsync_checksum");
    let src = here.join("src");
    build(&src);
    let s = src.to_str().unwrap();
    let reference = here.join("ref");
    prior(&reference);
    rsync(&["-r", "--checksum"], &src, &reference);
    let when = |p: &Path| fs::metadata(p).unwrap().mtime();
    assert_eq!(when(&reference.join("f")), 1_600_000_000, "rsync leaves the same file");
    assert_eq!(fs::read(reference.join("x")).unwrap(), b"exec");
    ok(&srv.tf(&["mirror", "-R", s, "full"]), "mirror -R");
    // put into an existing directory: the tree lands in it as src
    for (cmd, words) in [("put", &["-r", "--checksum"][..]), ("mirror", &["-R", "--checksum"])] {
        fs::create_dir_all(srv.path("cs")).unwrap();
        let at = srv.path(if cmd == "put" { "cs/src" } else { "cs" });
        prior(&at);
        let o = srv.tf(&[&[cmd][..], words, &[s, "cs"]].concat());
        ok(&o, &format!("{cmd} {words:?}"));
        left_alone(cmd, &at, &o);
        assert_eq!(fs::read(at.join("x")).unwrap(), b"exec", "{cmd} {words:?}");
        assert_eq!(fs::read(at.join("d/g")).unwrap(), b"gee", "{cmd} {words:?}");
        fs::remove_dir_all(srv.path("cs")).unwrap();
    }
    for (cmd, words) in [("get", &["-r", "--checksum"][..]), ("mirror", &["--checksum"])] {
        let into = here.join("cs");
        fs::create_dir_all(&into).unwrap();
        let at = if cmd == "get" { into.join("full") } else { into.clone() };
        prior(&at);
        let o = srv.tf(&[&[cmd][..], words, &["full", into.to_str().unwrap()]].concat());
        ok(&o, &format!("{cmd} {words:?}"));
        left_alone(cmd, &at, &o);
        assert_eq!(fs::read(at.join("x")).unwrap(), b"exec", "{cmd} {words:?}");
        fs::remove_dir_all(&into).unwrap();
    }
    // without it put -r sends every file again
    fs::create_dir_all(srv.path("plain/src")).unwrap();
    prior(&srv.path("plain/src"));
    ok(&srv.tf(&["put", "-r", s, "plain"]), "put -r");
    assert_ne!(when(&srv.path("plain/src/f")), 1_600_000_000);
    let _ = fs::remove_dir_all(&here);
}

/// `put -r -o` and `get -r -g` (no `-a`) as root keep owners and groups as
/// rsync -r -o -g does, and no mode beyond rsync -r's nor any mtime. On the
/// old code both were refused ("-o and -g keep owners and groups with -a").
#[test]
fn owners_without_a_are_kept_as_rsync_r_o_keeps_them() {
    assert!(is_root(), "this test needs root: it gives files owners");
    let srv = Server::start();
    let here = tempdir("cli_tree_rsync_owners");
    let src = here.join("src");
    build(&src);
    for n in ["f", "x", "d/g", "d", "rel", "abs", "out", "d/back", ""] {
        std::os::unix::fs::lchown(src.join(n), Some(4321), Some(8765)).unwrap();
    }
    let s = src.to_str().unwrap();
    let contents = format!("{s}/");
    let reference = here.join("ref");
    rsync(&["-r", "-o", "-g"], &src, &reference);
    let owner = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner(&reference.join("d/g")), (4321, 8765));
    for (i, words) in [&["-r", "-o"][..], &["-r", "-g"], &["-rog"]].into_iter().enumerate() {
        let dst = format!("up{i}");
        let o = srv.tf(&[&["put"][..], words, &[contents.as_str(), dst.as_str()]].concat());
        ok(&o, &format!("put {words:?}"));
        let at = srv.path(&dst);
        for n in ["f", "x", "d/g"] {
            assert_eq!(owner(&at.join(n)), (4321, 8765), "put {words:?} {n}: {}", text(&o));
        }
        assert!(kept_mtimes(&at).is_empty(), "put {words:?}: mtimes kept");
        let down = here.join(format!("down{i}"));
        let o = srv.tf(&[&["get"][..], words, &[&format!("{dst}/"), down.to_str().unwrap()]].concat());
        ok(&o, &format!("get {words:?}"));
        for n in ["f", "x", "d/g"] {
            assert_eq!(owner(&down.join(n)), (4321, 8765), "get {words:?} {n}: {}", text(&o));
        }
        let files =
            |m: BTreeMap<String, String>| m.into_iter().filter(|(_, v)| v.starts_with("file")).collect::<Vec<_>>();
        assert_eq!(
            files(entries(&at)),
            files(entries(&reference)),
            "put {words:?}: modes and bytes"
        );
        assert_eq!(
            files(entries(&down)),
            files(entries(&reference)),
            "get {words:?}: modes and bytes"
        );
    }
    let _ = fs::remove_dir_all(&here);
}
