//! The client library's tree runs (tfp_client::tree::copy and ::mirror, what
//! `tf put -r`, `get -r` and `mirror` and the Python package run) called as
//! an application calls them, against the real tfd: what lands on both disks,
//! what the [`Events`] hear, and the [`Report`] they return.

use std::fs;
use std::os::unix::fs::symlink;
use std::sync::{Arc, Mutex};
use tfd_testkit::*;
use tfp_client::engine::events::{Events, Fault, Progress, Quiet};
use tfp_client::tree::mirror::{self, Planned};
use tfp_client::tree::options::Options;
use tfp_client::tree::{copy, copy_down};

/// Everything a run told, in order.
#[derive(Default)]
struct Heard {
    said: Mutex<Vec<String>>,
    total: Mutex<Option<usize>>,
    progress: Mutex<Option<Arc<Progress>>>,
}

impl Events for Heard {
    fn failed(&self, fault: Fault, text: &str) {
        self.said.lock().unwrap().push(format!("{fault:?}: {text}"));
    }
    fn note(&self, text: &str) {
        self.said.lock().unwrap().push(format!("note: {text}"));
    }
    fn transferring(&self, total: usize, progress: &Arc<Progress>) {
        *self.total.lock().unwrap() = Some(total);
        *self.progress.lock().unwrap() = Some(progress.clone());
    }
}

impl Heard {
    fn said(&self) -> Vec<String> {
        self.said.lock().unwrap().clone()
    }
}

