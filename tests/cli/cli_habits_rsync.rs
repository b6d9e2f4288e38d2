//! Issue 88's habits of rsync users, through the real `tf` against a real
//! tfd: `-o`/`--owner` and `-g`/`--group` wherever `-a` is taken, `--bwlimit`
//! after the command (and a refusal naming the command as typed), `sha256`
//! of a pattern, and a single file's `put -p` as quiet as a plain `put`.

use crate::output::{ok, stderr, stdout, text};
use sha2::Digest;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::Instant;
use tfd_testkit::*;

/// `-o`, `-g`, `--owner`, `--group` run with `-a` on put, get and mirror,
/// meaning what rsync's mean: owners and groups kept (tests run as root, so
/// both ends may give them). Without `-a`, put/get take them as rsync -r -o
/// does. `mirror -R -o` (or `-g`, no `-a`) keeps
/// them, where a plain `mirror -R` gives root's. On the old code every one
/// was an unknown option.
#[test]
fn owner_and_group_options_are_taken_where_a_is() {
    if !is_root() {
        panic!("this test needs root (tests run as root): it gives files owners");
    }
    let srv = Server::start();
    let here = tempdir("cli_habits_rsync_owners");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), "owned").unwrap();
    perms::chown_tree(&src, (4321, 8765));
    let s = src.to_str().unwrap();
    // put -r of `src/` puts its contents in the destination, as mirror -R does
    let contents = format!("{s}/");
    let owner = |p: &std::path::Path| {
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    for (i, words) in [
        &["put", "-r", "-a", "-o", "-g"][..],
        &["put", "-aog"],
        &["put", "-a", "--owner", "--group"],
        &["mirror", "-R", "-aog"],
        &["mirror", "-R", "-o"],
        &["mirror", "-R", "-g"],
        &["mirror", "-R", "--group"],
    ]
    .into_iter()
    .enumerate()
    {
        let dst = format!("up{i}");
        let mut args = words.to_vec();
        args.extend([if words[0] == "put" { &contents } else { s }, dst.as_str()]);
        let o = srv.tf(&args);
        ok(&o, &args.join(" "));
        let landed = srv.path(&format!("{dst}/f"));
        assert_eq!(owner(&landed), (4321, 8765), "{}: {}", args.join(" "), text(&o));
    }
    // without it a mirror up gives root's owner: -o above made the difference
    ok(&srv.tf(&["mirror", "-R", s, "plain"]), "mirror -R");
    assert_eq!(owner(&srv.path("plain/f")), (0, 0));
    // down: as root, kept
    for (i, words) in [
        &["get", "-r", "-aog"][..],
        &["mirror", "-o", "-g"],
        &["mirror", "--group"],
    ]
    .into_iter()
    .enumerate()
    {
        let dst = here.join(format!("down{i}"));
        let mut args = words.to_vec();
        args.extend([if words[0] == "get" { "up0/" } else { "up0" }, dst.to_str().unwrap()]);
        let o = srv.tf(&args);
        ok(&o, &args.join(" "));
        let landed = dst.join("f");
        assert_eq!(owner(&landed), (4321, 8765), "{}: {}", args.join(" "), text(&o));
    }
    // put/get without -a: taken as rsync -r -o takes them (cli_tree_rsync)
    for (words, landed) in [
        (&["put", "-r", "-o", &contents, "none1"][..], srv.path("none1/f")),
        (
            &["get", "-r", "-g", "up0/", here.join("none2").to_str().unwrap()],
            here.join("none2/f"),
        ),
    ] {
        let o = srv.tf(words);
        ok(&o, &words.join(" "));
        assert_eq!(owner(&landed), (4321, 8765), "{}", text(&o));
    }
    let _ = fs::remove_dir_all(&here);
}

