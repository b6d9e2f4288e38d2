//! The download half of [`super::copy`]: `tf get -r` and the Python
//! package's `get_tree`, many remote files (and glob patterns) down over the
//! pool of sessions, with rsync's rule for the destination.
//!
//! A download lands beside its target through [`Landing`] and is renamed
//! over it only when complete, its partial kept (and named in
//! [`Report::kept`]) for [`Options::resume`] to continue; every name the
//! server lists is checked before it is used.

use super::names::{below, rjoin};
use super::options::Options;
use super::{glob, names};
use crate::engine::download::many::{self, Sessions};
use crate::engine::download::one::Partials;
use crate::engine::download::plan::{Dir, File};
use crate::engine::events::{Events, Report, Tally};
use crate::engine::fanout::start_pool;
use crate::engine::landing::Landing;
use crate::engine::upload::DeltaRule;
use crate::remote::glob as remote_glob;
use crate::remote::listing::{self, Kind};
use crate::replies::Split as _;
use crate::{escape, Client, ClientConfig, Error};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The last component of a remote path ("" for the root).
fn last(p: &[u8]) -> &[u8] {
    let p = p.strip_suffix(b"/").unwrap_or(p);
    p.rsplit(|&b| b == b'/').next().unwrap_or(p)
}

/// One file of a download: where it lands (an index into the landings), its
/// path there, and its remote path.
struct Down {
    at: usize,
    rel: Vec<u8>,
    remote: Vec<u8>,
    /// Its directory when a batch makes it ([`Dir`]): an index
    /// into `get`'s directories.
    dir: Option<usize>,
    /// Its size on the server, where the listing said it.
    size: Option<u64>,
    /// Its mtime to the nanosecond, where `-p` or `-a` asked it of a file
    /// source ([`fine_mtime`]).
    mtime: Option<tfp_wire::entry::Mtime>,
}

/// The remote paths `pattern` names ([`remote_glob::expand`]), what cannot
/// be listed or was refused told on the way.
fn expand_remote(c: &mut Client, pattern: &[u8], t: &mut Tally<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let shown = names::shown(pattern);
    let x = match remote_glob::expand(c, pattern) {
        Ok(x) => x,
        Err(e) if listing::session_failed(&e) => return Err(e),
        Err(e) => {
            let (dir, _) = remote_glob::split(pattern);
            t.refused(format!(
                "get: {shown}: listing /{}: {}",
                names::shown(&dir),
                listing::reason(&e)
            ));
            return Ok(Vec::new());
        }
    };
    for (name, why) in &x.refused {
        t.refused(format!(
            "get: {shown}: the server listed \"{}\": {why}; refused",
            names::shown(name)
        ));
    }
    let out: Vec<Vec<u8>> = x
        .matches
        .into_iter()
        .filter(|(_, k)| *k != Kind::Other)
        .map(|(p, _)| p)
        .collect();
    if out.is_empty() {
        t.refused(format!("get: {shown}: no remote file matches"));
    }
    Ok(out)
}

/// What `get` gathers before anything moves: where its files land, the
/// files, and the directories made as their files land (landing, path,
/// the source, for messages).
#[derive(Default)]
struct Gathered {
    landings: Vec<Landing>,
    files: Vec<Down>,
    dirs: Vec<(usize, Vec<u8>, String, u32)>,
    /// The directory sources copied as a mirror copies a tree, where each
    /// lands ([`by_mirror`]), whether its listing was sent ahead, and its
    /// name below the destination as given (or empty).
    trees: Vec<TreeSource>,
    /// A tree's listing may go behind its FSTAT and wait there: a run of
    /// one source, whose session does nothing else in between.
    list_ahead: bool,
}

/// A directory source copied as a mirror copies a tree: its remote path,
/// where it lands, how its listing was sent ahead (if it was), its name
/// below the destination as given.
type TreeSource = (Vec<u8>, PathBuf, Option<crate::remote::zlisting::Asked>, Vec<u8>);

/// Where a run's local destination stands.
struct Here<'a> {
    local: &'a Path,
    is_dir: bool,
}

