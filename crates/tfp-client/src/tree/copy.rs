//! Whole trees and many files (and glob patterns) up and down over a pool of
//! sessions opened once, with rsync's rule for the destination (`src` lands as DEST/src, `src/` its
//! contents in DEST): what
//! `tf put -r` and `tf get -r` run, and the Python package's `put_tree` and
//! `get_tree`.
//!
//! Here are the uploads: the sources walked into a plan (the directories to
//! make, the files with the names they take) that the engine carries out
//! ([`crate::engine::upload::many`]), every file replaced whole or left as
//! it was. The downloads are in [`super::copy_down`], the options both take
//! in [`super::options`].

use super::names::{below, rjoin};
use super::options::Options;
use super::sync::Keeps;
use super::{glob, names, walk};
use crate::engine::events::{Events, Report, Tally};
use crate::engine::fanout::start_pool;
use crate::engine::item::Action;
use crate::engine::partial;
use crate::engine::upload::file::Up;
use crate::engine::upload::many::{self, Dirs};
use crate::remote::listing::{self, Kind};
use crate::replies::Split as _;
use crate::{escape, Client, ClientConfig, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The local paths `sources` name (a glob pattern what it matches, told
/// when it matches nothing; a backslash escapes a wildcard), whether any
/// was a pattern, and those given with a trailing `/` (rsync's `src/`: a
/// directory's contents).
fn locals_of(sources: &[String], t: &mut Tally<'_>) -> (Vec<PathBuf>, bool, Vec<PathBuf>) {
    let mut locals = Vec::new();
    let mut slashed = Vec::new();
    let mut patterned = false;
    for s in sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            match walk::expand(s) {
                Ok(m) if m.is_empty() => t.local(format!("put: {s}: no local file matches")),
                Ok(m) => locals.extend(m),
                Err(e) => t.local(format!("put: {s}: {e}")),
            }
        } else {
            let p = PathBuf::from(OsStr::from_bytes(&glob::unescape(s.as_bytes())));
            if s.ends_with('/') {
                slashed.push(p.clone());
            }
            locals.push(p);
        }
    }
    (locals, patterned, slashed)
}

/// Uploads `sources` (local paths; a glob pattern names what it matches, a
/// backslash escapes a wildcard) to `dest` on the server, each where
/// rsync's rule puts it ([`gather`]; several sources, a pattern or a `dest`
/// ending in `/` need an existing directory). Directories need
/// [`Options::recursive`]; symlinks are skipped.
/// `Err` only when the caller's session failed; each file's failure is told
/// to `ev` and counted in the report.
pub fn put(
    c: &mut Client,
    cfg: &ClientConfig,
    sources: &[String],
    dest: &str,
    o: &Options,
    ev: &dyn Events,
) -> Result<Report, Error> {
    let mut t = Tally::new(ev, "put");
    c.listings = cfg.compress; // its listings go as its data (remote::zlisting)
    let (locals, patterned, slashed) = locals_of(sources, &mut t);
    // a tree's sessions open while this one looks at the destination,
    // walks the sources and makes the directories
    let tree = o.recursive
        && locals
            .iter()
            .any(|l| std::fs::symlink_metadata(l).is_ok_and(|m| m.is_dir()));
    // with --backup the pool opens once the server's setting is known
    if tree && o.backup.is_none() {
        start_pool(&mut t, cfg, o.jobs, o.fai, &o.opening);
    }
    let given = dest;
    let dest = glob::unescape(given.as_bytes());
    let dest = dest
        .strip_suffix(b"/")
        .filter(|d| !d.is_empty())
        .unwrap_or(&dest)
        .to_vec();
    // a tree's batch probe rides with the FSTAT, so the batches, with the
    // directories in front, leave as soon as the tree is walked; with -a
    // the archive probe, and the FSTAT of where a lone directory source
    // would go inside the destination (its copy asks nothing again)
    let (dest_kind, inner, inner_kind) = look(c, o, (&locals, patterned), &dest, tree)?;
    let dest_is_dir = dest_kind == Some(Kind::Dir) || dest.is_empty();
    // several sources, a pattern or `dest/` want a directory: rsync makes a
    // missing one (its last name only: a missing parent fails the run),
    // here first of the directories
    let made = !dest_is_dir && !locals.is_empty() && (locals.len() > 1 || patterned || given.ends_with('/'));
    if made && dest_kind.is_some() {
        t.local(format!(
            "put: {given}: not a directory on the server (several sources, a pattern or a trailing / need one)"
        ));
        return Ok(t.report);
    }
    let d = Dest {
        path: dest,
        is_dir: dest_is_dir || made,
        made,
        kind: dest_kind,
        inner: inner.zip(inner_kind),
    };
    let Gathered {
        mut dirs,
        modes,
        files,
        trees,
    } = gather(o, (&locals, &slashed), &d, &mut t);
    // a file source by the selection (a tree's files are its mirror's)
    let mut files = selected(c, o, files, &t)?;
    refuse_unstorable(&mut dirs, &mut files, &mut t);
    // directories first, parents before children, sent without waiting for
    // each answer (the server answers in order): a tree of many directories
    // costs a round trip per window of them, not per directory (300
    // directories over 50 ms took 15 s one by one), and where the files go
    // in batches no round trip of their own (they ride in front of each
    // batch: [`many::upload`]). A child of a directory that could not be
    // made fails too and is not told again.
    let mut dirs = Dirs {
        make: dirs,
        modes,
        ..Dirs::default()
    };
    send_all(c, cfg, o, (&files, &mut dirs), (&trees, &d.path), &mut t)?;
    Ok(t.report)
}

