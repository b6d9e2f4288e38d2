//! A mirror's remote side: the tree below a directory described as a
//! [`Side`], in one exchange where the server has TFDENTRIES (everything an
//! archive copy keeps) or TFDLIST, else LSR and FSTATs pipelined.

use super::super::names;
use super::super::names::rjoin;
use super::super::names::Refused;
use super::super::sync::{self, Facts, Keeps, Meta, Side};
use super::super::unread;
use crate::engine::events::Tally;
use crate::remote::entries::{self, Entries};
use crate::remote::listing::{self, Kind};
use crate::remote::zlisting::Asked;
use crate::{Client, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tfp_wire::fstat::FileType;

/// The remote side and whether it is whole; `None` when the listing was
/// refused (said so).
pub(super) type Listed = Option<(Side, bool)>;

/// A listing refused as a whole: the session's failure is returned, any
/// other refusal told (the mirror does nothing).
fn refused_whole(e: Error, shown: &str, t: &mut Tally<'_>) -> Result<(), Error> {
    if listing::session_failed(&e) {
        return Err(e);
    }
    t.refused(format!(
        "{}: listing /{shown}: {}; nothing done",
        t.verb,
        listing::clause(&listing::reason(&e))
    ));
    Ok(())
}

/// Tells each name the server listed that was refused; false when there
/// was one (the side is not whole).
fn told_refused(refused: &[(Vec<u8>, Refused)], shown: &str, t: &mut Tally<'_>) -> bool {
    for (n, why) in refused {
        t.refused(format!(
            "{}: /{shown}: the server listed \"{}\": {why}; skipped",
            t.verb,
            names::shown(n)
        ));
    }
    refused.is_empty()
}

/// The remote side below `dir`: with every fact an archive copy keeps
/// where `facts` asks for them and the server says them, else as
/// [`remote_side`] describes it; the directory's own facts with the first.
/// `ahead`: its TFDENTRIES was sent (as this says), and the answer waits.
pub(super) fn listed(
    c: &mut Client,
    dir: &[u8],
    for_upload: bool,
    (facts, ahead): (bool, Option<Asked>),
    t: &mut Tally<'_>,
) -> Result<(Listed, Option<Meta>), Error> {
    if facts || ahead.is_some() {
        if let Ok(x) = archive_side(c, dir, ahead, t)? {
            return Ok(x);
        }
    }
    Ok((remote_side(c, dir, for_upload, t)?, None))
}

/// The remote tree below `dir` with every fact an archive copy keeps
/// (TFDENTRIES), or `Ok(Err(()))` when the server does not say them; the
/// directory's own facts come with it.
fn archive_side(
    c: &mut Client,
    dir: &[u8],
    ahead: Option<Asked>,
    t: &mut Tally<'_>,
) -> Result<Result<(Listed, Option<Meta>), ()>, Error> {
    let shown = names::shown(dir);
    let listed = match ahead {
        Some(asked) => entries::recv_list(c, asked),
        None => entries::list(c, dir),
    };
    let l = match listed {
        Ok(Some(l)) => l,
        Ok(None) => return Ok(Err(())),
        Err(e) => {
            refused_whole(e, &shown, t)?;
            return Ok(Ok((None, None)));
        }
    };
    let Entries {
        root,
        entries,
        refused,
        partial,
    } = l;
    // both told, whichever is not whole
    let whole = told_refused(&refused, &shown, t) & unread::told(&partial, dir, "/", t);
    let mut side = Side::new();
    for e in entries {
        let kind = match e.kind {
            FileType::Dir => Kind::Dir,
            FileType::Regular => Kind::File,
            _ => Kind::Other,
        };
        side.entry(e.rel).or_insert(Meta {
            kind,
            size: if kind == Kind::File { e.size } else { 0 },
            mtime: e.mtime.sec,
            changed: e.changed.unwrap_or(0),
            facts: Some(Facts {
                ft: e.kind,
                mode: e.mode,
                nsec: e.mtime.nsec,
                target: e.target,
                owner: e.owner,
                rdev: e.rdev,
                inode: e.inode,
            }),
        });
    }
    let root = root.map(|r| Meta {
        kind: Kind::Dir,
        size: 0,
        mtime: r.mtime.sec,
        changed: 0,
        facts: Some(Facts {
            ft: r.kind,
            mode: r.mode,
            nsec: r.mtime.nsec,
            target: None,
            owner: r.owner,
            rdev: None,
            inode: r.inode,
        }),
    });
    Ok(Ok((Some((side, whole)), root)))
}

/// The remote tree below `dir`: LSR, then FSTAT of every file, pipelined.
/// `None` when the listing as a whole was refused (said so). The flag is
/// false when it was not whole: names refused, or files FSTAT would not
/// describe. On the side of a download those files are left out; on the side
/// of an upload they count as different, so they are sent again.
pub(super) fn remote_side(
    c: &mut Client,
    dir: &[u8],
    for_upload: bool,
    t: &mut Tally<'_>,
) -> Result<Option<(Side, bool)>, Error> {
    let shown = names::shown(dir);
    // tfd's TFDLIST: the whole side in one exchange
    match listing::list_stat(c, dir) {
        Ok(Some(l)) => return Ok(Some(stat_side(l, dir, t))),
        Ok(None) => {}
        Err(e) => {
            refused_whole(e, &shown, t)?;
            return Ok(None);
        }
    }
    let l = match listing::list(c, dir, true) {
        Ok(l) => l,
        Err(e) => {
            refused_whole(e, &shown, t)?;
            return Ok(None);
        }
    };
    let mut whole = told_refused(&l.refused, &shown, t);
    let mut side = Side::new();
    let mut files: Vec<Vec<u8>> = Vec::new();
    for e in &l.entries {
        // a name listed twice counts once
        if side.contains_key(&e.rel) {
            continue;
        }
        let meta = Meta {
            kind: e.kind,
            size: 0,
            mtime: 0,
            changed: 0,
            facts: None,
        };
        side.insert(e.rel.clone(), meta);
        if e.kind == Kind::File {
            files.push(e.rel.clone());
        }
    }
    let paths: Vec<Vec<u8>> = files.iter().map(|f| rjoin(dir, f)).collect();
    let stats = sync::fstat_all(c, &paths)?;
    for ((rel, path), st) in files.iter().zip(&paths).zip(stats) {
        match st {
            Ok(st) if st.kind == Kind::File => {
                side.insert(rel.clone(), stated(&st));
            }
            other => {
                let why = match other {
                    Ok(_) => "no longer a regular file".to_string(),
                    Err(e) => listing::reason(&e),
                };
                t.refused(format!("{}: /{}: FSTAT: {why}", t.verb, names::shown(path)));
                whole = false;
                if for_upload {
                    side.insert(
                        rel.clone(),
                        Meta {
                            kind: Kind::File,
                            size: u64::MAX,
                            mtime: i64::MIN,
                            changed: 0,
                            facts: None,
                        },
                    );
                } else {
                    side.remove(rel);
                }
            }
        }
    }
    Ok(Some((side, whole)))
}

/// An entry as FSTAT described it: what it is, a file's size, its mtime
/// to the second, no facts.
fn stated(st: &listing::Stat) -> Meta {
    Meta {
        kind: st.kind,
        size: if st.kind == Kind::File { st.size } else { 0 },
        mtime: st.mtime,
        changed: 0,
        facts: None,
    }
}

/// The remote side below `dir` as TFDLIST described it; the flag is false
/// when names were refused or the listing's end says it lacks something.
pub(super) fn stat_side(l: listing::StatListing, dir: &[u8], t: &mut Tally<'_>) -> (Side, bool) {
    let whole = told_refused(&l.refused, &names::shown(dir), t) & unread::told(&l.partial, dir, "/", t);
    let mut side = Side::new();
    for e in l.entries {
        let file = e.entry.kind == Kind::File;
        // a name listed twice counts once
        side.entry(e.entry.rel).or_insert(Meta {
            kind: e.entry.kind,
            size: if file { e.size } else { 0 },
            mtime: if file { e.mtime } else { 0 },
            changed: 0,
            facts: None,
        });
    }
    (side, whole)
}

/// Most rounds of links followed on a remote source (a link met in a tree
/// a link led to is followed in the next round): a loop of links stops
/// here, its last links left as they are.
const MAX_FOLLOW: usize = 16;

/// `-L` on a remote source: each entry of `side` that is neither a file nor
/// a directory (a link) is asked with FSTAT, which tfd answers for a link
/// inside the root by what it names, and taken as that: a file as a file of
/// its size and mtime, a directory as one holding its own tree, listed as
/// the side was. What FSTAT calls neither (a FIFO, a link out of the root,
/// a dangling one) stays as it was listed; a link whose text names a
/// directory above it (a loop) is left out and named. `side` was listed
/// with its facts (the links' texts), which go again unless `keeps` keeps
/// any. False when a directory's listing was refused or not whole (told).
pub(super) fn follow_links(
    c: &mut Client,
    dir: &[u8],
    side: &mut Side,
    keeps: Keeps,
    t: &mut Tally<'_>,
) -> Result<bool, Error> {
    let mut whole = true;
    let mut tried: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
    for _ in 0..MAX_FOLLOW {
        let links: Vec<Vec<u8>> = side
            .iter()
            .filter(|(r, m)| m.kind == Kind::Other && !tried.contains(*r))
            .filter(|(_, m)| m.facts.as_ref().map_or(true, |f| f.ft == FileType::Symlink))
            .map(|(r, _)| r.clone())
            .collect();
        let (loops, links): (Vec<_>, Vec<_>) = links.into_iter().partition(|r| {
            side.get(r)
                .and_then(|m| m.facts.as_ref()?.target.as_deref())
                .is_some_and(|target| sync::names_its_ancestor(r, target))
        });
        for rel in loops {
            side.remove(&rel);
            t.skipped(super::super::walk::skipped(
                t.verb,
                &names::shown(&rel),
                super::super::walk::LOOP,
            ));
        }
        if links.is_empty() || side.len() > super::super::MAX_ENTRIES {
            break;
        }
        let paths: Vec<Vec<u8>> = links.iter().map(|r| rjoin(dir, r)).collect();
        let stats = sync::fstat_all(c, &paths)?;
        for ((rel, path), st) in links.into_iter().zip(&paths).zip(stats) {
            tried.insert(rel.clone());
            match st {
                Ok(st) if st.kind == Kind::File => {
                    side.insert(rel, stated(&st));
                }
                Ok(st) if st.kind == Kind::Dir => {
                    let (listed, top) = listed(c, path, false, (true, None), t)?;
                    let Some((below, all)) = listed else {
                        whole = false;
                        continue;
                    };
                    whole &= all;
                    let top = top.unwrap_or(stated(&st));
                    for (r, m) in below {
                        side.insert(rjoin(&rel, &r), m);
                    }
                    side.insert(rel, top);
                }
                _ => {}
            }
        }
    }
    if keeps == Keeps::default() {
        // the facts were listed for the loops' link texts alone
        for m in side.values_mut() {
            m.facts = None;
            m.changed = 0;
        }
    }
    Ok(whole)
}

/// The local side of an upload below `src`, with what cannot be read told
/// (the bool: whether all of it could) and the names the server cannot
/// store refused here, one line each (what is below such a directory is not
/// told again), before anything is sent. None: `src` could not be read.
pub(super) fn local_side(src: &Path, src_arg: &str, copy_links: bool, t: &mut Tally<'_>) -> Option<(Side, bool)> {
    let (ours, whole) = match sync::scan(src, copy_links) {
        Ok((s, errors)) => {
            let whole = errors.is_empty();
            for (rel, why) in errors {
                t.local(format!(
                    "{}: {}: {why}",
                    t.verb,
                    crate::escape::path(&src.join(OsStr::from_bytes(&rel)))
                ));
            }
            (s, whole)
        }
        Err(e) => {
            t.local(format!("{}: {src_arg}: {e}", t.verb));
            return None;
        }
    };
    // names the server cannot store: refused here, one line each (what is
    // below such a directory is not told again), before anything is sent
    let mut unstorable: Vec<Vec<u8>> = Vec::new();
    let mut ours = ours;
    ours.retain(|rel, _| {
        let Some(why) = names::unstorable(rel) else {
            return true;
        };
        if !unstorable.iter().any(|d| crate::tree::names::below(rel, d)) {
            t.local(format!(
                "{}: {}: {why}; not sent",
                t.verb,
                crate::escape::path(&src.join(OsStr::from_bytes(rel)))
            ));
            unstorable.push(rel.clone());
        }
        false
    });
    Some((ours, whole))
}