/// The remote paths `sources` name (a glob pattern what it matches, told
/// on the way when it matches nothing), and whether any was a pattern.
fn remotes_of(c: &mut Client, sources: &[String], t: &mut Tally<'_>) -> Result<(Vec<Vec<u8>>, bool), Error> {
    let mut remotes: Vec<Vec<u8>> = Vec::new();
    let mut patterned = false;
    for s in sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            remotes.extend(expand_remote(c, s.as_bytes(), t)?);
        } else {
            // a trailing `/` stays: it asks for the directory's contents
            remotes.push(glob::unescape(s.as_bytes()));
        }
    }
    Ok((remotes, patterned))
}

/// Downloads `sources` (remote paths; a glob pattern names what it matches)
/// to `dest` here: into it when it is an existing directory (several
/// sources or a pattern need one), as it otherwise. Every name the server
/// lists is checked before it is used and lands only below `dest`.
/// Directories need [`Options::recursive`]. `Err` only when the caller's
/// session failed.
pub fn get(
    c: &mut Client,
    cfg: &ClientConfig,
    sources: &[String],
    dest: &str,
    o: &Options,
    ev: &dyn Events,
) -> Result<Report, Error> {
    let mut t = Tally::new(ev, "get");
    // the run's listings are asked as its data goes (remote::zlisting)
    c.listings = cfg.compress;
    let (remotes, patterned) = remotes_of(c, sources, &mut t)?;
    if remotes.is_empty() {
        return Ok(t.report);
    }
    let local = Path::new(dest);
    let is_dir = local.is_dir();
    // several sources, a pattern or `dest/` want a directory: rsync makes a
    // missing one (its last name only: a missing parent fails the run)
    let made = !is_dir && (remotes.len() > 1 || patterned || dest.ends_with('/'));
    if made {
        let why = if local.symlink_metadata().is_ok() {
            Some(format!(
                "get: {}: not a directory (several sources, a pattern or a trailing / need one)",
                escape::path(local)
            ))
        } else if o.dry_run {
            None
        } else {
            (std::fs::create_dir(local).err()).map(|e| format!("get: {}", crate::error::local_cause(local, &e)))
        };
        if let Some(why) = why {
            t.local(why);
            return Ok(t.report);
        }
    }
    let here = Here {
        local,
        is_dir: is_dir || made,
    };
    let mut g = Gathered {
        list_ahead: remotes.len() == 1,
        ..Gathered::default()
    };
    for src in &remotes {
        if !gather(c, cfg, o, &here, src, &mut g, &mut t)? {
            return Ok(t.report);
        }
    }
    if !o.dry_run {
        fetch_gathered(c, cfg, o, &g, ev, &mut t)?;
    }
    for (src, to, ahead, named) in &g.trees {
        super::archive::down(c, cfg, (src, *ahead, named), to, o, o.keeps.unwrap_or_default(), &mut t)?;
    }
    if o.remove_source {
        let pairs: Vec<_> = (g.files.iter())
            .filter_map(|f| {
                Some((
                    g.landings.get(f.at)?.path().join(std::ffi::OsStr::from_bytes(&f.rel)),
                    f.remote.clone(),
                ))
            })
            .collect();
        super::moves::remove_remote(c, &pairs, &mut t)?;
    }
    Ok(t.report)
}

