//! `-H`: the names of one file within the copied tree arrive as names of
//! one file, as `rsync -H` makes them. The names that share an inode on the
//! source side are a group; its first name (in byte order) crosses as any
//! file does, once, and each other name is then made a hard link to it on
//! the receiving side: up with tfd's `TFDLINK`, down with `linkat` here. A
//! name that holds something already gets the link at a fresh name beside
//! it, renamed over it, so the name holds the old file or the new link at
//! every instant, and no file is ever written into: a name replaced leaves
//! the other names of its old file as they were.
//!
//! A name already a name of its first's file there (the listing's `h=`, a
//! local scan's inode), whose first does not change, is left alone: a second
//! run makes no link.

use super::super::sync::{Plan, Side};
use super::report::Summary;
use crate::engine::events::Tally;
use crate::engine::landing::Landing;
use crate::remote::listing::{self, Kind};
use crate::remote::pipeline::pipelined;
use crate::tree::names::{self, rjoin};
use crate::tree::sync::Meta;
use crate::{Client, Error};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use tfd_sys as sys;
use tfp_wire::link::Link;
use tfp_wire::Status;

/// A name to make a link to its group's first name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pair {
    /// The group's first name: the one whose data crosses.
    pub first: Vec<u8>,
    /// The name made a link to it.
    pub other: Vec<u8>,
    /// Whether the first is copied in this run (its copy must land before
    /// the link is made to it; one that failed leaves its names alone).
    pub moved: bool,
}

/// Whether a listing says which file each name is: its top (`.`) says its
/// own inode where the server says them (an older tfd does not, nor the
/// reference server's listings).
fn said(top: Option<&Meta>) -> bool {
    top.and_then(|m| m.facts.as_ref()?.inode).is_some()
}

/// Tells once that `-H` met a server that does not say or make hard links:
/// the copy went on, each name a file of its own.
pub(super) fn unkept(t: &Tally<'_>) {
    t.note(format!(
        "{}: the server does not say or make tfd hard links: not kept: the hard links (-H); each name was copied as a file of its own",
        t.verb
    ));
}

/// The links a copy from `src` to `dst` makes ([`plan`]) where `on` (`-H`)
/// and the server says which file each name is (its listing's `top`; a
/// destination not there yet, `fresh`, is listed by none); told once where
/// it does not.
pub(super) fn wanted(
    on: bool,
    (fresh, top): (bool, Option<&Meta>),
    p: &mut Plan,
    (src, dst): (&Side, &Side),
    t: &Tally<'_>,
) -> Vec<Pair> {
    match (on, fresh || said(top)) {
        (false, _) => Vec::new(),
        (true, false) => {
            unkept(t);
            Vec::new()
        }
        (true, true) => plan(p, src, dst),
    }
}

/// The top's facts for the last step: none where a link is made in the top
/// (which moves its mtime), so that step sets them again.
pub(super) fn top_after(top: Option<&Meta>, pairs: &[Pair]) -> Option<Meta> {
    top.filter(|_| pairs.iter().all(|x| x.other.contains(&b'/'))).cloned()
}

/// The file (device, inode) `m` is where its side says it.
fn inode(m: &Meta) -> Option<(u64, u64)> {
    (m.kind == Kind::File).then_some(m.facts.as_ref()?.inode).flatten()
}

/// The names of `side` that share a file, each group in byte order.
fn groups(side: &Side) -> Vec<Vec<&Vec<u8>>> {
    let mut by: BTreeMap<(u64, u64), Vec<&Vec<u8>>> = BTreeMap::new();
    for (rel, m) in side {
        if let Some(i) = inode(m) {
            by.entry(i).or_default().push(rel);
        }
    }
    by.into_values().filter(|g| g.len() > 1).collect()
}

