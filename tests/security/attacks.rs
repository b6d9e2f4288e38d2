//! Attack classes on paths (issue 7, wire-notes §10): path traversal in every
//! command that takes a path, malformed paths, a symlink swapped in during
//! operations, attempts on the root itself, a `defusr` session reaching for
//! root's files, and names that would forge listings. Each test asserts the
//! server's exact reply, what is (not) on disk, and that another session
//! running at the same time is unaffected. Lengths and offsets are in
//! `attacks_lengths.rs`, pre-auth floods in `attacks_flood.rs`.
//!
//! Not here yet, with their features: UDP garbage, LOGIN brute force and substring
//! tricks, INJAIL/writable-jail tricks, XDEL and RMSECDIR on the root (issue 4 and the
//! UDP work add them).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfd_testkit::reply::{Answer as _, SizeOrCode as _};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::Client;
use tfp_wire::hpf::{self, code};
use tfp_wire::Status;

pub(super) fn hpf_cmd(name: &str, path: &[u8], offset: u64, bufsz: i64, canpt: Option<u64>) -> Vec<u8> {
    let mut v = format!("{name} ").into_bytes();
    v.extend_from_slice(&hpf::encode(path, offset, bufsz, canpt));
    v
}

fn sha_hex(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Plants `outside/` beside the served root: files a confined session must never
/// read, change or list.
fn plant_outside(srv: &Server) {
    let o = srv.dir.join("outside");
    fs::create_dir_all(o.join("sub")).unwrap();
    fs::write(o.join("secret"), b"OUTSIDE-SECRET").unwrap();
    fs::write(o.join("inner"), b"OUTSIDE-INNER!").unwrap();
    fs::write(o.join("marker-outside"), b"m").unwrap();
    fs::write(o.join("victim"), b"v").unwrap();
}

/// Everything beside the served root (config, key, `outside/`): path → (kind and
/// contents, mtime), so a test can prove that nothing outside changed.
fn outside_state(srv: &Server) -> BTreeMap<PathBuf, (Vec<u8>, i64)> {
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, i64)>) {
        let mut names: Vec<_> = fs::read_dir(p).unwrap().flatten().map(|e| e.path()).collect();
        names.sort();
        for e in names {
            let m = fs::symlink_metadata(&e).unwrap();
            if m.is_dir() {
                out.insert(e.clone(), (b"<dir>".to_vec(), m.mtime()));
                walk(&e, out);
            } else if m.is_file() {
                out.insert(e.clone(), (fs::read(&e).unwrap(), m.mtime()));
            } else {
                out.insert(e.clone(), (b"<other>".to_vec(), m.mtime()));
            }
        }
    }
    let mut out = BTreeMap::new();
    for e in fs::read_dir(&srv.dir).unwrap().flatten() {
        let p = e.path();
        if p == srv.data || p == srv.stderr_path {
            continue;
        }
        let m = fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            out.insert(p.clone(), (b"<dir>".to_vec(), m.mtime()));
            walk(&p, &mut out);
        } else {
            out.insert(p.clone(), (fs::read(&p).unwrap_or_default(), m.mtime()));
        }
    }
    out
}

/// Asserts that nothing outside the root changed, naming what did.
#[track_caller]
fn assert_outside_unchanged(srv: &Server, before: &BTreeMap<PathBuf, (Vec<u8>, i64)>, what: &str) {
    let after = outside_state(srv);
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "{what}: changed outside the root: {changed:?}");
}

/// A second session that must keep working while another one is attacked.
pub(super) struct Bystander {
    pub(super) c: Client,
    pub(super) n: u32,
}

impl Bystander {
    pub(super) fn new(srv: &Server) -> Bystander {
        fs::write(srv.path("bystander.txt"), b"abc").unwrap();
        Bystander { c: srv.client(), n: 0 }
    }

    #[track_caller]
    pub(super) fn check(&mut self) {
        self.n += 1;
        let tok = format!("still here {}", self.n);
        assert_eq!(self.c.raw(format!("ECHO {tok}").as_bytes()).unwrap(), tok.as_bytes());
        let st = assert_ok(self.c.call("FSTAT", b"bystander.txt").unwrap());
        assert!(st.starts_with("F 3 "), "{st}");
    }
}

