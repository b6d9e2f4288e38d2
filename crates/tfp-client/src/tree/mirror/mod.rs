//! Makes one tree a copy of another, moving only what differs: what
//! `tf mirror` runs, and the Python package's `mirror`. A remote source and
//! a local destination, or (upload) the other way.
//!
//! Both sides are described first — the remote one by one LSR and FSTATs
//! sent without waiting for each answer, so an unchanged tree costs a few
//! round trips, not one per file — then the plan ([`super::sync::plan`]) runs:
//! removals, directories, then the files over the same pool, landing and
//! staged uploads as [`super::copy`]. `delete` removes nothing when either
//! listing was not whole, and nothing is removed locally through a symlink.

use crate::engine::events::{Events, Tally};
use crate::{Client, ClientConfig, Error};
use std::path::PathBuf;

pub(crate) mod attrs;
mod clear;
mod down;
mod ends;
mod hardlinks;
mod options;
mod plan;
mod report;
mod settle;
mod sides;
mod stale;
mod unkept;
mod up;
mod xattrs;

use ends::remote_path;
pub(crate) use ends::Ends;
pub use options::Options;
pub(crate) use report::Ran;
pub use report::{MirrorReport, Planned, Summary};

/// Makes `dst` a copy of `src`: a remote `src` and a local `dst`, or with
/// [`Options::upload`] a local `src` and a remote `dst`. `Err` only when the
/// caller's session failed.
pub fn mirror(
    c: &mut Client,
    cfg: &ClientConfig,
    src: &str,
    dst: &str,
    o: &Options,
    ev: &dyn Events,
) -> Result<MirrorReport, Error> {
    let mut t = Tally::new(ev, "mirror");
    // the run's listings are asked as its data goes (remote::zlisting)
    c.listings = cfg.compress;
    let (remote, local) = if o.upload { (dst, src) } else { (src, dst) };
    let ends = Ends {
        remote: remote_path(remote),
        local: PathBuf::from(local),
        remote_shown: remote.to_string(),
        local_shown: local.to_string(),
        seen: None,
        listed_ahead: None,
        named: Vec::new(),
    };
    let backup = o.backup.as_ref().filter(|_| o.upload && !o.dry_run);
    let own = super::backups::remote_start(c, cfg, backup, &ends.remote)?;
    let r = run(c, &own, &ends, o, &mut t);
    super::backups::remote_end(c, backup);
    let r = r?;
    let (summary, planned) = r.map_or((None, Vec::new()), |(s, p)| (Some(s), p));
    Ok(MirrorReport {
        report: t.report,
        summary,
        planned,
    })
}

/// Makes one end a copy of the other ([`Options::upload`] says which),
/// telling into `t`: what [`mirror`] runs, and `put -r -a`/`get -r -a` for
/// each directory they copy.
pub(crate) fn run(
    c: &mut Client,
    cfg: &ClientConfig,
    ends: &Ends,
    o: &Options,
    t: &mut Tally<'_>,
) -> Result<Ran, Error> {
    let ran = if o.upload {
        up::up(c, cfg, ends, o, t)
    } else {
        down::down(c, cfg, ends, o, t)
    };
    unkept::holes(cfg, t);
    unkept::xattrs(cfg, t);
    ran
}
