//! A mirror with nothing changed: tf against rsync.

use super::bed::Bed;
use super::contest::{alternate, Contender, Outcome};
use super::options::{Options, COMMAND_LIMIT, MIRROR_DIRS, MIRROR_FILES};
use crate::support::race::{timed, Failure, Tree};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Mirror outcomes and how many destination files the timed runs replaced.
pub(crate) struct Mirrors {
    pub(crate) up: Outcome,
    pub(crate) down: Outcome,
    pub(crate) replaced: Vec<(&'static str, usize)>,
}

/// A mirror contender: `make` brings `dst` up to date with `tree`; run once
/// (untimed, in `prime`) before the rounds, then timed with nothing changed.
/// Records the most destination files one timed run replaced.
pub(crate) fn mirror_contender<'a>(
    name: &'static str,
    is_tf: bool,
    tree: &'a Tree,
    dst: PathBuf,
    replaced: &'a Cell<usize>,
    make: Box<dyn Fn() -> Result<Command, String> + 'a>,
) -> Contender<'a> {
    let before = std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()));
    let before2 = before.clone();
    let dst2 = dst.clone();
    Contender {
        name,
        is_tf,
        first_only: false,
        prepare: Box::new(move |_| {
            nix::unistd::sync();
            // the copy may sit in DST or, with rsync-like semantics, DST/NAME
            *before.borrow_mut() = Tree::walk(&dst).map(|m| m.into_iter().map(|(p, (_, i))| (p, i)).collect())?;
            make()
        }),
        check: Box::new(move |_| {
            let now = tree.check(&dst2)?;
            let old = before2.borrow();
            let n = now.iter().filter(|(p, i)| old.get(*p) != Some(*i)).count();
            replaced.set(replaced.get().max(n));
            Ok(())
        }),
    }
}

/// Brings a mirror up to date once (untimed) and checks it; a missing tf
/// command is reported as such.
pub(crate) fn prime(
    bed: &Bed,
    name: &str,
    is_tf: bool,
    tree: &Tree,
    dst: &Path,
    mut cmd: Command,
) -> Result<(), Failure> {
    let secs = timed(&mut cmd, &bed.dir, name, is_tf, COMMAND_LIMIT)?;
    println!("    {name}: the first run (everything new) took {secs:.2} s");
    tree.check(dst)
        .map(|_| ())
        .map_err(|e| Failure::Broken(format!("{name} (first run): wrong copy: {e}")))
}

pub(crate) fn phase_mirror(bed: &Bed, o: &Options, deadline: Instant) -> Result<Mirrors, String> {
    let tree = Tree::spec(MIRROR_FILES, MIRROR_DIRS, |i| 1 + (i as u64 * 7919) % 8192);
    println!(
        "  [mirror] {MIRROR_FILES} files ({} KiB in all) in {MIRROR_DIRS} directories, nothing changed, {} round(s): \
         tf mirror -R and rsync -a up, tf mirror and rsync -a down ...",
        tree.total() >> 10,
        o.rounds
    );
    // The sync_uploads no server: nothing is written in the timed runs, and the
    // untimed first upload of 1,000 files need not wait for 1,000 fsyncs.
    let server = &bed.nosync;
    let sd = server.data_dir();
    // One source for all four, in the server's root: uploads read it as a local
    // directory, downloads as a remote one (on loopback both are this machine),
    // and the VM removes files slowly (ext4 with discard: 3 ms each), so each
    // tree made is one fewer to make and remove.
    let local = sd.join("mtree");
    let remote_src = local.clone();
    tree.make(&local)?;
    nix::unistd::sync();
    let counts: Vec<Cell<usize>> = (0..4).map(|_| Cell::new(0)).collect();

    let tf_up_dst = sd.join("mirror-up");
    let rsync_up_dst = sd.join("rsync-up");
    let tf_up = || bed.tf_tree(server, &["mirror", "-R"], &[&local, Path::new("mirror-up")]);
    let rsync_up = || {
        Ok(bed.rsync(
            format!("{}/", local.display()),
            format!("{}/", bed.remote(&rsync_up_dst)),
        ))
    };
    let tf_down_dst = bed.dir.join("mirror-down");
    let rsync_down_dst = bed.dir.join("rsync-down");
    let tf_down = || bed.tf_tree(server, &["mirror"], &[Path::new("mtree"), &tf_down_dst]);
    let rsync_down = || {
        Ok(bed.rsync(
            format!("{}/", bed.remote(&remote_src)),
            format!("{}/", rsync_down_dst.display()),
        ))
    };

    let run = |tf_name: &'static str,
               other_name: &'static str,
               tf_dst: &Path,
               other_dst: &Path,
               tf: &dyn Fn() -> Result<Command, String>,
               other: &dyn Fn() -> Result<Command, String>,
               ci: usize|
     -> Outcome {
        let fail = |i, f| Outcome {
            names: vec![tf_name, other_name],
            times: vec![Vec::new(), Vec::new()],
            failed: Some((i, f)),
        };
        let cmd = match tf() {
            Ok(c) => c,
            Err(e) => return fail(0, Failure::Broken(e)),
        };
        if let Err(f) = prime(bed, tf_name, true, &tree, tf_dst, cmd) {
            return fail(0, f);
        }
        let cmd = match other() {
            Ok(c) => c,
            Err(e) => return fail(1, Failure::Broken(e)),
        };
        if let Err(f) = prime(bed, other_name, false, &tree, other_dst, cmd) {
            return fail(1, f);
        }
        alternate(
            o.rounds,
            deadline,
            &bed.dir,
            vec![
                mirror_contender(tf_name, true, &tree, tf_dst.to_path_buf(), &counts[ci], Box::new(tf)),
                mirror_contender(
                    other_name,
                    false,
                    &tree,
                    other_dst.to_path_buf(),
                    &counts[ci + 1],
                    Box::new(other),
                ),
            ],
        )
    };
    let up = run(
        "tf mirror -R",
        "rsync -a up",
        &tf_up_dst,
        &rsync_up_dst,
        &tf_up,
        &rsync_up,
        0,
    );
    let down = run(
        "tf mirror",
        "rsync -a down",
        &tf_down_dst,
        &rsync_down_dst,
        &tf_down,
        &rsync_down,
        2,
    );
    for d in [&local, &tf_up_dst, &rsync_up_dst, &tf_down_dst, &rsync_down_dst] {
        let _ = fs::remove_dir_all(d);
    }
    // only for the contenders that had a timed run
    let replaced = [&up, &up, &down, &down]
        .iter()
        .zip(["tf mirror -R", "rsync -a up", "tf mirror", "rsync -a down"])
        .zip(&counts)
        .filter(|((o, name), _)| o.times.get(o.index(name)).is_some_and(|t| !t.is_empty()))
        .map(|((_, name), c)| (name, c.get()))
        .collect();
    Ok(Mirrors { up, down, replaced })
}
