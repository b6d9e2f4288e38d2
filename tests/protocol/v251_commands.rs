//! Protocol 2.5.1 commands through the real wire (issue 12): LSV2, LSRV2,
//! LSV2DOWN, LSRV2DOWN, FTYPE, FTYPELS, FSTATLS, RMKDIR, GETTZ, SETTZ, LOCALTIME,
//! DATEFTZ, GENUUID; the version strings a 2.4.1 and a 2.5.1 client send; and the
//! XS subsystem names, which get `UNKNOWN` with the session still in step. Every
//! test starts the real tfd, speaks raw frames and units, and checks the bytes
//! and the disk; bad input gets its FAILED code and the session goes on.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, OpenOptionsExt};
use tfd_testkit::users::{ensure_system_user, userdb_add};
use tfd_testkit::*;
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::fstat::{FileType, StatRecord};
use tfp_wire::Status;

/// Proves the session is alive and in step after whatever came before.
#[track_caller]
fn in_step(c: &mut Client, tag: &str) {
    let token = format!("in-step-{tag}");
    assert_eq!(c.raw(format!("ECHO {token}").as_bytes()).unwrap(), token.as_bytes());
}

/// Sends LSV2DOWN/LSRV2DOWN and reads `OK`, the `[i32 len][line]` pairs and the
/// end marker; returns the lines (each with its `\n`) and the marker, or the
/// status when refused.
fn down(c: &mut Client, name: &str, dir: &[u8]) -> Result<(Vec<String>, i32), Vec<u8>> {
    let first = c.raw(&[name.as_bytes(), b" ", dir].concat()).unwrap();
    if first != b"OK" {
        return Err(first);
    }
    let mut lines = Vec::new();
    loop {
        let len = c.chan.rx.recv_i32().unwrap();
        if len < 0 {
            return Ok((lines, len));
        }
        let mut line = vec![0u8; len as usize];
        c.chan.rx.recv_unit(&mut line).unwrap();
        lines.push(String::from_utf8(line).unwrap());
    }
}

fn set(lines: &[String]) -> BTreeSet<String> {
    lines.iter().cloned().collect()
}