pub(super) fn no_temp_files(dir: &Path) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".tfd-part-"), "temporary file left: {name}");
        if e.file_type().unwrap().is_dir() {
            no_temp_files(&e.path());
        }
    }
}

/// Runs SUP with the given payload; returns the server's i32 result.
fn sup(c: &mut Client, path: &[u8], data: &[u8]) -> i32 {
    c.sup(path, &mut &data[..]).answer().unwrap()
}

/// Every command that takes a path, with an escaping path in every position: each
/// answers its own refusal (FAILED 1, or −1/−3 for the raw-reply commands), nothing
/// outside the root is read, created, changed or deleted, and the session and a
/// bystander go on.
#[test]
fn traversal_variants_in_every_command() {
    let srv = Server::start();
    plant_outside(&srv);
    let mut by = Bystander::new(&srv);
    fs::create_dir(srv.path("d")).unwrap();
    fs::write(srv.path("f"), b"inside").unwrap();
    let before = outside_state(&srv);
    let mut c = srv.client();
    let escapes = [
        "..",
        "/..",
        "../",
        "./..",
        "//..",
        "..//",
        "a/../..",
        "d/../..",
        "d/../../",
        "/d/./../..",
        "a/./../..",
        "a/b/../../..",
        "x/..//../outside",
        "../outside",
        "/../outside/secret",
        "../outside/secret",
        "d/../../outside/secret",
        ".././../outside",
        "../data",
        "../data/f",
        "...//../..",
        "d/../../outside/sub/../secret",
    ];
    for p in escapes {
        let b = p.as_bytes();
        let ctx = format!("path {p:?}");
        for cmd in ["FSTAT", "SHA256", "DEL", "RMDIR", "MKDIR", "TOUCH", "FUPD"] {
            assert_eq!(c.call(cmd, b).unwrap().failed_code(), Some(1), "{cmd} {ctx}");
        }
        for recursive in [false, true] {
            let st = c.list(recursive, b).split().unwrap().unwrap_err();
            assert_eq!(st.failed_code(), Some(1), "LS {ctx}");
        }
        for cmd in ["COPY", "CPDIR", "RENAM"] {
            let src = if cmd == "CPDIR" { "d" } else { "f" };
            let a = format!("{p} | copied");
            let z = format!("{src} | {p}");
            assert_eq!(c.call(cmd, a.as_bytes()).unwrap().failed_code(), Some(1), "{cmd} {a}");
            assert_eq!(c.call(cmd, z.as_bytes()).unwrap().failed_code(), Some(1), "{cmd} {z}");
        }
        assert_failed(c.call("SNDFILE", format!("1 {p}").as_bytes()).unwrap(), 1);
        assert_failed(c.call("RCVFILE", format!("0 {p}").as_bytes()).unwrap(), 1);
        for (name, can) in [("PUT", None), ("GET", None), ("PUTCAN", Some(1)), ("GETCAN", Some(1))] {
            let st = Status::parse(&c.raw(&hpf_cmd(name, b, 0, 16, can)).unwrap());
            assert_eq!(st.failed_code(), Some(1), "{name} {ctx}");
        }
        assert_eq!(c.fsize(b).size_or_code().unwrap(), -1, "FSIZE {ctx}");
        assert!(c.fsizels(b).unwrap().is_empty(), "FSIZELS {ctx}");
        let mut sink = Vec::new();
        assert!(!c.sdown(b, &mut sink).done().unwrap(), "SDOWN {ctx}");
        assert!(sink.is_empty());
        assert_eq!(sup(&mut c, b, b"written?"), -1, "SUP {ctx}");
    }
    // a list file inside naming paths outside: each is refused (−1), nothing read
    fs::write(
        srv.path("list"),
        b"../outside/secret\nf\n/../outside/inner\nd/../../data/f\n",
    )
    .unwrap();
    use tfp_client::LineSize::{Bytes, Failed};
    assert_eq!(c.fsizels(b"list").unwrap(), vec![Failed, Bytes(6), Failed, Failed]);
    assert_outside_unchanged(&srv, &before, "traversal");
    assert!(!srv.dir.join("copied").exists());
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"inside");
    assert!(srv.path("d").is_dir());
    no_temp_files(&srv.data);
    assert_eq!(c.raw(b"ECHO after").unwrap(), b"after");
    by.check();
}