/// Gathers what the source `src` names into `g`: a file, or a tree's
/// directories and files (listed behind the FSTAT that says it is one).
/// `Ok(false)`: stop the run here (a listing over the bound, whose rest is
/// still on the wire).
fn gather(
    c: &mut Client,
    cfg: &ClientConfig,
    o: &Options,
    here: &Here<'_>,
    src: &[u8],
    g: &mut Gathered,
    t: &mut Tally<'_>,
) -> Result<bool, Error> {
    // rsync's rule: `src/` (or `.`) lands its contents in the destination,
    // `src` lands as a directory of its name there (made when missing)
    let (src, slashed) = match src.strip_suffix(b"/").filter(|d| !d.is_empty()) {
        Some(s) => (s, true),
        None => (src, false),
    };
    let shown = names::shown(src);
    // the tree's sessions open from here, not from the answer that says
    // it is one: they, not the listing, were the last to be ready (a
    // handshake's four round trips and the probe's against the listing's
    // slow start). A source that is no directory waits for them at the
    // end, to end them cleanly.
    if o.recursive {
        start_pool(t, cfg, o.jobs, o.fai, &o.opening);
    }
    // a tree's listing asked behind the FSTAT that says it is one: a round
    // trip less; dropped if it is not
    // an archive copy lists its trees as a mirror does, with every fact
    // (TFDENTRIES), sent behind the FSTAT too where nothing comes between
    let ahead_wanted = o.recursive && !by_mirror(o);
    let (st, ahead, entries_ahead) = if o.recursive && by_mirror(o) && g.list_ahead {
        let (st, sent) = crate::remote::entries::fstat_entries_ahead(c, src)?;
        (st, None, sent)
    } else {
        let (st, ahead) = listing::fstat_listing_ahead(c, src, (ahead_wanted, o.sized))?;
        (st, ahead, None)
    };
    let st = st.split()?;
    if let Some(asked) = entries_ahead.filter(|_| !matches!(&st, Ok(s) if s.kind == Kind::Dir)) {
        crate::remote::entries::drain_list(c, asked)?;
    }
    if let Some(a) = ahead.filter(|_| !matches!(&st, Ok(s) if s.kind == Kind::Dir)) {
        listing::drain_tree_listing(c, a)?;
    }
    let st = match st {
        Ok(st) => st,
        Err(st) => {
            t.refused(format!("get: {shown}: {}", listing::status_text(&st)));
            return Ok(true);
        }
    };
    let name = last(src);
    let into = !(name.is_empty() || o.contents || slashed || name == b".");
    if (here.is_dir || st.kind == Kind::Dir && into) && !name.is_empty() {
        if let Err(why) = names::check(name) {
            t.refused(format!("get: {shown}: its name is {why}; refused"));
            if let Some(a) = ahead.filter(|_| st.kind == Kind::Dir) {
                listing::drain_tree_listing(c, a)?;
            }
            if let Some(asked) = entries_ahead.filter(|_| st.kind == Kind::Dir) {
                crate::remote::entries::drain_list(c, asked)?;
            }
            return Ok(true);
        }
    }
    match st.kind {
        Kind::File => match why_left(o, here, name, &st) {
            Some(why) => t.note(format!("get: {shown}: {why}, skipped")),
            None if o.dry_run || o.itemize => {
                tell_file(here, name, &st, t);
                // a dry run too: where it would land is opened (never made)
                let mtime = fine_mtime(c, o, src)?;
                gather_file(o, here, (name, st.size, mtime), src, g, t)
            }
            None => {
                let mtime = fine_mtime(c, o, src)?;
                gather_file(o, here, (name, st.size, mtime), src, g, t)
            }
        },
        Kind::Dir if !o.recursive => t.local(format!("get: {shown}: is a directory (use get -r)")),
        Kind::Dir if by_mirror(o) => {
            let named = if into { name.to_vec() } else { Vec::new() };
            let to = if into {
                here.local.join(std::ffi::OsStr::from_bytes(name))
            } else {
                here.local.to_path_buf()
            };
            g.trees.push((src.to_vec(), to, entries_ahead, named));
        }
        Kind::Dir => {
            // the tree's sessions open while this one lists (started
            // above unless it was not asked ahead)
            start_pool(t, cfg, o.jobs, o.fai, &o.opening);
            let fresh = !tree_target_exists(here, name, into);
            let Some(land) = tree_landing(c, o, (here, name, into), ahead, t)? else {
                return Ok(true);
            };
            let listed = match ahead {
                Some(a) => listing::recv_tree_listing(c, src, a),
                None => listing::list_tree(c, src),
            };
            let l = match listed {
                Ok(l) => l,
                Err(e) if listing::session_failed(&e) => return Err(e),
                Err(e @ Error::TooBig(_)) => {
                    // the rest of an over-long listing is still on the wire
                    t.refused(format!("get: {shown}: {e}; nothing of it transferred"));
                    return Ok(false);
                }
                Err(e) => {
                    t.refused(format!("get: {shown}: {}", listing::reason(&e)));
                    return Ok(true);
                }
            };
            g.landings.push(land);
            gather_tree(c, o, (src, fresh), l, g, t)?;
        }
        Kind::Other => t.refused(format!("get: {shown}: not a regular file or directory on the server")),
    }
    Ok(true)
}

