//! The tree runs (`put_tree`, `get_tree`, `mirror`): module functions on a
//! [`Session`] (as `crate::memory`'s), each one tfp-client tree run, its
//! options as the Python layer gives them.

use crate::state::Session;
use crate::tree::{again, moves_of, Moves, Selection, TreeRun};
use pyo3::prelude::*;
use tfp_client::tree::mirror as run_mirror;
use tfp_client::tree::sync::Keeps;
use tfp_client::tree::{copy, copy_down};

/// `put_tree` / `get_tree` (tfp_client::tree::copy::put and copy_down::get, what
/// `tf put -r` and `tf get -r` run): `sources` (local when `upload`,
/// remote otherwise) to `dest` over `jobs` sessions; with `contents` a
/// directory's contents go to `dest` itself (made if missing), as rsync's
/// `src/`; downloads land in partials renamed over their names when
/// whole, and `resume` continues what an interrupted run kept. Returns
/// what the run told and did (see `TreeRun`). `progress` hears the bytes
/// moved, or with `per_file` (files done, files). `retries`: tries after
/// a broken connection (tree::again), a download's resuming its partials.
/// `dry_run`, `on_item`: as tf's `-n` and `-i` (items handed to
/// `on_item` as they are told). `moves`: backups and the removal of
/// sources (tree::moves_of).
#[pyfunction]
#[pyo3(signature = (session, upload, sources, dest, contents=true, jobs=4, resume=false, filters=Vec::new(), progress=None, per_file=false, archive=false, select=None, retries=0, dry_run=false, on_item=None, moves=None, sparse=false, xattrs=false, acls=false, hard_links=false))]
pub(crate) fn copy_tree(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    upload: bool,
    sources: Vec<String>,
    dest: String,
    contents: bool,
    jobs: usize,
    resume: bool,
    filters: Vec<(bool, String)>,
    progress: Option<PyObject>,
    per_file: bool,
    archive: bool,
    select: Option<Selection>,
    retries: u32,
    dry_run: bool,
    on_item: Option<PyObject>,
    moves: Moves,
    sparse: bool,
    xattrs: bool,
    acls: bool,
    hard_links: bool,
) -> PyResult<TreeRun> {
    let (filter, select) = Selection::parts_with(filters, select)?;
    let (backup, remove_source) = moves_of(moves)?;
    let itemize = on_item.is_some();
    let o = |resume| tfp_client::tree::options::Options {
        backup: backup.clone(),
        remove_source,
        contents,
        resume,
        keeps: archive.then(|| Keeps {
            hardlinks: hard_links,
            ..Keeps::archive_for(upload)
        }),
        jobs: jobs.max(1),
        filter: filter.clone(),
        select: select.clone(),
        dry_run,
        itemize,
        ..tfp_client::tree::options::Options::default()
    };
    let run = if upload { copy::put } else { copy_down::get };
    session.tree_run(py, (progress, on_item), per_file, |c, cfg, heard| {
        let cfg = &beyond_archive(cfg, sparse, xattrs, acls);
        again(cfg, c, retries, heard, |c, n| {
            run(c, cfg, &sources, &dest, &o(resume || (n > 1 && !upload)), heard).map(TreeRun::of)
        })
    })
}

/// `mirror` (tfp_client::tree::mirror::mirror, what `tf mirror` runs):
/// makes `dst` a copy of `src` (`upload`: a local `src`, a remote `dst`).
/// `on_item` is handed each item (what changes, and why) as it is told.
#[pyfunction]
#[pyo3(signature = (session, src, dst, upload, delete=false, checksum=false, dry_run=false, jobs=4, filters=Vec::new(), progress=None, archive=true, select=None, retries=0, on_item=None, moves=None, sparse=false, xattrs=false, acls=false, hard_links=false))]
pub(crate) fn mirror(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    src: String,
    dst: String,
    upload: bool,
    delete: bool,
    checksum: bool,
    dry_run: bool,
    jobs: usize,
    filters: Vec<(bool, String)>,
    progress: Option<PyObject>,
    archive: bool,
    select: Option<Selection>,
    retries: u32,
    on_item: Option<PyObject>,
    moves: Moves,
    sparse: bool,
    xattrs: bool,
    acls: bool,
    hard_links: bool,
) -> PyResult<TreeRun> {
    let (filter, select) = Selection::parts_with(filters, select)?;
    let (backup, remove_source) = moves_of(moves)?;
    let o = run_mirror::Options {
        backup,
        remove_source,
        upload,
        delete,
        checksum,
        dry_run,
        jobs: jobs.max(1),
        filter,
        select,
        keeps: Keeps {
            hardlinks: hard_links,
            ..archive.then(Keeps::archive).unwrap_or_default()
        },
        ..run_mirror::Options::default()
    };
    session.tree_run(py, (progress, on_item), false, |c, cfg, heard| {
        let cfg = &beyond_archive(cfg, sparse, xattrs, acls);
        again(cfg, c, retries, heard, |c, _| {
            run_mirror::mirror(c, cfg, &src, &dst, &o, heard).map(TreeRun::of_mirror)
        })
    })
}

/// The session's settings with what a tree run keeps beyond `rsync -a`
/// (tf's `-S`, `-X` and `-A`; `-H` is the run's `Keeps`), as tf sets them
/// for one run.
fn beyond_archive(cfg: &tfp_client::ClientConfig, sparse: bool, xattrs: bool, acls: bool) -> tfp_client::ClientConfig {
    let mut own = cfg.clone();
    own.sparse = sparse;
    own.xattrs = xattrs;
    own.acls = acls;
    own
}