fn strs(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A tree with a file, a nested directory, a secure directory, secure-FS metadata
/// and a symlink; what every V2 listing of `t` must show and hide.
fn build_tree(srv: &Server) {
    data_dir_write(&srv.path("t/a.txt"), b"abc");
    data_dir_write(&srv.path("t/sub/b c.txt"), b"0123456789");
    data_dir_write(&srv.path("t/sub/deeper/x"), b"");
    data_dir_write(&srv.path("t/k.sd/secret"), b"s");
    data_dir_write(&srv.path("t/.securefs_metadata"), b"meta");
    data_dir_write(&srv.path("t/file.sd"), b"a file named .sd is listed");
    symlink("a.txt", srv.path("t/link")).unwrap();
}

const FLAT: &[&str] = &["t/a.txt\n", "t/sub/\n", "t/file.sd\n", "t/link\n"];
const DEEP: &[&str] = &[
    "t/a.txt\n",
    "t/sub/\n",
    "t/sub/b c.txt\n",
    "t/sub/deeper/\n",
    "t/sub/deeper/x\n",
    "t/file.sd\n",
    "t/link\n",
];

#[test]
fn lsv2_and_lsrv2_write_the_listing_to_a_file_inside_the_root() {
    let srv = Server::start();
    build_tree(&srv);
    fs::create_dir(srv.path("out")).unwrap();
    let mut c = srv.client();

    assert_ok(c.call("LSV2", b"t@||@out/flat.txt").unwrap());
    let flat = fs::read_to_string(srv.path("out/flat.txt")).unwrap();
    let lines: Vec<String> = flat.split_inclusive('\n').map(str::to_string).collect();
    assert_eq!(set(&lines), strs(FLAT), "{flat:?}");
    assert_eq!(lines.len(), FLAT.len());

    assert_ok(c.call("LSRV2", b"t@||@out/deep.txt").unwrap());
    let deep = fs::read_to_string(srv.path("out/deep.txt")).unwrap();
    let lines: Vec<String> = deep.split_inclusive('\n').map(str::to_string).collect();
    assert_eq!(set(&lines), strs(DEEP), "{deep:?}");
    assert_eq!(lines.len(), DEEP.len());
    // depth first: every directory's line comes before its contents
    let pos = |l: &str| lines.iter().position(|x| x == l).unwrap();
    assert!(pos("t/sub/\n") < pos("t/sub/b c.txt\n"));
    assert!(pos("t/sub/deeper/\n") < pos("t/sub/deeper/x\n"));

    // the root lists with paths from the root; the output file written inside the
    // listed directory is not part of its own listing (it was not there before)
    assert_ok(c.call("LSV2", b"@||@t/self.txt").unwrap());
    let root = fs::read_to_string(srv.path("t/self.txt")).unwrap();
    assert_eq!(
        set(&root.split_inclusive('\n').map(str::to_string).collect::<Vec<_>>()),
        strs(&["t/\n", "out/\n"])
    );
    assert_ok(c.call("LSV2", b"t@||@t/self.txt").unwrap());
    let again = fs::read_to_string(srv.path("t/self.txt")).unwrap();
    assert!(
        again.contains("t/self.txt\n"),
        "an existing output file is listed: {again:?}"
    );
    assert!(!again.contains(".tfd-part"), "{again:?}");
    // an existing file is replaced, not appended to
    assert_ok(c.call("LSV2", b"t/sub/deeper@||@out/flat.txt").unwrap());
    assert_eq!(
        fs::read_to_string(srv.path("out/flat.txt")).unwrap(),
        "t/sub/deeper/x\n"
    );
    // listing inside a secure directory the client knows works
    assert_ok(c.call("LSV2", b"t/k.sd@||@out/sd.txt").unwrap());
    assert_eq!(fs::read_to_string(srv.path("out/sd.txt")).unwrap(), "t/k.sd/secret\n");
    in_step(&mut c, "lsv2");
}

#[test]
fn lsv2_refusals_get_their_codes_and_write_nothing() {
    let srv = Server::start();
    build_tree(&srv);
    let outside = srv.dir.join("outside.txt");
    let mut c = srv.client();
    let cases: &[(&[u8], i32)] = &[
        (b"t", 16),                  // no @||@
        (b"t out.txt", 16),          // no @||@
        (b"..@||@out.txt", 1),       // the directory above the root
        (b"t/../..@||@out.txt", 1),  // the same, spelled longer
        (b"t@||@../outside.txt", 1), // the output file above the root
        (b"t@||@", 1),               // the root is no file
        (b"t@||@t/sub", 1),          // a directory is no file
        (b"t@||@nodir/out.txt", 1),  // no such directory for the file
        (b"missing@||@out.txt", 53), // no such directory to list
        (b"t/a.txt@||@out.txt", 20), // a file is no directory to list
    ];
    for (name, recursive) in [("LSV2", false), ("LSRV2", true)] {
        for (arg, code) in cases {
            let st = c.call(name, arg).unwrap();
            assert_eq!(
                st.failed_code(),
                Some(*code),
                "{name} {:?} (recursive {recursive}): {st:?}",
                String::from_utf8_lossy(arg)
            );
            in_step(&mut c, name);
        }
    }
    assert!(!outside.exists());
    assert!(!srv.path("out.txt").exists());
    assert_eq!(fs::read(srv.path("t/.securefs_metadata")).unwrap(), b"meta");
    // symlinks that lead out are refused too, for the directory and for the file
    symlink(&srv.dir, srv.path("up")).unwrap();
    assert_failed(c.call("LSV2", b"up@||@o.txt").unwrap(), 1);
    assert_failed(c.call("LSV2", b"t@||@up/o.txt").unwrap(), 1);
    assert!(!srv.dir.join("o.txt").exists());
    // LOCK: a locked directory is not listed, nor written into
    fs::create_dir(srv.path("lk")).unwrap();
    assert_ok(c.call("LOCK", b"lockname").unwrap());
    data_dir_write(&srv.path("lk/lockname"), b"");
    assert_failed(c.call("LSV2", b"lk@||@o.txt").unwrap(), 30);
    assert_failed(c.call("LSRV2", b"t@||@lk/o.txt").unwrap(), 30);
    assert!(!srv.path("lk/o.txt").exists() && !srv.path("o.txt").exists());
    in_step(&mut c, "after-lock");
}

#[test]
fn lsv2down_and_lsrv2down_send_length_prefixed_lines() {
    let srv = Server::start();
    build_tree(&srv);
    let mut c = srv.client();
    let (lines, end) = down(&mut c, "LSV2DOWN", b"t").unwrap();
    assert_eq!(end, -10);
    assert_eq!(set(&lines), strs(FLAT));
    assert_eq!(lines.len(), FLAT.len());
    let (lines, end) = down(&mut c, "LSRV2DOWN", b"t").unwrap();
    assert_eq!(end, -10);
    assert_eq!(set(&lines), strs(DEEP));
    assert_eq!(lines.len(), DEEP.len());
    let (lines, end) = down(&mut c, "lsv2down", b"t/sub/deeper").unwrap();
    assert_eq!((lines, end), (vec!["t/sub/deeper/x\n".to_string()], -10));
    // an empty directory: OK then the end marker alone
    fs::create_dir(srv.path("empty")).unwrap();
    assert_eq!(down(&mut c, "LSRV2DOWN", b"empty").unwrap(), (vec![], -10));
    for (arg, code) in [(&b".."[..], 1), (b"t/../..", 1), (b"missing", 53), (b"t/a.txt", 20)] {
        for name in ["LSV2DOWN", "LSRV2DOWN"] {
            let st = Status::parse(&down(&mut c, name, arg).unwrap_err());
            assert_eq!(
                st.failed_code(),
                Some(code),
                "{name} {:?}",
                String::from_utf8_lossy(arg)
            );
            in_step(&mut c, name);
        }
    }
}

#[test]
fn lsrv2down_stops_at_walk_limit_with_minus_11_and_lsrv2_writes_nothing() {
    let srv = Server::start_with("walk_limit 3\n");
    build_tree(&srv);
    let mut c = srv.client();
    let (lines, end) = down(&mut c, "LSRV2DOWN", b"t").unwrap();
    assert_eq!(end, -11, "{lines:?}");
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| DEEP.contains(&l.as_str())), "{lines:?}");
    assert_failed(c.call("LSRV2", b"t@||@partial.txt").unwrap(), 53);
    assert!(!srv.path("partial.txt").exists());
    assert_eq!(dir_names(&srv.data), ["t"], "no temporary file left behind");
    in_step(&mut c, "walk-limit");
}

