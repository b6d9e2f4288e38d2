//! The backup case of `benches/wan.rs` (issue 69): daily backups with
//! history of a source tree (the machine's Python standard library, as the
//! `pytree` case copies it), 1% of its files changed between days, `tf
//! backup` against `rsync -a --link-dest` and `rsync -az --link-dest` over
//! ssh, each day's run timed (medians of the rounds: a round removes that
//! day's snapshot first, the previous days' stay) and the space each
//! day's snapshot added on the server against the bytes of the changed
//! files.

use super::bed::{p, Bed};
use super::compress::{copy_tree, stdlib, tree_digest};
use super::contest::{alternate, Case, Contender};
use super::settle::clear_tree;
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The backup's name on the tfd side; rsync's days go below [`RSYNC`].
const NAME: &str = "bk";
const RSYNC: &str = "rsbk";
const RSYNCZ: &str = "rsbkz";

/// Every file below `root`, sorted (the files one day changes are picked
/// from it).
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Changes 1% of `all` (at least one file) for `day`: a line appended, so
/// size, contents and mtime change as an edit's do. The bytes of the
/// changed files, after.
fn change(all: &[PathBuf], day: usize) -> Result<u64, String> {
    let n = (all.len() / 100).max(1);
    let step = (all.len() / n).max(1);
    let mut bytes = 0;
    for k in 0..n {
        let f = &all[(day * 7 + k * step) % all.len()];
        let mut w = fs::OpenOptions::new()
            .append(true)
            .open(f)
            .map_err(|e| format!("{}: {e}", f.display()))?;
        writeln!(w, "# changed on day {day}").map_err(|e| e.to_string())?;
        bytes += w.metadata().map_err(|e| e.to_string())?.len();
    }
    Ok(bytes)
}

/// The space the inodes below `dir` hold, each inode once (a file linked
/// into several snapshots counts once, as the disk holds it).
fn used(dir: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(m) = fs::symlink_metadata(&d) else { continue };
        if seen.insert((m.dev(), m.ino())) {
            total += m.blocks() * 512;
        }
        if m.is_dir() {
            stack.extend(fs::read_dir(&d).into_iter().flatten().flatten().map(|e| e.path()));
        }
    }
    total
}

/// The complete snapshots of the tf backup, oldest first.
fn snapshots(top: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(top)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

/// Removes whatever below `top` is not in `keep` (a round's snapshot, an
/// interrupted run's part): the next round starts from the same days.
fn keep_only(top: &Path, keep: &[String]) {
    for e in fs::read_dir(top).into_iter().flatten().flatten() {
        if !keep.iter().any(|k| *k == e.file_name().to_string_lossy()) {
            clear_tree(&e.path());
        }
    }
}

/// An rsync contender of `day`: `rsync -a [extra] --link-dest=../day<d-1>`
/// into `top/day<d>`, checked against `want`.
fn rsync_day<'a>(
    b: &'a Bed,
    key: &'static str,
    extra: &'static [&'static str],
    top: PathBuf,
    day: usize,
    src: &'a str,
    want: &'a str,
) -> Contender<'a> {
    let to = top.join(format!("day{day}"));
    let to2 = to.clone();
    let link = format!("--link-dest=../day{}", day - 1);
    let name = if extra.is_empty() {
        "rsync -a --link-dest"
    } else {
        "rsync -az --link-dest"
    };
    Contender {
        key,
        name: name.into(),
        is_tf: false,
        prepare: Box::new(move || {
            clear_tree(&to);
            let mut opts: Vec<&str> = extra.to_vec();
            opts.push(&link);
            Ok(b.rsync_with(&opts, format!("{src}/"), format!("{}/", b.remote(&to))))
        }),
        check: Box::new(move || match tree_digest(&to2)? {
            h if h == want => Ok(()),
            _ => Err(format!("{}: not the source", to2.display())),
        }),
    }
}

