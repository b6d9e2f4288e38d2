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
