//! Issue 82 item 11: two names tf shows must never look alike. A file named
//! with the byte 0xff and one named with the four characters `\xff` were
//! both shown `amb\xff.txt` by `-i` and `--json`, so a script acting on the
//! output acted on the wrong file. A literal backslash now shows doubled.

use crate::output::{ok, stdout, text};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use tfd_testkit::*;

/// The raw name and the literal one, and how each is shown.
const NAMES: [(&[u8], &str); 2] = [(b"amb\xff.txt", "amb\\xff.txt"), (b"amb\\xff.txt", "amb\\\\xff.txt")];

#[test]
fn a_literal_backslash_and_an_escaped_byte_show_apart() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("d")).unwrap();
    for (i, (raw, _)) in NAMES.iter().enumerate() {
        fs::write(srv.path("d").join(OsStr::from_bytes(raw)), format!("file {i}")).unwrap();
    }
    let here = tempdir("cli_names_apart");
    let into = here.join("i");
    fs::create_dir_all(&into).unwrap();
    let o = srv.tf(&["get", "-r", "-i", "d", into.to_str().unwrap()]);
    ok(&o, "get -r -i");
    let out = stdout(&o);
    for (i, (raw, shown)) in NAMES.iter().enumerate() {
        let line = format!("d/{shown}");
        assert_eq!(
            out.lines()
                .filter(|l| l.ends_with(&line) && l.ends_with(&format!(" {line}")))
                .count(),
            1,
            "{shown}: {}",
            text(&o)
        );
        let landed = fs::read_to_string(into.join("d").join(OsStr::from_bytes(raw))).unwrap();
        assert_eq!(landed, format!("file {i}"));
    }
    // --json: the path strings decode to the two shown forms, one each
    fs::create_dir_all(here.join("j")).unwrap();
    let o = srv.tf(&["get", "-r", "--json", "d", here.join("j").to_str().unwrap()]);
    ok(&o, "get -r --json");
    let out = stdout(&o);
    for (_, shown) in NAMES {
        let json = format!("\"path\":\"d/{}\"", shown.replace('\\', "\\\\"));
        assert_eq!(out.matches(&json).count(), 1, "{json}: {out}");
    }
    // a listing, the same
    let o = srv.tf(&["ls", "d"]);
    ok(&o, "ls");
    let out = stdout(&o);
    let mut lines: Vec<&str> = out.lines().map(str::trim).collect();
    lines.sort();
    assert_eq!(lines, ["F: amb\\\\xff.txt", "F: amb\\xff.txt"], "{out}");
    let _ = fs::remove_dir_all(&here);
}
