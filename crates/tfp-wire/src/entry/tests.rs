use super::*;

#[test]
fn mtimes_read_whole_seconds_and_nine_digits() {
    let cases: [(&[u8], Mtime); 5] = [
        (b"1700000000", Mtime::secs(1_700_000_000)),
        (
            b"1700000000.000000001",
            Mtime {
                sec: 1_700_000_000,
                nsec: 1,
            },
        ),
        (
            b"-1.500000000",
            Mtime {
                sec: -1,
                nsec: 500_000_000,
            },
        ),
        (b"0", Mtime::default()),
        (
            b"4102444800.123456789",
            Mtime {
                sec: 4_102_444_800,
                nsec: 123_456_789,
            },
        ),
    ];
    for (wire, t) in cases {
        assert_eq!(Mtime::parse(wire), Some(t), "{wire:?}");
        assert_eq!(Mtime::parse(t.text().as_bytes()), Some(t));
    }
    assert_eq!(Mtime { sec: 5, nsec: 7 }.text(), "5.000000007");
    assert_eq!(Mtime::secs(5).text(), "5");
    for bad in [
        &b""[..],
        b".5",
        b"1.5",
        b"1.0000000001",
        b"1.",
        b"+1",
        b"x",
        b"1.00000000x",
        b"1.-00000001",
    ] {
        assert_eq!(Mtime::parse(bad), None, "{bad:?}");
    }
    assert_eq!(Mtime::of(1, 1_000_000_000), None);
    assert_eq!(Mtime::of(1, -1), None);
}

#[test]
fn every_kind_has_one_letter() {
    for (k, t) in TAGS {
        assert_eq!(kind_of(t), Some(k));
        assert_eq!(tag_of(k), t);
    }
    assert_eq!(kind_of(b'A'), None);
}

fn line(e: &Entry<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    e.encode_into(&mut out);
    out
}

#[test]
fn listing_lines_round_trip_with_any_bytes_in_names_and_targets() {
    let file = Entry {
        kind: FileType::Regular,
        size: 12,
        mode: 0o4755,
        mtime: Mtime {
            sec: 1_700_000_000,
            nsec: 42,
        },
        extra: Extra {
            owner: Some((0, 5)),
            rdev: None,
            changed: None,
            inode: None,
        },
        name: b"a b\nc",
        target: None,
    };
    assert_eq!(line(&file), b"F 12 4755 1700000000.000000042 u=0 g=5 5 a b\nc\n");
    let link = Entry {
        kind: FileType::Symlink,
        size: 9,
        mode: 0o777,
        mtime: Mtime::secs(3),
        extra: Extra::default(),
        name: b"ln",
        target: Some(b"../x y\n z"),
    };
    assert_eq!(line(&link), b"L 9 777 3 2 ln 9 ../x y\n z\n");
    let dev = Entry {
        kind: FileType::CharDevice,
        size: 0,
        mode: 0o600,
        mtime: Mtime::secs(-5),
        extra: Extra {
            owner: None,
            rdev: Some(259),
            changed: None,
            inode: None,
        },
        name: b".",
        target: None,
    };
    let all = [line(&file), line(&link), line(&dev)].concat();
    let mut rest = &all[..];
    for want in [file, link, dev] {
        let (got, after) = Entry::parse_next(rest).unwrap();
        assert_eq!(got, want);
        rest = after;
    }
    assert!(rest.is_empty());
    // a newer server's key is skipped; a malformed one is not
    let (e, _) = Entry::parse_next(b"F 1 644 5 i=9:7 u=1 g=2 1 x\n").unwrap();
    assert_eq!(e.extra.owner, Some((1, 2)));
    // the ctime, in listings
    let (e, _) = Entry::parse_next(b"F 1 644 5 c=-7 1 x\n").unwrap();
    assert_eq!(e.extra.changed, Some(-7));
    assert_eq!(Entry::parse_next(b"F 1 644 5 c=x 1 x\n"), None);
}

#[test]
fn inode_identity_is_a_listing_key_a_request_cannot_carry() {
    let (e, _) = Entry::parse_next(b"F 1 644 5 h=2049:77 1 x\n").unwrap();
    assert_eq!(e.extra.inode, Some((2049, 77)));
    let mut out = Vec::new();
    e.encode_into(&mut out);
    assert_eq!(out, b"F 1 644 5 h=2049:77 1 x\n");
    for bad in [
        &b"F 1 644 5 h=2049 1 x\n"[..],
        b"F 1 644 5 h=:7 1 x\n",
        b"F 1 644 5 h=1:-7 1 x\n",
    ] {
        assert_eq!(Entry::parse_next(bad), None, "{}", String::from_utf8_lossy(bad));
    }
    // a server is never asked to make an inode: a header with it is refused
    assert_eq!(Head::parse(b"F 1 0 644 5 h=1:2 1 x"), None);
}