/// The destination as the run found it: its path (no trailing `/`),
/// whether it is a directory (the served root is), what it is (`None`:
/// nothing there) and, for `-a` of a lone directory source, the path that
/// source would take inside it with what is there. `made`: missing, and
/// made by this run as a directory (`is_dir` then too).
struct Dest {
    path: Vec<u8>,
    is_dir: bool,
    made: bool,
    kind: Option<Kind>,
    inner: Option<(Vec<u8>, Option<Kind>)>,
}

/// What the sources become: the directories to make first (each with its
/// source's mode, which a new one takes less the umask), the files to send
/// with the names they take, and `-a`'s trees, copied by plan.
#[derive(Default)]
struct Gathered {
    dirs: Vec<Vec<u8>>,
    modes: crate::engine::upload::batch::DirModes,
    files: Vec<Up>,
    trees: Vec<ArchiveTree>,
}

/// Each local source's place under rsync's rule: a directory `src` lands as
/// DEST/src (DEST made when missing), `src/` (or `.`, or any with
/// [`Options::contents`]) its contents in DEST; a file goes into DEST when
/// it is a directory, else becomes DEST. What cannot be read is told.
fn gather(o: &Options, (locals, slashed): (&[PathBuf], &[PathBuf]), d: &Dest, t: &mut Tally<'_>) -> Gathered {
    let mut g = Gathered::default();
    if d.made {
        g.dirs.push(d.path.clone());
    }
    for src in locals {
        let shown = escape::path(src);
        let m = match walk::metadata(src, o.copy_links) {
            Ok(m) => m,
            Err(e) => {
                t.local(format!("put: {shown}: {e}"));
                continue;
            }
        };
        let name = src.file_name().map(|n| n.as_bytes().to_vec());
        let ft = m.file_type();
        let contents = o.contents || slashed.contains(src) || name.is_none();
        let into = if ft.is_dir() { !contents } else { d.is_dir };
        let base = match (&name, into) {
            (Some(n), true) => rjoin(&d.path, n),
            _ => d.path.clone(),
        };
        if ft.is_symlink() {
            t.skipped(walk::skipped("put", &shown, walk::not_taken(ft)));
        } else if ft.is_file() {
            g.files.push(Up {
                local: src.clone(),
                remote: base,
                size: Some(m.len()),
                theirs: None,
            });
        } else if !ft.is_dir() {
            t.local(format!("put: {shown}: not a regular file or directory"));
        } else if !o.recursive {
            t.local(format!("put: {shown}: is a directory (use put -r)"));
        } else if o.by_plan() {
            let seen = if base == d.path {
                // one this run makes is asked again once made
                Some(d.kind).filter(|_| !d.path.is_empty() && !d.made)
            } else {
                d.inner.as_ref().filter(|(p, _)| *p == base).map(|(_, k)| *k)
            };
            let named = name.filter(|_| into).unwrap_or_default();
            if into && !d.is_dir && !d.path.is_empty() && !g.dirs.contains(&d.path) {
                // made with the directories, before the tree's copy
                g.dirs.push(d.path.clone());
            }
            g.trees.push((src.clone(), base, seen, named));
        } else {
            walked(o, (src, &m), &base, d, &mut g, t);
        }
    }
    g
}

