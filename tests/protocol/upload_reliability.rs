//! Uploads that cannot outlive their session, and that are durable before they
//! are acknowledged (doc/reliability.md "Upload temporaries and cleanup",
//! "Durability of uploads"): a session SIGKILLed in the middle of SNDFILE, SUP or
//! PUT leaves no hidden file and costs no quota; with `sync_uploads` the file and
//! its directory entry are fsynced before the acknowledgement goes out, and
//! without it they are not.

use tfd_testkit::reply::Answer as _;
use tfp_client::replies::{AsStatus as _, Split as _};

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

/// Reads `total` bytes of a pattern, and SIGKILLs `victim` (once) after `kill_at`.
struct KillingReader {
    left: usize,
    given: usize,
    kill_at: usize,
    victim: i32,
}

impl Read for KillingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.given >= self.kill_at && self.victim != 0 {
            // let the server take what was sent so far, then kill it mid-upload
            std::thread::sleep(Duration::from_millis(200));
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.victim), nix::sys::signal::SIGKILL).unwrap();
            self.victim = 0;
            std::thread::sleep(Duration::from_millis(100));
        }
        let n = buf.len().min(self.left).min(64 * 1024);
        buf[..n].fill(b'k');
        self.left -= n;
        self.given += n;
        Ok(n)
    }
}

fn killing(total: usize, kill_at: usize, victim: i32) -> KillingReader {
    KillingReader {
        left: total,
        given: 0,
        kill_at,
        victim,
    }
}

/// Every file beneath `d` (hidden ones included), relative.
fn all_files(d: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

fn wait_reaped(srv: &Server) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.children() != (vec![], vec![]) {
        assert!(Instant::now() < deadline, "sessions not reaped: {:?}", srv.children());
        std::thread::sleep(Duration::from_millis(20));
    }
}

const MB: usize = 1 << 20;

/// The issue's case: three killed 2.5 MB uploads under an 8 MiB quota, then a
/// 3 MB upload must fit, and nothing hidden is left.
#[test]
fn killed_uploads_leave_nothing_and_cost_no_quota() {
    if !require(is_root(), "needs root (defusr root)") {
        return;
    }
    let srv = Server::start_with("quota_default 8M\n");
    for (i, how) in ["SNDFILE", "SUP", "PUT"].iter().enumerate() {
        let mut c = srv.client();
        let pid = srv.session_pid();
        let mut data = killing(5 * MB / 2, 3 * MB / 2, pid);
        let name = format!("killed{i}");
        let r = match *how {
            "SNDFILE" => c
                .sndfile(name.as_bytes(), false, &mut data, &mut |_| {})
                .status()
                .map(|_| ()),
            "SUP" => c.sup(name.as_bytes(), &mut data).answer().map(|_| ()),
            _ => c
                .put(name.as_bytes(), 0, 64 * 1024, &mut data, &mut |_| {})
                .split()
                .map(|_| ()),
        };
        assert!(r.is_err(), "{how}: the session was killed, yet {r:?}");
        wait_reaped(&srv);
        let files = all_files(&srv.data);
        let hidden: Vec<_> = files.iter().filter(|f| f.starts_with(".tfd-part-")).collect();
        assert!(hidden.is_empty(), "{how} left hidden files: {files:?}");
        if *how != "PUT" {
            // a SNDFILE or SUP is all or nothing
            assert!(!srv.path(&name).exists(), "{how} left {name}");
        }
    }
    // PUT writes in place (resumable): its partial file is visible and counted
    let put_part = std::fs::metadata(srv.path("killed2"))
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    assert!(put_part < 5 * MB / 2);
    std::fs::remove_file(srv.path("killed2")).ok();
    let mut c = srv.client();
    let big = vec![3u8; 3 * MB];
    assert_ok(c.sndfile(b"after", false, &mut &big[..], &mut |_| {}).status().unwrap());
    assert_eq!(std::fs::read(srv.path("after")).unwrap(), big);
    assert_eq!(all_files(&srv.data), ["after"]);
}