#[test]
fn malformed_listing_lines_are_refused() {
    for bad in [
        &b"F 1 644 5 1 x"[..],  // no newline
        b"F 1 644 5 2 x\n",     // name shorter than said
        b"F 1 644 5 0 \n",      // empty name
        b"Q 1 644 5 1 x\n",     // unknown kind
        b"F -1 644 5 1 x\n",    // negative size
        b"F 1 9 5 1 x\n",       // mode not octal
        b"F 1 17777 5 1 x\n",   // mode beyond 07777
        b"F 1 644 5 u=1 1 x\n", // owner without group
        b"F 1 644 5 u=x g=1 1 x\n",
        b"F 1 644 5 =1 1 x\n",
        b"F 1 644 5 K=1 1 x\n",
        b"L 1 777 5 1 x\n",     // link without target
        b"L 1 777 5 1 x 2 y\n", // target shorter than said
        b"F 1 644 5 4097 x\n",
        b"F 1  644 5 1 x\n",
        b"",
    ] {
        assert_eq!(Entry::parse_next(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
    let many_tags = [&b"F 1 644 5 "[..], &b"k=1 ".repeat(MAX_TAGS + 1), b"1 x\n"].concat();
    assert_eq!(Entry::parse_next(&many_tags), None);
}

#[test]
fn headers_round_trip_and_carry_only_what_they_may() {
    let heads = [
        Head {
            kind: Some(FileType::Regular),
            size: 7,
            flags: Head::SET_MODE | Head::SET_MTIME,
            mode: 0o600,
            mtime: Mtime { sec: 9, nsec: 1 },
            extra: Extra::default(),
            path: b"d/f g",
            target: None,
        },
        Head {
            kind: Some(FileType::Symlink),
            size: 0,
            flags: Head::SET_MTIME | Head::SET_OWNER,
            mode: 0o777,
            mtime: Mtime::secs(1),
            extra: Extra {
                owner: Some((1000, 1000)),
                rdev: None,
                changed: None,
                inode: None,
            },
            path: b"ln",
            target: Some(b"/etc/shadow"),
        },
        Head {
            kind: None,
            size: 0,
            flags: Head::SET_MODE,
            mode: 0o1777,
            mtime: Mtime::default(),
            extra: Extra::default(),
            path: b"tmp",
            target: None,
        },
        Head {
            kind: Some(FileType::BlockDevice),
            size: 0,
            flags: 0,
            mode: 0o660,
            mtime: Mtime::default(),
            extra: Extra {
                owner: None,
                rdev: Some(2049),
                changed: None,
                inode: None,
            },
            path: b"sda1",
            target: None,
        },
    ];
    for h in heads {
        assert_eq!(
            Head::parse(&h.encode()),
            Some(h),
            "{:?}",
            String::from_utf8_lossy(&h.encode())
        );
    }
    assert_eq!(heads[0].encode(), b"F 7 3 600 9.000000001 5 d/f g");
    assert_eq!(heads[1].owner_to_set(), Some((1000, 1000)));
    assert_eq!(heads[0].owner_to_set(), None);
    assert_eq!(heads[2].mode_to_set(), Some(0o1777));
    assert!(heads[2].attrs_only());
    for bad in [
        &b"F 7 8 600 9 1 f"[..], // unknown flag
        b"L 3 0 777 9 2 ln",     // link without target
        b"P 3 0 600 9 1 p",      // data for a FIFO
        b"A 3 0 600 9 1 p",      // data for attributes
        b"F 0 4 600 9 1 f",      // owner flag without owner
        b"F 0 0 600 9 i=1 1 f",  // a key the server does not know
        b"F 0 0 600 9 r=1 1 f",  // a device number for a file
        b"C 0 0 600 9 1 c",      // a device without its number
        b"U 0 0 600 9 1 u",      // no kind to make
        b"F 0 0 600 9 1 fx",     // bytes after the path
        b"F 0 0 600 9 0 ",
    ] {
        assert_eq!(Head::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
    let long = [&b"F 0 0 600 9 "[..], &vec![b'x'; Head::MAX]].concat();
    assert_eq!(Head::parse(&long), None);
}
