//! The upload's own checks: links, commits, the sweep.

use super::*;

fn setup(tag: &str) -> (std::path::PathBuf, Root) {
    let tmp = std::env::temp_dir().join(format!("tfd-upload-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let root = Root::open_root(&tmp).unwrap();
    (tmp, root)
}

fn temp_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().as_encoded_bytes().starts_with(TEMP_PREFIX))
        .count()
}

fn named(root: &Root, p: &RelPath) -> Upload {
    let (dir, name) = root.parent(p).unwrap();
    Upload::begin_named(dir, name, 0, true).unwrap()
}

fn tmp_of(up: &Upload) -> CString {
    match &up.temp {
        Temp::Named(t) => t.clone(),
        Temp::Anonymous => panic!("anonymous"),
    }
}

/// The NFS/CephFS fallback, run directly (local file systems take the
/// RENAME_NOREPLACE path): never replaces, leaves no temporary file.
#[test]
fn link_fallback_never_replaces() {
    let (tmp, root) = setup("link");
    let p = RelPath::parse(b"f").unwrap();
    let mut up = named(&root, &p);
    up.write(b"new").unwrap();
    up.link_into_place(&tmp_of(&up)).unwrap();
    up.done = true;
    drop(up);
    assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"new");
    assert_eq!(temp_files(&tmp), 0);

    let mut up = named(&root, &p);
    up.write(b"newer").unwrap();
    let e = up.link_into_place(&tmp_of(&up)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
    drop(up);
    assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"new");
    assert_eq!(temp_files(&tmp), 0);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Both kinds of upload: no name before the commit (anonymous), never an
/// overwrite without the flag, and nothing left over.
#[test]
fn commit_without_overwrite_keeps_an_existing_file() {
    let (tmp, root) = setup("commit");
    std::fs::write(tmp.join("f"), b"old").unwrap();
    let p = RelPath::parse(b"f").unwrap();
    for anonymous in [true, false] {
        let begin = || {
            if anonymous {
                Upload::begin(&root, &p, 0, true).unwrap()
            } else {
                named(&root, &p)
            }
        };
        let mut up = begin();
        assert_eq!(up.is_anonymous(), anonymous, "this machine has /proc and O_TMPFILE");
        up.write(b"new").unwrap();
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), if anonymous { 1 } else { 2 });
        assert!(matches!(up.commit(false), Err(FsError::Exists)));
        assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"old");
        let mut up = begin();
        up.write(b"new").unwrap();
        up.commit(true).unwrap();
        assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"new");
        std::fs::write(tmp.join("f"), b"old").unwrap();
        assert_eq!(temp_files(&tmp), 0);
    }
    let q = RelPath::parse(b"g").unwrap();
    let mut up = Upload::begin(&root, &q, 0, false).unwrap();
    up.write(b"g").unwrap();
    up.commit(false).unwrap();
    assert_eq!(std::fs::read(tmp.join("g")).unwrap(), b"g");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A grouped overwrite whose name was free when its attributes were set