/// The links a copy from `src` to `dst` makes: every name of a group but
/// its first, unless it is a name of the first's file on `dst` already and
/// that first stays. Those names leave `p`'s copies and attribute changes
/// (their file's are its first's): their data does not cross.
pub(super) fn plan(p: &mut Plan, src: &Side, dst: &Side) -> Vec<Pair> {
    let copied: HashSet<&Vec<u8>> = p.copy.iter().collect();
    let there = |rel: &Vec<u8>| dst.get(rel).and_then(inode);
    let mut pairs = Vec::new();
    for g in groups(src) {
        let Some((first, rest)) = g.split_first() else {
            continue;
        };
        let moved = copied.contains(first);
        let first_there = there(first);
        for other in rest {
            let linked = !moved && first_there.is_some() && there(other) == first_there;
            if !linked {
                pairs.push(Pair {
                    first: (*first).clone(),
                    other: (*other).clone(),
                    moved,
                });
            }
        }
    }
    let others: HashSet<Vec<u8>> = pairs.iter().map(|x| x.other.clone()).collect();
    p.copy.retain(|r| !others.contains(r));
    p.attrs.retain(|r| !others.contains(r));
    // a link made moves its directory's mtime: set again after it
    let mut dirs: BTreeSet<Vec<u8>> = std::mem::take(&mut p.dirs).into_iter().collect();
    for x in &pairs {
        if let Some(at) = x.other.iter().rposition(|&b| b == b'/') {
            dirs.extend(
                src.get(&x.other[..at])
                    .filter(|m| m.kind == Kind::Dir)
                    .map(|_| x.other[..at].to_vec()),
            );
        }
    }
    p.dirs = dirs.into_iter().rev().collect();
    pairs
}

/// Leaves out the pairs whose first was to be copied when some copy of the
/// run failed: that first may hold its old data, which its names must not
/// get. Told as failed, one line each; the names stay as they were.
fn after_failures(pairs: Vec<Pair>, failed: bool, t: &mut Tally<'_>) -> Vec<Pair> {
    if !failed {
        return pairs;
    }
    let (kept, left): (Vec<Pair>, Vec<Pair>) = pairs.into_iter().partition(|x| !x.moved);
    for x in left {
        t.local(format!(
            "{}: {}: not linked: the copy of {}, another name of its file, did not complete this run",
            t.verb,
            names::shown(&x.other),
            names::shown(&x.first)
        ));
    }
    kept
}

/// A fresh name beside `rel`, in its directory: where a link is made before
/// it is renamed over `rel`.
fn beside(rel: &[u8], i: usize) -> Vec<u8> {
    let name = format!(".tf-link-{}-{i}", std::process::id());
    match rel.iter().rposition(|&b| b == b'/') {
        Some(at) => [&rel[..=at], name.as_bytes()].concat(),
        None => name.into_bytes(),
    }
}

/// Makes each pair's other name below `dst` on the server a link to its
/// first, pipelined: `TFDLINK` to a fresh name beside it renamed over it
/// (`RENAM` replaces), or straight to the name where `theirs` had nothing.
/// `failed`: some copy of the run did not land ([`after_failures`]).
/// Returns the links made and the names that could not be linked (a server
/// without `TFDLINK`, a refusal), which the caller sends as files.
pub(super) fn up(
    c: &mut Client,
    dst: &[u8],
    (pairs, failed): (Vec<Pair>, bool),
    theirs: &Side,
    t: &mut Tally<'_>,
) -> Result<(usize, Vec<Vec<u8>>), Error> {
    let pairs = after_failures(pairs, failed, t);
    let mut unlinked = Vec::new();
    let mut asked = Vec::new();
    for (i, x) in pairs.iter().enumerate() {
        let at = if theirs.contains_key(&x.other) {
            Some(beside(&x.other, i))
        } else {
            None
        };
        let link = Link {
            existing: rjoin(dst, &x.first),
            new: rjoin(dst, at.as_deref().unwrap_or(&x.other)),
        };
        match link.encode() {
            Some(arg) => asked.push((x, at, arg)),
            None => unlinked.push(x.other.clone()),
        }
    }
    let args: Vec<Vec<u8>> = asked.iter().map(|(_, _, a)| a.clone()).collect();
    let answers = pipelined(c, tfp_wire::link::COMMAND, &args)?;
    let (mut made, mut moves, mut unknown) = (0, Vec::new(), false);
    for ((x, at, _), st) in asked.into_iter().zip(answers) {
        match (st, at) {
            (Status::Ok(_), None) => made += 1,
            (Status::Ok(_), Some(at)) => moves.push((x, at)),
            (Status::Unknown, _) => {
                unknown = true;
                unlinked.push(x.other.clone());
            }
            (st, _) => {
                t.note(format!(
                    "{}: {}: not linked ({}): sent as a file of its own",
                    t.verb,
                    names::shown(&rjoin(dst, &x.other)),
                    listing::status_text(&st)
                ));
                unlinked.push(x.other.clone());
            }
        }
    }
    let renames: Vec<Vec<u8>> = moves
        .iter()
        .map(|(x, at)| [&rjoin(dst, at)[..], b" | ", &rjoin(dst, &x.other)[..]].concat())
        .collect();
    let answers = pipelined(c, "RENAM", &renames)?;
    let mut stray = Vec::new();
    for ((x, at), st) in moves.into_iter().zip(answers) {
        match st {
            Status::Ok(_) => made += 1,
            st => {
                t.note(format!(
                    "{}: {}: not linked ({}): sent as a file of its own",
                    t.verb,
                    names::shown(&rjoin(dst, &x.other)),
                    listing::status_text(&st)
                ));
                stray.push(rjoin(dst, &at));
                unlinked.push(x.other.clone());
            }
        }
    }
    pipelined(c, "DELE", &stray)?;
    if unknown {
        unkept(t);
    }
    Ok((made, unlinked))
}

