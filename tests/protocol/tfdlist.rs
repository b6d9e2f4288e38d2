//! TFDLIST (doc/compatibility.md "Listings with metadata"): a tree listed
//! with sizes, mtimes and modes in one exchange, what mirror describes the
//! server's side with. Its mirrors match those made through LSR and FSTAT;
//! a hostile client cannot list outside the root with it.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use tfd_testkit::*;
use tfp_client::engine::events::Quiet;
use tfp_client::remote::listing::{self, Kind};
use tfp_client::tree::mirror;

/// Odd names: spaces, a leading dash, bytes past ASCII, a backslash.
const NAMES: [&[u8]; 5] = [
    b"plain.txt",
    b"with space.bin",
    b"-dash",
    b"caf\xc3\xa9 \xff\xfe",
    b"back\\slash",
];

fn tree(dir: &Path) {
    fs::create_dir_all(dir.join("sub dir/deeper")).unwrap();
    for (i, n) in NAMES.iter().enumerate() {
        let name = std::ffi::OsStr::from_bytes(n);
        fs::write(dir.join(name), pattern(1000 + i * 77, i as u64)).unwrap();
        fs::write(dir.join("sub dir/deeper").join(name), pattern(10 + i, 40 + i as u64)).unwrap();
    }
    fs::set_permissions(dir.join("plain.txt"), fs::Permissions::from_mode(0o640)).unwrap();
}