/// links straight at it; a file that came there after is replaced whole
/// (through the hidden name, then checked), and neither leaves a hidden
/// name or a mark.
#[test]
fn grouped_overwrite_links_a_free_name_and_replaces_a_file_come_since() {
    let (tmp, root) = setup("grouped");
    let mark = |name: &str| {
        let f = std::fs::File::open(tmp.join(name)).unwrap();
        sys::fgetxattr(f.as_fd(), c"user.tfd.part", 64)
            .err()
            .and_then(|e| e.raw_os_error())
    };
    for (name, there) in [("free", false), ("came", true)] {
        let p = RelPath::parse(name.as_bytes()).unwrap();
        let mut up = Upload::begin(&root, &p, 0, true).unwrap();
        assert!(up.is_anonymous(), "this machine has /proc and O_TMPFILE");
        up.write(b"new").unwrap();
        up.ready_for_group(true).unwrap();
        if there {
            std::fs::write(tmp.join(name), b"old, longer").unwrap();
        }
        up.commit_grouped(true).unwrap();
        assert_eq!(std::fs::read(tmp.join(name)).unwrap(), b"new", "{name}");
        assert_eq!(mark(name), Some(libc::ENODATA), "{name}");
    }
    assert_eq!(temp_files(&tmp), 0);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A hidden temporary is swept only when it is old and unlocked.
#[test]
fn sweep_takes_only_stale_unlocked_temporaries() {
    let (tmp, root) = setup("sweep");
    let p = RelPath::parse(b"f").unwrap();
    let up = named(&root, &p);
    let t = tmp_of(&up);
    let dir = std::fs::File::open(&tmp).unwrap();
    let mut st = sys::fstatat(dir.as_fd(), &t, false).unwrap();
    assert!(!sweep_if_stale(dir.as_fd(), &t, &st), "fresh");
    st.st_mtime -= 3600;
    assert!(!sweep_if_stale(dir.as_fd(), &t, &st), "locked by its live upload");
    drop(up);
    // an orphan (left by a dead session): unlocked, marked by tfd
    std::fs::write(tmp.join(".tfd-part-0123456789abcdef"), b"orphan").unwrap();
    let f = File::open(tmp.join(".tfd-part-0123456789abcdef")).unwrap();
    tempmark::mark(f.as_fd(), TempKind::Upload).unwrap();
    drop(f);
    std::fs::write(tmp.join("plain"), b"x").unwrap();
    let o = c".tfd-part-0123456789abcdef";
    let mut st = sys::fstatat(dir.as_fd(), o, false).unwrap();
    assert!(!sweep_if_stale(dir.as_fd(), o, &st), "fresh");
    st.st_mtime -= 3600;
    assert!(sweep_if_stale(dir.as_fd(), o, &st));
    assert_eq!(temp_files(&tmp), 0);
    // a user's file that merely has such a name (renamed so, or made by
    // an older tfd without the mark) is never removed, however old
    std::fs::write(tmp.join(".tfd-part-fedcba9876543210"), b"mine").unwrap();
    let u = c".tfd-part-fedcba9876543210";
    let mut st = sys::fstatat(dir.as_fd(), u, false).unwrap();
    st.st_mtime -= 30 * 24 * 3600;
    assert!(!sweep_if_stale(dir.as_fd(), u, &st), "unmarked");
    // a staged upload is kept for days, not seconds
    let f = File::open(tmp.join(".tfd-part-fedcba9876543210")).unwrap();
    tempmark::mark(f.as_fd(), TempKind::Stage).unwrap();
    drop(f);
    let mut st = sys::fstatat(dir.as_fd(), u, false).unwrap();
    st.st_mtime -= 3600;
    assert!(!sweep_if_stale(dir.as_fd(), u, &st), "a stage an hour old stays");
    st.st_mtime -= STAGE_KEEP_SECS;
    assert!(sweep_if_stale(dir.as_fd(), u, &st), "an abandoned stage goes");
    let mut st = sys::fstatat(dir.as_fd(), c"plain", false).unwrap();
    st.st_mtime -= 3600;
    assert!(!sweep_if_stale(dir.as_fd(), c"plain", &st));
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// An upload to a free name (pinned absent) is made with a new file's mode
/// and takes no second look at the name; a file that comes to the name after
/// the upload was readied is still replaced as every overwrite is, with its
/// own mode and owner (the client's mode, when it gave one). On the old code
/// the readied upload kept 0644 and the session's owner over such a file.
#[test]
fn a_free_names_upload_takes_the_attributes_of_a_file_come_since() {
    let (tmp, root) = setup("fresh");
    let root_user = sys::geteuid() == 0;
    let attrs = |name: &str| {
        let m = std::fs::symlink_metadata(tmp.join(name)).unwrap();
        (
            std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777,
            std::os::unix::fs::MetadataExt::uid(&m),
        )
    };
    let me = sys::geteuid();
    let new_mode = NEW_MODE & !umask();
    // (name, a file comes after the upload is readied, the client's mode)
    for (name, comes, client) in [
        ("free", false, None),
        ("came", true, None),
        ("client", true, Some(0o750)),
    ] {
        let p = root.pin(&RelPath::parse(name.as_bytes()).unwrap());
        assert!(Root::pinned_absent(&p), "{name}");
        let mut up = Upload::begin(&root, &p, 0, true).unwrap();
        assert!(up.is_anonymous(), "this machine has /proc and O_TMPFILE");
        up.write(b"new").unwrap();
        up.stamp(client, None).unwrap();
        up.ready_for_group(true).unwrap();
        if comes {
            std::fs::write(tmp.join(name), b"old, longer").unwrap();
            std::fs::set_permissions(tmp.join(name), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if root_user {
                std::os::unix::fs::chown(tmp.join(name), Some(65534), Some(65534)).unwrap();
            }
        }
        up.commit_grouped(true).unwrap();
        assert_eq!(std::fs::read(tmp.join(name)).unwrap(), b"new", "{name}");
        let owner = if comes && root_user { 65534 } else { me };
        let mode = match (comes, client) {
            (_, Some(m)) => m,
            (true, None) => 0o600,
            (false, None) => new_mode,
        };
        assert_eq!(attrs(name), (mode, owner), "{name}");
    }
    assert_eq!(temp_files(&tmp), 0);
    std::fs::remove_dir_all(&tmp).unwrap();
}
