//! TFDENTRIES (doc/compatibility.md "Archive copies"): a tree listed with
//! what a faithful copy keeps of each entry (kind, mode 07777, mtime to the
//! nanosecond, owner, a link's target as stored), by lstat: a link is
//! listed, never followed; the listed directory comes first as `.`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::entry::{Entry, Mtime};
use tfp_wire::fstat::FileType;
use tfp_wire::Status;

/// `path`'s mtime, to the nanosecond, without following a link.
fn set_mtime(path: &Path, sec: i64, nsec: i64) {
    let ts = nix::sys::time::TimeSpec::new(sec, nsec);
    nix::sys::stat::utimensat(None, path, &ts, &ts, nix::sys::stat::UtimensatFlags::NoFollowSymlink).unwrap();
}

/// One listed entry, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    kind: FileType,
    size: u64,
    mode: u32,
    mtime: Mtime,
    owner: Option<(u32, u32)>,
    target: Option<Vec<u8>>,
}

/// The listing of `dir` as the wire has it, in order, and its status.
fn entries(c: &mut Client, dir: &[u8]) -> (Status, Vec<(Vec<u8>, Seen)>) {
    let mut text = Vec::new();
    c.chan.tx.send_frame(&[&b"TFDENTRIES "[..], dir].concat()).unwrap();
    let st = c.recv_chunks(&mut text).unwrap();
    let mut out = Vec::new();
    let mut rest = &text[..];
    while !rest.is_empty() {
        let (e, after) = Entry::parse_next(rest)
            .unwrap_or_else(|| panic!("a line that does not parse: {:?}", String::from_utf8_lossy(rest)));
        out.push((
            e.name.to_vec(),
            Seen {
                kind: e.kind,
                size: e.size,
                mode: e.mode,
                mtime: e.mtime,
                owner: e.extra.owner,
                target: e.target.map(<[u8]>::to_vec),
            },
        ));
        rest = after;
    }
    (st, out)
}

/// What lstat and readlink say of `p`.
fn truth(p: &Path) -> Seen {
    let m = fs::symlink_metadata(p).unwrap();
    let kind = FileType::from_mode(m.mode());
    Seen {
        kind,
        size: m.size(),
        mode: m.mode() & 0o7777,
        mtime: Mtime::of(m.mtime(), m.mtime_nsec()).unwrap(),
        owner: Some((m.uid(), m.gid())),
        target: (kind == FileType::Symlink).then(|| fs::read_link(p).unwrap().as_os_str().as_bytes().to_vec()),
    }
}

#[test]
fn tfdentries_lists_every_kind_by_lstat_and_never_follows() {
    let srv = Server::start();
    let t = srv.path("t");
    fs::create_dir_all(t.join("sub dir/deeper")).unwrap();
    fs::write(t.join("plain"), b"hello").unwrap();
    fs::write(t.join("a name\nwith newline"), b"x").unwrap();
    fs::write(t.join("sub dir/deeper/suid"), b"#!").unwrap();
    fs::set_permissions(t.join("sub dir/deeper/suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(t.join("sub dir"), fs::Permissions::from_mode(0o1777)).unwrap();
    symlink("plain", t.join("rel link")).unwrap();
    symlink("/etc/shadow", t.join("abs")).unwrap();
    symlink("../../nowhere", t.join("sub dir/dangling")).unwrap();
    symlink("/", t.join("to root")).unwrap();
    nix::unistd::mkfifo(&t.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o640)).unwrap();
    set_mtime(&t.join("plain"), 1_700_000_000, 123_456_789);
    set_mtime(&t.join("rel link"), 1_600_000_000, 1);
    set_mtime(&t.join("fifo"), 4_102_444_800, 999_999_999);
    set_mtime(&t.join("sub dir/deeper"), -5, 500);
    fs::set_permissions(&t, fs::Permissions::from_mode(0o750)).unwrap();
    set_mtime(&t, 1_500_000_000, 42);

    let mut c = srv.client();
    let (st, got) = entries(&mut c, b"t");
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    assert_eq!(got[0].0, b".", "the listed directory first");
    assert_eq!(got[0].1, truth(&t));
    assert_eq!(
        got[0].1.mtime,
        Mtime {
            sec: 1_500_000_000,
            nsec: 42
        }
    );
    let listed: BTreeMap<Vec<u8>, Seen> = got.iter().skip(1).cloned().collect();
    assert_eq!(listed.len(), got.len() - 1, "an entry listed twice");
    let mut want = BTreeMap::new();
    for rel in [
        &b"plain"[..],
        b"a name\nwith newline",
        b"sub dir",
        b"sub dir/deeper",
        b"sub dir/deeper/suid",
        b"sub dir/dangling",
        b"rel link",
        b"abs",
        b"to root",
        b"fifo",
    ] {
        want.insert(rel.to_vec(), truth(&t.join(std::ffi::OsStr::from_bytes(rel))));
    }
    assert_eq!(listed, want);
    // spot checks of what the comparison above stands on
    let of = |n: &[u8]| listed[n].clone();
    assert_eq!(of(b"sub dir/deeper/suid").mode, 0o4755);
    assert_eq!(of(b"sub dir").mode, 0o1777);
    assert_eq!(
        of(b"plain").mtime,
        Mtime {
            sec: 1_700_000_000,
            nsec: 123_456_789
        }
    );
    assert_eq!(of(b"sub dir/deeper").mtime, Mtime { sec: -5, nsec: 500 });
    assert_eq!((of(b"fifo").kind, of(b"fifo").mode), (FileType::Fifo, 0o640));
    assert_eq!(of(b"abs").target.as_deref(), Some(&b"/etc/shadow"[..]));
    assert_eq!((of(b"abs").kind, of(b"abs").size), (FileType::Symlink, 11));
    assert_eq!(
        of(b"rel link").mtime,
        Mtime {
            sec: 1_600_000_000,
            nsec: 1
        }
    );
    assert_eq!(of(b"sub dir/dangling").target.as_deref(), Some(&b"../../nowhere"[..]));
    // the link to / is listed, not entered
    assert!(!listed.keys().any(|k| k.starts_with(b"to root/")));

    // a link as the listed directory, a file, a missing path, `..` out: refused
    let outside = tempdir("tfdentries_outside");
    fs::write(outside.join("secret"), b"s").unwrap();
    symlink(&outside, srv.path("out")).unwrap();
    for arg in [&b"out"[..], b"t/plain", b"t/to root", b"missing", b"../.."] {
        let (st, got) = entries(&mut c, arg);
        if arg == b"../.." {
            // `..` above the root is the root, as every path: never outside it
            assert!(got.iter().all(|(n, _)| !n.starts_with(b"secret")), "{got:?}");
            continue;
        }
        assert!(matches!(st, Status::Failed(..)), "TFDENTRIES {arg:?}: {st:?}");
        assert!(got.is_empty(), "{arg:?}: {got:?}");
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// A tree larger than the first chunk arrives whole, in order: the walk
/// sends with TFDLIST's window.
#[test]
fn tfdentries_lists_large_trees_whole() {
    let srv = Server::start();
    let t = srv.path("big");
    fs::create_dir_all(&t).unwrap();
    for i in 0..600 {
        fs::write(t.join(format!("file number {i:04}")), b"").unwrap();
    }
    let mut c = srv.client();
    let (st, got) = entries(&mut c, b"big");
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    assert_eq!(got.len(), 601);
    assert_eq!(got[0].0, b".");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}
