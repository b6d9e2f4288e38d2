//! rsync's `--update`, `--ignore-existing` and `--existing` hold however a
//! tree run's sources are named: several files, a pattern, with `-p`, both
//! ways (issue 82: `put -r --update 'src/*' v` replaced a newer server file
//! with the older local one, its file sources judged by the size limits
//! alone). Checked through a real tfd, bytes on disk.

use crate::cli_select::stamp;
use crate::output::{ok, text};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

/// `a` and `b`, an hour old, in `dir`.
fn sources(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for n in ["a", "b"] {
        fs::write(dir.join(n), format!("source {n}")).unwrap();
        stamp(&dir.join(n), SystemTime::now() - Duration::from_secs(3600));
    }
}

/// What the receiving side holds before a run: `a`, newer (`newer`) or
/// older than the source's, and no `b`.
fn receiver(dir: &Path, newer: bool) {
    fs::create_dir_all(dir).unwrap();
    let _ = fs::remove_file(dir.join("b"));
    fs::write(dir.join("a"), "the receiver's").unwrap();
    let t = if newer {
        // 2027-01-01, as the issue's `touch -d`
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600)
    } else {
        SystemTime::now() - Duration::from_secs(7200)
    };
    stamp(&dir.join("a"), t);
}

fn body(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok()
}

/// Each option, and what it leaves of `a` (the receiver's or the source's)
/// and whether `b` is made, with the receiver's `a` newer or older.
const CASES: &[(&str, bool, &str, bool)] = &[
    ("--update", true, "the receiver's", true),
    ("--update", false, "source a", true),
    ("--ignore-existing", false, "the receiver's", true),
    ("--existing", false, "source a", false),
];

#[test]
fn put_with_several_sources_or_a_pattern_keeps_the_selection() {
    let srv = Server::start();
    let here = tempdir("cli_update_all_put");
    let src = here.join("src");
    sources(&src);
    let (a, b) = (src.join("a"), src.join("b"));
    let pattern = format!("{}/*", src.display());
    for &(opt, newer, want_a, want_b) in CASES {
        let named: [&[&str]; 4] = [
            &["-r", &pattern],
            &["-r", "-p", &pattern],
            &[a.to_str().unwrap(), b.to_str().unwrap()],
            &["-p", a.to_str().unwrap(), b.to_str().unwrap()],
        ];
        for words in named {
            receiver(&srv.path("v"), newer);
            let args = [&["put", opt][..], words, &["v"]].concat();
            let o = srv.tf(&args);
            ok(&o, &format!("{args:?}"));
            let what = format!("{args:?} (the server's a newer: {newer}): {}", text(&o));
            assert_eq!(body(&srv.path("v/a")).as_deref(), Some(want_a), "{what}");
            assert_eq!(body(&srv.path("v/b")).is_some(), want_b, "{what}");
        }
    }
}

#[test]
fn get_with_several_sources_or_a_pattern_keeps_the_selection() {
    let srv = Server::start();
    let here = tempdir("cli_update_all_get");
    sources(&srv.path("w"));
    let dst = here.join("dst");
    for &(opt, newer, want_a, want_b) in CASES {
        let named: [&[&str]; 3] = [&["-r", "w/*"], &["w/*"], &["w/a", "w/b"]];
        for words in named {
            receiver(&dst, newer);
            let args = [&["get", opt][..], words, &[dst.to_str().unwrap()]].concat();
            let o = srv.tf(&args);
            ok(&o, &format!("{args:?}"));
            let what = format!("{args:?} (the local a newer: {newer}): {}", text(&o));
            assert_eq!(body(&dst.join("a")).as_deref(), Some(want_a), "{what}");
            assert_eq!(body(&dst.join("b")).is_some(), want_b, "{what}");
        }
    }
}