/// Daily backups: the first untimed for each tool, then `days` timed days.
pub(crate) fn case_backup(b: &Bed, deadline: Instant) -> Result<Vec<Case>, String> {
    let local = b.dir.join("bksrc");
    let (nfiles, dirs, bytes) = copy_tree(&stdlib()?, &local, b.o.sizes.pytree_most)?;
    let all = files(&local);
    let l = p(&local);
    let l = l.as_str();
    let data = b.data();
    let (tf_top, rs_top, rsz_top) = (data.join(NAME), data.join(RSYNC), data.join(RSYNCZ));
    let days = if b.o.smoke { 1 } else { 4 };
    let what = format!(
        "backup of the Python stdlib, {nfiles} files in {dirs} directories, {:.1} MB, 1% changed a day",
        bytes as f64 / 1e6
    );
    println!("  [backup] {what}: the first run of each (untimed) ...");
    let first = |mut c: std::process::Command, who: &str| -> Result<(), String> {
        let t = Instant::now();
        let o = c.output().map_err(|e| format!("{who}: {e}"))?;
        if o.status.success() {
            println!("    {who}: {:.2} s", t.elapsed().as_secs_f64());
            Ok(())
        } else {
            Err(format!(
                "{who}'s first run failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
    };
    // the copy wrote every file just now: a file modified within a second
    // before a run began is read again by the next (it could have changed
    // in that second unseen), so a first run started at once would have a
    // day's run re-read the copy's last second; a daily backup meets files
    // older than the run before it
    std::thread::sleep(std::time::Duration::from_secs(2));
    first(b.tf(&["backup", l, NAME])?, "tf backup")?;
    for (top, extra) in [(&rs_top, &[][..]), (&rsz_top, &["-z"][..])] {
        fs::create_dir_all(top).map_err(|e| e.to_string())?;
        let to = top.join("day0");
        let who = if extra.is_empty() { "rsync -a" } else { "rsync -az" };
        first(b.rsync_with(extra, format!("{l}/"), format!("{}/", b.remote(&to))), who)?;
    }
    let mut cases = Vec::new();
    for day in 1..=days {
        let changed = change(&all, day)?;
        let want = tree_digest(&local)?;
        let want = want.as_str();
        let kept = snapshots(&tf_top);
        let before = [used(&tf_top), used(&rs_top)];
        println!("  [backup] day {day}: tf backup, rsync -a --link-dest, rsync -az --link-dest ...");
        let tf_top2 = tf_top.clone();
        let kept2 = kept.clone();
        let tf = Contender {
            key: "tf",
            name: "tf backup".into(),
            is_tf: true,
            prepare: Box::new(move || {
                keep_only(&tf_top2, &kept2);
                b.tf(&["backup", l, NAME])
            }),
            check: Box::new(|| {
                let snaps = snapshots(&tf_top);
                let newest = snaps.last().filter(|s| !kept.contains(s)).ok_or("no new snapshot")?;
                match tree_digest(&tf_top.join(newest).join("tree"))? {
                    h if h == want => Ok(()),
                    _ => Err(format!("{newest}: not the source")),
                }
            }),
        };
        let stats = alternate(
            b,
            b.o.rounds,
            deadline,
            vec![
                tf,
                rsync_day(b, "rsync", &[], rs_top.clone(), day, l, want),
                rsync_day(b, "rsyncz", &["-z"], rsz_top.clone(), day, l, want),
            ],
        );
        let after = [used(&tf_top), used(&rs_top)];
        println!(
            "    day {day}: space added on the server: tf {} bytes, rsync --link-dest {} bytes; the changed \
             files hold {changed} bytes",
            after[0].saturating_sub(before[0]),
            after[1].saturating_sub(before[1])
        );
        cases.push(Case {
            key: format!("backup_day{day}"),
            what: format!("{what}: day {day}"),
            payload: None,
            stats,
        });
    }
    for d in [&tf_top, &rs_top, &rsz_top, &local] {
        clear_tree(d);
    }
    Ok(cases)
}