/// NUL bytes, over-long components and paths, and encodings that are only names.
#[test]
fn malformed_paths_are_refused_or_literal() {
    let srv = Server::start();
    plant_outside(&srv);
    let mut by = Bystander::new(&srv);
    fs::write(srv.path("f"), b"inside").unwrap();
    let before = outside_state(&srv);
    let mut c = srv.client();
    let nul_paths: [&[u8]; 6] = [
        b"f\0",
        b"\0",
        b"d/\0/f",
        b"f\0../../outside/secret",
        b"../outside/secret\0",
        b"\0/../outside",
    ];
    for p in nul_paths {
        for cmd in ["FSTAT", "SHA256", "DEL", "MKDIR", "TOUCH", "RMDIR", "FUPD"] {
            assert_eq!(c.call(cmd, p).unwrap().failed_code(), Some(1), "{cmd} {p:?}");
        }
        let st = Status::parse(&c.raw(&hpf_cmd("GET", p, 0, 16, None)).unwrap());
        assert_eq!(st.failed_code(), Some(1), "GET {p:?}");
        let st = Status::parse(&c.raw(&hpf_cmd("PUT", p, 0, 16, None)).unwrap());
        assert_eq!(st.failed_code(), Some(1), "PUT {p:?}");
        assert_eq!(c.fsize(p).size_or_code().unwrap(), -1);
    }
    // NAME_MAX: 255 bytes is a name, 256 is refused
    let name255 = vec![b'n'; 255];
    assert!(ok(&c.call("MKDIR", &name255).unwrap()));
    assert!(srv.data.join(String::from_utf8(name255.clone()).unwrap()).is_dir());
    assert_failed(c.call("MKDIR", &vec![b'n'; 256]).unwrap(), 1);
    assert_failed(
        c.call("TOUCH", &[&name255[..], b"/", &vec![b'x'; 256][..]].concat())
            .unwrap(),
        1,
    );
    // PATH_MAX and beyond, up to a whole frame of path
    for len in [4097usize, 65_536, tfp_wire::MAX_FRAME - 7] {
        let long: Vec<u8> = b"ab/".iter().copied().cycle().take(len).collect();
        assert_failed(c.call("FSTAT", &long).unwrap(), 1);
        assert_failed(c.call("MKDIR", &long).unwrap(), 1);
        let st = Status::parse(
            &c.raw(&hpf_cmd("PUT", &long[..len.min(tfp_wire::MAX_FRAME - 30)], 0, 16, None))
                .unwrap(),
        );
        assert_eq!(st.failed_code(), Some(1), "PUT of {len} bytes");
    }
    let dotdots = "../".repeat(1500);
    assert_failed(c.call("FSTAT", dotdots.as_bytes()).unwrap(), 1);
    // percent, backslash and look-alike dots are plain names inside the root
    for p in [
        "%2e%2e/outside",
        "..\\..\\outside",
        "\u{ff0e}\u{ff0e}/outside",
        "..%c0%af",
    ] {
        assert_failed(c.call("FSTAT", p.as_bytes()).unwrap(), 9);
    }
    assert!(ok(&c.call("MKDIR", "..\\x".as_bytes()).unwrap()));
    assert!(srv.data.join("..\\x").is_dir());
    assert!(ok(&c.call("TOUCH", b"...").unwrap()));
    assert!(srv.data.join("...").is_file());
    assert_outside_unchanged(&srv, &before, "malformed paths");
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
    by.check();
}

