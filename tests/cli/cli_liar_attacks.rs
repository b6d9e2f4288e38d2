//! `tf get -r` and `tf mirror` against a server that lies (issue 26, part 5;
//! the liar of crates/tfd-testkit/src/liar/): listings naming `../x`,
//! `/etc/x`, names with a newline, directories that a planted local symlink
//! leads out of, a flood of entries, a size that lies and a download longer
//! than announced. Each one judges by the disk: everything beside the target
//! (a canary directory, the directories above) must stay byte for byte as it
//! was, and `tf` must refuse (non-zero exit) or at least say what it skipped —
//! whatever its words.

use super::cli_liar::{client, tree};
use crate::output::{stderr, stdout};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Kind, Liar, Lie};
use tfd_testkit::tempdir;
use tfp_client::replies::Split as _;

const CANARY: &[u8] = b"the canary: nothing from the server may touch this\n";

const PWNED: &[u8] = b"PWNED: a lying name was trusted\n";

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
