use super::*;

fn m(kind: Kind, size: u64, mtime: i64) -> Meta {
    Meta {
        kind,
        size,
        mtime,
        changed: mtime + 100,
        facts: None,
    }
}

fn side(v: &[(&str, Meta)]) -> Side {
    v.iter().map(|(k, m)| (k.as_bytes().to_vec(), m.clone())).collect()
}

fn rm(rel: &str, kind: Kind, extra: bool) -> Remove {
    Remove {
        rel: rel.as_bytes().to_vec(),
        kind,
        extra,
    }
}

fn names(v: &[Vec<u8>]) -> Vec<&str> {
    v.iter().map(|x| std::str::from_utf8(x).unwrap()).collect()
}

#[test]
fn times_too_close_to_compare_go_to_the_checksums() {
    let f = |mtime, changed| {
        side(&[(
            "f",
            Meta {
                kind: Kind::File,
                size: 3,
                mtime,
                changed,
                facts: None,
            },
        )])
    };
    // a download: the local copy landed in the second of the remote mtime
    let p = plan(&f(100, 0), &f(100, 100), Rule::SameMtime, false, Keeps::default());
    assert_eq!((names(&p.verify), p.unchanged), (vec!["f"], 0));
    let p = plan(&f(100, 0), &f(100, 102), Rule::SameMtime, false, Keeps::default());
    assert_eq!((p.verify.len(), p.unchanged), (0, 1));
    // an upload: it arrived in the second of the local edit
    let p = plan(&f(100, 0), &f(100, 0), Rule::RemoteNotOlder, false, Keeps::default());
    assert_eq!((p.verify.len(), p.unchanged), (1, 0));
    let p = plan(&f(100, 0), &f(105, 0), Rule::RemoteNotOlder, false, Keeps::default());
    assert_eq!((p.verify.len(), p.unchanged), (0, 1));
}

#[test]
fn only_what_differs_moves() {
    let src = side(&[
        ("d", m(Kind::Dir, 0, 1)),
        ("d/same", m(Kind::File, 3, 100)),
        ("d/newer", m(Kind::File, 3, 200)),
        ("d/bigger", m(Kind::File, 4, 100)),
        ("new", m(Kind::File, 0, 5)),
        ("empty", m(Kind::Dir, 0, 1)),
        ("link", m(Kind::Other, 0, 1)),
    ]);
    let dst = side(&[
        ("d", m(Kind::Dir, 0, 9)),
        ("d/same", m(Kind::File, 3, 100)),
        ("d/newer", m(Kind::File, 3, 100)),
        ("d/bigger", m(Kind::File, 3, 100)),
        ("extra", m(Kind::Dir, 0, 1)),
        ("extra/x", m(Kind::File, 1, 1)),
    ]);
    let p = plan(&src, &dst, Rule::SameMtime, false, Keeps::default());
    assert_eq!(names(&p.copy), ["d/bigger", "d/newer", "new"]);
    assert_eq!(names(&p.mkdir), ["empty"]);
    assert_eq!(p.unchanged, 1);
    assert!(p.remove.is_empty());
    assert_eq!(names(&p.skipped), ["link"]);
    let p = plan(&src, &dst, Rule::SameMtime, true, Keeps::default());
    assert_eq!(p.remove, [rm("extra", Kind::Dir, true)], "top-most only");
    assert_eq!(p.extras(), 1);
    // an upload is up to date when the remote copy is not older
    let p = plan(&src, &dst, Rule::RemoteNotOlder, false, Keeps::default());
    assert_eq!(names(&p.copy), ["d/bigger", "d/newer", "new"]);
    let later = side(&[("f", m(Kind::File, 3, 300))]);
    let p = plan(
        &side(&[("f", m(Kind::File, 3, 200))]),
        &later,
        Rule::RemoteNotOlder,
        false,
        Keeps::default(),
    );
    assert_eq!((p.copy.len(), p.unchanged), (0, 1));
    // with batches (stamped mtimes): the same second, nothing else; a
    // remote newer than the local copy moves too; a second less was a
    // file sent within a second of its mtime, judged by content
    let p = plan(&src, &dst, Rule::SameMtimeUp, false, Keeps::default());
    assert_eq!(names(&p.copy), ["d/bigger", "d/newer", "new"]);
    assert_eq!(p.unchanged, 1);
    let p = plan(
        &side(&[("f", m(Kind::File, 3, 200))]),
        &later,
        Rule::SameMtimeUp,
        false,
        Keeps::default(),
    );
    assert_eq!(names(&p.copy), ["f"]);
    let racy = side(&[("f", m(Kind::File, 3, 199))]);
    let p = plan(
        &side(&[("f", m(Kind::File, 3, 200))]),
        &racy,
        Rule::SameMtimeUp,
        false,
        Keeps::default(),
    );
    assert_eq!((names(&p.verify), p.copy.len()), (vec!["f"], 0));
    // --checksum: same size goes to the hashes, whatever the times
    let p = plan(&src, &dst, Rule::Checksum, false, Keeps::default());
    assert_eq!(names(&p.verify), ["d/newer", "d/same"]);
    assert_eq!(names(&p.copy), ["d/bigger", "new"]);
}