/// The symlink race (wire-notes §10.2): while a thread keeps swapping a directory
/// inside the root with symlinks to `/etc` and to a directory outside (atomic
/// RENAME_EXCHANGE), the client reads, lists, copies and writes through it. Every
/// answer is either the inside result or a refusal: no byte, size, name or change
/// from outside ever shows.
#[test]
fn symlink_swapped_in_during_operations() {
    let srv = Server::start();
    plant_outside(&srv);
    let mut by = Bystander::new(&srv);
    fs::create_dir_all(srv.path("box/sub")).unwrap();
    fs::write(srv.path("box/inner"), b"INSIDE").unwrap();
    fs::write(srv.path("box/marker-inside"), b"m").unwrap();
    fs::write(srv.path("box/victim"), b"v").unwrap();
    fs::create_dir_all(srv.path("copies")).unwrap();
    fs::create_dir_all(srv.path("trees")).unwrap();
    std::os::unix::fs::symlink("../outside", srv.path("swap1")).unwrap();
    std::os::unix::fs::symlink("/etc", srv.path("swap2")).unwrap();
    std::os::unix::fs::symlink(srv.dir.join("outside"), srv.path("swap3")).unwrap();
    let before = outside_state(&srv);
    let etc_before: Vec<_> = fs::read_dir("/etc").unwrap().flatten().map(|e| e.file_name()).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let flipper = swap_box_with_links(srv.data.clone(), stop.clone(), swaps.clone());

    let inside_sha = format!("0x{}", sha_hex(b"INSIDE"));
    let mut inside = 0u32;
    let mut refused = 0u32;
    let mut c = srv.client();
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut i = 0u32;
    while Instant::now() < deadline || i < 60 {
        let got_inside = swapped_request(&mut c, &srv, i, &inside_sha);
        if got_inside {
            inside += 1;
        } else {
            refused += 1;
        }
        i += 1;
        if i % 50 == 0 {
            by.check();
        }
    }
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    let lsr = String::from_utf8(c.list(true, b"").split().unwrap().unwrap()).unwrap();
    assert!(!lsr.contains("marker-outside") && !lsr.contains("passwd"), "{lsr}");
    assert_outside_unchanged(&srv, &before, "symlink race");
    let etc_after: Vec<_> = fs::read_dir("/etc").unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(etc_before.len(), etc_after.len(), "/etc changed");
    assert!(fs::read_dir(srv.path("copies"))
        .unwrap()
        .flatten()
        .all(|e| fs::read(e.path()).unwrap() == b"INSIDE"));
    // the race really ran both ways
    eprintln!(
        "{i} requests, {} swaps: {inside} inside, {refused} refused",
        swaps.load(Ordering::Relaxed)
    );
    assert!(swaps.load(Ordering::Relaxed) > 100);
    assert!(inside > 10 && refused > 10, "{inside} inside, {refused} refused");
    assert_eq!(c.raw(b"ECHO done").unwrap(), b"done");
    by.check();
}

/// One request of [`symlink_swapped_in_during_operations`] through `box`
/// (which ones: `i` modulo 12): whether it saw the inside (false: refused).
/// Whatever it saw, nothing of outside or `/etc` may show.
fn swapped_request(c: &mut Client, srv: &Server, i: u32, inside_sha: &str) -> bool {
    match i % 12 {
        0 => match c.call("SHA256", b"box/inner").unwrap() {
            Status::Ok(d) => {
                assert_eq!(String::from_utf8(d).unwrap(), inside_sha);
                true
            }
            _ => false,
        },
        1 => match c.call("FSTAT", b"box/inner").unwrap() {
            Status::Ok(d) => {
                let s = String::from_utf8(d).unwrap();
                assert!(s.starts_with("F 6 "), "FSTAT saw {s}");
                true
            }
            _ => false,
        },
        2 => {
            let st = c.call("FSTAT", b"box/passwd").unwrap();
            assert!(!ok(&st), "FSTAT box/passwd reached /etc: {st:?}");
            let st = c.call("FSTAT", b"box/marker-outside").unwrap();
            assert!(!ok(&st), "FSTAT reached outside: {st:?}");
            false
        }
        3 => match c.list(false, b"box").split().unwrap() {
            Ok(l) => {
                let l = String::from_utf8(l).unwrap();
                assert!(l.contains("marker-inside"), "{l}");
                assert!(!l.contains("marker-outside") && !l.contains("passwd"), "LS leaked: {l}");
                true
            }
            Err(_) => false,
        },
        4 => {
            let mut out = Vec::new();
            match c.rcvfile(b"box/inner", false, &mut out).status().unwrap() {
                Status::Ok(_) => {
                    assert_eq!(out, b"INSIDE");
                    true
                }
                _ => {
                    assert!(out.is_empty(), "{out:?}");
                    false
                }
            }
        }
        5 => {
            let mut out = Vec::new();
            match c.get(b"box/inner", 0, 64, &mut out, &mut |_| {}).split().unwrap() {
                Ok(n) => {
                    assert_eq!((n, &out[..]), (6, &b"INSIDE"[..]));
                    true
                }
                Err(_) => false,
            }
        }
        6 => match c.fsize(b"box/inner").size_or_code().unwrap() {
            6 => true,
            -1 => false,
            other => panic!("FSIZE saw {other}"),
        },
        7 => {
            let dst = format!("copies/c{i}");
            match c.call("COPY", format!("box/inner | {dst}").as_bytes()).unwrap() {
                Status::Ok(_) => {
                    assert_eq!(fs::read(srv.path(&dst)).unwrap(), b"INSIDE");
                    true
                }
                _ => false,
            }
        }
        8 => {
            let dst = format!("trees/t{i}");
            match c.call("CPDIR", format!("box | {dst}").as_bytes()).unwrap() {
                Status::Ok(_) => {
                    assert!(srv.path(&dst).join("marker-inside").exists());
                    assert!(!srv.path(&dst).join("marker-outside").exists());
                    true
                }
                _ => false,
            }
        }
        9 => {
            let st = c.call("TOUCH", format!("box/new{i}").as_bytes()).unwrap();
            ok(&st)
        }
        10 => {
            // recreated through the server: the test itself must not write via the link
            let st = c.call("DEL", b"box/victim").unwrap();
            let _ = c.call("TOUCH", b"box/victim").unwrap();
            ok(&st)
        }
        _ => {
            let st = c
                .sndfile(format!("box/up{i}").as_bytes(), true, &mut &b"UP"[..], &mut |_| {})
                .status();
            ok(&st.unwrap())
        }
    }
}

