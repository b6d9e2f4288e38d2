//! The official Java client (`../shared/clients`) against tfd for the 2.5.1
//! listing family (issue 12): its own `rmkdirCommand`, `lsv2Command`,
//! `lsrv2Command`, `lsv2DownCommand`, `lsrv2DownCommand`, `ftypeCommand`,
//! `ftypelsCommand` and `fstatlsCommand`, handshaking with the version string
//! "2.5.1" on a server that accepts both 2.4.1 and 2.5.1. The driver is
//! `tests/java/V251Listing.java`; this test checks its callbacks and the disk.
//! The client has no methods for GETTZ, SETTZ, LOCALTIME, DATEFTZ or GENUUID
//! (tests/protocol/v251_commands.rs drives those with raw frames). Its XS1 probe
//! (`ExtendedSub1.checkPresent`) is run too; its other XS starters are not, since
//! `XSQLite.XS_SQLiteCommand` switches the client to 8-byte headers whatever the
//! reply (a client defect), so the raw-frame test covers those names.

use std::os::unix::fs::MetadataExt;
use tfd_testkit::java::{java_lines, run_java};
use tfd_testkit::{data_dir_write, Server};

fn section<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    let start = lines
        .iter()
        .position(|l| l == &format!("-- {name}"))
        .unwrap_or_else(|| panic!("{name}: {lines:?}"));
    lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with("-- "))
        .map(String::as_str)
        .collect()
}

#[test]
fn java_client_drives_the_251_listing_family() {
    let s = Server::start_with("proto 2.5.1\n");
    data_dir_write(&s.path("jd/f.txt"), b"hello");
    data_dir_write(&s.path("jd/k.sd/hidden"), b"");
    data_dir_write(&s.path("jd/paths.txt"), b"jd\njd/f.txt\njd/missing\n../x\n");
    let lines = java_lines(&run_java(&s, "V251Listing", &["2.5.1", "jd"]));
    let has = |l: &str| lines.iter().any(|x| x == l);
    assert_eq!(lines[0], "connected", "{lines:?}\n{}", s.log());

    // RMKDIR: made on disk; an escape is FAILED 1 and makes nothing
    assert!(has("rmkdir OK 0 "), "{lines:?}");
    assert!(s.path("jd/made/deep/er").is_dir());
    assert!(lines.iter().any(|l| l.starts_with("rmkdir FAILED 1 ")), "{lines:?}");
    assert!(!s.dir.join("escape").exists());

    // LSV2 / LSRV2: OK, and the files hold the listing
    assert!(lines.iter().any(|l| l.starts_with("lsv2 OK")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("lsrv2 OK")), "{lines:?}");
    let flat = std::fs::read_to_string(s.path("jd/list.txt")).unwrap();
    let mut got: Vec<&str> = flat.lines().collect();
    got.sort();
    assert_eq!(got, ["jd/f.txt", "jd/made/", "jd/paths.txt"], "{flat:?}");
    let deep = std::fs::read_to_string(s.path("jd/rlist.txt")).unwrap();
    let mut got: Vec<&str> = deep.lines().collect();
    got.sort();
    assert_eq!(
        got,
        [
            "jd/f.txt",
            "jd/list.txt",
            "jd/made/",
            "jd/made/deep/",
            "jd/made/deep/er/",
            "jd/paths.txt"
        ],
        "{deep:?}"
    );
    // the client reports LSV2's failures through lsv2Callback
    assert!(lines.iter().any(|l| l.starts_with("lsv2 FAILED 53 ")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("lsv2 FAILED 1 ")), "{lines:?}");
    assert!(!s.path("jd/never.txt").exists());

    // LSV2DOWN / LSRV2DOWN: OK, one callback per line (the payload as text), then
    // the client's own OK for the -10 end marker
    let down = section(&lines, "lsv2down");
    assert_eq!(down.first(), Some(&"lsv2down OK 0 "), "{down:?}");
    assert!(down.contains(&"lsv2down OK 14 jd/made/deep/\\n"), "{down:?}");
    assert_eq!(
        down.last(),
        Some(&"lsv2down OK -10 Successfull transmition"),
        "{down:?}"
    );
    assert_eq!(down.len(), 3, "{down:?}");
    let rdown = section(&lines, "lsrv2down");
    assert!(rdown.contains(&"lsrv2down OK 17 jd/made/deep/er/\\n"), "{rdown:?}");
    assert_eq!(
        rdown.last(),
        Some(&"lsrv2down OK -10 Successfull transmition"),
        "{rdown:?}"
    );
    assert_eq!(rdown.len(), 4, "{rdown:?}");
    let refused = section(&lines, "lsv2down refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].starts_with("lsv2down FAILED 1 "), "{refused:?}");

    // FTYPE: one byte each
    assert_eq!(
        section(&lines, "ftype"),
        ["ftype DIRECTORY", "ftype REGULAR_FILE", "ftype ERROR", "ftype ERROR"]
    );
    // FTYPELS: the client reports -1 through fstypeCallback, not fstypelsCallback
    // (its defect); the values are the server's
    assert_eq!(
        section(&lines, "ftypels"),
        [
            "ftypels DIRECTORY",
            "ftypels REGULAR_FILE",
            "ftype ERROR",
            "ftype ERROR"
        ]
    );
    // FSTATLS: 26-byte records with the sizes and times on disk
    let st = section(&lines, "fstatls");
    assert_eq!(st.len(), 4, "{st:?}");
    let f = std::fs::metadata(s.path("jd/f.txt")).unwrap();
    assert_eq!(st[1], format!("fstatls 0 REGULAR_FILE 5 {} {}", f.atime(), f.mtime()));
    assert!(st[0].starts_with("fstatls 0 DIRECTORY "), "{st:?}");
    assert_eq!(&st[2..], ["fstatls -1 ERROR 0 0 0", "fstatls -1 ERROR 0 0 0"]);
    // XS subsystems are out of scope: the client's own probe reads UNKNOWN as absent,
    // and the next command is answered in step
    assert_eq!(section(&lines, "xs"), ["xs1 present false"]);
    assert_eq!(section(&lines, "end"), ["echo still in step"]);
}
