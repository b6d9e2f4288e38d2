//! `tf` against a server that lies (issue 26, part 5): tests/common/liar.rs
//! speaks the real protocol and answers from a scripted tree plus lies.
//!
//! The smoke tests prove the liar is a server today's `tf` accepts (ls, lsr,
//! get, fstat, the V2 listings, FSTATLS, uploads). The attack tests point
//! `tf get -r` and `tf mirror` at listings naming `../x`, `/etc/x`, names with a
//! newline, directories that a planted local symlink leads out of, a flood of
//! entries, a size that lies and a download longer than announced. Each one
//! judges by the disk: everything beside the target (a canary directory, the
//! directories above) must stay byte for byte as it was, and `tf` must refuse
//! (non-zero exit) or at least say what it skipped — whatever its words.

use crate::common;
use crate::output::{stderr, stdout};
use tfp_client::replies::Split as _;

use common::liar::{run_watched, Kind, Liar, Lie, Node, Script, EXTRA_BYTE, HASH, MTIME};
use common::tempdir;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};
use tfp_wire::fstat::{FileType, StatRecord};

const CANARY: &[u8] = b"the canary: nothing from the server may touch this\n";
const PWNED: &[u8] = b"PWNED: a lying name was trusted\n";

fn tf(liar: &Liar, args: &[&str]) -> Output {
    run_watched(liar.tf_command(args), Duration::from_secs(60), u64::MAX).0
}

fn tree() -> Script {
    Script::new()
        .file("tree/a.txt", b"alpha\n")
        .file("tree/sub/b.txt", b"bravo bravo\n")
        .dir("tree/sub/empty")
        .file("tree/sub/deeper/c.bin", (0u8..=255).collect::<Vec<u8>>())
}

// ---- smoke: the liar is a server today's tf accepts ------------------------