/// The swapping thread of [`symlink_swapped_in_during_operations`]: until
/// `stop`, `box` under `data` trades places with one link after another
/// (atomic RENAME_EXCHANGE) and back, counting each round in `swaps`.
fn swap_box_with_links(
    data: PathBuf,
    stop: Arc<AtomicBool>,
    swaps: Arc<std::sync::atomic::AtomicU64>,
) -> std::thread::JoinHandle<()> {
    use nix::fcntl::{renameat2, RenameFlags};
    std::thread::spawn(move || {
        let mut k = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let link = data.join(format!("swap{}", 1 + k % 3));
            let boxp = data.join("box");
            // box becomes the link, then back again
            renameat2(None, &boxp, None, &link, RenameFlags::RENAME_EXCHANGE).unwrap();
            std::thread::yield_now();
            renameat2(None, &boxp, None, &link, RenameFlags::RENAME_EXCHANGE).unwrap();
            std::thread::yield_now();
            swaps.fetch_add(1, Ordering::Relaxed);
            k += 1;
        }
    })
}

/// The root itself: RMDIR in every spelling empties it but keeps it (FAILED 15) and
/// never reaches the config and key beside it; DEL, RENAM, COPY, CPDIR, MKDIR,
/// TOUCH, SNDFILE and PUT on the root are refused; CPDIR into itself is refused,
/// also through a symlink.
#[test]
fn attacks_on_the_root() {
    let srv = Server::start();
    plant_outside(&srv);
    let before = outside_state(&srv);
    let ino = fs::metadata(&srv.data).unwrap().ino();
    let mut c = srv.client();
    let mut by = Bystander::new(&srv);
    for p in ["", "/", ".", "./", "//", "a/..", "/./", "a/b/../../", "./././"] {
        data_dir_write(&srv.path("top.txt"), b"x");
        data_dir_write(&srv.path("a/b/c"), b"x");
        data_dir_write(&srv.path("keep.sd/s"), b"s");
        assert_failed(c.call("RMDIR", p.as_bytes()).unwrap(), 15);
        assert!(!srv.path("top.txt").exists() && !srv.path("a").exists(), "RMDIR {p:?}");
        assert!(
            srv.path("keep.sd/s").exists(),
            "secure directory removed by RMDIR {p:?}"
        );
        assert_eq!(
            fs::metadata(&srv.data).unwrap().ino(),
            ino,
            "root re-created by RMDIR {p:?}"
        );
        assert_outside_unchanged(&srv, &before, &format!("RMDIR {p:?}"));
        // the bystander's file went with the rest; its session is fine
        fs::write(srv.path("bystander.txt"), b"abc").unwrap();
        by.check();
    }
    fs::write(srv.path("f"), b"file").unwrap();
    fs::create_dir_all(srv.path("d/e")).unwrap();
    std::os::unix::fs::symlink("d", srv.path("ld")).unwrap();
    for p in ["", "/", ".", "d/.."] {
        let b = p.as_bytes();
        assert_failed(c.call("DEL", b).unwrap(), 8);
        assert_failed(c.call("MKDIR", b).unwrap(), 4);
        assert!(!ok(&c.call("TOUCH", b).unwrap()), "TOUCH {p:?}");
        // an empty side is a missing parameter (16), any spelling of the root 31
        let want = if p.is_empty() { 16 } else { 31 };
        assert_failed(c.call("RENAM", format!("{p} | moved").as_bytes()).unwrap(), want);
        assert_failed(c.call("RENAM", format!("f | {p}").as_bytes()).unwrap(), want);
        assert!(
            !ok(&c.call("COPY", format!("f | {p}").as_bytes()).unwrap()),
            "COPY onto {p:?}"
        );
        assert!(
            !ok(&c.call("COPY", format!("{p} | c").as_bytes()).unwrap()),
            "COPY of {p:?}"
        );
        assert!(
            !ok(&c.call("CPDIR", format!("d | {p}").as_bytes()).unwrap()),
            "CPDIR onto {p:?}"
        );
        assert!(
            !ok(&c.call("SNDFILE", format!("1 {p}").as_bytes()).unwrap()),
            "SNDFILE {p:?}"
        );
        let st = Status::parse(&c.raw(&hpf_cmd("PUT", b, 0, 16, None)).unwrap());
        assert!(!ok(&st), "PUT {p:?}");
        assert_eq!(sup(&mut c, b, b"data"), -1, "SUP {p:?}");
    }
    // copying the root (or a directory) into itself is refused, lexically and via a link
    assert_failed(c.call("CPDIR", b" | inner").unwrap(), 16);
    assert_failed(c.call("CPDIR", b"/ | inner").unwrap(), 21);
    assert_failed(c.call("CPDIR", b"d | d/e/copy").unwrap(), 21);
    // through an in-root link to itself the copy is refused too (see
    // cpdir_into_itself_through_a_link_leaves_nothing)
    assert_failed(c.call("CPDIR", b"d | ld/copy").unwrap(), 21);
    let _ = fs::remove_dir_all(srv.path("d/copy"));
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"file");
    assert!(srv.path("d/e").is_dir() && srv.data.is_dir());
    assert_eq!(fs::metadata(&srv.data).unwrap().ino(), ino);
    assert_outside_unchanged(&srv, &before, "root attacks");
    assert_eq!(c.raw(b"ECHO ok").unwrap(), b"ok");
    by.check();
}