/// Whether a directory source is copied as a mirror copies a tree
/// ([`super::archive`]): with `-a`, and with `-L`, whose links on the
/// server the mirror's listing follows.
fn by_mirror(o: &Options) -> bool {
    o.by_plan() || o.copy_links
}

/// A file source's mtime to the nanosecond where `-p` or `-a` keep it
/// (TFDSTATID, a round trip of its own; the batch's answer says the second
/// alone): None without them, in a dry run, or where the server has it not.
fn fine_mtime(c: &mut Client, o: &Options, src: &[u8]) -> Result<Option<tfp_wire::entry::Mtime>, Error> {
    if o.dry_run || !(o.preserve || o.keeps.is_some_and(|k| k.attrs)) {
        return Ok(None);
    }
    Ok(match crate::remote::same::state(c, src)? {
        Some(crate::remote::same::State::Id(id)) => Some(tfp_wire::entry::Mtime {
            sec: id.mtime.0,
            nsec: id.mtime.1,
        }),
        _ => None,
    })
}

/// Where the file source `name` lands here.
fn target_of(here: &Here<'_>, name: &[u8]) -> PathBuf {
    if here.is_dir {
        here.local.join(std::ffi::OsStr::from_bytes(name))
    } else {
        here.local.to_path_buf()
    }
}