/// A name as the system takes it.
fn cname(name: &[u8]) -> std::io::Result<CString> {
    CString::new(name).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the name"))
}

/// Makes `x.other` a link to `x.first` in the landing, no symlink followed:
/// linked at a fresh name in the other's directory, then renamed over it.
/// False when it already was one.
fn link_here(land: &Landing, x: &Pair, i: usize) -> std::io::Result<bool> {
    let (fdir, fname, _) = land.parent_of(&x.first)?;
    let (odir, oname, _) = land.parent_of(&x.other)?;
    let (fname, oname) = (cname(fname)?, cname(oname)?);
    let first = sys::fstatat(fdir.as_fd(), &fname, false)?;
    if first.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(std::io::Error::other("its first name is not a file here"));
    }
    let same = |st: &libc::stat| (st.st_dev, st.st_ino) == (first.st_dev, first.st_ino);
    if sys::fstatat(odir.as_fd(), &oname, false).is_ok_and(|st| same(&st)) {
        return Ok(false);
    }
    let at = cname(&beside(b"", i))?;
    // an interrupt between the link and its rename removes the fresh name
    // (the signal thread's temporaries), never the file's other names
    let tmp = land.path().join(std::ffi::OsStr::from_bytes(&beside(&x.other, i)));
    crate::temporaries::remember(&tmp);
    let linked = sys::linkat(fdir.as_fd(), &fname, odir.as_fd(), &at);
    if let Err(e) = linked {
        crate::temporaries::forget(&tmp);
        return Err(e);
    }
    let made = sys::fstatat(odir.as_fd(), &at, false);
    let r = match made {
        Ok(st) if same(&st) => sys::renameat2(odir.as_fd(), &at, odir.as_fd(), &oname, false),
        Ok(_) => Err(std::io::Error::other("the first name changed while it was linked")),
        Err(e) => Err(e),
    };
    if r.is_err() {
        let _ = sys::unlinkat(odir.as_fd(), &at, false);
    }
    crate::temporaries::forget(&tmp);
    r.map(|()| true)
}

/// Makes each pair's other name in the landing a link to its first, once
/// the copies landed (`failed`: some did not, [`after_failures`]), counting
/// the links made and the names that failed into `n`.
pub(super) fn down(land: &Landing, pairs: Vec<Pair>, failed: bool, n: &mut Summary, t: &mut Tally<'_>) {
    let was = t.failures();
    let pairs = after_failures(pairs, failed, t);
    n.transferred += made_here(land, &pairs, t);
    n.failed += t.failures() - was;
}

/// Makes each pair's other name in the landing a link to its first.
/// Returns the links made; a name that could not be linked is told.
fn made_here(land: &Landing, pairs: &[Pair], t: &mut Tally<'_>) -> usize {
    let mut made = 0;
    for (i, x) in pairs.iter().enumerate() {
        match link_here(land, x, i) {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(e) => t.local(format!(
                "{}: {}: not linked to {}: {e}",
                t.verb,
                crate::escape::path(&land.path().join(std::ffi::OsStr::from_bytes(&x.other))),
                names::shown(&x.first)
            )),
        }
    }
    made
}