fn system_user(name: &str) -> (u32, u32) {
    ensure_system_user(name, &[])
}

/// A `defusr` session against root's files in its own tree (0600 files, a 0700
/// directory, a symlink to the file): no byte of them is read, hashed, copied or
/// downloaded through any command, none is changed, and another session goes on.
#[test]
fn defusr_cannot_read_roots_files() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = system_user("tfdatk1");
    // (`..Opts::default()` keeps this compiling as Opts gains fields)
    #[allow(clippy::needless_update)]
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdatk1\n",
        default_user: false,
        ..Opts::default()
    });
    let chown = |p: &Path| nix::unistd::chown(p, Some(uid.into()), Some(gid.into())).unwrap();
    chown(&srv.data);
    let mode = |p: &Path, m: u32| fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m)).unwrap();
    fs::write(srv.path("rootfile"), b"ROOT-SECRET").unwrap();
    mode(&srv.path("rootfile"), 0o600);
    fs::create_dir(srv.path("rootdir")).unwrap();
    fs::write(srv.path("rootdir/inner"), b"ROOT-INNER").unwrap();
    mode(&srv.path("rootdir"), 0o700);
    std::os::unix::fs::symlink("rootfile", srv.path("link")).unwrap();
    fs::write(srv.path("mine"), b"mine").unwrap();
    chown(&srv.path("mine"));
    let root_before = fs::read(srv.path("rootfile")).unwrap();
    let mut by = Bystander::new(&srv);
    chown(&srv.path("bystander.txt"));
    let mut c = srv.client();
    for p in ["rootfile", "link", "rootdir/inner"] {
        let b = p.as_bytes();
        assert_failed(c.call("SHA256", b).unwrap(), 1);
        assert_failed(c.call("COPY", format!("{p} | stolen").as_bytes()).unwrap(), 1);
        let mut out = Vec::new();
        let st = c.rcvfile(b, false, &mut out).status().unwrap();
        assert_eq!(st.failed_code(), Some(1), "RCVFILE {p}");
        assert!(out.is_empty());
        for (name, can) in [("GET", None), ("GETCAN", Some(1))] {
            let st = Status::parse(&c.raw(&hpf_cmd(name, b, 0, 16, can)).unwrap());
            assert_eq!(st.failed_code(), Some(1), "{name} {p}");
        }
        let mut out = Vec::new();
        assert!(!c.sdown(b, &mut out).done().unwrap(), "SDOWN {p}");
        assert!(out.is_empty());
        // writes in place are refused too
        let st = Status::parse(&c.raw(&hpf_cmd("PUT", b, 0, 16, None)).unwrap());
        assert_eq!(st.failed_code(), Some(1), "PUT {p}");
        assert_failed(c.call("FUPD", b).unwrap(), 1);
    }
    assert_failed(c.call("CPDIR", b"rootdir | stolendir").unwrap(), 1);
    assert_eq!(
        c.list(false, b"rootdir").split().unwrap().unwrap_err().failed_code(),
        Some(1)
    );
    let lsr = String::from_utf8(c.list(true, b"").split().unwrap().unwrap()).unwrap();
    assert!(!lsr.contains("inner"), "LSR listed a 0700 directory: {lsr}");
    assert!(lsr.contains("F: rootfile"), "{lsr}");
    assert!(
        c.fsizels(b"rootfile").unwrap().is_empty(),
        "FSIZELS read a root-only list"
    );
    assert!(!srv.path("stolen").exists() && !srv.path("stolendir").exists());
    assert_eq!(fs::read(srv.path("rootfile")).unwrap(), root_before);
    assert_eq!(fs::read(srv.path("rootdir/inner")).unwrap(), b"ROOT-INNER");
    // its own file works as usual
    assert_eq!(
        assert_ok(c.call("SHA256", b"mine").unwrap()),
        format!("0x{}", sha_hex(b"mine"))
    );
    let mut out = Vec::new();
    assert!(c.sdown(b"mine", &mut out).done().unwrap());
    assert_eq!(out, b"mine");
    // and nothing it did leaked into the log as content
    let mut log = String::new();
    fs::File::open(&srv.stderr_path)
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains("ROOT-SECRET") && !log.contains("ROOT-INNER"));
    by.check();
}