/// Why `o.select` leaves the file source `name` (the server's `st`) out,
/// if it does: [`super::select::Select::why_left`] against what its target
/// here is, as a single file's `get` judges it.
fn why_left(o: &Options, here: &Here<'_>, name: &[u8], st: &listing::Stat) -> Option<&'static str> {
    use super::select::Fact;
    let ours = o.select.needs_dest().then(|| target_of(here, name)).and_then(|p| {
        let m = std::fs::symlink_metadata(p).ok()?;
        let kind = match m.file_type() {
            f if f.is_file() => Kind::File,
            f if f.is_dir() => Kind::Dir,
            _ => Kind::Other,
        };
        use std::os::unix::fs::MetadataExt;
        Some(Fact {
            kind,
            size: m.len(),
            mtime: m.mtime(),
        })
    });
    o.select.why_left(Fact::file(st.size, st.mtime), ours)
}

/// `-n`/`-i` of a file source: told as an item, compared with what its
/// target here is.
fn tell_file(here: &Here<'_>, name: &[u8], st: &listing::Stat, t: &Tally<'_>) {
    use super::itemize::{file, lstated, stated};
    let target = target_of(here, name);
    let ours = lstated(&target);
    let shown = target.file_name().map_or(name.to_vec(), |n| n.as_bytes().to_vec());
    let theirs = stated(Kind::File, st.size, st.mtime);
    t.ev.item(&file(
        &shown,
        crate::engine::item::Action::Receive,
        &theirs,
        ours.as_ref(),
    ));
}

/// A single file's landing: the directory it goes in.
fn gather_file(
    o: &Options,
    here: &Here<'_>,
    (name, size, mtime): (&[u8], u64, Option<tfp_wire::entry::Mtime>),
    src: &[u8],
    g: &mut Gathered,
    t: &mut Tally<'_>,
) {
    let (dir, rel) = if here.is_dir {
        (here.local.to_path_buf(), name.to_vec())
    } else {
        let parent = match here.local.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file = here
            .local
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        (parent, file)
    };
    match keeping(o, &dir, Landing::open(&dir)) {
        Ok(l) => {
            g.landings.push(l);
            g.files.push(Down {
                at: g.landings.len() - 1,
                rel,
                remote: src.to_vec(),
                dir: None,
                size: Some(size),
                mtime,
            });
        }
        // a dry run into the destination it would make: told, nothing to open
        Err(_) if o.dry_run && !dir.exists() => {}
        Err(e) => t.local(format!("get: {}: {e}", escape::path(&dir))),
    }
}

/// `land` (opened at the destination `dir`) keeping what it replaces as
/// `--backup` asks.
fn keeping(o: &Options, dir: &Path, land: std::io::Result<Landing>) -> std::io::Result<Landing> {
    let backups = o.backup.as_ref().map(|w| w.local(dir)).transpose()?;
    Ok(land?.keeping(backups.map(std::sync::Arc::new)))
}

/// A tree's landing: a directory of its name in the destination (`into`;
/// the destination made first when missing, as rsync makes it), or the
/// destination itself (its contents asked, or a source with no name), made
/// when missing. `None` when it cannot be had (told; what went ahead is
/// read and dropped).
fn tree_landing(
    c: &mut Client,
    o: &Options,
    (here, name, into): (&Here<'_>, &[u8], bool),
    ahead: Option<listing::Ahead>,
    t: &mut Tally<'_>,
) -> Result<Option<Landing>, Error> {
    let local = here.local;
    let made = match here.is_dir {
        true => Ok(()),
        false => std::fs::create_dir(local),
    };
    let target = if into {
        made.and_then(|()| keeping(o, local, Landing::open(local)))
            .and_then(|l| l.create_dir(name).and_then(|()| l.sub(name)))
    } else {
        made.and_then(|()| keeping(o, local, Landing::open(local)))
    };
    match target {
        Ok(l) => Ok(Some(l)),
        Err(e) => {
            t.local(format!("get: {}: {e}", escape::path(local)));
            if let Some(a) = ahead {
                listing::drain_tree_listing(c, a)?;
            }
            Ok(None)
        }
    }
}

/// A listed tree's directories and files, landing in the last of
/// `g.landings`: directories made now, or as their files land where the
/// batches make them ([`many::dirs_as_files_land`]).
fn gather_tree(
    c: &mut Client,
    o: &Options,
    (src, fresh): (&[u8], bool),
    mut l: listing::Listing,
    g: &mut Gathered,
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let shown = names::shown(src);
    let listed: std::collections::HashSet<&[u8]> = l.entries.iter().map(|e| e.rel.as_slice()).collect();
    for p in o.filter.unlisted(|r| listed.contains(r)) {
        let missing = names::shown(&rjoin(src, &p));
        t.refused(format!("get: {missing}: listed in --files-from, not on the server"));
    }
    let kept: Vec<bool> = (l.entries.iter())
        .map(|e| !o.filter.excludes(&e.rel, e.kind == Kind::Dir))
        .collect();
    if l.sizes.len() == kept.len() {
        let mut k = kept.iter();
        l.sizes.retain(|_| k.next().copied().unwrap_or(false));
    } else {
        l.sizes.clear();
    }
    let mut k = kept.iter();
    l.entries.retain(|_| k.next().copied().unwrap_or(false));
    for (n, why) in &l.refused {
        t.refused(format!(
            "get: {shown}: the server listed \"{}\": {why}; skipped",
            names::shown(n)
        ));
    }
    super::unread::told(&l.partial, src, "", t);
    let at = g.landings.len() - 1;
    let lazy = many::dirs_as_files_land(c, o.resume)?;
    let modes = dir_modes(c, o, src, &l)?;
    if let (true, Some(Some(m))) = (fresh, modes.first()) {
        // the tree's own directory, made before its mode was known
        let _ = g.landings[at].set_mode(crate::engine::keep::landing_mode(*m, false));
    }
    let mut dir_modes = modes.iter().skip(1).copied();
    let mut failed: Vec<&[u8]> = Vec::new();
    let mut here: HashMap<&[u8], usize> = HashMap::new();
    for e in &l.entries {
        let mode = match e.kind {
            Kind::Dir => dir_modes.next().flatten().unwrap_or(0o777),
            _ => 0o777,
        };
        match e.kind {
            Kind::Dir if lazy => {
                here.insert(&e.rel, g.dirs.len());
                g.dirs.push((at, e.rel.clone(), shown.clone(), mode));
            }
            Kind::Dir => {
                if let Err(err) = g.landings[at].create_dir_mode(&e.rel, mode) {
                    t.local(format!("get: {shown}: {err}"));
                    failed.push(&e.rel);
                }
            }
            Kind::File => {}
            Kind::Other => t.skipped(format!(
                "get: {}: not a regular file or directory on the server, skipped",
                names::shown(&rjoin(src, &e.rel))
            )),
        }
    }
    for (i, e) in l.entries.iter().enumerate().filter(|(_, e)| e.kind == Kind::File) {
        if failed.iter().any(|d| below(&e.rel, d)) {
            continue;
        }
        let parent = e.rel.iter().rposition(|&b| b == b'/').map(|i| &e.rel[..i]);
        g.files.push(Down {
            at,
            rel: e.rel.clone(),
            remote: rjoin(src, &e.rel),
            dir: parent.and_then(|d| here.get(d).copied()),
            size: l.sizes.get(i).copied(),
            mtime: None,
        });
    }
    Ok(())
}

/// Whether a directory source's landing is there before the run makes it.
fn tree_target_exists(here: &Here<'_>, name: &[u8], into: bool) -> bool {
    if into {
        here.local.join(std::ffi::OsStr::from_bytes(name)).exists()
    } else {
        here.is_dir
    }
}

/// What a tree's new directories are made with, `src` first, then each
/// directory of `l` in order: the source's permission bits with the
/// owner's (so what lands below can be written; less the umask when made),
/// as `cp -r` makes them, asked with TFDMODE (pipelined); empty where the
/// server cannot say (0777 less the umask) or `-p`/`-a` set them anyway.
fn dir_modes(c: &mut Client, o: &Options, src: &[u8], l: &listing::Listing) -> Result<Vec<Option<u32>>, Error> {
    use crate::caps::Ext;
    if !c.caps().has(Ext::Mode) || o.dry_run {
        return Ok(Vec::new());
    }
    let mut asked = vec![src.to_vec()];
    asked.extend((l.entries.iter().filter(|e| e.kind == Kind::Dir)).map(|e| rjoin(src, &e.rel)));
    let answers = crate::remote::pipeline::pipelined(c, tfp_wire::mode::MODE, &asked)?;
    if matches!(answers.first(), Some(tfp_wire::Status::Unknown)) {
        return Err(crate::caps::contradicted(Ext::Mode));
    }
    let mode = |st: &tfp_wire::Status| match st {
        tfp_wire::Status::Ok(d) => tfp_wire::mode::parse(d),
        _ => None,
    };
    Ok(answers.iter().map(|st| mode(st).map(|m| m & 0o777 | 0o700)).collect())
}

/// Hands what was gathered to the engine as one plan.
fn fetch_gathered(
    c: &mut Client,
    cfg: &ClientConfig,
    o: &Options,
    g: &Gathered,
    ev: &dyn Events,
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let landings = &g.landings;
    let made: Vec<Dir<'_>> = g
        .dirs
        .iter()
        .map(|(at, rel, _, mode)| Dir::new(&landings[*at], rel).with_mode(*mode))
        .collect();
    // every directory made (those no file was landed in, and those the
    // engine's files go in), each one that could not be told once
    let mut finish_dirs = |t: &mut Tally<'_>| {
        for (d, (_, _, shown, _)) in made.iter().zip(&g.dirs) {
            if let Err(err) = d.make() {
                t.local(format!("get: {shown}: {err}"));
            }
        }
    };
    let plan: Vec<File<'_>> = g
        .files
        .iter()
        .map(|d| File {
            land: &landings[d.at],
            rel: &d.rel,
            remote: &d.remote,
            keep_mode: o.preserve || o.keeps.is_some_and(|k| k.attrs),
            mtime: d.mtime,
            dir: d.dir.map(|i| &made[i]),
            resume: o.resume && Partials::resumable(&landings[d.at], &d.rel),
            journal: o.resume,
            size: d.size,
            ours: None,
            sparse: cfg.sparse,
        })
        .collect();
    let what = |f: &File<'_>| format!("get: {}", names::shown(f.remote));
    let run = Sessions {
        jobs: o.jobs,
        fai: o.fai,
    };
    many::fetch(c, cfg, run, &plan, DeltaRule::Never, &what, &mut finish_dirs, ev, t)?;
    Ok(())
}
