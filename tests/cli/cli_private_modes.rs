//! A new file or directory takes its source's mode less the receiver's
//! umask on every route without `-p` (cp's, scp's, rsync's rule), and the
//! source's mode exactly with `-p` (issue 82: `put`, `put -r` and a pattern
//! made every new server file 0644 and directory 0755, so a 0600 file became
//! readable by every user of the server). tfd's sessions run with umask 022;
//! checked through a real tfd, modes on disk.

use crate::output::{ok, text};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tfd_testkit::*;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// `priv/` (0700) holding `secret` (0600), `shared` (0666) and `run`
/// (0755) in `at`.
fn private_tree(at: &Path) {
    let d = at.join("priv");
    fs::create_dir_all(&d).unwrap();
    for (n, m) in [("secret", 0o600), ("shared", 0o666), ("run", 0o755)] {
        fs::write(d.join(n), format!("{n}\n")).unwrap();
        chmod(&d.join(n), m);
    }
    chmod(&d, 0o700);
}

/// What `priv/` holds at `at`, by mode: the directory's, then its files'.
fn modes_of(at: &Path) -> [u32; 4] {
    let d = at.join("priv");
    [
        mode(&d),
        mode(&d.join("secret")),
        mode(&d.join("shared")),
        mode(&d.join("run")),
    ]
}

/// Without `-p`: the source's modes less umask 022. With it: as they are.
const LESS_UMASK: [u32; 4] = [0o700, 0o600, 0o644, 0o755];
const EXACT: [u32; 4] = [0o700, 0o600, 0o666, 0o755];

#[test]
fn uploads_land_new_entries_with_the_sources_mode_less_the_servers_umask() {
    let srv = Server::start();
    let here = tempdir("cli_private_modes_up");
    private_tree(&here);
    let src = here.join("priv");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let pattern = format!("{}/*", s(&src));
    // (what, the words, where priv/ lands on the server, -p)
    let runs: [(&str, Vec<String>, &str, bool); 6] = [
        (
            "put -r",
            vec!["put".into(), "-r".into(), s(&src), "a".into()],
            "a",
            false,
        ),
        (
            "put -r -p",
            vec!["put".into(), "-r".into(), "-p".into(), s(&src), "b".into()],
            "b",
            true,
        ),
        (
            "mirror -R",
            vec!["mirror".into(), "-R".into(), s(&src), "c/priv".into()],
            "c",
            true,
        ),
        (
            "put -r PATTERN",
            vec!["put".into(), "-r".into(), pattern.clone(), "d/priv".into()],
            "d",
            false,
        ),
        (
            "put -r -p PATTERN",
            vec!["put".into(), "-r".into(), "-p".into(), pattern.clone(), "e/priv".into()],
            "e",
            true,
        ),
        (
            "put -a",
            vec!["put".into(), "-a".into(), s(&src), "f".into()],
            "f",
            true,
        ),
    ];
    for (what, words, at, exact) in runs {
        fs::create_dir_all(srv.path(at)).unwrap();
        if what.contains("PATTERN") {
            // a pattern's files go into a directory made as put -r's are
            fs::create_dir(srv.path(&format!("{at}/priv"))).unwrap();
            chmod(&srv.path(&format!("{at}/priv")), 0o700);
        }
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let o = srv.tf(&args);
        ok(&o, what);
        let want = if exact { EXACT } else { LESS_UMASK };
        assert_eq!(modes_of(&srv.path(at)), want, "{what}: {}", text(&o));
    }
    // one file at a time: put, and put -p (a tree command of one file)
    for (n, m) in [("secret", 0o600), ("shared", 0o644), ("run", 0o755)] {
        let o = srv.tf(&["put", &s(&src.join(n)), &format!("one-{n}")]);
        ok(&o, "put");
        assert_eq!(mode(&srv.path(&format!("one-{n}"))), m, "put {n}: {}", text(&o));
    }
    let o = srv.tf(&["put", "-p", &s(&src.join("shared")), "one-shared-p"]);
    ok(&o, "put -p");
    assert_eq!(mode(&srv.path("one-shared-p")), 0o666, "put -p: {}", text(&o));
    // a file replaced keeps its own mode, as cp onto it keeps it
    chmod(&srv.path("one-secret"), 0o640);
    let o = srv.tf(&["put", &s(&src.join("secret")), "one-secret"]);
    ok(&o, "put over a file");
    assert_eq!(mode(&srv.path("one-secret")), 0o640, "{}", text(&o));
}

/// `tf ARGS` run with umask 022 (the receiving side's, for downloads).
fn tf_umask(srv: &Server, args: &[&str]) -> std::process::Output {
    let c = srv.tf_command(args);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh.output().unwrap()
}

#[test]
fn a_single_get_lands_a_new_file_with_the_servers_mode_less_the_umask() {
    let srv = Server::start();
    let here = tempdir("cli_private_modes_get");
    private_tree(&srv.data);
    let d = here.to_str().unwrap();
    for (n, m) in [("secret", 0o600), ("shared", 0o644), ("run", 0o755)] {
        let to = format!("{d}/one-{n}");
        let o = tf_umask(&srv, &["get", &format!("priv/{n}"), &to]);
        ok(&o, "get");
        assert_eq!(mode(Path::new(&to)), m, "get {n}: {}", text(&o));
    }
    // into a directory, under the file's own name
    let o = tf_umask(&srv, &["get", "priv/secret", d]);
    ok(&o, "get into a directory");
    assert_eq!(mode(&here.join("secret")), 0o600, "{}", text(&o));
    // a file there keeps its own mode, as cp onto it keeps it
    chmod(&here.join("one-secret"), 0o640);
    let o = tf_umask(&srv, &["get", "priv/secret", &format!("{d}/one-secret")]);
    ok(&o, "get over a file");
    assert_eq!(mode(&here.join("one-secret")), 0o640, "{}", text(&o));
    // get -r's files and mirror's entries, as they were
    let o = tf_umask(&srv, &["get", "-r", "priv/secret", "priv/run", d]);
    ok(&o, "get -r");
    assert_eq!((mode(&here.join("secret")), mode(&here.join("run"))), (0o600, 0o755));
    fs::create_dir(here.join("m")).unwrap();
    let o = tf_umask(&srv, &["mirror", "priv", &format!("{d}/m/priv")]);
    ok(&o, "mirror");
    assert_eq!(modes_of(&here.join("m")), EXACT, "mirror: {}", text(&o));
}

#[test]
fn get_r_makes_each_directory_with_its_sources_mode_less_the_umask() {
    let srv = Server::start();
    let here = tempdir("cli_private_modes_get_r");
    private_tree(&srv.data);
    fs::create_dir(srv.path("priv/sub")).unwrap();
    chmod(&srv.path("priv/sub"), 0o750);
    let d = here.to_str().unwrap();
    // into a directory (priv made there), and as a new destination
    fs::create_dir(here.join("r")).unwrap();
    let o = tf_umask(&srv, &["get", "-r", "priv", &format!("{d}/r")]);
    ok(&o, "get -r");
    assert_eq!(modes_of(&here.join("r")), LESS_UMASK, "get -r: {}", text(&o));
    assert_eq!(mode(&here.join("r/priv/sub")), 0o750, "get -r: {}", text(&o));
    // a new destination is made and the tree lands in it, as rsync's
    let o = tf_umask(&srv, &["get", "-r", "priv", &format!("{d}/new")]);
    ok(&o, "get -r to a new name");
    assert_eq!(mode(&here.join("new/priv")), 0o700, "get -r: {}", text(&o));
}