/// Server bug, reported (issue 7): PUT opens its file with O_CREAT before it seeks,
/// so an offset below 2^63 that the filesystem cannot seek to (ext4 stops at 16 TiB)
/// is answered FAILED 35 but leaves an empty file under the requested name, although
/// "a refused PUT creates nothing" (README; commands/hpf.rs `open`). Run with
/// `cargo test --test security attacks:: -- --ignored` once fixed, then drop the `ignore`.
#[test]
fn refused_put_at_unseekable_offset_creates_nothing() {
    let srv = Server::start();
    let mut c = srv.client();
    for off in [1u64 << 62, i64::MAX as u64] {
        let st = Status::parse(&c.raw(&hpf_cmd("PUT", b"fresh", off, 16, None)).unwrap());
        if st.failed_code() == Some(35) {
            assert!(
                !srv.path("fresh").exists(),
                "PUT at {off} answered FAILED 35 and left a file"
            );
        } else {
            // tmpfs: the seek succeeds; finish the PUT
            assert!(ok(&st), "{st:?}");
            c.chan.tx.send_i64(code::END).unwrap();
            while c.chan.rx.recv_i64().unwrap() != code::FIN {}
            c.chan.tx.send_i64(code::FIN).unwrap();
            let _ = fs::remove_file(srv.path("fresh"));
        }
    }
}

/// Server bug, reported (issue 7): CPDIR's "destination inside the source" check is
/// lexical (`dst.starts_with(src)`, commands/fs.rs `cpdir`), so with an in-root
/// symlink `ld -> d`, `CPDIR d | ld/copy` copies `d` into itself: the walk follows
/// its own output (d/copy/copy/...) until MAX_DEPTH, answers FAILED 21, and the
/// cleanup (walk::remove_tree, bounded by the same MAX_DEPTH) cannot remove the
/// ~514-level chain it made. Contrary to "nothing left on failure" the chain stays,
/// and RMDIR cannot remove it either (FAILED 15). Each such command leaves ~514
/// directories. Drop the `ignore` once fixed.
#[test]
fn cpdir_into_itself_through_a_link_leaves_nothing() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("d/e")).unwrap();
    fs::write(srv.path("d/f"), b"x").unwrap();
    std::os::unix::fs::symlink("d", srv.path("ld")).unwrap();
    let mut c = srv.client();
    let st = c.call("CPDIR", b"d | ld/copy").unwrap();
    assert!(!ok(&st), "{st:?}");
    assert!(
        !srv.path("d/copy").exists(),
        "a failed CPDIR left its partial copy: {st:?}"
    );
    assert!(ok(&c.call("RMDIR", b"d").unwrap()));
}