#[test]
fn ftype_ftypels_and_fstatls_answer_raw_units() {
    let srv = Server::start();
    build_tree(&srv);
    nix::unistd::mkfifo(&srv.path("t/fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let sock = std::os::unix::net::UnixListener::bind(srv.path("t/sock")).unwrap();
    symlink(&srv.dir, srv.path("t/out-link")).unwrap();
    symlink("sub", srv.path("t/dir-link")).unwrap();
    let mut c = srv.client();
    let cases: &[(&str, i8)] = &[
        ("t", 0),
        ("", 0),
        ("t/sub", 0),
        ("t/a.txt", 3),
        ("t/fifo", 4),
        ("t/sock", 6),
        ("t/link", 3),      // followed inside the root
        ("t/dir-link", 0),  // followed inside the root
        ("t/out-link", -1), // leads out of the root
        ("..", -1),
        ("t/../..", -1),
        ("t/missing", -1),
    ];
    for (p, want) in cases {
        assert_eq!(
            c.ftype(p.as_bytes()).unwrap(),
            FileType::from_code(*want),
            "FTYPE {p:?}"
        );
    }
    if std::path::Path::new("/dev/null").exists() {
        // a device inside the root (the test runs as root, so mknod works)
        if nix::sys::stat::mknod(
            &srv.path("t/null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .is_ok()
        {
            assert_eq!(c.ftype(b"t/null").unwrap(), Some(FileType::CharDevice));
        }
    }
    in_step(&mut c, "ftype");

    // the list file is inside the root; every line is one path; CRLF is fine
    let list: String = cases.iter().map(|(p, _)| format!("{p}\n")).collect();
    data_dir_write(&srv.path("list.txt"), list.replace("t/sub\n", "t/sub\r\n").as_bytes());
    let want: Vec<Option<FileType>> = cases.iter().map(|(_, t)| FileType::from_code(*t)).collect();
    assert_eq!(c.ftypels(b"list.txt").unwrap(), want);
    // a list that cannot be read: the end marker alone
    for bad in [&b"missing.txt"[..], b"..", b"t", b"t/out-link", b""] {
        assert_eq!(
            c.ftypels(bad).unwrap(),
            Vec::<Option<FileType>>::new(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    in_step(&mut c, "ftypels");

    let recs = c.fstatls(b"list.txt").unwrap();
    assert_eq!(recs.len(), cases.len());
    for ((p, t), r) in cases.iter().zip(&recs) {
        match r {
            StatRecord::Stat {
                kind,
                size,
                atime,
                mtime,
            } => {
                assert_eq!(kind.code(), *t, "{p}");
                let m = fs::metadata(srv.path(p)).unwrap();
                assert_eq!(*size, m.size(), "{p}");
                assert_eq!(*mtime, m.mtime() as u64, "{p}");
                assert_eq!(*atime, m.atime() as u64, "{p}");
            }
            StatRecord::Fail => assert_eq!(*t, -1, "{p}"),
            StatRecord::End => unreachable!(),
        }
    }
    assert!(matches!(
        recs[3],
        StatRecord::Stat {
            kind: FileType::Regular,
            size: 3,
            ..
        }
    ));
    for bad in [&b"missing.txt"[..], b"..", b"t"] {
        assert!(c.fstatls(bad).unwrap().is_empty());
    }
    in_step(&mut c, "fstatls");
    drop(sock);
}

#[test]
fn rmkdir_creates_every_missing_component_inside_the_root() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_ok(c.call("RMKDIR", b"a/b/c/d").unwrap());
    assert!(srv.path("a/b/c/d").is_dir());
    assert_eq!(fs::metadata(srv.path("a/b")).unwrap().mode() & 0o777, 0o755);
    // existing components are fine, and so is all of it existing
    assert_ok(c.call("RMKDIR", b"a/b/x/y").unwrap());
    assert_ok(c.call("RMKDIR", b"a/b/x/y").unwrap());
    assert_ok(c.call("RMKDIR", b"/a//b/./z/").unwrap());
    assert!(srv.path("a/b/x/y").is_dir() && srv.path("a/b/z").is_dir());
    // a file in the way: FAILED 63
    data_dir_write(&srv.path("a/file"), b"f");
    assert_failed(c.call("RMKDIR", b"a/new/file2/../../file/below").unwrap(), 63);
    assert_failed(c.call("RMKDIR", b"a/file").unwrap(), 63);
    assert_failed(c.call("RMKDIR", b"p/q/../../a/file/r").unwrap(), 63);
    assert!(srv.path("a/file").is_file() && !srv.path("a/new").exists() && !srv.path("p").exists());
    // escapes: FAILED 1, nothing made outside
    symlink(&srv.dir, srv.path("a/up")).unwrap();
    for bad in [&b".."[..], b"../x", b"a/../../y", b"a/up/evil", b"a/up/evil/deeper"] {
        assert_failed(c.call("RMKDIR", bad).unwrap(), 1);
    }
    assert!(!srv.dir.join("x").exists() && !srv.dir.join("y").exists() && !srv.dir.join("evil").exists());
    // a locked parent
    assert_ok(c.call("LOCK", b"lk").unwrap());
    data_dir_write(&srv.path("a/b/lk"), b"");
    assert_failed(c.call("RMKDIR", b"a/b/new").unwrap(), 30);
    assert!(!srv.path("a/b/new").exists());
    in_step(&mut c, "rmkdir");
}

/// `OK YYYY-MM-DD HH:MM:SS ZONE` → (seconds of the day's clock, zone).
fn stamp(st: Status) -> (i64, String) {
    let text = assert_ok(st);
    let (date, rest) = text.split_once(' ').unwrap();
    let (time, zone) = rest.split_once(' ').unwrap();
    assert_eq!(date.len(), 10, "{text}");
    let secs = tfp_wire::date::parse_utc(&format!("{date} {time}")).unwrap_or_else(|| panic!("{text}"));
    (secs, zone.to_string())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn time_zones_are_per_session_and_checked() {
    let srv = Server::start();
    let mut a = srv.client();
    let mut b = srv.client();
    assert_eq!(assert_ok(a.call("GETTZ", b"").unwrap()), "UTC");
    let (t, z) = stamp(a.call("LOCALTIME", b"").unwrap());
    assert_eq!(z, "UTC");
    assert!((t - now()).abs() <= 5);

    // a POSIX rule (works with or without a zone database)
    assert_ok(a.call("SETTZ", b"JST-9").unwrap());
    assert_eq!(assert_ok(a.call("GETTZ", b"").unwrap()), "JST-9");
    let (t, z) = stamp(a.call("LOCALTIME", b"").unwrap());
    assert_eq!(z, "JST");
    assert!((t - now() - 9 * 3600).abs() <= 5, "{t}");
    // the other session is untouched
    assert_eq!(assert_ok(b.call("GETTZ", b"").unwrap()), "UTC");
    assert_eq!(stamp(b.call("LOCALTIME", b"").unwrap()).1, "UTC");
    // DATE-family commands stay UTC whatever the zone
    assert_eq!(assert_ok(a.call("DTOF", b"0").unwrap()), "1970-01-01 00:00:00");
    assert_eq!(assert_ok(a.call("FTOD", b"1970-01-01 00:00:00").unwrap()), "0");

    // DATEFTZ answers in another zone and leaves the session's as it was
    let (t, z) = stamp(a.call("DATEFTZ", b"EST+5EDT,M3.2.0/2,M11.1.0/2").unwrap());
    assert!(z == "EST" || z == "EDT", "{z}");
    let off = if z == "EST" { -5 * 3600 } else { -4 * 3600 };
    assert!((t - now() - off).abs() <= 5);
    assert_eq!(assert_ok(a.call("GETTZ", b"").unwrap()), "JST-9");

    // refused: empty (16), unknown or malformed (26); the zone stays
    for (arg, code) in [
        (&b""[..], 16),
        (b"   ", 16),
        (b"Nowhere/City", 26),
        (b"../../../../etc/passwd", 26),
        (b"/etc/passwd", 26),
        (b":/etc/passwd", 26),
        (b"EST+99999", 26),
        (b"\xff\xfe", 26),
    ] {
        assert_failed(a.call("SETTZ", arg).unwrap(), code);
        assert_failed(a.call("DATEFTZ", arg).unwrap(), code);
    }
    assert_eq!(assert_ok(a.call("GETTZ", b"").unwrap()), "JST-9");
    assert_ok(a.call("SETTZ", b"UTC").unwrap());
    assert_eq!(stamp(a.call("LOCALTIME", b"").unwrap()).1, "UTC");
    in_step(&mut a, "tz");
    in_step(&mut b, "tz");
}

#[test]
fn zone_names_come_from_the_database_even_inside_a_chroot_jail() {
    if !require(
        std::path::Path::new("/usr/share/zoneinfo/America/New_York").exists(),
        "no zone database (scripts/deps installs tzdata)",
    ) {
        return;
    }
    let srv = Server::start_with("injail\n");
    let cell = srv.path("jails/cell");
    fs::create_dir_all(&cell).unwrap();
    fs::write(cell.join("jail.key"), "tok\n").unwrap();
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    // jailed (a real chroot as root): the names still resolve
    assert_ok(c.call("SETTZ", b"America/New_York").unwrap());
    let (t, z) = stamp(c.call("LOCALTIME", b"").unwrap());
    assert!(z == "EST" || z == "EDT", "{z}");
    let off = if z == "EST" { -5 * 3600 } else { -4 * 3600 };
    assert!((t - now() - off).abs() <= 5);
    let (_, z) = stamp(c.call("DATEFTZ", b"Asia/Tokyo").unwrap());
    assert_eq!(z, "JST");
    assert_ok(c.call("SETTZ", b"US/Eastern").unwrap());
    // the jail's own files are never taken for zones
    data_dir_write(&cell.join("usr/share/zoneinfo/Fake/Zone"), b"not a zone");
    assert_failed(c.call("SETTZ", b"Fake/Zone").unwrap(), 26);
    assert_eq!(assert_ok(c.call("GETTZ", b"").unwrap()), "US/Eastern");
    in_step(&mut c, "jail-tz");
}

#[test]
fn genuuid_gives_fresh_random_v4_uuids() {
    let srv = Server::start();
    let mut c = srv.client();
    let mut seen = BTreeSet::new();
    for _ in 0..64 {
        let u = assert_ok(c.call("GENUUID", b"").unwrap());
        assert!(tfp_wire::uuid::is_v4_text(u.as_bytes()), "{u}");
        assert!(seen.insert(u));
    }
    // an argument is ignored, as the reference does
    assert_eq!(assert_ok(c.call("GENUUID", b"whatever").unwrap()).len(), 36);
    in_step(&mut c, "uuid");
}

#[test]
fn version_strings_of_24_and_25_clients_are_both_accepted() {
    let srv = Server::start_with("proto 2.5.1\nproto 0.0\n");
    for v in ["2.4.1", "2.5.1", "0.0"] {
        let mut cfg: ClientConfig = srv.client_config();
        cfg.proto = v.into();
        let mut c = Client::connect(&cfg).unwrap_or_else(|e| panic!("{v}: {e}"));
        in_step(&mut c, v);
    }
    for v in ["2.5", "2.5.1 ", "", "2.6.0", "FAI"] {
        let mut cfg = srv.client_config();
        cfg.proto = v.into();
        match Client::connect(&cfg) {
            Err(Error::Handshake("version", st)) => assert_eq!(st.failed_code(), Some(2), "{v:?}"),
            Err(e) => panic!("{v:?}: {e}"),
            Ok(_) => panic!("{v:?} accepted"),
        }
    }
    // and a server that lists only 2.4.1 still refuses 2.5.1
    let old = Server::start();
    let mut cfg = old.client_config();
    cfg.proto = "2.5.1".into();
    assert!(Client::connect(&cfg).is_err());
}

/// Every XS subsystem name a client may send (the Java client's modules, the
/// Python client's extensions and the reference's xmods.c), with arguments of
/// the shapes they send. tfd has none of them: each gets `UNKNOWN`, nothing more,
/// and the next command is answered in step.
#[test]
fn xs_subsystem_commands_get_unknown_and_the_session_stays_in_step() {
    let srv = Server::start();
    let mut c = srv.client();
    let big = vec![b'z'; 400_000];
    let xs1_write = [&b"XS1_WRITE 3 400000 "[..], &big].concat();
    let frames: Vec<Vec<u8>> = [
        &b"XS1_OPEN"[..],
        b"XS1_OPEN some/file",
        b"XS1_CLOSE 3",
        b"XS1_TRUNC 3 100",
        b"XS1_SEEK 3 10 SET",
        b"XS1_LOCK 3 LOCKW",
        b"XS1_READ 3 512",
        b"XS1_WRITE 3 5 hello",
        b"XS1_READV2 3 512",
        b"XS1_WRITEV2 3 5 hello",
        b"XS_ACE",
        b"XS_NTMEX",
        b"XS_RPCPROXY",
        b"XS_GATEWAY",
        b"XSIME_START",
        b"XS_SQLITE",
        b"XS_MYSQL",
        b"XS_POSTGRESQL",
        b"xs_sqlite",
        // what a client that ignored the UNKNOWN would send next: plain unknowns
        b"OPEN /tmp/db.sqlite",
        b"EXEC 1 select 1",
        b"INSKEY key",
        b"EXIT",
        b"TERMINATE",
    ]
    .iter()
    .map(|f| f.to_vec())
    .chain([xs1_write])
    .collect();
    for f in &frames {
        assert_eq!(
            c.raw(f).unwrap(),
            b"UNKNOWN",
            "{:?}",
            String::from_utf8_lossy(&f[..f.len().min(40)])
        );
        in_step(&mut c, "xs");
    }
    assert_eq!(dir_names(&srv.data), Vec::<String>::new(), "nothing was created");
}

/// The zone database descriptor the listener opens for SETTZ reaches sessions
/// only: the UDP responder and the key process close it.
#[test]
fn only_sessions_inherit_the_zone_database_descriptor() {
    let zoneinfo = match fs::canonicalize("/usr/share/zoneinfo") {
        Ok(p) => p,
        Err(_) => {
            require(false, "no zone database (scripts/deps installs tzdata)");
            return;
        }
    };
    let srv = Server::start();
    let mut c = srv.client();
    in_step(&mut c, "fd");
    let holds = |pid: i32| {
        fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
            .filter_map(|e| fs::read_link(e.path()).ok())
            .any(|t| t == zoneinfo)
    };
    assert!(holds(srv.session_pid()), "the session has the zone database");
    let udp = udp_responder_of(srv.pid()).expect("udp responder");
    assert!(!holds(udp), "the UDP responder closed it");
    if let Some(k) = key_process_of(srv.pid()) {
        assert!(!holds(k), "the key process closed it");
    }
}

/// After LOGIN the session runs as an unprivileged system user: zone names still
/// resolve (the database descriptor was opened before the switch), and the
/// listing file LSV2 writes belongs to that user.
#[test]
fn zones_and_listings_after_login_as_an_unprivileged_user() {
    if !require_root("LOGIN switches users")
        || !require(
            std::path::Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists(),
            "no zone database (scripts/deps installs tzdata)",
        )
    {
        return;
    }
    let (uid, _) = ensure_system_user("tfdv251", &[]);
    let dir = tempdir("v251-userdb");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    userdb_add(f, "v251", "tfdv251", "v251 pw", &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(srv.path("home")).unwrap();
    nix::unistd::chown(&srv.path("home"), Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
    let mut c = srv.client();
    assert_failed(c.call("SETTZ", b"Asia/Tokyo").unwrap(), 38);
    assert_ok(c.call("LOGIN", b"v251 v251 pw").unwrap());
    assert_ok(c.call("SETTZ", b"Asia/Tokyo").unwrap());
    assert_eq!(stamp(c.call("LOCALTIME", b"").unwrap()).1, "JST");
    assert_ok(c.call("LSV2", b"@||@home/list.txt").unwrap());
    assert_eq!(fs::read_to_string(srv.path("home/list.txt")).unwrap(), "home/\n");
    assert_eq!(fs::metadata(srv.path("home/list.txt")).unwrap().uid(), uid);
    // a directory the user may not write: the listing is refused, nothing written
    assert_failed(c.call("LSV2", b"home@||@root-only.txt").unwrap(), 1);
    assert!(!srv.path("root-only.txt").exists());
    in_step(&mut c, "login");
    drop(c);
    drop(srv);
    fs::remove_dir_all(dir).unwrap();
}

/// A tree deeper than the walk's depth bound (512): the bound leaves the deepest
/// contents out, so LSRV2DOWN must end with −11 (not whole), not −10, and LSRV2
/// must refuse (53) rather than store an incomplete listing under an OK.
#[test]
fn a_tree_deeper_than_the_depth_bound_is_reported_incomplete() {
    let srv = Server::start();
    let deep = "d/".repeat(tfd::fsys::walk::MAX_DEPTH + 8);
    data_dir_write(&srv.path(&format!("{deep}leaf")), b"");
    let mut c = srv.client();
    let (lines, end) = down(&mut c, "LSRV2DOWN", b"d").unwrap();
    assert!(
        !lines.iter().any(|l| l.ends_with("leaf\n")),
        "the bound was not reached"
    );
    assert_eq!(end, -11, "{} lines", lines.len());
    assert_failed(c.call("LSRV2", b"d@||@list.txt").unwrap(), 53);
    assert!(!srv.path("list.txt").exists());
    // a shallow tree is still whole
    let (_, end) = down(&mut c, "LSV2DOWN", b"d/d/d").unwrap();
    assert_eq!(end, -10);
    in_step(&mut c, "deep");
}

/// A list file that is a FIFO is never opened: opening one for reading
/// completes the open of a writer blocked on it (a side effect on another
/// process), so FTYPELS, FSTATLS and FSIZELS look at the type first. The probe
/// is such a writer: its open must still be blocked after the three commands.
#[test]
fn list_commands_never_open_a_fifo_given_as_the_list() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let srv = Server::start();
    nix::unistd::mkfifo(&srv.path("pipe"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let opened = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, opened) = (srv.path("pipe"), opened.clone());
        std::thread::spawn(move || {
            let f = fs::OpenOptions::new().write(true).open(path);
            opened.store(true, Ordering::SeqCst);
            drop(f);
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!opened.load(Ordering::SeqCst), "the probe is blocked in open");
    let mut c = srv.client();
    assert!(c.ftypels(b"pipe").unwrap().is_empty());
    assert!(c.fstatls(b"pipe").unwrap().is_empty());
    assert!(c.fsizels(b"pipe").unwrap().is_empty());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let woke = opened.load(Ordering::SeqCst);
    // release the probe whatever happened
    let _reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(srv.path("pipe"))
        .unwrap();
    writer.join().unwrap();
    assert!(!woke, "the server opened the FIFO");
    in_step(&mut c, "fifo-list");
}

/// A POSIX TZ rule with a daylight-saving name but no transition dates
/// (`CET-1CEST`, `EST5EDT4`) is valid POSIX; the reference's glibc gives it the
/// US dates (M3.2.0,M11.1.0 at 02:00). tz-rs refuses such rules, which made
/// SETTZ answer FAILED 26 for them.
#[test]
fn posix_rules_without_transition_dates_take_the_default_dates() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_ok(c.call("SETTZ", b"CET-1CEST").unwrap());
    assert_eq!(assert_ok(c.call("GETTZ", b"").unwrap()), "CET-1CEST");
    let (t, z) = stamp(c.call("LOCALTIME", b"").unwrap());
    let off = match z.as_str() {
        "CET" => 3600,
        "CEST" => 7200,
        _ => panic!("{z}"),
    };
    assert!((t - now() - off).abs() <= 5, "{t} {z}");
    let (_, z) = stamp(c.call("DATEFTZ", b"XST5XDT4").unwrap());
    assert!(z == "XST" || z == "XDT", "{z}");
    // still refused: a malformed rule, with or without dates
    for bad in [&b"CET-1CEST,"[..], b"CET-1CEST,M3", b"C-1"] {
        assert_failed(c.call("SETTZ", bad).unwrap(), 26);
    }
    assert_eq!(assert_ok(c.call("GETTZ", b"").unwrap()), "CET-1CEST");
    in_step(&mut c, "posix-default");
}

/// The document's own SETTZ examples, both: `WART4WARST,J1/0,J365/25` uses an
/// RFC 8536 extension (a transition time past 24:00), which tz-rs reads only
/// from a version 3 TZif footer.
#[test]
fn the_documents_settz_examples_are_accepted() {
    let srv = Server::start();
    let mut c = srv.client();
    for rule in [&b"EST+5EDT,M3.2.0/2,M11.1.0/2"[..], b"WART4WARST,J1/0,J365/25"] {
        assert_ok(c.call("SETTZ", rule).unwrap());
        assert_eq!(assert_ok(c.call("GETTZ", b"").unwrap()).as_bytes(), rule);
    }
    // all year daylight time: 3 hours west of UTC, named WARST
    let (t, z) = stamp(c.call("LOCALTIME", b"").unwrap());
    assert_eq!(z, "WARST");
    assert!((t - now() + 3 * 3600).abs() <= 5, "{t}");
    let (_, z) = stamp(c.call("DATEFTZ", b"WART4WARST,J1/0,J365/25").unwrap());
    assert_eq!(z, "WARST");
    // a transition time beyond the extension's ±167 hours is still refused
    assert_failed(c.call("SETTZ", b"WART4WARST,J1/0,J365/168").unwrap(), 26);
    in_step(&mut c, "doc-examples");
}

/// LOCK holds for every directory RMKDIR creates something in, not only for the
/// final parent: `MKDIR a/b` in a locked `a` is FAILED 30, so `RMKDIR a/b/c` must
/// not make `a/b` there either. Passing through a locked directory without
/// creating anything in it is allowed, as it is for MKDIR.
#[test]
fn rmkdir_never_creates_inside_a_locked_directory() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("a/old")).unwrap();
    assert_ok(c.call("LOCK", b"lk").unwrap());
    data_dir_write(&srv.path("a/lk"), b"");
    assert_failed(c.call("MKDIR", b"a/b").unwrap(), 30);
    assert_failed(c.call("RMKDIR", b"a/b/c").unwrap(), 30);
    assert!(!srv.path("a/b").exists(), "RMKDIR created a/b in the locked a");
    // nothing created in the locked `a` itself: allowed
    assert_ok(c.call("RMKDIR", b"a/old/x/y").unwrap());
    assert!(srv.path("a/old/x/y").is_dir());
    in_step(&mut c, "rmkdir-lock");
}

/// RMKDIR of a path that cannot be made answers the document's FAILED 63
/// ("Failed to create directory recursively"), not FAILED 1 (issue 23, item 11):
/// a component longer than a name may be (300 bytes) used to be refused as an
/// access denial. It is known before anything is made, so nothing is left (the
/// document allows a partial success with FAILED 63; tfd avoids one where it can
/// tell in advance, and answers FAILED 63 for any failure after a level was made).
#[test]
fn rmkdir_of_an_overlong_component_is_failed_63_and_makes_nothing() {
    let srv = Server::start();
    let mut c = srv.client();
    let long = "x".repeat(300);
    assert_failed(c.call("RMKDIR", format!("m/n/{long}/o").as_bytes()).unwrap(), 63);
    assert!(!srv.path("m").exists(), "nothing made for a path that cannot be made");
    // nothing made: a refusal keeps its own code
    assert_failed(c.call("RMKDIR", b"../outside").unwrap(), 1);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(
        srv.log().contains("RMKDIR: a component longer than 255 bytes"),
        "{}",
        srv.log()
    );
}
