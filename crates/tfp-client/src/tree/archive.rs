//! `put -r -a` and `get -r -a`: each directory source copied as `tf mirror`
//! copies a tree (the same listings, plan, [`Keeps`] and archive batches,
//! [`mirror::run`]), without removing anything: what `rsync -a` makes of
//! it, and a second run moves only what changed. The destination follows
//! [`super::copy`]'s rules (into an existing directory, as it otherwise).

use super::mirror::{self, Ends};
use super::names;
use super::options::Options;
use super::sync::Keeps;
use crate::engine::events::Tally;
use crate::engine::upload::DeltaRule;
use crate::remote::listing::Kind;
use crate::{Client, ClientConfig, Error};
use std::path::Path;

/// The mirror that copies one directory source of a tree run.
fn mirror_options(o: &Options, keeps: Keeps, upload: bool) -> mirror::Options {
    mirror::Options {
        upload,
        delete: false,
        checksum: o.checksum,
        times: o.keeps_times(),
        dry_run: o.dry_run,
        jobs: o.jobs,
        fai: o.fai,
        filter: o.filter.clone(),
        delta: DeltaRule::Auto,
        keeps,
        copy_links: o.copy_links,
        select: o.select.clone(),
        backup: o.backup.clone(),
        remove_source: o.remove_source,
    }
}

/// Copies the local directory `src` to `dst` on the server; the entries
/// made (files, links, FIFOs) are counted as transferred.
/// `seen`: what `dst` is, when the caller asked this run; `named`: the
/// tree's name below the destination as given (the items start with it).
pub(crate) fn up(
    c: &mut Client,
    cfg: &ClientConfig,
    src: &Path,
    (dst, seen, named): (&[u8], Option<Option<Kind>>, &[u8]),
    o: &Options,
    keeps: Keeps,
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let ends = Ends {
        remote: dst.to_vec(),
        local: src.to_path_buf(),
        remote_shown: names::shown(dst),
        local_shown: crate::escape::path(src),
        seen,
        listed_ahead: None,
        named: named.to_vec(),
    };
    run(c, cfg, &ends, &mirror_options(o, keeps, true), t)
}

/// Copies the remote directory `src` (which the caller found to be a
/// directory this run, and whose TFDENTRIES it sent ahead as `ahead` says) to
/// `dst` here, its items named below `named`.
pub(crate) fn down(
    c: &mut Client,
    cfg: &ClientConfig,
    (src, ahead, named): (&[u8], Option<crate::remote::zlisting::Asked>, &[u8]),
    dst: &Path,
    o: &Options,
    keeps: Keeps,
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let ends = Ends {
        remote: src.to_vec(),
        local: dst.to_path_buf(),
        remote_shown: names::shown(src),
        local_shown: crate::escape::path(dst),
        seen: Some(Some(Kind::Dir)),
        listed_ahead: ahead,
        named: named.to_vec(),
    };
    run(c, cfg, &ends, &mirror_options(o, keeps, false), t)
}

fn run(c: &mut Client, cfg: &ClientConfig, ends: &Ends, o: &mirror::Options, t: &mut Tally<'_>) -> Result<(), Error> {
    let before = t.report.transferred;
    if let Some((n, _)) = mirror::run(c, cfg, ends, o, t)? {
        t.report.transferred = before + n.transferred;
    }
    Ok(())
}