/// Issue 23, finding 5: a name holding a newline forged entries in other
/// users' listings (an injected `A/` line resolved through FTYPELS to A's real
/// home). No command creates such a name now (each answers its own failure
/// code, nothing appears on disk), and a name made outside the protocol is
/// listed with `?` for each control character, so no listing has a forged line.
#[test]
fn names_with_control_characters_neither_made_nor_forging_listings() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("src.txt"), b"data");
    let bad = "evil\nD: forged";
    let not_ok = |st: Status| !matches!(st, Status::Ok(_));
    assert!(not_ok(c.call("MKDIR", bad.as_bytes()).unwrap()));
    assert!(not_ok(c.call("RMKDIR", format!("deep/{bad}").as_bytes()).unwrap()));
    assert_failed(c.call("TOUCH", bad.as_bytes()).unwrap(), 24);
    assert!(not_ok(c.call("COPY", format!("src.txt | {bad}").as_bytes()).unwrap()));
    assert!(not_ok(c.call("RENAM", format!("src.txt | {bad}").as_bytes()).unwrap()));
    assert!(not_ok(c.call("CPDIR", format!("deep | {bad}").as_bytes()).unwrap()));
    assert!(not_ok(
        c.sndfile(format!("x\r{bad}").as_bytes(), true, &mut &b"d"[..], &mut |_| {})
            .status()
            .unwrap()
    ));
    assert!(not_ok(c.call("TOUCH", b"tab\there").unwrap()));
    let made: Vec<String> = walk_names(&srv.data);
    assert!(
        made.iter().all(|n| !n.chars().any(|ch| ch.is_control())),
        "created: {made:?}"
    );
    assert_eq!(fs::read(srv.path("src.txt")).unwrap(), b"data", "the source is intact");

    // made outside the protocol: listed, but never as a line of its own
    fs::create_dir(srv.path("box")).unwrap();
    data_dir_write(&srv.path("box").join("evil\nD: forged"), b"x");
    for (cmd, arg) in [("LS", "box"), ("LSR", ""), ("LSV2DOWN", "box"), ("LSRV2DOWN", "")] {
        let text = match cmd {
            "LS" => c.list(false, arg.as_bytes()).split().unwrap().unwrap(),
            "LSR" => c.list(true, arg.as_bytes()).split().unwrap().unwrap(),
            _ => lsv2down_lines(&mut c, cmd, arg).join("\n").into_bytes(),
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("D: forged") || l.starts_with("forged") || l.ends_with("D: forged/")),
            "{cmd}: {text:?}"
        );
        assert!(text.contains("evil?D: forged"), "{cmd}: {text:?}");
    }
    // LSV2 writes its listing to a file: the same rule
    assert_ok(c.call("LSRV2", b"box@||@list.txt").unwrap());
    let listed = fs::read_to_string(srv.path("list.txt")).unwrap();
    assert_eq!(listed.lines().count(), 1, "{listed:?}");
    c.end().unwrap();
}

/// Every name below `dir`, recursively.
fn walk_names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        out.push(e.file_name().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_names(&e.path()));
        }
    }
    out
}

/// The lines of an LSV2DOWN-style listing: `OK`, then per entry an i32 length
/// and the line, ended by a negative marker.
fn lsv2down_lines(c: &mut Client, cmd: &str, arg: &str) -> Vec<String> {
    assert_eq!(c.raw(format!("{cmd} {arg}").as_bytes()).unwrap(), b"OK");
    let mut lines = Vec::new();
    loop {
        let len = c.chan.rx.recv_i32().unwrap();
        if len < 0 {
            return lines;
        }
        let mut line = vec![0u8; len as usize];
        c.chan.rx.recv_unit(&mut line).unwrap();
        lines.push(String::from_utf8_lossy(&line).trim_end_matches('\n').to_string());
    }
}