#[test]
fn ls_and_lsr_show_the_scripted_tree_and_its_lies() {
    let liar = Liar::start(tree().lie(Lie::file("tree", "../x")).lie(Lie::dir("tree", "../../up")));
    let o = tf(&liar, &["ls", "tree"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // sorted by tf, tags and the lies as sent
    assert_eq!(stdout(&o), "D: ../../up/\nF: ../x\nF: a.txt\nD: sub/\n");
    let o = tf(&liar, &["lsr", "tree/sub"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "F: b.txt\nD: deeper/\nF: deeper/c.bin\nD: empty/\n",
        "LSR paths are relative to the listed directory"
    );
    let o = tf(&liar, &["ls", "nosuch"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("FAILED 10"), "{}", stderr(&o));
    // the transport tf chose by itself: the liar offers no secure one
    let o = tf(&liar, &["-v", "echo", "hi", "there"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "hi there\n");
    assert!(stderr(&o).contains("legacy"), "{}", stderr(&o));
    let seen = liar.requests();
    assert!(
        seen.iter().any(|r| r.starts_with(b"TFDSECURE ")),
        "tf asked for the upgrade"
    );
    assert!(seen.iter().any(|r| r == b"LSR tree/sub"), "{seen:?}");
}

#[test]
fn ls_l_reads_fstat_from_the_liar() {
    let liar = Liar::start(tree().lie(Lie::Size {
        path: "tree/a.txt".into(),
        size: 1 << 60,
    }));
    let mut cmd = liar.tf_command(&["ls", "-l", "tree"]);
    cmd.env("TZ", "UTC0");
    let o = run_watched(cmd, Duration::from_secs(60), u64::MAX).0;
    assert!(o.status.success(), "{}", stderr(&o));
    let when = format!("{} UTC", tfp_wire::date::format_utc(MTIME as i64).unwrap());
    assert_eq!(
        stdout(&o),
        format!("- {:>12} {when}  a.txt\nd {:>12} {when}  sub/\n", 1u64 << 60, 4096)
    );
    let o = tf(&liar, &["fstat", "--raw", "tree/sub/b.txt"]);
    assert_eq!(stdout(&o), format!("OK F 12 {MTIME} {MTIME}\n"));
    let o = tf(&liar, &["fstat", "tree/none"]);
    assert!(stderr(&o).contains("FAILED 9"), "{}", stderr(&o));
}

#[test]
fn get_rcvfile_and_sdown_bring_the_scripted_bytes() {
    let big = common::pattern(3 * 1024 * 1024 + 17, 7);
    let liar = Liar::start(tree().file("tree/big.bin", &big));
    let here = tempdir("liar_get");
    for (cmd, name, want) in [
        ("get", "tree/a.txt", &b"alpha\n"[..]),
        ("get", "tree/big.bin", &big[..]),
        ("rcvfile", "tree/big.bin", &big[..]),
        ("sdown", "tree/big.bin", &big[..]),
        ("get", "tree/sub/deeper/c.bin", &(0u8..=255).collect::<Vec<u8>>()[..]),
    ] {
        let local = here.join(format!("{cmd}.out"));
        let _ = fs::remove_file(&local);
        let o = tf(&liar, &[cmd, name, local.to_str().unwrap()]);
        assert!(o.status.success(), "{cmd} {name}: {}", stderr(&o));
        assert!(fs::read(&local).unwrap() == want, "{cmd} {name}: bytes differ");
    }
    // small buffers: many HPF chunks, and --verify asks SHA256
    let local = here.join("small-bufs");
    let o = tf(
        &liar,
        &[
            "get",
            "tree/big.bin",
            local.to_str().unwrap(),
            "--bufsz",
            "1000",
            "--verify",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big);
    // parallel ranges: GETs at offsets on four connections, each cancelled
    // once its range is in
    let local = here.join("streams");
    let o = tf(
        &liar,
        &[
            "get",
            "tree/big.bin",
            local.to_str().unwrap(),
            "--streams",
            "4",
            "--bufsz",
            "65536",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big, "--streams 4: bytes differ");
    let gets = liar.requests().iter().filter(|r| r.starts_with(b"GET ")).count();
    assert!(gets >= 4 + 3, "{gets} GETs");
    let o = tf(&liar, &["fsize", "tree/big.bin"]);
    assert_eq!(stdout(&o), format!("{}\n", big.len()));
    let o = tf(&liar, &["get", "tree/missing", here.join("m").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!here.join("m").exists());
    let _ = fs::remove_dir_all(&here);
}

/// `tf get` asks FSTAT once: the size its progress bar shows is the one the
/// download goes by (issue 42: a second FSTAT was a round trip before the
/// first byte, 20 ms of a 3 s download at 200 Mbit/s, 20 ms), with one
/// stream and with several, and the bytes are right.
#[test]
fn get_asks_fstat_once() {
    let big = common::pattern(2 * 1024 * 1024 + 5, 3);
    let liar = Liar::start(tree().file("tree/big.bin", &big));
    let here = tempdir("liar_one_fstat");
    let fstats = || {
        liar.requests()
            .iter()
            .filter(|r| r.as_slice() == b"FSTAT tree/big.bin")
            .count()
    };
    for (n, streams) in [(1, "1"), (2, "4")] {
        let local = here.join(format!("s{streams}"));
        let o = tf(
            &liar,
            &["get", "tree/big.bin", local.to_str().unwrap(), "--streams", streams],
        );
        assert!(o.status.success(), "--streams {streams}: {}", stderr(&o));
        assert!(fs::read(&local).unwrap() == big, "--streams {streams}: bytes differ");
        assert_eq!(fstats(), n, "--streams {streams}: one FSTAT per get");
    }
    let _ = fs::remove_dir_all(&here);
}

/// `tf get -r` against a server without tfd's listings (the liar answers
/// TFDNAMES and TFDLIST `UNKNOWN`, as the reference server does): tf sends
/// it no `CONT` but in answer to a chunk it sent (the liar reads those in
/// its LSR, so none is among the commands it recorded); the tree lands.
#[test]
fn get_r_sends_no_cont_a_server_did_not_ask_for() {
    let liar = Liar::start(tree());
    let here = tempdir("liar_no_cont");
    let local = here.join("t");
    let o = tf(&liar, &["get", "-r", "--jobs", "1", "tree", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(local.join("sub/b.txt")).unwrap(), b"bravo bravo\n");
    let seen: Vec<String> = liar
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert!(seen.iter().any(|r| r == "LSR tree"), "listed with LSR: {seen:?}");
    assert!(!seen.iter().any(|r| r == "CONT"), "a CONT read as a command: {seen:?}");
    let _ = fs::remove_dir_all(&here);
}

/// A fresh `tf get` (no local copy, no partial) sends its GET right behind
/// FSTAT: the client waits for no answer before the data but the GET's own
/// (issue 42: FSTAT's round trip was 20 ms before the first byte at 200
/// Mbit/s, 20 ms). Over a copy it still asks FSTAT first (the delta
/// decision needs the size), and a missing file or a directory is still
/// reported as before, the session going on to END.
#[test]
fn a_fresh_get_asks_fstat_and_get_together() {
    let big = common::pattern(3 * 1024 * 1024 + 7, 5);
    let liar = Liar::start(tree().file("tree/big.bin", &big));
    let here = tempdir("liar_fresh_get");
    let local = here.join("fresh");
    let o = tf(&liar, &["get", "tree/big.bin", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big, "bytes differ");
    let asked = liar.requests();
    // after the offer of the secure transport, which the liar declines
    let names: Vec<String> = asked
        .iter()
        .map(|r| String::from_utf8_lossy(r.split(|&b| b == b' ').next().unwrap_or(r)).into_owned())
        .filter(|n| n != "TFDSECURE")
        .collect();
    assert_eq!(names, ["FSTAT", "GET", "END"]);
    let waited = liar.waited_for();
    assert!(
        !waited.iter().any(|r| r.starts_with(b"FSTAT")),
        "the GET waited for FSTAT's answer: {:?}",
        waited.iter().map(|r| String::from_utf8_lossy(r)).collect::<Vec<_>>()
    );
    for (remote, says) in [("tree/nosuch", "no such file"), ("tree/sub", "not a regular file")] {
        let gone = here.join("gone");
        let o = tf(&liar, &["get", remote, gone.to_str().unwrap()]);
        assert!(!o.status.success(), "{remote}");
        assert!(stderr(&o).contains(says), "{remote}: {}", stderr(&o));
        assert!(
            fs::read_dir(&here).unwrap().count() == 1,
            "{remote}: left something beside"
        );
        assert_eq!(liar.requests().last().map(Vec::as_slice), Some(&b"END"[..]), "{remote}");
    }
    let _ = fs::remove_dir_all(&here);
}

/// `get --streams 2` asks for each stream's next lane right behind the
/// stop word of its lane: no GETCAN but each stream's first waits for the
/// last window of the lane before it (issue 42: a round trip with the
/// stream's socket empty, for every lane but the first), and the bytes
/// are right.
#[test]
fn streams_ask_their_next_lane_behind_the_stop() {
    // 8 MiB: four pieces of 2 MiB, in 256 KiB windows
    let big = common::pattern(8 * 1024 * 1024 + 3, 7);
    let liar = Liar::start(tree().file("tree/big.bin", &big).getcan());
    let here = tempdir("liar_next_lane");
    let local = here.join("big");
    let o = tf(
        &liar,
        &["get", "tree/big.bin", local.to_str().unwrap(), "--streams", "2"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(fs::read(&local).unwrap() == big, "bytes differ");
    let lanes = liar.requests().iter().filter(|r| r.starts_with(b"GETCAN ")).count();
    assert!(lanes >= 4, "{lanes} GETCANs: the streams did not move lanes");
    let waited = liar.waited_for().iter().filter(|r| r.starts_with(b"GETCAN ")).count();
    // a stream's last lane is followed by its END: that one it waits for
    assert!(
        waited <= 2,
        "{waited} of {lanes} GETCANs waited for before the next command: {:?}",
        liar.waited_for()
            .iter()
            .map(|r| String::from_utf8_lossy(r))
            .collect::<Vec<_>>()
    );
    let _ = fs::remove_dir_all(&here);
}

/// `tf get --offset 0` (written in place, trusting GET's stream) shows the
/// liar really does send more than it announced (the attack tests below need
/// that to be so); a plain `get`, `rcvfile` and `sdown` keep only the
/// announced size, so they refuse the file and keep nothing.
#[test]
fn the_liar_sends_more_than_it_announces() {
    let liar = Liar::start(tree().lie(Lie::Extra {
        path: "tree/a.txt".into(),
        extra: 1000,
    }));
    let here = tempdir("liar_extra");
    let o = tf(&liar, &["fsize", "tree/a.txt"]);
    assert_eq!(stdout(&o), "6\n");
    let local = here.join("raw");
    let o = tf(&liar, &["get", "tree/a.txt", local.to_str().unwrap(), "--offset", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = fs::read(&local).unwrap();
    assert_eq!(got.len(), 1006);
    assert!(got.starts_with(b"alpha\n") && got[6..].iter().all(|&b| b == EXTRA_BYTE));
    for cmd in ["get", "rcvfile", "sdown"] {
        let local = here.join(cmd);
        let o = tf(&liar, &[cmd, "tree/a.txt", local.to_str().unwrap()]);
        assert!(!o.status.success(), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("announced"), "{cmd}: {}", stderr(&o));
        assert!(!local.exists(), "{cmd}");
    }
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn uploads_and_mkdir_land_in_the_virtual_tree() {
    let liar = Liar::start(tree());
    let here = tempdir("liar_put");
    let src = here.join("src");
    let data = common::pattern(700_000, 3);
    fs::write(&src, &data).unwrap();
    // put: SNDFILE with overwrite; put --offset: PUT in place
    for (cmd, remote, opts) in [
        ("put", "tree/p.bin", &[][..]),
        ("sndfile", "tree/s.bin", &[][..]),
        ("put", "tree/hpf.bin", &["--offset", "0", "--bufsz", "65536"][..]),
    ] {
        let mut args = vec![cmd, src.to_str().unwrap(), remote];
        args.extend_from_slice(opts);
        let o = tf(&liar, &args);
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert_eq!(liar.node(remote), Some(Node::File(data.clone())), "{cmd}");
    }
    let o = tf(&liar, &["mkdir", "tree/newdir"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(liar.node("tree/newdir"), Some(Node::Dir));
    let o = tf(&liar, &["mkdir", "tree/newdir"]);
    assert!(stderr(&o).contains("FAILED 4"), "{}", stderr(&o));
    let _ = fs::remove_dir_all(&here);
}

fn client(liar: &Liar) -> Client {
    let mut cfg = ClientConfig::new(&liar.addr(), common::keys().1.clone(), HASH);
    cfg.timeout = Some(Duration::from_secs(20));
    Client::connect(&cfg).expect("connect to the liar")
}

/// The V2 listings as raw units: `OK`, `[i32 len][line]`…, −10.
fn lsv2down(c: &mut Client, cmd: &str, dir: &str) -> Vec<Vec<u8>> {
    let first = c.raw(format!("{cmd} {dir}").as_bytes()).unwrap();
    assert_eq!(first, b"OK", "{}", String::from_utf8_lossy(&first));
    let mut lines = Vec::new();
    loop {
        let n = c.chan.rx.recv_i32().unwrap();
        if n == -10 {
            return lines;
        }
        assert!(n > 0, "{cmd}: length {n}");
        let mut b = vec![0u8; n as usize];
        c.chan.rx.recv_unit(&mut b).unwrap();
        lines.push(b);
    }
}

#[test]
fn v2_listings_and_fstatls_answer_as_tfd_does() {
    let liar = Liar::start(
        tree()
            .lie(Lie::file("tree", "a\nb"))
            .lie(Lie::dir("tree/sub", "../../up"))
            .lie(Lie::file("tree/sub/../../up", "y"))
            .lie(Lie::Size {
                path: "tree/a.txt".into(),
                size: u64::MAX / 2,
            }),
    );
    let mut c = client(&liar);
    let got = lsv2down(&mut c, "LSV2DOWN", "tree");
    let want: Vec<&[u8]> = vec![b"tree/a.txt\n", b"tree/sub/\n", b"tree/a\nb\n"];
    assert_eq!(got, want);
    let got = lsv2down(&mut c, "LSRV2DOWN", "tree/sub");
    let want: Vec<&[u8]> = vec![
        b"tree/sub/b.txt\n",
        b"tree/sub/deeper/\n",
        b"tree/sub/deeper/c.bin\n",
        b"tree/sub/empty/\n",
        b"tree/sub/../../up/\n",
        b"tree/sub/../../up/y\n",
    ];
    assert_eq!(got, want);
    assert_eq!(
        tfp_wire::Status::parse(&c.raw(b"LSV2DOWN nosuch").unwrap()),
        tfp_wire::Status::Failed(53, tfp_wire::Failed::LsrV2.text().into())
    );
    // LSRV2 writes the list file; FSTATLS reads it back
    assert_eq!(c.raw(b"LSRV2 tree@||@list.txt").unwrap(), b"OK");
    match liar.node("list.txt") {
        Some(Node::File(t)) => assert!(
            t.starts_with(b"tree/a.txt\ntree/sub/\n"),
            "{}",
            String::from_utf8_lossy(&t)
        ),
        other => panic!("no list file: {other:?}"),
    }
    let recs = c.fstatls(b"list.txt").unwrap();
    assert_eq!(
        recs[0],
        StatRecord::Stat {
            kind: FileType::Regular,
            size: u64::MAX / 2,
            atime: MTIME,
            mtime: MTIME
        }
    );
    assert!(matches!(
        recs[1],
        StatRecord::Stat {
            kind: FileType::Dir,
            ..
        }
    ));
    // the lying names stat as missing: no serve_anything here
    assert!(recs.contains(&StatRecord::Fail));
    c.end().unwrap();
}

/// The flood the bound tests use really arrives: a million entries in LSR
/// and in LSRV2DOWN, in seconds.
#[test]
fn the_liar_floods_a_listing() {
    const N: usize = 1_000_000;
    let liar = Liar::start(tree().lie(Lie::Many {
        dir: "tree/sub".into(),
        kind: Kind::File,
        name: "f".into(),
        count: N,
        distinct: true,
    }));
    let start = Instant::now();
    let mut c = client(&liar);
    let text = c.list(true, b"tree").split().unwrap().unwrap();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), N + 6);
    assert_eq!(lines[N + 5], b"F: sub/f999999");
    let v2 = lsv2down(&mut c, "LSRV2DOWN", "tree/sub");
    assert_eq!(v2.len(), N + 4);
    assert_eq!(v2[4], b"tree/sub/f0\n");
    c.end().unwrap();
    eprintln!("two listings of a million entries: {:?}", start.elapsed());
}

// ---- the attacks -------------------------------------------------------------

/// A place to land in and what lies beside it:
/// `base/outer/dst` (the target, absent unless planted), `base/outer/canary/keep`,
/// `base/keep-top`. Everything but `dst` is recorded before the download runs.
struct Arena {
    base: PathBuf,
    outer: PathBuf,
    dst: PathBuf,
    canary: PathBuf,
    /// An absolute path no test may create (`/etc/…`, named per test).
    etc: PathBuf,
    before: BTreeMap<PathBuf, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
    Other,
}

/// Every entry below `root` except the `skip` subtree, symlinks not followed.
fn snapshot(root: &Path, skip: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p == skip {
                continue;
            }
            let Ok(m) = fs::symlink_metadata(&p) else { continue };
            let entry = if m.file_type().is_symlink() {
                Entry::Link(fs::read_link(&p).unwrap_or_default())
            } else if m.is_dir() {
                stack.push(p.clone());
                Entry::Dir
            } else if m.is_file() {
                Entry::File(fs::read(&p).unwrap_or_default())
            } else {
                Entry::Other
            };
            out.insert(p, entry);
        }
    }
    out
}

impl Arena {
    fn new(tag: &str) -> Arena {
        let base = tempdir(&format!("liar_{tag}"));
        let outer = base.join("outer");
        let canary = outer.join("canary");
        fs::create_dir_all(&canary).unwrap();
        fs::write(canary.join("keep"), CANARY).unwrap();
        fs::write(base.join("keep-top"), CANARY).unwrap();
        let etc = PathBuf::from(format!("/etc/tf-liar-{}-{tag}", std::process::id()));
        let _ = fs::remove_file(&etc);
        Arena {
            dst: outer.join("dst"),
            before: BTreeMap::new(),
            base,
            outer,
            canary,
            etc,
        }
    }

    /// Records the outside once the arena is set up.
    fn seal(&mut self) {
        self.before = snapshot(&self.base, &self.dst);
    }

    fn dst(&self) -> &str {
        self.dst.to_str().unwrap()
    }

    /// The outside is as it was and `/etc` got nothing; with `must_tell`, the
    /// client did not pretend all went well either: it failed, or it said on
    /// stderr what it refused.
    fn check(&self, o: &Output, what: &str, must_tell: bool) {
        let etc_written = fs::symlink_metadata(&self.etc).is_ok();
        let _ = fs::remove_file(&self.etc);
        assert!(
            !etc_written,
            "{what}: {} was written (an absolute name from the server)",
            self.etc.display()
        );
        let after = snapshot(&self.base, &self.dst);
        if after != self.before {
            let changed: Vec<String> = after
                .iter()
                .filter(|(p, e)| self.before.get(*p) != Some(*e))
                .map(|(p, _)| format!("+/~ {}", p.display()))
                .chain(
                    self.before
                        .keys()
                        .filter(|p| !after.contains_key(*p))
                        .map(|p| format!("- {}", p.display())),
                )
                .collect();
            panic!(
                "{what}: written outside the target:\n{}\n{}",
                changed.join("\n"),
                stderr(o)
            );
        }
        assert_eq!(fs::read(self.canary.join("keep")).unwrap(), CANARY, "{what}");
        assert!(
            o.status.code().is_some(),
            "{what}: tf died of a signal ({:?})\n{}",
            o.status,
            stderr(o)
        );
        assert!(
            !must_tell || !o.status.success() || !stderr(o).trim().is_empty(),
            "{what}: tf said nothing of the names it was sent and exited 0\n{}",
            stdout(o)
        );
    }

    /// Every path created under the target.
    fn landed(&self) -> Vec<PathBuf> {
        snapshot(&self.dst, Path::new("/nonexistent")).into_keys().collect()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
        let _ = fs::remove_file(&self.etc);
    }
}

/// Who lands `tree` in `dst`: the two commands under test, or the test's own
/// naive downloader that trusts every name (it proves the checks catch one).
#[derive(Clone, Copy, Debug)]
enum By {
    GetR,
    Mirror,
    Naive,
}

/// Runs the download; the server must have been asked for a listing (a `tf`
/// that fails before it lists proves nothing).
fn land(by: By, a: &Arena, liar: &Liar, extra: &[&str], limit: Duration) -> Output {
    let o = match by {
        By::Naive => naive_get_r(liar, &a.dst),
        By::GetR | By::Mirror => {
            let mut args: Vec<&str> = match by {
                By::GetR => vec!["get", "-r"],
                _ => vec!["mirror"],
            };
            args.extend_from_slice(extra);
            args.extend_from_slice(&["tree", a.dst()]);
            run_watched(liar.tf_command(&args), limit, u64::MAX).0
        }
    };
    let listed = liar.requests().iter().any(|r| {
        let name = r.split(|&b| b == b' ').next().unwrap_or_default();
        [&b"LS"[..], b"LSR", b"LSV2DOWN", b"LSRV2DOWN", b"LSV2", b"LSRV2"].contains(&name)
    });
    assert!(
        listed,
        "{by:?}: the server was never asked for a listing: the attack did not happen\n{}",
        stderr(&o)
    );
    o
}

fn attack(by: By, a: &Arena, liar: &Liar, extra: &[&str], what: &str) -> Output {
    let o = land(by, a, liar, extra, Duration::from_secs(120));
    a.check(&o, &format!("{by:?}: {what}"), true);
    o
}

/// What a careless `get -r` does: LSR, then every `F:` line fetched with GET
/// into `dst/<name>` (opened the ordinary way: through symlinks, truncating),
/// every `D:` line made with create_dir_all. Errors are skipped; it exits 1
/// with a word on stderr, so only the disk checks can catch it.
fn naive_get_r(liar: &Liar, dst: &Path) -> Output {
    use std::os::unix::process::ExitStatusExt;
    let mut c = client(liar);
    let text = c.list(true, b"tree").split().unwrap().unwrap_or_default();
    for line in text.split(|&b| b == b'\n') {
        let dst_of = |name: &[u8]| dst.join(std::ffi::OsStr::from_bytes(name));
        if let Some(name) = line.strip_prefix(b"D: ") {
            let _ = fs::create_dir_all(dst_of(name));
        } else if let Some(name) = line.strip_prefix(b"F: ") {
            let to = dst_of(name);
            if let Some(parent) = to.parent() {
                let _ = fs::create_dir_all(parent);
            }
            let mut data = Vec::new();
            let remote = [&b"tree/"[..], name].concat();
            if let Ok(Ok(_)) = c.get(&remote, 0, 1 << 20, &mut data, &mut |_| {}).split() {
                let _ = fs::write(&to, &data);
            }
        }
    }
    let _ = c.end();
    Output {
        status: std::process::ExitStatus::from_raw(1 << 8),
        stdout: Vec::new(),
        stderr: b"naive: done\n".to_vec(),
    }
}

/// `../x` at every depth, and a lying directory that climbs out.
fn dotdot(by: By) {
    dotdot_with(by, &[]);
}

/// [`dotdot`] with more `tf` options (`--jobs N`).
fn dotdot_with(by: By, extra: &[&str]) {
    let mut a = Arena::new(&format!("dotdot_{by:?}_{}", extra.len()));
    a.seal();
    let liar = Liar::start(
        tree()
            .serve_anything(PWNED)
            .lie(Lie::file("tree", "../x"))
            .lie(Lie::file("tree", "../canary/keep"))
            .lie(Lie::file("tree", "../../keep-top"))
            .lie(Lie::file("tree/sub", "../../../y"))
            .lie(Lie::file("tree", "sub/../../z"))
            .lie(Lie::dir("tree", "../../up"))
            .lie(Lie::file("tree/../../up", "w"))
            .lie(Lie::file("tree", "..")),
    );
    attack(by, &a, &liar, extra, "names with ..");
}

/// Absolute names: one under /etc, others pointing into the arena.
fn absolute(by: By) {
    let mut a = Arena::new(&format!("abs_{by:?}"));
    a.seal();
    let absdir = a.outer.join("absdir");
    let liar = Liar::start(
        tree()
            .serve_anything(PWNED)
            .lie(Lie::file("tree", a.etc.as_os_str().as_bytes()))
            .lie(Lie::file("tree", a.outer.join("abs-x").as_os_str().as_bytes()))
            .lie(Lie::file("tree", a.canary.join("keep").as_os_str().as_bytes()))
            .lie(Lie::file("tree/sub", a.canary.join("keep2").as_os_str().as_bytes()))
            .lie(Lie::dir("tree", absdir.as_os_str().as_bytes()))
            .lie(Lie::file(&format!("tree/{}", absdir.display()), "v")),
    );
    attack(by, &a, &liar, &[], "absolute names");
}

/// Control characters: the issue's `a\nb`, newlines that forge a second
/// listing line climbing out (tagged and rooted forms), and others.
fn control(by: By) {
    let mut a = Arena::new(&format!("ctl_{by:?}"));
    a.seal();
    let liar = Liar::start(
        tree()
            .serve_anything(PWNED)
            .lie(Lie::file("tree", "a\nb"))
            .lie(Lie::file("tree", "c\nF: ../nl-escape"))
            .lie(Lie::file("tree", "d\n../../nl-rooted"))
            .lie(Lie::file("tree", "e\rf"))
            .lie(Lie::file("tree", "g\u{1b}[2Jh"))
            .lie(Lie::file("tree", b"i\0../j")),
    );
    attack(by, &a, &liar, &[], "control characters");
    for p in a.landed() {
        let name = p.file_name().unwrap().as_bytes();
        assert!(
            !name.iter().any(|b| b.is_ascii_control()),
            "{by:?}: created a name with a control character: {p:?}"
        );
    }
}

/// Symlinks planted in the target where the server's names land: a directory
/// link to the canary and file links to its file, at both places `cp -r`
/// semantics may put the tree (`dst/` itself, or `dst/tree/` when `dst` exists).
/// The listing itself is honest, so the client may replace the links and exit
/// 0 without a word: the disk alone judges.
fn planted_symlink(by: By) {
    planted_symlink_with(by, &[]);
}

/// [`planted_symlink`] with more `tf` options (`--jobs N`).
fn planted_symlink_with(by: By, extra: &[&str]) {
    let mut a = Arena::new(&format!("link_{by:?}_{}", extra.len()));
    for (at, up) in [(a.dst.clone(), "../canary"), (a.dst.join("tree"), "../../canary")] {
        fs::create_dir_all(&at).unwrap();
        std::os::unix::fs::symlink(up, at.join("evil")).unwrap();
        std::os::unix::fs::symlink(format!("{up}/keep"), at.join("a.txt")).unwrap();
        std::os::unix::fs::symlink(up, at.join("sub")).unwrap();
    }
    a.seal();
    let liar = Liar::start(
        tree()
            .file("tree/evil/x", PWNED)
            .file("tree/evil/keep", PWNED)
            .file("tree/evil/deep/y", PWNED),
    );
    let o = land(by, &a, &liar, extra, Duration::from_secs(120));
    let what = format!("{by:?} {extra:?}: planted symlinks");
    a.check(&o, &what, false);
    for p in ["x", "deep", "b.txt", "deeper", "empty"] {
        assert!(!a.canary.join(p).exists(), "{what}: canary/{p} appeared");
    }
}

/// A listing of a million distinct names: the client must stop at its bound,
/// not create them all (nor take forever trying).
fn flood(by: By) {
    const N: usize = 1_000_000;
    let mut a = Arena::new(&format!("flood_{by:?}"));
    a.seal();
    let liar = Liar::start(tree().serve_anything(b"").lie(Lie::Many {
        dir: "tree".into(),
        kind: Kind::File,
        name: "f".into(),
        count: N,
        distinct: true,
    }));
    let o = land(by, &a, &liar, &[], Duration::from_secs(300));
    a.check(&o, &format!("{by:?}: a million entries"), true);
    assert!(
        !o.status.success(),
        "{by:?}: a listing over the bound must fail\n{}",
        stderr(&o)
    );
    let made = a.landed().len();
    assert!(made < N, "{by:?}: created {made} entries, the whole flood");
}

/// One name a million times: no more than a few downloads, in bounded time.
fn repeated(by: By) {
    let mut a = Arena::new(&format!("rep_{by:?}"));
    a.seal();
    let liar = Liar::start(tree().lie(Lie::Many {
        dir: "tree".into(),
        kind: Kind::File,
        name: "a.txt".into(),
        count: 1_000_000,
        distinct: false,
    }));
    let o = land(by, &a, &liar, &[], Duration::from_secs(300));
    let what = format!("{by:?}: one name a million times");
    a.check(&o, &what, false);
    let downloads = liar
        .requests()
        .iter()
        .filter(|r| r.starts_with(b"GET ") || r.starts_with(b"RCVFILE ") || r.starts_with(b"SDOWN "))
        .count();
    assert!(downloads < 1000, "{what}: {downloads} downloads");
}

/// A download that sends more than FSIZE/FSTAT announced: no local file may
/// grow past the announced size (and the client must say so, or fail).
fn longer_than_announced(by: By) {
    let mut a = Arena::new(&format!("long_{by:?}"));
    a.seal();
    let liar = Liar::start(tree().lie(Lie::Extra {
        path: "tree/a.txt".into(),
        extra: 10 << 20,
    }));
    attack(by, &a, &liar, &[], "a download longer than announced");
    for p in a.landed() {
        let len = fs::symlink_metadata(&p).unwrap().len();
        if p.file_name().is_some_and(|n| n.as_bytes().starts_with(b"a.txt")) {
            assert!(len <= 6, "{by:?}: {p:?} holds {len} bytes, 6 were announced");
        }
        assert!(len < 1 << 20, "{by:?}: {p:?} holds {len} bytes");
    }
}

/// FSTAT/FSIZE claim an exabyte for a 6-byte file: nothing is preallocated,
/// nothing blows up, and the client notices the difference.
fn huge_size(by: By) {
    let mut a = Arena::new(&format!("huge_{by:?}"));
    a.seal();
    let liar = Liar::start(tree().lie(Lie::Size {
        path: "tree/a.txt".into(),
        size: 1 << 60,
    }));
    attack(by, &a, &liar, &[], "an exabyte announced");
    for p in a.landed() {
        let len = fs::symlink_metadata(&p).unwrap().len();
        assert!(len < 1 << 20, "{by:?}: {p:?} is {len} bytes long");
    }
}

/// The checks can fail: a downloader that trusts the names (the scp bug
/// class) is caught by each attack. Its panics are printed and expected.
#[test]
fn a_client_that_trusts_the_names_is_caught() {
    type Case = (&'static str, fn(By));
    let cases: [Case; 5] = [
        ("..", dotdot),
        ("absolute", absolute),
        ("control characters", control),
        ("planted symlink", planted_symlink),
        ("longer than announced", longer_than_announced),
    ];
    for (what, case) in cases {
        let caught = std::panic::catch_unwind(|| case(By::Naive)).is_err();
        assert!(caught, "{what}: the checks let a naive client through");
    }
}

#[test]
fn get_r_refuses_dotdot_names() {
    dotdot(By::GetR);
}

#[test]
fn get_r_refuses_dotdot_names_with_jobs() {
    dotdot_with(By::GetR, &["--jobs", "4"]);
}

#[test]
fn get_r_never_follows_a_planted_symlink_out_with_jobs() {
    planted_symlink_with(By::GetR, &["--jobs", "4"]);
}

#[test]
fn get_r_refuses_absolute_names() {
    absolute(By::GetR);
}

#[test]
fn get_r_refuses_control_characters() {
    control(By::GetR);
}

#[test]
fn get_r_never_follows_a_planted_symlink_out() {
    planted_symlink(By::GetR);
}

#[test]
fn get_r_bounds_what_a_listing_creates() {
    flood(By::GetR);
}

#[test]
fn get_r_downloads_a_repeated_name_once() {
    repeated(By::GetR);
}

#[test]
fn get_r_stops_a_download_longer_than_announced() {
    longer_than_announced(By::GetR);
}

#[test]
fn get_r_survives_a_huge_announced_size() {
    huge_size(By::GetR);
}

#[test]
fn mirror_refuses_dotdot_names() {
    dotdot(By::Mirror);
}

#[test]
fn mirror_refuses_dotdot_names_with_jobs() {
    dotdot_with(By::Mirror, &["--jobs", "4"]);
}

#[test]
fn mirror_never_follows_a_planted_symlink_out_with_jobs() {
    planted_symlink_with(By::Mirror, &["--jobs", "4"]);
}

#[test]
fn mirror_refuses_absolute_names() {
    absolute(By::Mirror);
}

#[test]
fn mirror_refuses_control_characters() {
    control(By::Mirror);
}

#[test]
fn mirror_never_follows_a_planted_symlink_out() {
    planted_symlink(By::Mirror);
}

#[test]
fn mirror_bounds_what_a_listing_creates() {
    flood(By::Mirror);
}

#[test]
fn mirror_downloads_a_repeated_name_once() {
    repeated(By::Mirror);
}

#[test]
fn mirror_stops_a_download_longer_than_announced() {
    longer_than_announced(By::Mirror);
}

#[test]
fn mirror_survives_a_huge_announced_size() {
    huge_size(By::Mirror);
}

/// `mirror --delete` removes what the source does not list; lying
/// directories (`../canary`, `..`, an absolute path to the canary) must not
/// make it prune outside the target.
#[test]
fn mirror_delete_never_prunes_outside_the_target() {
    let mut a = Arena::new("mirror_delete");
    fs::create_dir_all(a.dst.join("tree")).unwrap();
    fs::write(a.dst.join("stale"), b"may go\n").unwrap();
    a.seal();
    let liar = Liar::start(
        tree()
            .lie(Lie::dir("tree", "../canary"))
            .lie(Lie::dir("tree", "../../canary"))
            .lie(Lie::dir("tree", ".."))
            .lie(Lie::dir("tree", a.canary.as_os_str().as_bytes())),
    );
    attack(By::Mirror, &a, &liar, &["--delete"], "--delete and lying directories");
}