/// A local tree: a.txt, sub/b.bin (300 KiB), sub/deep/c, and a symlink.
fn local_tree(tag: &str) -> std::path::PathBuf {
    let d = tempdir(tag);
    fs::create_dir_all(d.join("src/sub/deep")).unwrap();
    fs::write(d.join("src/a.txt"), b"alpha\n").unwrap();
    fs::write(d.join("src/sub/b.bin"), pattern(300 << 10)).unwrap();
    fs::write(d.join("src/sub/deep/c"), b"").unwrap();
    symlink("/etc/passwd", d.join("src/link")).unwrap();
    d
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn same_file(a: &std::path::Path, b: &std::path::Path) {
    assert_eq!(
        fs::read(a).unwrap(),
        fs::read(b).unwrap(),
        "{} vs {}",
        a.display(),
        b.display()
    );
}

#[test]
fn put_and_get_move_whole_trees_and_tell_through_events() {
    let srv = Server::start();
    let mut c = srv.client();
    let cfg = srv.client_config();
    let d = local_tree("lib-trees");
    let src = d.join("src").to_str().unwrap().to_string();

    // contents: the missing destination becomes the copy of src
    let heard = Heard::default();
    let o = Options {
        contents: true,
        jobs: 2,
        ..Options::default()
    };
    let r = copy::put(&mut c, &cfg, std::slice::from_ref(&src), "up", &o, &heard).unwrap();
    assert!(r.ok(), "{r:?} {:?}", heard.said());
    assert_eq!(r.transferred, 3);
    for f in ["a.txt", "sub/b.bin", "sub/deep/c"] {
        same_file(&d.join("src").join(f), &srv.path(&format!("up/{f}")));
    }
    assert!(!srv.path("up/link").exists(), "a symlink is never followed");
    assert!(heard
        .said()
        .iter()
        .any(|s| s.starts_with("note: put: ") && s.ends_with("link: a symlink (not followed), skipped")));
    assert_eq!(*heard.total.lock().unwrap(), Some(3));
    let p = heard.progress.lock().unwrap().clone().unwrap();
    assert_eq!(p.files(), 3);
    assert_eq!(p.moved(), 6 + (300 << 10));

    // rsync's rule: a directory source lands under its own name
    let r = copy::put(
        &mut c,
        &cfg,
        std::slice::from_ref(&src),
        "up",
        &Options::default(),
        &Quiet,
    )
    .unwrap();
    assert_eq!((r.transferred, r.ok()), (3, true));
    same_file(&d.join("src/sub/b.bin"), &srv.path("up/src/sub/b.bin"));

    // and down again, with a filter and a source that is not there
    let heard = Heard::default();
    let back = d.join("back");
    let o = Options {
        contents: true,
        filter: tfp_client::tree::filter::Filter::new([(false, "src")]),
        ..Options::default()
    };
    let r = copy_down::get(&mut c, &cfg, &["up".into()], back.to_str().unwrap(), &o, &heard).unwrap();
    assert_eq!((r.transferred, r.local, r.refused), (3, 0, 0), "{:?}", heard.said());
    for f in ["a.txt", "sub/b.bin", "sub/deep/c"] {
        same_file(&d.join("src").join(f), &back.join(f));
    }
    assert!(!back.join("src").exists(), "excluded");

    let heard = Heard::default();
    let r = copy_down::get(
        &mut c,
        &cfg,
        &["up/a.txt".into(), "nowhere".into()],
        back.to_str().unwrap(),
        &Options::default(),
        &heard,
    )
    .unwrap();
    assert_eq!((r.transferred, r.local, r.refused), (1, 0, 1));
    let said = heard.said();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("Refused: get: nowhere: "), "{said:?}");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn mirror_moves_only_what_differs_and_plans_a_dry_run() {
    let srv = Server::start();
    let mut c = srv.client();
    let cfg = srv.client_config();
    let d = local_tree("lib-mirror");
    fs::remove_file(d.join("src/link")).unwrap();
    let src = d.join("src");
    let up = mirror::Options {
        upload: true,
        ..mirror::Options::default()
    };
    let r = mirror::mirror(&mut c, &cfg, src.to_str().unwrap(), "m", &up, &Quiet).unwrap();
    let n = r.summary.clone().unwrap();
    assert_eq!(
        (n.transferred, n.unchanged, n.failed, r.report.ok()),
        (3, 0, 0, true),
        "{r:?}"
    );
    same_file(&src.join("sub/b.bin"), &srv.path("m/sub/b.bin"));

    // nothing changed: nothing moves
    let r = mirror::mirror(&mut c, &cfg, src.to_str().unwrap(), "m", &up, &Quiet).unwrap();
    assert_eq!(r.summary.as_ref().map(|n| (n.transferred, n.unchanged)), Some((0, 3)));

    // one edit, one removal: a dry run plans them, changing nothing
    fs::write(src.join("a.txt"), b"alpha, edited\n").unwrap();
    fs::remove_file(src.join("sub/deep/c")).unwrap();
    let dry = mirror::Options {
        delete: true,
        dry_run: true,
        checksum: true,
        ..up.clone()
    };
    let r = mirror::mirror(&mut c, &cfg, src.to_str().unwrap(), "m", &dry, &Quiet).unwrap();
    assert_eq!(
        r.planned,
        [
            Planned::Delete(b"sub/deep/c".to_vec()),
            Planned::Copy(b"a.txt".to_vec())
        ]
    );
    assert!(srv.path("m/sub/deep/c").exists());
    let r = mirror::mirror(
        &mut c,
        &cfg,
        src.to_str().unwrap(),
        "m",
        &mirror::Options { dry_run: false, ..dry },
        &Quiet,
    )
    .unwrap();
    let n = r.summary.unwrap();
    assert_eq!((n.transferred, n.deleted, n.unchanged), (1, 1, 1));
    same_file(&src.join("a.txt"), &srv.path("m/a.txt"));
    assert!(!srv.path("m/sub/deep/c").exists());

    // the other way: a local copy of the server's tree, made if missing
    let back = d.join("back");
    let r = mirror::mirror(
        &mut c,
        &cfg,
        "m",
        back.to_str().unwrap(),
        &mirror::Options::default(),
        &Quiet,
    )
    .unwrap();
    assert_eq!(r.summary.map(|n| n.transferred), Some(2));
    same_file(&src.join("sub/b.bin"), &back.join("sub/b.bin"));

    // a source that is not there stops before any plan, told as refused
    let heard = Heard::default();
    let r = mirror::mirror(
        &mut c,
        &cfg,
        "nowhere",
        back.to_str().unwrap(),
        &mirror::Options::default(),
        &heard,
    )
    .unwrap();
    assert_eq!((r.summary, r.report.refused), (None, 1));
    assert!(heard.said()[0].starts_with("Refused: mirror: nowhere: "));
    let _ = fs::remove_dir_all(&d);
}

/// `get -r` from a server without tfd's TFDLIST lists with LSR, the
/// reference protocol's listing, in which tfd shows each control character
/// of a name as `?`: odd but real names (a space, a real `?`, bytes past
/// ASCII and not UTF-8) land byte for byte, and a name whose listed form is
/// not its real one is told by that form, as the server listed it, once.
#[test]
fn get_r_through_lsr_lands_odd_names_and_tells_hidden_ones() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let srv = Server::start();
    let t = srv.path("odd");
    fs::create_dir_all(t.join("sub dir")).unwrap();
    let good: [&[u8]; 4] = [b"plain.txt", b"sub dir/with space", b"what?.txt", b"bytes\xff\xfe"];
    for g in good {
        fs::write(t.join(OsStr::from_bytes(g)), g).unwrap();
    }
    for bad in [&b"new\nline"[..], b"t\tab", b"e\x1bcx"] {
        fs::write(t.join(OsStr::from_bytes(bad)), b"odd").unwrap();
    }
    let here = tempdir("lsr-odd");
    let mut c = srv.client();
    c.without_tfdlist();
    let heard = Heard::default();
    let o = Options {
        recursive: true,
        ..Options::default()
    };
    let r = copy_down::get(
        &mut c,
        &srv.client_config(),
        &["odd".to_string()],
        here.to_str().unwrap(),
        &o,
        &heard,
    )
    .unwrap();
    let said = heard.said();
    for g in good {
        assert_eq!(
            fs::read(here.join("odd").join(OsStr::from_bytes(g))).unwrap(),
            g,
            "{said:?}"
        );
    }
    assert_eq!((r.transferred, r.refused), (4, 3), "{r:?} {said:?}");
    // each told once, by the form listed, with why: it said "FAILED 9: no
    // such file" of each, as if it were not there
    for shown in ["new?line", "t?ab", "e?cx"] {
        let lines: Vec<&String> = said.iter().filter(|l| l.contains(shown)).collect();
        assert_eq!(lines.len(), 1, "{shown}: {said:?}");
        assert!(
            lines[0].contains("TFDLIST") && lines[0].contains("skipped") && !lines[0].contains("no such file"),
            "{said:?}"
        );
    }
    assert_eq!(said.len(), 3, "{said:?}");
    // a directory so named: told once, nothing below it asked or told
    fs::create_dir(t.join(OsStr::from_bytes(b"dir"))).unwrap();
    fs::write(t.join(OsStr::from_bytes(b"dir/inner")), b"in").unwrap();
    let again = tempdir("lsr-odd-dir");
    let heard = Heard::default();
    let r = copy_down::get(
        &mut c,
        &srv.client_config(),
        &["odd".to_string()],
        again.to_str().unwrap(),
        &o,
        &heard,
    )
    .unwrap();
    let said = heard.said();
    assert_eq!((r.transferred, r.refused), (4, 4), "{r:?} {said:?}");
    assert_eq!(said.iter().filter(|l| l.contains("d?ir")).count(), 1, "{said:?}");
}

