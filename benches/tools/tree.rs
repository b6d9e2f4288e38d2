//! A 300-file tree up and down: tf against sftp.

use super::bed::Bed;
use super::contest::{alternate, Contender, Outcome};
use super::options::{Options, TREE_DIRS, TREE_FILES, TREE_FILE_BYTES};
use crate::support::race::{clear, Tree};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// 300 × 16 KiB up with `tf put -r` (both servers) and sftp `put -r`, then down
/// with `tf get -r` and sftp `get -r`.
pub(crate) fn phase_tree(bed: &Bed, o: &Options, deadline: Instant) -> Result<(Outcome, Outcome), String> {
    let tree = Tree::spec(TREE_FILES, TREE_DIRS, |_| TREE_FILE_BYTES);
    let local = bed.dir.join("tree");
    let (sd, nd) = (bed.sync.data_dir(), bed.nosync.data_dir());
    println!(
        "  [tree] {TREE_FILES} × {} KiB in {TREE_DIRS} directories, {} round(s): tf put -r (sync_uploads yes, no) and sftp put -r ...",
        TREE_FILE_BYTES >> 10,
        o.rounds
    );
    // Builds the command from the bench, the local tree, the destination's
    // name in the server's root and its absolute path.
    type Make = fn(&Bed, &Path, &str, &Path) -> Result<Command, String>;
    let up = |name: &'static str, is_tf: bool, data: PathBuf, dst: &'static str, make: Make| {
        let tree = &tree;
        let local = &local;
        let data2 = data.clone();
        Contender {
            name,
            is_tf,
            first_only: false,
            prepare: Box::new(move |r| {
                let rel = format!("{dst}-{r}");
                let to = data.join(&rel);
                clear(&to);
                make(bed, local, &rel, &to)
            }),
            check: Box::new(move |r| {
                let to = data2.join(format!("{dst}-{r}"));
                let res = tree.check(&to).map(|_| ());
                let _ = fs::remove_dir_all(&to);
                res
            }),
        }
    };
    // `l/`: its contents in `rel`, as sftp's put -r makes them
    let tf_put_sync: Make = |b, l, rel, _| b.tf_tree(&b.sync, &["put", "-r"], &[&l.join(""), Path::new(rel)]);
    let tf_put_nosync: Make = |b, l, rel, _| b.tf_tree(&b.nosync, &["put", "-r"], &[&l.join(""), Path::new(rel)]);
    let sftp_put: Make = |b, l, _, to| b.sftp(None, &format!("put -r {} {}", l.display(), to.display()));
    tree.make(&local)?;
    let up_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![
            up("tf put -r, sync yes", true, sd.clone(), "tfput", tf_put_sync),
            up("tf put -r, sync no", true, nd.clone(), "tfput", tf_put_nosync),
            up("sftp put -r", false, sd.clone(), "sftpput", sftp_put),
        ],
    );

    println!(
        "  [tree] the same tree down, {} round(s): tf get -r and sftp get -r ...",
        o.rounds
    );
    let src = sd.join("tree");
    tree.make(&src)?;
    nix::unistd::sync();
    let down = |name: &'static str, is_tf: bool, dst: &'static str| {
        let tree = &tree;
        let src = &src;
        let dir = &bed.dir;
        Contender {
            name,
            is_tf,
            first_only: false,
            prepare: Box::new(move |r| {
                let to = dir.join(format!("{dst}-{r}"));
                clear(&to);
                if is_tf {
                    bed.tf_tree(&bed.sync, &["get", "-r"], &[Path::new("tree/"), &to])
                } else {
                    bed.sftp(None, &format!("get -r {} {}", src.display(), to.display()))
                }
            }),
            check: Box::new(move |r| {
                let to = dir.join(format!("{dst}-{r}"));
                let res = tree.check(&to).map(|_| ());
                let _ = fs::remove_dir_all(&to);
                res
            }),
        }
    };
    let down_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![down("tf get -r", true, "tfget"), down("sftp get -r", false, "sftpget")],
    );
    let _ = fs::remove_dir_all(&src);
    Ok((up_out, down_out))
}