/// Every file below `dir`: relative path, bytes, mode.
fn inventory(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>, u32)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().as_os_str().as_bytes().to_vec();
                v.push((rel, fs::read(&p).unwrap(), m.mode() & 0o777));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn tfdlist_describes_the_tree_and_mirrors_match_those_made_without_it() {
    let srv = Server::start();
    let cfg = srv.client_config();
    let here = tempdir("tfdlist");
    let src = here.join("src");
    tree(&src);
    let up = mirror::Options {
        upload: true,
        ..mirror::Options::default()
    };
    let mut c = srv.client();
    let r = mirror::mirror(&mut c, &cfg, src.to_str().unwrap(), "m", &up, &Quiet).unwrap();
    assert_eq!(
        r.summary.as_ref().map(|n| (n.transferred, n.failed)),
        Some((10, 0)),
        "{r:?}"
    );
    assert!(
        inventory(&src) == inventory(&srv.path("m")),
        "the upload is not the source"
    );

    // the listing itself: every entry, with lstat's numbers, odd names whole
    let l = listing::list_stat(&mut c, b"m").unwrap().expect("tfd answers TFDLIST");
    assert!(l.refused.is_empty(), "{:?}", l.refused);
    assert_eq!(l.entries.len(), 10 + 2, "{:?}", l.entries);
    for e in &l.entries {
        let p = srv.path("m").join(std::ffi::OsStr::from_bytes(&e.entry.rel));
        let m = fs::symlink_metadata(&p).unwrap();
        assert_eq!(e.entry.kind == Kind::Dir, m.is_dir(), "{e:?}");
        assert_eq!(e.mode, m.mode() & 0o7777, "{e:?}");
        if m.is_file() {
            assert_eq!((e.size, e.mtime), (m.len(), m.mtime()), "{e:?}");
        }
    }

    // a second run moves nothing, with TFDLIST and without
    let r = mirror::mirror(&mut c, &cfg, src.to_str().unwrap(), "m", &up, &Quiet).unwrap();
    assert_eq!(
        r.summary.as_ref().map(|n| (n.transferred, n.unchanged)),
        Some((0, 10)),
        "{r:?}"
    );
    let mut old = srv.client();
    old.without_tfdlist();
    let r = mirror::mirror(&mut old, &cfg, src.to_str().unwrap(), "m", &up, &Quiet).unwrap();
    assert_eq!(
        r.summary.as_ref().map(|n| (n.transferred, n.unchanged)),
        Some((0, 10)),
        "{r:?}"
    );

    // down, both ways of listing: the same trees, the same plans
    let down = mirror::Options::default();
    let (a, b) = (here.join("a"), here.join("b"));
    let ra = mirror::mirror(&mut c, &cfg, "m", a.to_str().unwrap(), &down, &Quiet).unwrap();
    let rb = mirror::mirror(&mut old, &cfg, "m", b.to_str().unwrap(), &down, &Quiet).unwrap();
    assert_eq!(ra.summary, rb.summary);
    // (a download does not apply modes: the bytes and names are compared)
    let bytes = |d: &Path| -> Vec<(Vec<u8>, Vec<u8>)> { inventory(d).into_iter().map(|(n, b, _)| (n, b)).collect() };
    assert!(inventory(&a) == inventory(&b), "the two downloads differ");
    assert!(bytes(&a) == bytes(&src), "the download is not the source");
    // one edit on the server: both see it and only it
    fs::write(srv.path("m/sub dir/deeper/plain.txt"), b"edited on the server").unwrap();
    let dry = mirror::Options {
        dry_run: true,
        ..down.clone()
    };
    let ra = mirror::mirror(&mut c, &cfg, "m", a.to_str().unwrap(), &dry, &Quiet).unwrap();
    let rb = mirror::mirror(&mut old, &cfg, "m", b.to_str().unwrap(), &dry, &Quiet).unwrap();
    assert_eq!(ra.planned, rb.planned);
    assert_eq!(
        ra.planned,
        [mirror::Planned::Copy(b"sub dir/deeper/plain.txt".to_vec())]
    );
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn tfdlist_lists_nothing_outside_the_root() {
    let srv = Server::start();
    let outside = tempdir("tfdlist_outside");
    fs::write(outside.join("secret"), b"not to be listed").unwrap();
    fs::create_dir_all(srv.path("in")).unwrap();
    fs::write(srv.path("in/file"), b"x").unwrap();
    symlink(&outside, srv.path("out")).unwrap();
    symlink(&outside, srv.path("in/out")).unwrap();
    let mut c = srv.client();
    for arg in [&b".."[..], b"../..", b"/..", b"out", b"in/out", b"in/file", b"missing"] {
        match listing::list_stat(&mut c, arg) {
            Err(e) => assert!(!listing::session_failed(&e), "TFDLIST {arg:?}: {e}"),
            Ok(l) => {
                // `..` of the root is the root itself: never anything outside
                let l = l.expect("tfd answers TFDLIST");
                for e in &l.entries {
                    assert!(!e.entry.rel.ends_with(b"secret"), "TFDLIST {arg:?} listed {e:?}");
                }
            }
        }
    }
    for arg in [&b"out"[..], b"in/out", b"in/file"] {
        assert!(listing::list_stat(&mut c, arg).is_err(), "TFDLIST {arg:?} answered OK");
    }
    // the root: the symlinks are listed as what they are, never followed
    let l = listing::list_stat(&mut c, b"").unwrap().unwrap();
    let mut names: Vec<(Vec<u8>, Kind)> = l.entries.iter().map(|e| (e.entry.rel.clone(), e.entry.kind)).collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            (b"in".to_vec(), Kind::Dir),
            (b"in/file".to_vec(), Kind::File),
            (b"in/out".to_vec(), Kind::Other),
            (b"out".to_vec(), Kind::Other),
        ]
    );
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    let _ = fs::remove_dir_all(&outside);
}

