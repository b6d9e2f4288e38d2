//! The `archive` case of `benches/wan.rs` (issue 61), in two parts:
//! - faithfulness over the link: the tree of the issue's "done when"
//!   ([`build`]) is copied up by `tf put -r -a` and `tf mirror -R --owner`
//!   (up, tf keeps owners only when asked), down by `tf get -r -a` and `tf
//!   mirror`, each to a fresh destination, and by `rsync -a` the same way;
//!   every entry of each tf copy is compared with rsync's by `lstat` (type,
//!   mode, mtime to the ns, size, link target, owner) and its bytes'
//!   SHA-256. Then each command runs again: tf's must say it transferred
//!   nothing and leave every entry of its copy as it was (ctime and inode
//!   included); the bytes that second run put on the link are reported. Any
//!   difference is a failure of the bench, named by entry and field, and
//!   makes it exit nonzero: not a missed target.
//! - the cost of `-a`: the `tree` case's tree, `tf put -r -a` against `tf
//!   put -r` and `tf get -r -a` against `tf get -r` in the same rounds, each
//!   round in a new directory; the median of the per-round ratios (target
//!   at most 1.05, reported).

use super::bed::{p, Bed};
use super::cases::fresh_contender;
use super::contest::{alternate, Case, Contender, Stats};
use super::faithful::{build, differences, seen, Entry};
use super::options::Profile;
use super::settle::clear_tree;
use crate::support::race::{median, Tree, MIB};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The most a copy of `-a` may cost over the same copy without it.
const COST_TARGET: f64 = 1.05;

/// What the case found over the run, told after the reports.
struct Findings {
    /// Commands whose copy was not rsync's, or whose second run changed it.
    failures: usize,
    lines: Vec<String>,
    keys: String,
}

static FOUND: Mutex<Findings> = Mutex::new(Findings {
    failures: 0,
    lines: Vec::new(),
    keys: String::new(),
});

fn found() -> MutexGuard<'static, Findings> {
    FOUND.lock().unwrap_or_else(|p| p.into_inner())
}

/// After the reports: the case's summary lines and its keys (`kv`); returns
/// how many of tf's copies were not faithful (0 when the case did not run).
pub(crate) fn summary(kv: &mut String) -> usize {
    let f = found();
    if f.lines.is_empty() {
        return 0;
    }
    println!();
    println!("archive (issue 61: faithful copies over the link; -a ÷ plain, target ≤ {COST_TARGET}):");
    for l in &f.lines {
        println!("  {l}");
    }
    kv.push_str(&f.keys);
    kv.push_str(&format!(" archive_failures={}", f.failures));
    f.failures
}

type Seen = BTreeMap<PathBuf, Entry>;

/// One command of the faithfulness part and where its copy lands.
struct Copy<'a> {
    key: &'static str,
    name: &'static str,
    /// The copy's root, compared entry by entry.
    root: PathBuf,
    /// An empty directory made before the command (put and get land in it).
    into: Option<PathBuf>,
    make: Box<dyn Fn() -> Result<Command, String> + 'a>,
}

impl<'a> Copy<'a> {
    fn contender<'s>(&'s self, is_tf: bool, mut check: impl FnMut(&Path) -> Result<(), String> + 's) -> Contender<'s>
    where
        'a: 's,
    {
        Contender {
            key: self.key,
            name: self.name.to_string(),
            is_tf,
            prepare: Box::new(move || {
                if let Some(d) = &self.into {
                    fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
                }
                (self.make)()
            }),
            check: Box::new(move || check(&self.root)),
        }
    }
}

/// Prints `lines` (the differences `name`'s copy showed), counts them in
/// `count`; an error when there is any.
fn tell(name: &str, lines: Vec<String>, count: &Cell<usize>) -> Result<(), String> {
    if lines.is_empty() {
        return Ok(());
    }
    for l in lines.iter().take(40) {
        println!("    DIFFERENCE {name}: {l}");
    }
    let mut f = found();
    f.lines
        .extend(lines.iter().take(20).map(|l| format!("DIFFERENCE {name}: {l}")));
    count.set(count.get() + lines.len());
    Err(format!("{} difference(s)", lines.len()))
}

