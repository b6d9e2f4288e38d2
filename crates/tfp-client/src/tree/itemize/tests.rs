use super::*;
use crate::tree::sync::{plan, Rule};

fn meta(kind: Kind, size: u64, mtime: i64, mode: u32) -> Meta {
    let ft = match kind {
        Kind::Dir => FileType::Dir,
        Kind::File => FileType::Regular,
        Kind::Other => FileType::Symlink,
    };
    Meta {
        kind,
        size,
        mtime,
        changed: 0,
        facts: Some(Facts {
            ft,
            mode,
            nsec: 0,
            target: (kind == Kind::Other).then(|| b"a".to_vec()),
            owner: Some((0, 0)),
            rdev: None,
            inode: None,
        }),
    }
}

fn side(v: &[(&str, Meta)]) -> Side {
    v.iter().map(|(k, m)| (k.as_bytes().to_vec(), m.clone())).collect()
}

fn lines(src: &Side, dst: &Side, upload: bool) -> Vec<String> {
    let keeps = Keeps::archive();
    let p = plan(src, dst, Rule::SameMtime, true, keeps);
    let f = Frame {
        upload,
        keeps,
        named: b"",
    };
    items(src, dst, &p, f).iter().map(Item::line).collect()
}

#[test]
fn each_change_is_said_as_rsync_says_it() {
    let src = side(&[
        ("a", meta(Kind::File, 3, 100, 0o644)),
        ("b", meta(Kind::File, 3, 100, 0o600)),
        ("c", meta(Kind::File, 4, 200, 0o644)),
        ("d", meta(Kind::Dir, 0, 300, 0o755)),
        ("d/e", meta(Kind::File, 1, 100, 0o644)),
        ("l", meta(Kind::Other, 0, 100, 0o777)),
        ("t", meta(Kind::File, 3, 150, 0o644)),
    ]);
    let dst = side(&[
        ("b", meta(Kind::File, 3, 100, 0o644)),
        ("c", meta(Kind::File, 3, 200, 0o644)),
        ("g", meta(Kind::Dir, 0, 300, 0o755)),
        ("g/h", meta(Kind::File, 1, 100, 0o644)),
        ("t", meta(Kind::File, 3, 100, 0o644)),
    ]);
    assert_eq!(
        lines(&src, &dst, false),
        [
            "*deleting   g/h",
            "*deleting   g/",
            ">f+++++++++ a",
            ".f...p..... b",
            ">f.s....... c",
            "cd+++++++++ d/",
            ">f+++++++++ d/e",
            "cL+++++++++ l -> a",
            ">f..t...... t",
        ]
    );
    assert!(lines(&src, &dst, true).contains(&"<f.s....... c".to_string()));
}

#[test]
fn the_root_is_made_or_its_time_set() {
    let f = Frame {
        upload: false,
        keeps: Keeps::archive(),
        named: b"",
    };
    let (a, b) = (meta(Kind::Dir, 0, 1, 0o755), meta(Kind::Dir, 0, 2, 0o755));
    assert_eq!(
        root(f, Some(&a), None, false).map(|i| i.line()).as_deref(),
        Some("cd+++++++++ ./")
    );
    assert_eq!(
        root(f, Some(&a), Some(&b), true).map(|i| i.line()).as_deref(),
        Some(".d..t...... ./")
    );
    assert_eq!(root(f, Some(&a), Some(&a), true), None);
    let named = Frame { named: b"src", ..f };
    assert_eq!(
        root(named, Some(&a), None, false).map(|i| i.line()).as_deref(),
        Some("cd+++++++++ src/")
    );
}