/// Leftovers of a killed session on a file system without O_TMPFILE (marked
/// tfd's own) are swept by the next quota walk once nobody holds them, instead
/// of counting for ever.
#[test]
fn stale_hidden_temporaries_are_swept_and_not_charged() {
    if !require(is_root(), "needs root (defusr root)") {
        return;
    }
    let srv = Server::start_with("quota_default 8M\n");
    std::fs::create_dir(srv.path("d")).unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    for i in 0..3 {
        let p = srv.path(&format!("d/.tfd-part-00000000000000a{i}"));
        std::fs::write(&p, vec![1u8; 5 * MB / 2]).unwrap();
        mark_upload_temporary(&p);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    // a fresh one may belong to an upload starting right now: kept
    std::fs::write(srv.path("d/.tfd-part-00000000000000ff"), b"fresh").unwrap();
    let mut c = srv.client();
    let big = vec![3u8; 3 * MB];
    assert_ok(
        c.sndfile(b"d/after", false, &mut &big[..], &mut |_| {})
            .status()
            .unwrap(),
    );
    assert_eq!(all_files(&srv.path("d")), [".tfd-part-00000000000000ff", "after"]);
}

/// The syscalls of the listener and its sessions while one upload runs, as
/// strace prints them (one line each, pid first).
fn traced(srv: &Server, upload: impl FnOnce()) -> Vec<String> {
    traced_calls(srv, BATCH_CALLS, upload)
}

/// [`traced`] for the system calls `calls` (strace's `trace=` list).
fn traced_calls(srv: &Server, calls: &str, upload: impl FnOnce()) -> Vec<String> {
    let out = srv.dir.join("strace.out");
    let mut st = Command::new("strace")
        .args(["-f", "-qq", "-e", &format!("trace={calls}")])
        .arg("-o")
        .arg(&out)
        .arg("-p")
        .arg(srv.pid().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace (scripts/deps installs it)");
    std::thread::sleep(Duration::from_millis(700));
    upload();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(st.id() as i32), nix::sys::signal::SIGINT).unwrap();
    st.wait().unwrap();
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        // the log goes to stderr: not an acknowledgement
        .filter(|l| !l.contains("write(2,"))
        .map(str::to_string)
        .collect()
}

/// A server for a test that follows it with strace (root and strace, or the
/// test fails saying which is missing).
#[track_caller]
fn traced_server() -> Option<Server> {
    (require_root("strace follows the session's system calls")
        && require_tool("strace", &["-V"], "scripts/deps installs it"))
    .then(Server::start)
}

/// `n` local files `PREFIX<i>` (`i` zero-padded to the width of `n - 1`,
/// at least 2) holding `data(i)`, in a directory `name` beside the server's.
fn source_files(
    srv: &Server,
    name: &str,
    prefix: &str,
    n: usize,
    data: impl Fn(usize) -> Vec<u8>,
) -> std::path::PathBuf {
    let src = srv.dir.join(name);
    std::fs::create_dir_all(&src).unwrap();
    let width = (n.max(1) - 1).to_string().len().max(2);
    for i in 0..n {
        std::fs::write(src.join(format!("{prefix}{i:0width$}")), data(i)).unwrap();
    }
    src
}

/// The system calls [`traced`] follows.
const BATCH_CALLS: &str = "fsync,fdatasync,syncfs,linkat,renameat,renameat2,write,writev,sendto,sendmsg";

/// [`traced_calls`] of `tf put -r --jobs 1 SRC DST` (one session, one
/// batch), which must succeed.
fn traced_put(srv: &Server, calls: &str, src: &Path, dst: &str) -> Vec<String> {
    traced_calls(srv, calls, || {
        // `src/`: its contents in `dst`
        let o = srv.tf(&["put", "-r", "--jobs", "1", &format!("{}/", src.display()), dst]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    })
}

/// The indexes of the lines about `call`.
fn lines_of(trace: &[String], call: &str) -> Vec<usize> {
    trace
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(&format!(" {call}(")))
        .map(|(i, _)| i)
        .collect()
}

/// The indexes of the lines about fsync or fdatasync (the data needs only the
/// latter; directories get the former).
fn sync_lines(trace: &[String]) -> Vec<usize> {
    let mut v = lines_of(trace, "fsync");
    v.extend(lines_of(trace, "fdatasync"));
    v.sort_unstable();
    v
}

fn is_send(l: &str) -> bool {
    ["write(", "writev(", "sendto(", "sendmsg("]
        .iter()
        .any(|c| l.contains(c))
}

/// For each upload command: the data's fsync comes before the file gets its
/// name, the directory's fsync after, and the acknowledgement only after both.
#[test]
fn acknowledged_uploads_are_fsynced_first() {
    if !require_root("strace follows the session's system calls")
        || !require_tool("strace", &["-V"], "scripts/deps installs it")
    {
        return;
    }
    let srv = Server::start();
    let data = vec![9u8; 300_000];
    for how in ["SNDFILE", "SUP", "PUT"] {
        let name = format!("durable-{how}");
        let trace = traced(&srv, || {
            let mut c = srv.client();
            match how {
                "SNDFILE" => {
                    assert_ok(
                        c.sndfile(name.as_bytes(), false, &mut &data[..], &mut |_| {})
                            .status()
                            .unwrap(),
                    );
                }
                "SUP" => assert_eq!(c.sup(name.as_bytes(), &mut &data[..]).answer().unwrap(), 0),
                _ => {
                    let r = c
                        .put(name.as_bytes(), 0, 65536, &mut &data[..], &mut |_| {})
                        .split()
                        .unwrap();
                    assert!(r.is_ok(), "{r:?}");
                }
            }
            c.end().unwrap();
        });
        assert_eq!(std::fs::read(srv.path(&name)).unwrap(), data);
        let text = trace.join("\n");
        let syncs = sync_lines(&trace);
        assert!(syncs.len() >= 2, "{how}: {text}");
        let (first, last) = (syncs[0], *syncs.last().unwrap());
        if how != "PUT" {
            // named by linkat (from /proc/self/fd) between the two fsyncs
            let link = trace
                .iter()
                .position(|l| (l.contains("linkat(") || l.contains("renameat")) && l.contains(&name))
                .unwrap_or_else(|| panic!("{how}: no link: {text}"));
            assert!(first < link && link < last, "{how}: {text}");
        }
        // no acknowledgement between the fsyncs, one after them
        assert!(!trace[first..last].iter().any(|l| is_send(l)), "{how}: {text}");
        assert!(trace[last..].iter().any(|l| is_send(l)), "{how}: {text}");
    }

    // sync_uploads no: the same uploads, no fsync at all
    let srv = Server::start_with("sync_uploads no\n");
    let trace = traced(&srv, || {
        let mut c = srv.client();
        assert_ok(c.sndfile(b"fast", false, &mut &data[..], &mut |_| {}).status().unwrap());
        assert_eq!(c.sup(b"fast2", &mut &data[..]).answer().unwrap(), 0);
        assert!(c
            .put(b"fast3", 0, 65536, &mut &data[..], &mut |_| {})
            .split()
            .unwrap()
            .is_ok());
        c.end().unwrap();
    });
    assert!(sync_lines(&trace).is_empty(), "{}", trace.join("\n"));
    assert!(lines_of(&trace, "linkat").len() >= 2, "{}", trace.join("\n"));
    assert_eq!(std::fs::read(srv.path("fast3")).unwrap(), data);
}

/// A jailed session (chroot, no /proc inside, privileges dropped) still writes
/// its uploads nameless and links them into place.
#[test]
fn jailed_sessions_upload_without_names_too() {
    if !require(is_root(), "needs root (chroot)") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdupload1", &[]);
    let srv = Server::start_with("injail\ndefusr tfdupload1\n");
    let cell = srv.path("cell");
    std::fs::create_dir_all(&cell).unwrap();
    std::fs::write(cell.join("jail.key"), "tok\n").unwrap();
    // the jail is root's (its guard); the user writes in home/
    let cell = cell.join("home");
    std::fs::create_dir_all(&cell).unwrap();
    nix::unistd::chown(&cell, Some(uid.into()), Some(gid.into())).unwrap();
    let mut c = srv.client();
    assert_ok(c.call("INJAIL", b"tok | cell").unwrap());
    let pid = srv.session_pid();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        srv.path("cell")
    );
    assert_eq!(proc_ids(pid).0, format!("{uid} {uid} {uid} {uid}"));

    /// Lists the jail once the upload is well under way.
    struct Peek<'a> {
        left: usize,
        seen: Option<Vec<String>>,
        cell: &'a Path,
    }
    impl Read for Peek<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left < 2 * MB && self.seen.is_none() {
                std::thread::sleep(Duration::from_millis(200));
                self.seen = Some(all_files(self.cell));
            }
            let n = buf.len().min(self.left).min(64 * 1024);
            buf[..n].fill(b'j');
            self.left -= n;
            Ok(n)
        }
    }
    let mut p = Peek {
        left: 3 * MB,
        seen: None,
        cell: &cell,
    };
    assert_ok(c.sndfile(b"/home/up", false, &mut p, &mut |_| {}).status().unwrap());
    assert_eq!(p.seen.unwrap(), Vec::<String>::new(), "a name during the upload");
    let mut p = Peek {
        left: 3 * MB,
        seen: None,
        cell: &cell,
    };
    assert_eq!(c.sup(b"/home/up", &mut p).answer().unwrap(), 0, "{}", srv.log());
    assert_eq!(p.seen.unwrap(), ["up"]);
    assert_eq!(all_files(&cell), ["up"]);
    let md = std::fs::metadata(cell.join("up")).unwrap();
    assert_eq!(md.len(), 3 * MB as u64);
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&md), uid);
}

