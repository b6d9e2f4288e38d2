//! The download half of [`super::copy`]: `tf get -r` and the Python
//! package's `get_tree`, many remote files (and glob patterns) down over the
//! pool of sessions, with `cp -r`'s rules for the destination.
//!
//! A download lands beside its target through [`Landing`] and is renamed
//! over it only when complete, its partial kept (and named in
//! [`Report::kept`]) for [`Options::resume`] to continue; every name the
//! server lists is checked before it is used.

use super::events::{Events, Progress, Report, Tally};
use super::jobs::{below, receive, rjoin, run_pool, start_pool, Done, Options, Partials};
use super::landing::Landing;
use super::listing::{self, Kind};
use super::{batch_down, glob, names, remote_glob};
use crate::engine::beside::Beside;
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
    /// The permission bits to give it once landed (`-p`), when the server
    /// said them.
    mode: Option<u32>,
    /// Its directory when a batch makes it ([`batch_down::Dir`]): an index
    /// into `get`'s directories.
    dir: Option<usize>,
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
    let mut t = Tally::new(ev);
    let mut remotes: Vec<Vec<u8>> = Vec::new();
    let mut patterned = false;
    for s in sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            remotes.extend(expand_remote(c, s.as_bytes(), &mut t)?);
        } else {
            let u = glob::unescape(s.as_bytes());
            remotes.push(u.strip_suffix(b"/").filter(|d| !d.is_empty()).unwrap_or(&u).to_vec());
        }
    }
    if remotes.is_empty() {
        return Ok(t.report);
    }
    let local = Path::new(dest);
    let local_is_dir = local.is_dir();
    if !local_is_dir && (remotes.len() > 1 || patterned || dest.ends_with('/')) {
        t.local(format!(
            "get: {dest}: no such directory (several sources, or a pattern, need an existing directory)"
        ));
        return Ok(t.report);
    }
    let mut landings: Vec<Landing> = Vec::new();
    let mut files: Vec<Down> = Vec::new();
    // directories to make as their files land: landing, path, the source
    let mut dirs: Vec<(usize, Vec<u8>, String)> = Vec::new();
    let probe = (!o.resume).then_some(super::batch_flags::Which::Get);
    let prime: fn(&mut Client) = if o.resume { |_| {} } else { batch_down::prime };
    for src in &remotes {
        let shown = names::shown(src);
        // a tree's listing (and the batch probe) asked behind the FSTAT that
        // says it is one: a round trip less; dropped if it is not
        let (st, ahead) = if o.recursive {
            // the tree's sessions open from here, not from the answer that
            // says it is one: they, not the listing, were the last to be
            // ready (a handshake's four round trips and the probe's against
            // the listing's slow start). A source that is no directory
            // waits for them at the end, to end them cleanly.
            start_pool(&mut t, cfg, o.jobs, o.fai, prime, &o.opening);
            c.chan.tx.hold();
            c.chan.tx.send_frame(&[&b"FSTAT "[..], src].concat())?;
            let ahead = listing::send_tree_listing(c, src, probe)?;
            c.chan.tx.release()?;
            (listing::parse_fstat_answer(&c.chan.rx.recv_frame()?), Some(ahead))
        } else {
            (listing::fstat(c, src), None)
        };
        let st = st.split()?;
        if let Some(a) = ahead.filter(|_| !matches!(&st, Ok(s) if s.kind == Kind::Dir)) {
            listing::drain_tree_listing(c, a)?;
        }
        let st = match st {
            Ok(st) => st,
            Err(st) => {
                t.refused(format!("get: {shown}: {}", listing::status_text(&st)));
                continue;
            }
        };
        let name = last(src);
        if local_is_dir && !name.is_empty() {
            if let Err(why) = names::check(name) {
                t.refused(format!("get: {shown}: its name is {why}; refused"));
                if let Some(a) = ahead.filter(|_| st.kind == Kind::Dir) {
                    listing::drain_tree_listing(c, a)?;
                }
                continue;
            }
        }
        match st.kind {
            Kind::File => {
                // the landing is the directory the file goes in
                let (dir, rel) = if local_is_dir {
                    (local.to_path_buf(), name.to_vec())
                } else {
                    let parent = match local.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                        _ => PathBuf::from("."),
                    };
                    let file = local.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
                    (parent, file)
                };
                match Landing::open(&dir) {
                    Ok(l) => {
                        landings.push(l);
                        files.push(Down {
                            at: landings.len() - 1,
                            rel,
                            remote: src.clone(),
                            mode: None,
                            dir: None,
                        });
                    }
                    Err(e) => t.local(format!("get: {}: {e}", escape::path(&dir))),
                }
            }
            Kind::Dir if !o.recursive => t.local(format!("get: {shown}: is a directory (use get -r)")),
            Kind::Dir => {
                // the tree's sessions open while this one lists (started
                // above unless it was not asked ahead)
                start_pool(&mut t, cfg, o.jobs, o.fai, prime, &o.opening);
                let target = if local_is_dir && !name.is_empty() && !o.contents {
                    Landing::open(local).and_then(|l| l.create_dir(name).and_then(|()| l.sub(name)))
                } else if local_is_dir {
                    Landing::open(local)
                } else {
                    t.ev.making_destination();
                    std::fs::create_dir(local).and_then(|()| Landing::open(local))
                };
                let land = match target {
                    Ok(l) => l,
                    Err(e) => {
                        t.local(format!("get: {}: {e}", escape::path(local)));
                        if let Some(a) = ahead {
                            listing::drain_tree_listing(c, a)?;
                        }
                        continue;
                    }
                };
                let listed = match ahead {
                    Some(a) => listing::recv_tree_listing(c, src, a),
                    None => listing::list_tree(c, src, probe),
                };
                let mut l = match listed {
                    Ok(l) => l,
                    Err(e) if listing::session_failed(&e) => return Err(e),
                    Err(e @ Error::TooBig(_)) => {
                        // the rest of an over-long listing is still on the wire
                        t.refused(format!("get: {shown}: {e}; nothing of it transferred"));
                        return Ok(t.report);
                    }
                    Err(e) => {
                        t.refused(format!("get: {shown}: {}", listing::reason(&e)));
                        continue;
                    }
                };
                l.entries.retain(|e| !o.filter.excludes(&e.rel, e.kind == Kind::Dir));
                for (n, why) in &l.refused {
                    t.refused(format!(
                        "get: {shown}: the server listed \"{}\": {why}; skipped",
                        names::shown(n)
                    ));
                }
                landings.push(land);
                let at = landings.len() - 1;
                // batches make the directories as their files land (the
                // engine's path wants them all first)
                let lazy = !o.resume && batch_down::supported(c)?;
                let mut failed: Vec<&[u8]> = Vec::new();
                let mut here: HashMap<&[u8], usize> = HashMap::new();
                for e in &l.entries {
                    match e.kind {
                        Kind::Dir if lazy => {
                            here.insert(&e.rel, dirs.len());
                            dirs.push((at, e.rel.clone(), shown.clone()));
                        }
                        Kind::Dir => {
                            if let Err(err) = landings[at].create_dir(&e.rel) {
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
                for e in l.entries.iter().filter(|e| e.kind == Kind::File) {
                    if failed.iter().any(|d| below(&e.rel, d)) {
                        continue;
                    }
                    let parent = e.rel.iter().rposition(|&b| b == b'/').map(|i| &e.rel[..i]);
                    files.push(Down {
                        at,
                        rel: e.rel.clone(),
                        remote: rjoin(src, &e.rel),
                        mode: None,
                        dir: parent.and_then(|d| here.get(d).copied()),
                    });
                }
            }
            Kind::Other => t.refused(format!("get: {shown}: not a regular file or directory on the server")),
        }
    }
    let landings = &landings;
    let made: Vec<batch_down::Dir<'_>> = dirs
        .iter()
        .map(|(at, rel, _)| batch_down::Dir::new(&landings[*at], rel))
        .collect();
    // every directory made (those no file was landed in, and those the
    // engine's files go in), each one that could not be told once
    let finish_dirs = |t: &mut Tally<'_>| {
        for (d, (_, _, shown)) in made.iter().zip(&dirs) {
            if let Err(err) = d.make() {
                t.local(format!("get: {shown}: {err}"));
            }
        }
    };
    let what = |d: &Down| format!("get: {}", names::shown(&d.remote));
    let kept = Partials::default();
    let work = |c: &mut Client, d: &Down, p: &Progress| {
        let resume = o.resume && Partials::resumable(&landings[d.at], &d.rel);
        let done = receive(c, cfg, &landings[d.at], &d.rel, &d.remote, resume, p, &kept, ev)?;
        Ok(match (done, d.mode) {
            (Done::Ok, Some(mode)) => match Beside::within(&landings[d.at], &d.rel).and_then(|b| b.set_mode(mode)) {
                Ok(()) => Done::Ok,
                Err(e) => Done::Local(format!("its mode: {e}")),
            },
            (done, _) => done,
        })
    };
    // one exchange per session where the server has batches (a resume
    // needs the engine's journals)
    if !o.resume {
        let wants: Vec<batch_down::Want<'_>> = files
            .iter()
            .map(|d| batch_down::Want {
                land: &landings[d.at],
                rel: &d.rel,
                remote: &d.remote,
                keep_mode: o.preserve,
                dir: d.dir.map(|i| &made[i]),
            })
            .collect();
        let what = |w: &batch_down::Want<'_>| format!("get: {}", names::shown(w.remote));
        let got = batch_down::download(c, cfg, o.jobs, o.fai, &wants, &what, ev, &mut t)?;
        finish_dirs(&mut t);
        if let Some((_, big)) = got {
            // the big files through the engine, resumable
            let mut i = 0;
            files.retain_mut(|d| {
                i += 1;
                match big.binary_search_by_key(&(i - 1), |b| b.0) {
                    Ok(k) => {
                        d.mode = big[k].1;
                        true
                    }
                    Err(_) => false,
                }
            });
            if files.is_empty() {
                return Ok(t.report);
            }
        }
    }
    run_pool(c, cfg, o.jobs, o.fai, &files, &what, &work, &mut t);
    t.report.kept = kept.into_inner();
    Ok(t.report)
}