#[test]
fn entries_of_the_wrong_kind_are_replaced_or_refused() {
    let src = side(&[
        ("a", m(Kind::Dir, 0, 1)),
        ("a/f", m(Kind::File, 1, 1)),
        ("b", m(Kind::File, 1, 1)),
        ("c", m(Kind::File, 1, 1)),
    ]);
    let dst = side(&[
        ("a", m(Kind::Other, 0, 1)),
        ("b", m(Kind::Dir, 0, 1)),
        ("b/keep", m(Kind::File, 1, 1)),
        ("c", m(Kind::Other, 0, 1)),
    ]);
    let p = plan(&src, &dst, Rule::SameMtime, false, Keeps::default());
    // a link where a directory goes is removed (the link, never its target)
    assert_eq!(p.remove, [rm("a", Kind::Other, false)]);
    assert_eq!(names(&p.mkdir), ["a"]);
    // a link where a file goes is replaced by the file's rename
    assert_eq!(names(&p.copy), ["a/f", "c"]);
    assert_eq!(p.blocked.len(), 1, "a directory in the way needs --delete");
    let p = plan(&src, &dst, Rule::SameMtime, true, Keeps::default());
    assert_eq!(p.remove, [rm("a", Kind::Other, false), rm("b", Kind::Dir, false)]);
    assert_eq!(p.extras(), 0);
    assert_eq!(names(&p.copy), ["a/f", "b", "c"]);
}

fn a(ft: FileType, size: u64, mtime: Mtime, mode: u32, target: Option<&str>) -> Meta {
    let kind = match ft {
        FileType::Dir => Kind::Dir,
        FileType::Regular => Kind::File,
        _ => Kind::Other,
    };
    Meta {
        kind,
        size,
        mtime: mtime.sec,
        changed: mtime.sec + 100,
        facts: Some(Facts {
            ft,
            mode,
            nsec: mtime.nsec,
            target: target.map(|t| t.as_bytes().to_vec()),
            owner: None,
            rdev: None,
            inode: None,
        }),
    }
}

#[test]
fn an_archive_plan_keeps_modes_nanoseconds_links_and_fifos() {
    let t = |sec, nsec| Mtime { sec, nsec };
    let all = Keeps::archive();
    let src = side(&[
        ("d", a(FileType::Dir, 0, t(5, 0), 0o700, None)),
        ("d/chmod", a(FileType::Regular, 3, t(100, 1), 0o600, None)),
        ("d/ns", a(FileType::Regular, 3, t(100, 2), 0o644, None)),
        ("d/same", a(FileType::Regular, 3, t(100, 3), 0o644, None)),
        ("ln", a(FileType::Symlink, 4, t(1, 0), 0o777, Some("/etc"))),
        ("moved", a(FileType::Symlink, 4, t(1, 0), 0o777, Some("new"))),
        ("p", a(FileType::Fifo, 0, t(1, 0), 0o600, None)),
        ("sub", a(FileType::Dir, 0, t(9, 9), 0o1777, None)),
    ]);
    let dst = side(&[
        ("d", a(FileType::Dir, 0, t(5, 0), 0o700, None)),
        ("d/chmod", a(FileType::Regular, 3, t(100, 1), 0o644, None)),
        ("d/ns", a(FileType::Regular, 3, t(100, 7), 0o644, None)),
        ("d/same", a(FileType::Regular, 3, t(100, 3), 0o644, None)),
        ("moved", a(FileType::Symlink, 4, t(1, 0), 0o777, Some("old"))),
        ("p", a(FileType::Fifo, 0, t(1, 0), 0o600, None)),
        ("sub", a(FileType::Dir, 0, t(9, 9), 0o755, None)),
    ]);
    let p = plan(&src, &dst, Rule::SameMtime, false, all);
    // the same second, other nanoseconds: moved; a mode alone: set alone
    assert_eq!(names(&p.copy), ["d/ns"]);
    assert_eq!(names(&p.attrs), ["d/chmod"]);
    assert_eq!(names(&p.nodes), ["ln", "moved"]);
    assert_eq!(p.unchanged, 3, "d/same, d/chmod and the FIFO");
    // a directory whose mode differs, and the parent of a change
    assert_eq!(names(&p.dirs), ["sub", "d"]);
    assert!(p.skipped.is_empty());
    // without the keeps, links and FIFOs are skipped and attributes not compared
    let p = plan(&src, &dst, Rule::SameMtime, false, Keeps::default());
    assert_eq!(names(&p.skipped), ["ln", "moved", "p"]);
    assert!(p.copy.is_empty() && p.attrs.is_empty() && p.dirs.is_empty());
    // a directory in the way of a link goes only with --delete
    let way = side(&[("ln", a(FileType::Dir, 0, t(1, 0), 0o755, None))]);
    let p = plan(&src, &way, Rule::SameMtime, false, all);
    assert_eq!(p.blocked.len(), 1);
    let p = plan(&src, &way, Rule::SameMtime, true, all);
    assert_eq!(p.remove, [rm("ln", Kind::Dir, false)]);
    assert!(p.nodes.contains(&b"ln".to_vec()));
}