/// Renames its directory (through another client's RENAM) once half of the
/// data has been read.
struct RenamingReader {
    data: Vec<u8>,
    at: usize,
    other: Option<tfp_client::Client>,
}

impl Read for RenamingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.data.len() / 2 {
            if let Some(mut c) = self.other.take() {
                assert_ok(c.call("RENAM", b"updir | moved").unwrap());
                c.end().unwrap();
            }
        }
        let n = buf.len().min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Issue 23, finding 5: another client's RENAM of the directory while a PUT is
/// under way turned the finished PUT into a server-side cancel (the durability
/// step looked the directory up by name again and found nothing) and left the
/// data behind. The PUT acts on the directory it opened: it completes, and the
/// whole file is where the directory went.
#[test]
fn put_completes_when_its_directory_is_renamed_meanwhile() {
    let srv = Server::start_with("sync_uploads yes\n");
    std::fs::create_dir(srv.path("updir")).unwrap();
    let data = pattern(256 * 1024, 23);
    let mut c = srv.client();
    let mut reader = RenamingReader {
        data: data.clone(),
        at: 0,
        other: Some(srv.client()),
    };
    let r = c
        .put(b"updir/f", 0, 16 * 1024, &mut reader, &mut |_| {})
        .split()
        .unwrap();
    assert_eq!(r, Ok(()), "{}", srv.log());
    assert!(reader.other.is_none(), "the rename happened during the PUT");
    assert_eq!(std::fs::read(srv.path("moved/f")).unwrap(), data);
    c.end().unwrap();
}