/// How many files a tf tree command's summary line says it transferred
/// (`put: N transferred, ...`, `mirror: N transferred, ...`).
fn transferred(out: &str) -> Option<u64> {
    let line = out.lines().find(|l| l.contains(" transferred, "))?;
    line.split(": ").nth(1)?.split(' ').next()?.parse().ok()
}

fn kib(b: u64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

/// One direction: rsync's copy first (the reference), then each tf command's
/// compared with it, then every command again: tf's must move nothing.
fn direction(b: &Bed, pk: &str, way: &str, what: &str, rsync: Copy<'_>, tfs: Vec<Copy<'_>>) -> Vec<Case> {
    let reference: RefCell<Option<Seen>> = RefCell::new(None);
    let before: RefCell<BTreeMap<&str, Seen>> = RefCell::new(BTreeMap::new());
    let (count, changed) = (Cell::new(0), RefCell::new(Vec::new()));
    let (reference, before, count, changed) = (&reference, &before, &count, &changed);
    // one round each, the deadline passed: every command runs once
    let now = Instant::now();
    let mut first = alternate(
        b,
        1,
        now,
        vec![rsync.contender(false, |root| {
            *reference.borrow_mut() = Some(seen(root)?);
            Ok(())
        })],
    );
    let cs = tfs
        .iter()
        .map(|c| {
            c.contender(true, move |root| {
                let copy = seen(root)?;
                let r = reference.borrow();
                let r = r.as_ref().ok_or("no rsync -a copy to compare with")?;
                let d = differences(&copy, "tf", r, "rsync -a", false);
                before.borrow_mut().insert(c.key, copy);
                tell(c.name, d, count)
            })
        })
        .collect();
    first.extend(alternate(b, 1, now, cs));
    let out = b.dir.join("cmd.out");
    let out = &out;
    let mut cs: Vec<Contender> = tfs
        .iter()
        .filter(|c| before.borrow().contains_key(c.key))
        .map(|c| {
            c.contender(true, move |root| {
                let after = seen(root)?;
                let was = before.borrow();
                let was = was.get(c.key).ok_or("no first copy")?;
                let mut d = differences(&after, "after", was, "before", true);
                match transferred(&fs::read_to_string(out).unwrap_or_default()) {
                    Some(0) => {}
                    Some(n) => d.push(format!("the second run transferred {n} file(s)")),
                    None => d.push("the second run printed no summary line".into()),
                }
                // told and counted, but the run keeps its time and bytes
                if tell(&format!("{} (2nd run)", c.name), d, count).is_err() {
                    changed.borrow_mut().push(c.key);
                }
                Ok(())
            })
        })
        .collect();
    if reference.borrow().is_some() {
        cs.push(rsync.contender(false, |_| Ok(())));
    }
    let again = alternate(b, 1, now, cs);
    let mut f = found();
    let failed = first.iter().chain(&again).filter(|s| s.failed.is_some()).count() + changed.borrow().len();
    f.failures += failed;
    f.keys.push_str(&format!(
        " {pk}_archive_{way}_failed={failed} {pk}_archive_{way}_differences={}",
        count.get()
    ));
    for s in first.iter().filter(|s| s.is_tf) {
        let second = again.iter().find(|a| a.key == s.key && a.failed.is_none());
        let copy = if s.failed.is_none() {
            "the same as rsync -a's"
        } else {
            "FAILED (above)"
        };
        let again = match second.and_then(|a| a.wire.first()) {
            None => "no second run".to_string(),
            Some(w) => format!(
                "the second run {} ({} up, {} down)",
                if changed.borrow().contains(&s.key) {
                    "CHANGED it (above)"
                } else {
                    "moved nothing"
                },
                kib(w.up),
                kib(w.down)
            ),
        };
        f.lines.push(format!("{pk} {way}, {}: {copy}; {again}", s.name));
    }
    drop(f);
    let case = |key: &str, what: String, stats: Vec<Stats>| Case {
        key: format!("{key}_{way}"),
        what,
        payload: None,
        stats,
    };
    vec![
        case("archive", format!("archive {what}, {way}"), first),
        case("archive_again", format!("archive, 2nd run, {way}"), again),
    ]
}

/// The biggest file's size: the archive size (300 MiB unless `--big-mib`
/// or `--quick` say otherwise) where each of its six copies (rsync's and
/// tf's, both ways) should take under half of `--limit` and all of them a
/// third of the budget left, at 60% of the link's rate or, with loss, of
/// what one TCP stream gets (Mathis: 1.22 MSS ÷ (RTT √loss)); else the
/// `big` case's size.
fn big_mib(b: &Bed, profile: &Profile, deadline: Instant) -> u64 {
    let (want, fallback) = (b.o.sizes.archive_mib, b.o.sizes.big_mib);
    let mut bps = profile.rate * 1e6 * 0.6;
    if profile.loss > 0.0 && profile.rtt > 0.0 {
        bps = bps.min(1.22 * 1448.0 * 8.0 / (profile.rtt / 1000.0 * (profile.loss / 100.0).sqrt()));
    }
    let one = (want * MIB) as f64 * 8.0 / bps;
    let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
    if want > fallback && (one > b.limit.as_secs_f64() / 2.0 || 6.0 * one > left / 3.0) {
        println!("  [archive] a {want} MiB file would not fit the limits here ({one:.0} s a copy): {fallback} MiB");
        fallback
    } else {
        want
    }
}

/// The case: faithfulness up and down, then the cost of `-a`.
pub(crate) fn case_archive(b: &Bed, deadline: Instant, profile: &Profile) -> Result<Vec<Case>, String> {
    let pk = &profile.key();
    let mib = big_mib(b, profile, deadline);
    let data = b.data();
    let (local, remote) = (b.dir.join("asrc"), data.join("asrc"));
    let n = build(&local, mib)?;
    nix::unistd::sync();
    let what = format!("tree of {n} entries, 0 B to {mib} MiB");
    let l = &p(&local);
    println!("  [archive] {what} up: rsync -a, tf put -r -a, tf mirror -R --owner, then each again ...");
    let rs = data.join("a-rsync");
    let rsync = Copy {
        key: "rsync",
        name: "rsync -a",
        root: rs.clone(),
        into: None,
        make: Box::new(|| Ok(b.rsync(format!("{l}/"), format!("{}/", b.remote(&rs))))),
    };
    let put = Copy {
        key: "tfput",
        name: "tf put -r -a",
        root: data.join("a-put/asrc"),
        into: Some(data.join("a-put")),
        make: Box::new(|| b.tf(&["put", "-r", "-a", l, "a-put"])),
    };
    let mirror = Copy {
        key: "tfmirror",
        name: "tf mirror -R --owner",
        root: data.join("a-mirror"),
        into: None,
        make: Box::new(|| b.tf(&["mirror", "-R", "--owner", l, "a-mirror"])),
    };
    let mut out = direction(b, pk, "up", &what, rsync, vec![put, mirror]);
    for d in ["a-rsync", "a-put", "a-mirror"] {
        clear_tree(&data.join(d));
    }
    clear_tree(&local);
    build(&remote, mib)?;
    nix::unistd::sync();
    println!("  [archive] {what} down: rsync -a, tf get -r -a, tf mirror, then each again ...");
    let (rd, gd, md) = (b.dir.join("a-rsync"), b.dir.join("a-get"), b.dir.join("a-mirror"));
    let rsync = Copy {
        key: "rsync",
        name: "rsync -a",
        root: rd.clone(),
        into: None,
        make: Box::new(|| Ok(b.rsync(format!("{}/", b.remote(&remote)), format!("{}/", rd.display())))),
    };
    let get = Copy {
        key: "tfget",
        name: "tf get -r -a",
        root: gd.join("asrc"),
        into: Some(gd.clone()),
        make: Box::new(|| b.tf(&["get", "-r", "-a", "asrc", &p(&gd)])),
    };
    let mirror = Copy {
        key: "tfmirror",
        name: "tf mirror",
        root: md.clone(),
        into: None,
        make: Box::new(|| b.tf(&["mirror", "asrc", &p(&md)])),
    };
    out.extend(direction(b, pk, "down", &what, rsync, vec![get, mirror]));
    for d in [&rd, &gd, &md, &remote] {
        clear_tree(d);
    }
    if Instant::now() < deadline {
        out.extend(cost(b, deadline, pk)?);
    } else {
        println!("  [archive] no time left for the cost of -a");
    }
    Ok(out)
}

/// The median over the rounds of the second contender's time ÷ the first's.
fn ratio(stats: &[Stats]) -> Option<f64> {
    let (plain, a) = (stats.first()?, stats.get(1)?);
    let n = plain.times.len().min(a.times.len());
    median((0..n).map(|i| a.times[i] / plain.times[i]).collect())
}

/// What `-a` costs: the `tree` case's tree up and down with and without it,
/// alternately, each round landing in a new directory.
fn cost(b: &Bed, deadline: Instant, pk: &str) -> Result<Vec<Case>, String> {
    let (files, dirs, size) = b.o.sizes.tree;
    let tree = Tree::spec(files, dirs, |_| size);
    let tree = &tree;
    let local = b.dir.join("acost-src");
    tree.make(&local)?;
    let data = b.data();
    let what = format!("{files} × {} KiB, -a ÷ plain", size >> 10);
    let ck = move |p: &Path| tree.check(p).map(|_| ());
    let name = |to: &Path| {
        to.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let l = &p(&local);
    let kept = &RefCell::new(Vec::new());
    println!("  [archive] {what}, up: tf put -r, tf put -r -a ...");
    let up = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            fresh_contender("tf", "tf put -r", true, data.join("acost-tf"), kept, ck, |to| {
                b.tf(&["put", "-r", &format!("{l}/"), &name(to)])
            }),
            fresh_contender("tfa", "tf put -r -a", false, data.join("acost-tfa"), kept, ck, |to| {
                b.tf(&["put", "-r", "-a", &format!("{l}/"), &name(to)])
            }),
        ],
    );
    let src = data.join("acost-src");
    tree.make(&src)?;
    nix::unistd::sync();
    println!("  [archive] {what}, down: tf get -r, tf get -r -a ...");
    let d = &b.dir;
    let down = alternate(
        b,
        b.o.rounds,
        deadline,
        vec![
            fresh_contender("tf", "tf get -r", true, d.join("acost-tf"), kept, ck, |to| {
                b.tf(&["get", "-r", "acost-src/", &p(to)])
            }),
            fresh_contender("tfa", "tf get -r -a", false, d.join("acost-tfa"), kept, ck, |to| {
                b.tf(&["get", "-r", "-a", "acost-src/", &p(to)])
            }),
        ],
    );
    for d in kept.borrow().iter().chain([&src, &local]) {
        clear_tree(d);
    }
    let mut f = found();
    for (way, stats) in [("up", &up), ("down", &down)] {
        let line = match ratio(stats) {
            Some(r) => {
                let met = r <= COST_TARGET;
                f.keys.push_str(&format!(
                    " {pk}_archive_cost_{way}={r:.3} {pk}_archive_cost_{way}_met={met}"
                ));
                format!(
                    "{pk} {way}, {what}: {r:.3}× (target ≤ {COST_TARGET}: {})",
                    crate::support::met(met)
                )
            }
            None => format!("{pk} {way}, {what}: not measured"),
        };
        println!("  [archive] {line}");
        f.lines.push(line);
    }
    drop(f);
    Ok(vec![
        Case {
            key: "archive_cost_up".into(),
            what: format!("{what}, up"),
            payload: None,
            stats: up,
        },
        Case {
            key: "archive_cost_down".into(),
            what: format!("{what}, down"),
            payload: None,
            stats: down,
        },
    ])
}