#[test]
fn a_link_naming_a_directory_that_holds_it_is_seen_by_its_text() {
    for (rel, target, out) in [
        ("up", "..", true),
        ("here", ".", true),
        ("d/up", "..", true),
        ("d/x", "../..", true),
        ("d/l", "../d", true),
        ("d/e/l", "../../d/./", true),
        ("d/l", "../e", false),
        ("d/l", "e", false),
        ("d/l", "../../x", false),
        ("d/l", "/", false),
        ("d/l", "/etc", false),
        ("l", "", false),
    ] {
        assert_eq!(
            names_its_ancestor(rel.as_bytes(), target.as_bytes()),
            out,
            "{rel} -> {target}"
        );
    }
}

#[test]
fn unsafe_links_are_those_that_leave_the_tree() {
    for (rel, target, out) in [
        ("l", "/etc", true),
        ("l", "a/b", false),
        ("l", "../x", true),
        ("d/l", "../x", false),
        ("d/l", "../../x", true),
        ("d/l", "a/../../x", false),
        ("d/l", "a/../../../x", true),
        ("l", "./.", false),
        ("l", "", true),
    ] {
        assert_eq!(
            leaves(rel.as_bytes(), Some(target.as_bytes())),
            out,
            "{rel} -> {target}"
        );
    }
    let src = side(&[
        ("in", a(FileType::Symlink, 1, Mtime::secs(1), 0o777, Some("f"))),
        (
            "out",
            a(FileType::Symlink, 1, Mtime::secs(1), 0o777, Some("/etc/shadow")),
        ),
    ]);
    let safe = Keeps {
        safe_links: true,
        ..Keeps::archive()
    };
    let p = plan(&src, &Side::new(), Rule::SameMtime, false, safe);
    assert_eq!((names(&p.nodes), names(&p.skipped)), (vec!["in"], vec!["out"]));
}

#[test]
fn removal_stays_below_the_root_and_follows_no_link() {
    let d = std::env::temp_dir().join(format!("tfd-sync-rm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let (root, out) = (d.join("root"), d.join("out"));
    std::fs::create_dir_all(root.join("t/u")).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep"), b"k").unwrap();
    std::fs::write(root.join("t/u/f"), b"f").unwrap();
    std::os::unix::fs::symlink(&out, root.join("ln")).unwrap();
    std::os::unix::fs::symlink(&out, root.join("t/ln")).unwrap();
    let fd = std::fs::File::open(&root).unwrap();
    assert!(remove_below(fd.as_fd(), b"ln/keep").is_err(), "through a link");
    assert!(remove_below(fd.as_fd(), b"../out/keep").is_err());
    remove_below(fd.as_fd(), b"ln").unwrap();
    remove_below(fd.as_fd(), b"t").unwrap();
    assert!(out.join("keep").exists());
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn the_scan_sees_links_as_links() {
    let d = std::env::temp_dir().join(format!("tfd-sync-scan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("a b/é")).unwrap();
    std::fs::write(d.join("a b/é/f"), b"123").unwrap();
    std::os::unix::fs::symlink("/etc", d.join("ln")).unwrap();
    let (s, errors) = scan(&d, false).unwrap();
    assert!(errors.is_empty());
    let kinds: Vec<(&str, Kind, u64)> = s
        .iter()
        .map(|(k, m)| (std::str::from_utf8(k).unwrap(), m.kind, m.size))
        .collect();
    assert_eq!(
        kinds,
        [
            ("a b", Kind::Dir, 0),
            ("a b/é", Kind::Dir, 0),
            ("a b/é/f", Kind::File, 3),
            ("ln", Kind::Other, 0)
        ]
    );
    std::fs::remove_dir_all(&d).unwrap();
}