/// A batch upload (TFDPUTMANY, what `put -r` sends) is durable before it is
/// answered, with its files committed as a group: the file system is synced
/// (syncfs) before any file of the group gets its name and again after the
/// last one, and the answer comes only after that; no per-file fsync. On
/// the old code every file had its own fdatasync and directory fsync (two
/// journal commits a file: 10,000 files of 1 KiB took 17 s over one session).
#[test]
fn batched_uploads_are_synced_as_a_group_before_the_answer() {
    let Some(srv) = traced_server() else { return };
    let src = source_files(&srv, "batch-src", "g", 20, |i| vec![i as u8; 3000]);
    let trace = traced_put(&srv, BATCH_CALLS, &src, "grouped");
    let text = trace.join("\n");
    for i in 0..20 {
        assert_eq!(
            std::fs::read(srv.path(&format!("grouped/g{i:02}"))).unwrap(),
            vec![i as u8; 3000]
        );
    }
    let syncfs = lines_of(&trace, "syncfs");
    assert!(syncfs.len() >= 2 && syncfs.len() <= 4, "{text}");
    assert!(sync_lines(&trace).is_empty(), "a file synced on its own: {text}");
    let links: Vec<usize> = trace
        .iter()
        .enumerate()
        .filter(|(_, l)| (l.contains("linkat(") || l.contains("renameat")) && l.contains("\"g"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(links.len(), 20, "{text}");
    let (first, last) = (syncfs[0], *syncfs.last().unwrap());
    assert!(links.iter().all(|&l| first < l && l < last), "{text}");
    // the answer (the session's first send after the data) follows the last sync
    assert!(!trace[first..last].iter().any(|l| is_send(l)), "{text}");
    assert!(trace[last..].iter().any(|l| is_send(l)), "{text}");
}

/// A new file of a batch (TFDPUTMANY: `put -r`, `mirror -R`) is linked
/// straight at its name: no hidden name renamed over it, no temporary's mark
/// set and taken off. On the old code every file took both, a quarter of the
/// server's time for a tree of 10,000 files of 1 KiB. A file that is there
/// already is still replaced through a hidden name, whole, and neither
/// leaves a mark or a hidden name behind.
#[test]
fn new_files_of_a_batch_are_linked_straight_at_their_names() {
    let Some(srv) = traced_server() else { return };
    let src = source_files(&srv, "straight-src", "n", 10, |i| vec![i as u8; 2000]);
    let calls = "linkat,renameat,renameat2,fsetxattr,fremovexattr";
    let trace = traced_put(&srv, calls, &src, "straight");
    let text = trace.join("\n");
    for i in 0..10 {
        let name = format!("n{i:02}");
        assert_eq!(
            std::fs::read(srv.path(&format!("straight/{name}"))).unwrap(),
            vec![i as u8; 2000]
        );
        let linked = trace
            .iter()
            .filter(|l| l.contains("linkat(") && l.contains(&format!("\"{name}\"")))
            .count();
        assert_eq!(linked, 1, "{name} not linked at its name once: {text}");
    }
    assert!(!text.contains("renameat"), "a hidden name renamed: {text}");
    assert!(!text.contains("xattr("), "a temporary's mark: {text}");
    assert!(!text.contains(".tfd-part-"), "a hidden name: {text}");

    // an existing file replaced: through a hidden name, whole
    std::fs::write(src.join("n03"), b"replaced, another size").unwrap();
    let trace = traced_calls(&srv, calls, || {
        let o = srv.tf(&["mirror", "-R", "--jobs", "1", src.to_str().unwrap(), "straight"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    });
    let text = trace.join("\n");
    assert_eq!(
        std::fs::read(srv.path("straight/n03")).unwrap(),
        b"replaced, another size"
    );
    assert!(
        trace.iter().any(|l| l.contains("renameat") && l.contains("\"n03\"")),
        "n03 not renamed into place: {text}"
    );
    assert_eq!(all_files(&srv.path("straight")).len(), 10, "a hidden name left: {text}");
    for i in 0..10 {
        let f = std::fs::File::open(srv.path(&format!("straight/n{i:02}"))).unwrap();
        let mark = tfd_sys::fgetxattr(std::os::fd::AsFd::as_fd(&f), c"user.tfd.part", 64);
        assert_eq!(
            mark.map_err(|e| e.raw_os_error()),
            Err(Some(libc::ENODATA)),
            "a mark left on n{i:02}"
        );
    }
}

/// A batch of several groups syncs once a group, not twice: each group's
/// data sync also covers the previous group's names, and one more sync
/// before the answer covers the last group's. On the old code the names'
/// sync of one group was followed at once by the data sync of the next
/// (four sessions of a 10,000-file `put -r` waited twice as long in syncfs).
/// Every name still comes after a sync of its data, and the answer after
/// a sync of every name.
#[test]
fn a_batch_of_many_groups_syncs_once_a_group() {
    let Some(srv) = traced_server() else { return };
    // more than two groups of 256 files
    let src = source_files(&srv, "groups-src", "h", 600, |i| vec![i as u8; 64]);
    let trace = traced_put(&srv, BATCH_CALLS, &src, "groups");
    for i in (0..600).step_by(37) {
        assert_eq!(
            std::fs::read(srv.path(&format!("groups/h{i:03}"))).unwrap(),
            [i as u8; 64]
        );
    }
    let text = trace.join("\n");
    let syncfs = lines_of(&trace, "syncfs");
    let links: Vec<usize> = trace
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("linkat(") && l.contains("\"h"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(links.len(), 600, "{text}");
    assert!(syncfs.len() >= 4, "fewer syncs than 3 groups and the answer: {text}");
    // between two syncs, a group's links: never two syncs in a row
    for w in syncfs.windows(2) {
        assert!(
            links.iter().any(|&l| w[0] < l && l < w[1]),
            "two syncs in a row: {text}"
        );
    }
    let (first, last) = (syncfs[0], *syncfs.last().unwrap());
    assert!(links.iter().all(|&l| first < l && l < last), "{text}");
    assert!(!trace[first..last].iter().any(|l| is_send(l)), "{text}");
    assert!(trace[last..].iter().any(|l| is_send(l)), "{text}");
}

/// A batch resolves and judges each directory once, not once a file, and a
/// new file takes one look at its name and no chmod: the next file in the
/// same directory is pinned in the directory the one before was (no
/// `openat2` from the root, no read of the TFPSFS metadata again), and a
/// free name's file is made with a new file's mode. On the old code each
/// file had its own `openat2`, metadata open, second stat of its name and
/// `fchmod`: a fifth of the server's time for 10,000 files of 1 KiB.
#[test]
fn a_batch_looks_at_each_directory_once_and_each_new_name_once() {
    let Some(srv) = traced_server() else { return };
    let src = source_files(&srv, "looks-src/a", "p", 12, |i| vec![i as u8; 100]);
    let src = src.parent().unwrap().to_path_buf();
    source_files(&srv, "looks-src/b", "q", 12, |i| vec![i as u8 + 1; 100]);
    let trace = traced_put(&srv, "openat,openat2,newfstatat,fchmod", &src, "looks");
    let text = trace.join("\n");
    for (d, p, add) in [("a", "p", 0u8), ("b", "q", 1)] {
        for i in 0..12u8 {
            let f = srv.path(&format!("looks/{d}/{p}{i:02}"));
            assert_eq!(std::fs::read(&f).unwrap(), [i + add; 100]);
            let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&f).unwrap().permissions());
            assert_eq!(mode & 0o777, 0o644, "{}", f.display());
            let looks = trace
                .iter()
                .filter(|l| l.contains(" newfstatat(") && l.contains(&format!("\"{p}{i:02}\"")))
                .count();
            assert_eq!(looks, 1, "{p}{i:02} looked at {looks} times: {text}");
        }
    }
    assert_eq!(lines_of(&trace, "fchmod").len(), 0, "{text}");
    let metadata = trace.iter().filter(|l| l.contains(".securefs_metadata")).count();
    assert!(metadata <= 8, "{metadata} metadata reads for 2 directories: {text}");
    let resolved = lines_of(&trace, "openat2").len();
    assert!(
        resolved <= 10,
        "{resolved} lookups from the root for 2 directories: {text}"
    );
}