/// A listing longer than a new connection's first flight leaves in a small
/// first chunk, so it starts while tfd still walks the tree, and the rest
/// follows without waiting for the first one's answer: every entry arrives,
/// once, with its size. (Its first chunk was the whole listing, up to 512
/// KiB, made before a byte left.)
#[test]
fn tfdlist_starts_with_a_small_chunk_and_lists_every_entry() {
    let srv = Server::start();
    let long = "n".repeat(100);
    for d in 0..10 {
        let dir = srv.path(&format!("big/d{d}"));
        fs::create_dir_all(&dir).unwrap();
        for i in 0..200 {
            fs::write(dir.join(format!("{long}{i:03}")), vec![b'x'; i]).unwrap();
        }
    }
    let mut c = srv.client();
    c.chan.tx.send_frame(b"TFDLIST big").unwrap();
    let first = c.chan.rx.recv_frame().unwrap();
    assert!(first.starts_with(b"CONT "));
    let n = first.len() - 5;
    assert!(n > 0 && n <= 16 << 10, "a first chunk of {n} bytes");
    // the second chunk left without waiting for the first one's answer: it
    // comes, unanswered, before the BREAK's OK
    let second = c.chan.rx.recv_frame().unwrap();
    assert!(second.starts_with(b"CONT "), "the second chunk before any answer");
    c.chan.tx.send_frame(b"BREAK").unwrap();
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK");
    let l = listing::list_stat(&mut c, b"big").unwrap().unwrap();
    assert!(l.refused.is_empty(), "{:?}", l.refused);
    assert_eq!(l.entries.len(), 2010);
    let mut files: Vec<(Vec<u8>, u64)> = l
        .entries
        .iter()
        .filter(|e| e.entry.kind == Kind::File)
        .map(|e| (e.entry.rel.clone(), e.size))
        .collect();
    files.sort();
    files.dedup();
    assert_eq!(files.len(), 2000);
    for (rel, size) in &files {
        let i: u64 = std::str::from_utf8(&rel[rel.len() - 3..]).unwrap().parse().unwrap();
        assert_eq!(*size, i, "{}", String::from_utf8_lossy(rel));
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// TFDNAMES, what `get -r` lists a tree with: TFDLIST's entries, the same
/// kinds and raw names (odd bytes whole), without the numbers, in fewer
/// bytes; refused outside the root as TFDLIST is; a `get -r` of the tree
/// through it lands every file.
#[test]
fn tfdnames_lists_tfdlists_entries_without_the_numbers() {
    let srv = Server::start();
    let here = tempdir("tfdnames");
    tree(&srv.path("m"));
    let mut c = srv.client();
    let mut text = Vec::new();
    c.chan.tx.send_frame(b"TFDNAMES m").unwrap();
    assert!(matches!(c.recv_chunks(&mut text).unwrap(), tfp_wire::Status::Ok(_)));
    let names = listing::parse_names(&text).expect("a TFDNAMES answer that parses");
    let stat = listing::list_stat(&mut c, b"m").unwrap().expect("tfd answers TFDLIST");
    let mut full = Vec::new();
    c.chan.tx.send_frame(b"TFDLIST m").unwrap();
    assert!(matches!(c.recv_chunks(&mut full).unwrap(), tfp_wire::Status::Ok(_)));
    assert!(
        text.len() < full.len(),
        "{} bytes against TFDLIST's {}",
        text.len(),
        full.len()
    );
    let pairs = |l: &listing::StatListing| -> Vec<(Vec<u8>, Kind)> {
        let mut v: Vec<(Vec<u8>, Kind)> = l.entries.iter().map(|e| (e.entry.rel.clone(), e.entry.kind)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(pairs(&names), pairs(&stat));
    assert_eq!(names.entries.len(), 12);
    assert!(names.entries.iter().all(|e| (e.size, e.mtime, e.mode) == (0, 0, 0)));
    // a line is `<kind> <length> <name>`
    let first = text.split(|&b| b == b'\n').next().unwrap();
    let f: Vec<&[u8]> = first.splitn(3, |&b| b == b' ').collect();
    assert_eq!(
        f[1],
        f[2].len().to_string().as_bytes(),
        "{:?}",
        String::from_utf8_lossy(first)
    );
    // confined as TFDLIST: a symlink out, a file, a missing path are refused
    let outside = tempdir("tfdnames_outside");
    symlink(&outside, srv.path("out")).unwrap();
    for arg in [&b"out"[..], b"m/plain.txt", b"missing"] {
        let mut t = Vec::new();
        c.chan.tx.send_frame(&[&b"TFDNAMES "[..], arg].concat()).unwrap();
        let st = c.recv_chunks(&mut t).unwrap();
        assert!(matches!(st, tfp_wire::Status::Failed(..)), "TFDNAMES {arg:?}: {st:?}");
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    // get -r lists with it and lands the tree
    let back = here.join("back");
    let r = tfp_client::tree::copy_down::get(
        &mut c,
        &srv.client_config(),
        // `m/`: its contents in `back`, as rsync's trailing slash says
        &["m/".to_string()],
        back.to_str().unwrap(),
        &tfp_client::tree::options::Options {
            recursive: true,
            ..Default::default()
        },
        &Quiet,
    )
    .unwrap();
    assert_eq!(r.transferred, 10, "{r:?}");
    let bytes = |d: &Path| -> Vec<(Vec<u8>, Vec<u8>)> { inventory(d).into_iter().map(|(n, b, _)| (n, b)).collect() };
    assert!(bytes(&back) == bytes(&srv.path("m")), "the download is not the tree");
    let _ = fs::remove_dir_all(&here);
    let _ = fs::remove_dir_all(&outside);
}