/// A directory source without a plan: walked, its directories below
/// `base` (DEST made first when the source goes inside a missing one) and
/// its files, with what the walk left out told and an interrupted
/// download's partials skipped.
fn walked(
    o: &Options,
    (src, m): (&Path, &std::fs::Metadata),
    base: &[u8],
    d: &Dest,
    g: &mut Gathered,
    t: &mut Tally<'_>,
) {
    let tree = match walk::walk(src, o.copy_links) {
        Ok(tree) => tree,
        Err(e) => {
            t.local(format!("put: {}: {e}", escape::path(src)));
            return;
        }
    };
    tell_walked(o, src, &tree, t);
    if !d.is_dir && base != d.path && !g.dirs.contains(&d.path) {
        g.dirs.push(d.path.clone());
    }
    if base != d.path || !d.is_dir {
        g.dirs.push(base.to_vec());
        g.modes
            .insert(base.to_vec(), std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    }
    tree_dirs(o, (src, base), &tree, (&mut g.dirs, &mut g.modes));
    for (p, _) in tree
        .files
        .iter()
        .filter(|(p, _)| partial::is_partial_name(p.as_os_str().as_bytes()))
    {
        t.skipped(format!(
            "put: {}: an interrupted download's partial, skipped",
            escape::path(&src.join(p))
        ));
    }
    let kept = |p: &Path| {
        !o.filter.excludes(p.as_os_str().as_bytes(), false) && !partial::is_partial_name(p.as_os_str().as_bytes())
    };
    g.files
        .extend(tree.files.iter().filter(|(p, _)| kept(p)).map(|(p, size)| Up {
            local: src.join(p),
            remote: rjoin(base, p.as_os_str().as_bytes()),
            size: Some(*size),
            theirs: None,
        }));
}

/// The directories of the walked `tree` of `src` that the filter keeps,
/// each with its remote path below `base` and its source's mode (what a
/// new one takes less the server's umask).
fn tree_dirs(
    o: &Options,
    (src, base): (&Path, &[u8]),
    tree: &walk::LocalTree,
    (dirs, modes): (&mut Vec<Vec<u8>>, &mut crate::engine::upload::batch::DirModes),
) {
    use std::os::unix::fs::PermissionsExt;
    for d in tree
        .dirs
        .iter()
        .filter(|d| !o.filter.excludes(d.as_os_str().as_bytes(), true))
    {
        let remote = rjoin(base, d.as_os_str().as_bytes());
        if let Ok(m) = std::fs::metadata(src.join(d)) {
            modes.insert(remote.clone(), m.permissions().mode());
        }
        dirs.push(remote);
    }
}

/// Tells what the walk of `src` left out (links, and, as failures, what
/// could not be read) and the `--files-from` paths it lacks.
fn tell_walked(o: &Options, src: &Path, tree: &walk::LocalTree, t: &mut Tally<'_>) {
    for (p, why) in &tree.skipped {
        t.skipped(walk::skipped("put", &escape::path(&src.join(p)), why));
    }
    for (p, why) in &tree.unread {
        t.local(format!("put: {}: {why}", escape::path(&src.join(p))));
    }
    let walked: std::collections::HashSet<&[u8]> = (tree.dirs.iter())
        .chain(tree.files.iter().map(|f| &f.0))
        .chain(tree.skipped.iter().chain(&tree.unread).map(|s| &s.0))
        .map(|p| p.as_os_str().as_bytes())
        .collect();
    for p in o.filter.unlisted(|r| walked.contains(r)) {
        let shown = escape::path(&src.join(OsStr::from_bytes(&p)));
        t.local(format!("put: {shown}: listed in --files-from, not in the source"));
    }
}

/// The file sources `o.select` moves, each judged by
/// [`super::select::Select::why_left`] as a single file's `put` is (rsync's
/// `--max-size`, `--min-size`, `--update`, `--ignore-existing`,
/// `--existing`) against what the server has at its name, asked in one
/// pipelined FSTAT round where an option needs it; those left are told.
fn selected(c: &mut Client, o: &Options, files: Vec<Up>, t: &Tally<'_>) -> Result<Vec<Up>, Error> {
    use super::select::Fact;
    let s = &o.select;
    if *s == super::select::Select::default() || files.is_empty() {
        return Ok(files);
    }
    let theirs: Vec<Option<Fact>> = if s.needs_dest() {
        let remotes: Vec<Vec<u8>> = files.iter().map(|u| u.remote.clone()).collect();
        (super::sync::fstat_all(c, &remotes)?.into_iter())
            .map(|st| {
                st.ok().map(|st| Fact {
                    kind: st.kind,
                    size: st.size,
                    mtime: st.mtime,
                })
            })
            .collect()
    } else {
        vec![None; files.len()]
    };
    let mut kept = Vec::with_capacity(files.len());
    for (u, theirs) in files.into_iter().zip(theirs) {
        use std::os::unix::fs::MetadataExt;
        let mtime = std::fs::metadata(&u.local).map_or(0, |m| m.mtime());
        match s.why_left(Fact::file(u.size(), mtime), theirs) {
            Some(why) => t.note(format!("put: {}: {why}, skipped", escape::path(&u.local))),
            None => kept.push(u),
        }
    }
    Ok(kept)
}

/// The files and trees sent (the server keeping what they replace as
/// `o.backup` asks, on every session of the run), then, with
/// `--remove-source-files`, the local files whose copies are proven.
fn send_all(
    c: &mut Client,
    cfg: &ClientConfig,
    o: &Options,
    (files, dirs): (&[Up], &mut Dirs),
    (trees, dest): (&[ArchiveTree], &[u8]),
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let own = super::backups::remote_start(c, cfg, o.backup.as_ref(), dest)?;
    let sent = send(c, &own, o, files, dirs, t).and_then(|()| copy_trees(c, &own, o, trees, t));
    super::backups::remote_end(c, o.backup.as_ref());
    sent?;
    if o.remove_source {
        let pairs: Vec<_> = files.iter().map(|u| (u.local.clone(), u.remote.clone())).collect();
        super::moves::remove_local(c, &pairs, t)?;
    }
    Ok(())
}

/// What the destination is (`None` inside: nothing there) and, for `-a`
/// of a lone directory source, where it would go inside it and what is
/// there: one round trip.
#[allow(clippy::type_complexity)]
fn look(
    c: &mut Client,
    o: &Options,
    (locals, patterned): (&[PathBuf], bool),
    dest: &[u8],
    tree: bool,
) -> Result<(Option<Kind>, Option<Vec<u8>>, Option<Option<Kind>>), Error> {
    let inner = match (locals, o.keeps.is_some() && tree && !patterned) {
        ([one], true) => one.file_name().map(|n| rjoin(dest, n.as_bytes())),
        _ => None,
    };
    let (answer, inner_answer) = listing::fstats(c, dest, inner.as_deref())?;
    let kind_of = |a: listing::Answer| -> Result<Option<Kind>, Error> { Ok(a.split()?.ok().map(|st| st.kind)) };
    let dest_kind = kind_of(answer)?;
    let inner_kind = inner_answer.map(kind_of).transpose()?;
    Ok((dest_kind, inner, inner_kind))
}

/// A directory source of `-a`: where it goes, what is there when this
/// run has asked, and its name below the destination as given (or empty).
type ArchiveTree = (PathBuf, Vec<u8>, Option<Option<Kind>>, Vec<u8>);

/// `-a`'s directory sources, each copied to its place on the server as
/// `mirror -R` copies a tree, once the files are sent.
fn copy_trees(
    c: &mut Client,
    cfg: &ClientConfig,
    o: &Options,
    trees: &[ArchiveTree],
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let Some(keeps) = o.keeps.or(o.by_plan().then(Keeps::default)) else {
        return Ok(());
    };
    for (src, base, seen, named) in trees {
        super::archive::up(c, cfg, src, (base, *seen, named), o, keeps, t)?;
    }
    Ok(())
}

/// Sends the walked files and makes the directories, keeping each file's
/// mode and mtime with `-p` or `-a` (with `-a` whole, on a server with
/// archive batches); with `-n` or `-i` the files are told as items first
/// (`-n`: only told).
fn send(
    c: &mut Client,
    cfg: &ClientConfig,
    o: &Options,
    files: &[Up],
    dirs: &mut Dirs,
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    if o.dry_run || o.itemize {
        tell_files(c, files, t)?;
    }
    if o.dry_run {
        return no_parents(c, files, &dirs.make, t);
    }
    let what = |u: &Up| format!("put: {} -> {}", escape::path(&u.local), names::shown(&u.remote));
    use crate::tree::mirror::attrs;
    // -l, -o or --checksum alone keep no mode or mtime (rsync -r's)
    let kept = o.preserve || o.keeps.is_some_and(|k| k.attrs);
    // archive headers carry no "source's mode less the umask": a file
    // source's owner goes with -a (or -p) alone
    let archive = kept && o.keeps.is_some() && !files.is_empty() && attrs::archive_batches(c)?;
    let owner = archive && o.keeps.is_some_and(|k| k.owners) && attrs::may_keep_owners(c)?;
    let keep = crate::engine::upload::Keep {
        mode: kept,
        mtime: kept,
        not_fresh: false,
        archive,
        owner,
        // without -p, a new file takes its source's mode less the
        // server's umask, as cp's does
        new_mode: !kept,
        compress: cfg.compress,
        land: crate::engine::land_attrs::Carry::of(cfg),
    };
    many::upload(c, cfg, o.jobs, o.fai, files, dirs, keep, &what, t)?;
    Ok(())
}

/// `-n`/`-i` of file sources: each told as an item, compared with what
/// the server has (one pipelined FSTAT round for them all).
fn tell_files(c: &mut Client, files: &[Up], t: &Tally<'_>) -> Result<(), Error> {
    if files.is_empty() {
        return Ok(());
    }
    let remotes: Vec<Vec<u8>> = files.iter().map(|u| u.remote.clone()).collect();
    let stats = super::sync::fstat_all(c, &remotes)?;
    for (u, st) in files.iter().zip(stats) {
        let theirs = st.ok().map(|st| super::itemize::stated(st.kind, st.size, st.mtime));
        let ours = std::fs::metadata(&u.local).ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            super::itemize::stated(Kind::File, m.len(), m.mtime())
        });
        let name = u.remote.rsplit(|&b| b == b'/').next().unwrap_or_default();
        if let Some(ours) = ours {
            t.ev.item(&super::itemize::file(name, Action::Send, &ours, theirs.as_ref()));
        }
    }
    Ok(())
}

