//! rsync's `-a` keeps owners only where the receiving side may give them,
//! and says nothing of those it may not: `-o`, `--owner` and `-a` (with
//! `-aHSXA`, `-aL`) are taken the same on every route, owners left out
//! where the ends do not allow them, silently, one line with `-v`. Up, the
//! receiving side is a session tfd does not serve as root (bob's, of the
//! test kit's users); down, tf run as another user than root. `put -r` and
//! `get -r` take `-o` and `-g` without `-a` too, as rsync -r -o does.

use crate::output::{stderr, text};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tfd_testkit::perms::{chmod, chown_tree};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;

/// The owner every file sent is given at the source: neither end's user.
const THEIRS: (u32, u32) = (4321, 8765);

/// `tf [-v] --user bob ARGS`, run here as `local` (root when None).
fn bob(srv: &Server, state: &Path, (verbose, args): (bool, &[&str]), local: Option<(u32, u32)>) -> Output {
    let mut all = vec!["--user", "bob"];
    if verbose {
        all.insert(0, "-v");
    }
    all.extend_from_slice(args);
    let mut c = Command::new(tf_bin_for_others());
    c.args(srv.tf_command(&all).get_args())
        .env("TF_PASSWORD", "bob pw")
        .env_remove("TF_USER")
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null());
    if let Some((uid, gid)) = local {
        c.uid(uid).gid(gid);
    }
    c.output().unwrap()
}

fn owner(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid())
}

/// A source tree owned by [`THEIRS`]: two files and a symlink.
fn source(at: &Path) {
    fs::create_dir_all(at.join("d")).unwrap();
    fs::write(at.join("f"), b"one").unwrap();
    fs::write(at.join("d/g"), b"two").unwrap();
    std::os::unix::fs::symlink("f", at.join("ln")).unwrap();
    chown_tree(at, THEIRS);
}

/// `o` ran whole, its files landed below `dst` owned by `who`, and it
/// said of owners nothing, or with `verbose` one line.
fn landed(o: &Output, what: &str, dst: &Path, who: (u32, u32), verbose: bool) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(0), "{what}: {t}");
    assert_eq!(fs::read(dst.join("d/g")).unwrap(), b"two", "{what}: {t}");
    assert_eq!(owner(&dst.join("f")), who, "{what}: {t}");
    let err = stderr(o);
    let said: Vec<&str> = err.lines().filter(|l| l.contains("owner")).collect();
    if verbose {
        assert_eq!(said.len(), 1, "{what}: one line with -v: {t}");
        assert!(said[0].contains("owners and groups not kept"), "{what}: {t}");
    } else {
        assert!(said.is_empty(), "{what}: nothing said without -v: {t}");
    }
}

/// Up to a session tfd serves as bob: every route that takes `-a`, `-o` or
/// `--owner` sends the tree, owned by bob on the server, as rsync -a to a
/// receiver that is not root. On the old code every `mirror -R` was refused
/// ("--owner: the server does not let this session give owners", rc 2)
/// while `put -r -a` ran.
#[test]
fn up_to_a_session_not_served_as_root_owners_are_left_out_silently() {
    assert!(is_root(), "this test needs root (users, owners)");
    let AliceJailed { srv, bob: b, .. } = alice_jailed("tfdownup", None);
    let here = tempdir("cli_owners_up");
    chmod(&here, 0o755);
    let src = here.join("src");
    source(&src);
    let s = src.to_str().unwrap();
    // put -r of `src/` lands its contents in the destination, as mirror -R's
    let contents = format!("{s}/");
    let bobs = srv.path("bobs");
    fs::create_dir_all(&bobs).unwrap();
    chown_tree(&bobs, b);
    let routes: [&[&str]; 12] = [
        &["put", "-r", "-o"],
        &["put", "-r", "--group"],
        &["put", "-rlo"],
        &["mirror", "-R", "-a"],
        &["mirror", "-R", "-aHSXA"],
        &["mirror", "-R", "-aL"],
        &["mirror", "-R", "-o"],
        &["mirror", "-R", "--owner"],
        &["put", "-r", "-a"],
        &["put", "-r", "-aHSXA"],
        &["put", "-r", "-a", "-o"],
        &["put", "-r", "-a", "--owner"],
    ];
    for verbose in [false, true] {
        for (i, words) in routes.iter().enumerate() {
            let dst = format!("bobs/{i}-{verbose}");
            let mut args = words.to_vec();
            args.extend([if words[0] == "put" { contents.as_str() } else { s }, dst.as_str()]);
            let o = bob(&srv, &here.join("state"), (verbose, &args), None);
            landed(&o, &args.join(" "), &srv.path(&dst), b, verbose);
        }
    }
    let _ = fs::remove_dir_all(&here);
}

/// Down, tf run as bob here: `get -r -a`, `mirror -a`, `mirror -o` and
/// `mirror --owner` land the tree owned by bob, as rsync -a run by another
/// user than root. On the old code `mirror --owner` was refused ("only root
/// may give files an owner here"; nothing done, rc 1).
#[test]
fn down_by_tf_not_run_as_root_owners_are_left_out_silently() {
    assert!(is_root(), "this test needs root (users, owners)");
    let AliceJailed { srv, bob: b, .. } = alice_jailed("tfdowndown", None);
    source(&srv.path("tree"));
    let here = tempdir("cli_owners_down");
    chmod(&here, 0o755);
    let into = here.join("into");
    fs::create_dir_all(&into).unwrap();
    chown_tree(&here, b);
    let routes: [&[&str]; 9] = [
        &["get", "-r", "-o", "/tree/"],
        &["get", "-r", "-g", "/tree/"],
        &["get", "-rlog", "/tree/"],
        &["get", "-r", "-a", "/tree/"],
        &["get", "-r", "-a", "-o", "/tree/"],
        &["mirror", "-a", "/tree"],
        &["mirror", "-aHSXA", "/tree"],
        &["mirror", "-o", "/tree"],
        &["mirror", "--owner", "/tree"],
    ];
    for verbose in [false, true] {
        for (i, words) in routes.iter().enumerate() {
            let dst = into.join(format!("{i}-{verbose}"));
            let mut args = words.to_vec();
            args.push(dst.to_str().unwrap());
            let o = bob(&srv, &here.join("state"), (verbose, &args), Some(b));
            landed(&o, &args.join(" "), &dst, b, verbose);
        }
    }
    let _ = fs::remove_dir_all(&here);
}