/// `get -r` sends a source's TFDLIST (and the batch probe) behind its FSTAT
/// and drops their answers when the source is not a directory: a file, a
/// missing path and a directory given one after the other on one session
/// each come out as asked, the session in step for the next, and the same
/// session lists and fetches again afterwards.
#[test]
fn get_r_of_a_file_a_missing_path_and_a_tree_on_one_session_stays_in_step() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("tree/sub")).unwrap();
    fs::write(srv.path("one.bin"), pattern(5000)).unwrap();
    for i in 0..80 {
        fs::write(srv.path(&format!("tree/sub/f{i:02}")), pattern(100 + i)).unwrap();
    }
    let here = tempdir("get-r-ahead");
    let mut c = srv.client();
    let o = Options {
        recursive: true,
        ..Options::default()
    };
    let sources = ["one.bin", "missing", "tree", "one.bin"].map(String::from);
    let heard = Heard::default();
    let r = copy_down::get(
        &mut c,
        &srv.client_config(),
        &sources,
        here.to_str().unwrap(),
        &o,
        &heard,
    )
    .unwrap();
    let said = heard.said();
    assert_eq!((r.transferred, r.refused), (82, 1), "{r:?} {said:?}");
    assert!(said.len() == 1 && said[0].contains("missing"), "{said:?}");
    same_file(&here.join("one.bin"), &srv.path("one.bin"));
    for i in 0..80 {
        let rel = format!("tree/sub/f{i:02}");
        same_file(&here.join(&rel), &srv.path(&rel));
    }
    // the session is still in step
    let again = tempdir("get-r-ahead-again");
    let r = copy_down::get(
        &mut c,
        &srv.client_config(),
        &sources[2..3],
        again.to_str().unwrap(),
        &o,
        &Quiet,
    )
    .unwrap();
    assert_eq!(r.transferred, 80, "{r:?}");
    same_file(&again.join("tree/sub/f79"), &srv.path("tree/sub/f79"));
}
