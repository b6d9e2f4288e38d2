//! A big file up and down: tf against sftp and scp.

use super::bed::{p, Bed};
use super::contest::{alternate, Contender, Outcome, ToDst};
use super::options::{Options, GCM};
use crate::support::race::{check_big, clear, make_big};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A big-file contender writing `to`, which `make` gets; the copy is checked
/// and removed after each run.
pub(crate) fn big_contender<'a>(
    name: &'static str,
    is_tf: bool,
    to: PathBuf,
    mib: u64,
    make: ToDst<'a>,
) -> Contender<'a> {
    let to2 = to.clone();
    Contender {
        name,
        is_tf,
        first_only: false,
        prepare: Box::new(move |_| {
            clear(&to);
            make(&to)
        }),
        check: Box::new(move |_| {
            let r = check_big(&to2, mib);
            let _ = fs::remove_file(&to2);
            r
        }),
    }
}

/// `c`, in the first round only.
pub(crate) fn first_only(mut c: Contender<'_>) -> Contender<'_> {
    c.first_only = true;
    c
}

/// `mib` MiB up and down: tf, sftp and scp with AES-128-GCM, and tf to the
/// sync_uploads no server.
pub(crate) fn phase_big(bed: &Bed, o: &Options, deadline: Instant) -> Result<(Outcome, Outcome), String> {
    let mib = o.big_mib;
    println!(
        "  [big] {mib} MiB, {} round(s): tf put, sftp put, scp put ({GCM}), tf put (sync_uploads no) ...",
        o.big_rounds
    );
    let local = bed.dir.join("big.bin");
    make_big(&local, mib)?;
    let (sd, nd) = (bed.sync.data_dir(), bed.nosync.data_dir());
    let local = &local;
    let put = |name, data: &Path, file, is_tf, make| big_contender(name, is_tf, data.join(file), mib, make);
    let up = alternate(
        o.big_rounds,
        deadline,
        &bed.dir,
        vec![
            put(
                "tf put",
                &sd,
                "tfput.bin",
                true,
                Box::new(|_| bed.tf(&bed.sync, &["put", &p(local), "tfput.bin"])),
            ),
            put(
                "sftp put",
                &sd,
                "sftpput.bin",
                false,
                Box::new(|to| bed.sftp(Some(GCM), &format!("put {} {}", local.display(), to.display()))),
            ),
            first_only(put(
                "scp put",
                &sd,
                "scpput.bin",
                false,
                Box::new(|to| Ok(bed.scp(p(local), bed.remote(to)))),
            )),
            put(
                "tf put, sync no",
                &nd,
                "tfput.bin",
                true,
                Box::new(|_| bed.tf(&bed.nosync, &["put", &p(local), "tfput.bin"])),
            ),
        ],
    );

    println!(
        "  [big] {mib} MiB, {} round(s): tf get, sftp get, scp get ({GCM}) ...",
        o.big_rounds
    );
    let src = sd.join("big.bin");
    // the same bytes for every download, without a second write
    fs::hard_link(local, &src)
        .or_else(|_| fs::copy(local, &src).map(|_| ()))
        .map_err(|e| format!("{}: {e}", src.display()))?;
    let src = &src;
    let get = |name, file, is_tf, make| big_contender(name, is_tf, bed.dir.join(file), mib, make);
    let down = alternate(
        o.big_rounds,
        deadline,
        &bed.dir,
        vec![
            get(
                "tf get",
                "tfget.bin",
                true,
                Box::new(|to| bed.tf(&bed.sync, &["get", "big.bin", &p(to)])),
            ),
            get(
                "sftp get",
                "sftpget.bin",
                false,
                Box::new(|to| bed.sftp(Some(GCM), &format!("get {} {}", src.display(), to.display()))),
            ),
            first_only(get(
                "scp get",
                "scpget.bin",
                false,
                Box::new(|to| Ok(bed.scp(bed.remote(src), p(to)))),
            )),
        ],
    );
    let _ = fs::remove_file(src);
    let _ = fs::remove_file(local);
    Ok((up, down))
}