/// `--bwlimit` after the command, as rsync takes it anywhere: the same
/// limit as before it (300 KiB at 100 KiB/s take about 3 s either way),
/// `--bwlimit=RATE` too, a bad rate said as before the command. A plain put's
/// unknown option names `put`, not `put -r`. On the old code the put was
/// refused: "--bwlimit is not an option of put -r".
#[test]
fn bwlimit_after_the_command_limits_as_before_it() {
    let srv = Server::start();
    let here = tempdir("cli_habits_rsync_bwlimit");
    let f = here.join("f.bin");
    fs::write(&f, vec![7u8; 300 * 1024]).unwrap();
    let l = f.to_str().unwrap();
    for (i, args) in [
        &["--bwlimit", "100K", "put", l, "before.bin"][..],
        &["put", l, "after.bin", "--bwlimit", "100K"],
        &["put", "--bwlimit=100K", l, "between.bin"],
        &["mirror", "-R", here.to_str().unwrap(), "m", "--bwlimit", "100K"],
    ]
    .into_iter()
    .enumerate()
    {
        let t = Instant::now();
        let o = srv.tf(args);
        ok(&o, &args.join(" "));
        let took = t.elapsed().as_secs_f64();
        assert!(took > 2.0, "{i}: {} took {took:.2} s: no limit", args.join(" "));
    }
    assert_eq!(fs::read(srv.path("after.bin")).unwrap(), fs::read(&f).unwrap());
    assert!(srv.path("m/f.bin").exists());
    // without it: fast
    let t = Instant::now();
    ok(&srv.tf(&["put", l, "fast.bin"]), "put");
    assert!(t.elapsed().as_secs_f64() < 2.0);
    let o = srv.tf(&["put", l, "x.bin", "--bwlimit", "1Q"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).starts_with("tf: --bwlimit: \"1Q\" is no rate"),
        "{}",
        text(&o)
    );
    // a word after -- is a name, whatever it says
    let o = srv.tf(&["put", "--", l, "--bwlimit"]);
    ok(&o, "put -- FILE --bwlimit");
    assert!(srv.path("--bwlimit").exists());
    // a plain put's unknown option names the command as typed
    let o = srv.tf(&["put", l, l, "dir", "--frob"]);
    assert!(
        stderr(&o).contains("--frob is not an option of put (tf help put"),
        "{}",
        text(&o)
    );
    let o = srv.tf(&["put", "-r", l, "dir", "--frob"]);
    assert!(
        stderr(&o).contains("--frob is not an option of put -r (tf help put"),
        "{}",
        text(&o)
    );
    let _ = fs::remove_dir_all(&here);
}

/// `tf sha256 'd/*.py'` expands the pattern as `ls` and `rm` do: one
/// sha256sum line per match, right; a directory matched is named and left
/// out (status 2); a pattern matching nothing says so. On the old code the
/// pattern went to the server as a name: FAILED 45.
#[test]
fn sha256_expands_patterns_as_ls_does() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("d/sub.py")).unwrap();
    fs::write(srv.path("d/a.py"), "print(1)\n").unwrap();
    fs::write(srv.path("d/b.py"), "print(2)\n").unwrap();
    fs::write(srv.path("d/c.txt"), "text\n").unwrap();
    let hex = |p: &str| format!("{:x}", sha2::Sha256::digest(fs::read(srv.path(p)).unwrap()));
    let o = srv.tf(&["sha256", "d/[ab].py"]);
    ok(&o, "sha256 d/[ab].py");
    assert_eq!(
        stdout(&o),
        format!("{}  d/a.py\n{}  d/b.py\n", hex("d/a.py"), hex("d/b.py"))
    );
    let o = srv.tf(&["sha256", "d/*.py"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("tf: sha256: d/sub.py: is a directory"),
        "{}",
        text(&o)
    );
    assert_eq!(stdout(&o).lines().count(), 2, "{}", text(&o));
    let o = srv.tf(&["sha256", "d/*.c"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stderr(&o).contains("d/*.c: no remote name matches"), "{}", text(&o));
    let o = srv.tf(&["fstat", "d/*.txt"]);
    ok(&o, "fstat d/*.txt");
    assert!(stdout(&o).contains("File: d/c.txt"), "{}", text(&o));
}

/// A single file's `put -p` (and `put -a`) prints nothing when it went well,
/// as a plain `put` does, and keeps the mode; a failed one still says so.
/// On the old code it printed a tree's summary line.
#[test]
fn a_single_put_p_is_as_quiet_as_a_plain_put() {
    let srv = Server::start();
    let here = tempdir("cli_habits_rsync_put_p");
    let f = here.join("tool.sh");
    fs::write(&f, "#!/bin/sh\n").unwrap();
    perms::chmod(&f, 0o750);
    let l = f.to_str().unwrap();
    for flag in ["-p", "-a"] {
        let dst = format!("tool{flag}.sh");
        let o = srv.tf(&["put", flag, l, &dst]);
        ok(&o, flag);
        assert_eq!(stdout(&o), "", "put {flag}: {}", text(&o));
        assert_eq!(stderr(&o), "", "put {flag}: {}", text(&o));
        assert_eq!(fs::metadata(srv.path(&dst)).unwrap().mode() & 0o7777, 0o750);
    }
    let o = srv.tf(&["put", "-p", here.join("none").to_str().unwrap(), "none"]);
    assert!(!o.status.success() && stderr(&o).contains("none"), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}