/// A dry run's check of what a real one would find: each file's remote
/// directory there (or made by the run), else refused as a real upload
/// into it would be.
fn no_parents(c: &mut Client, files: &[Up], made: &[Vec<u8>], t: &mut Tally<'_>) -> Result<(), Error> {
    let mut parents: Vec<Vec<u8>> = files
        .iter()
        .filter_map(|u| {
            u.remote
                .iter()
                .rposition(|&b| b == b'/')
                .map(|i| u.remote[..i].to_vec())
        })
        .filter(|p| !p.is_empty() && !made.contains(p))
        .collect();
    parents.sort();
    parents.dedup();
    if parents.is_empty() {
        return Ok(());
    }
    let stats = super::sync::fstat_all(c, &parents)?;
    for (p, st) in parents.iter().zip(stats) {
        if !matches!(st, Ok(st) if st.kind == Kind::Dir) {
            t.refused(format!("put: {}: no such directory on the server", names::shown(p)));
        }
    }
    Ok(())
}

/// Leaves out the directories and files whose names the server cannot
/// store: refused here, one line each, before anything is sent (a child of
/// such a directory is not told again).
fn refuse_unstorable(dirs: &mut Vec<Vec<u8>>, files: &mut Vec<Up>, t: &mut Tally<'_>) {
    let mut unstorable: Vec<Vec<u8>> = Vec::new();
    let mut refuse = |remote: &[u8], local: &Path, t: &mut Tally<'_>| -> bool {
        let Some(why) = names::unstorable(remote) else {
            return false;
        };
        if !unstorable.iter().any(|d| below(remote, d)) {
            t.local(format!("put: {}: {why}; not sent", escape::path(local)));
            unstorable.push(remote.to_vec());
        }
        true
    };
    dirs.retain(|d| !refuse(d, Path::new(OsStr::from_bytes(d)), t));
    files.retain(|u| !refuse(&u.remote, &u.local, t));
}
