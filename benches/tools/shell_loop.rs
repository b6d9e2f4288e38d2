//! A tree uploaded by a shell loop of tf commands, against sftp.

use super::bed::Bed;
use super::contest::{alternate, Contender, Outcome};
use super::options::{Options, TREE_DIRS, TREE_FILES, TREE_FILE_BYTES};
use crate::support::race::{clear, Tree};
use std::fs;
use std::process::Command;
use std::time::Instant;

/// The tree uploaded by a shell loop of `tf sndfile --parents` (a process, a
/// handshake and a durable upload per file), alternated with sftp `put -r`.
pub(crate) fn phase_loop(bed: &Bed, o: &Options, deadline: Instant) -> Result<Outcome, String> {
    let tree = Tree::spec(TREE_FILES, TREE_DIRS, |_| TREE_FILE_BYTES);
    let local = bed.dir.join("looptree");
    tree.make(&local)?;
    let sd = bed.sync.data_dir();
    let rounds = if o.quick { 1 } else { o.rounds.min(2) };
    println!(
        "  [loop] {TREE_FILES} × `tf sndfile --parents` from a shell loop (sync_uploads yes) and sftp put -r, {rounds} round(s) ...",
    );
    let args = bed.sync.tf_args()?;
    let (l1, l2, s1, s2) = (&local, &local, &sd, &sd);
    let tree = &tree;
    let out = alternate(
        rounds,
        deadline,
        &bed.dir,
        vec![
            Contender {
                name: "tf sndfile loop",
                is_tf: true,
                first_only: false,
                prepare: Box::new(move |r| {
                    let dst = format!("loop-{r}");
                    clear(&s1.join(&dst));
                    let mut c = Command::new("sh");
                    c.current_dir(l1)
                        .arg("-c")
                        .arg(
                            "for f in */*; do \"$TF\" \"$@\" sndfile --parents \"$f\" \"$DST/$f\" >/dev/null || exit 1; done",
                        )
                        .arg("sh")
                        .args(&args)
                        .env("TF", &bed.tf)
                        .env("DST", dst);
                    Ok(c)
                }),
                check: Box::new(move |r| {
                    let to = s1.join(format!("loop-{r}"));
                    let res = tree.check(&to).map(|_| ());
                    let _ = fs::remove_dir_all(&to);
                    res
                }),
            },
            Contender {
                name: "sftp put -r",
                is_tf: false,
                first_only: false,
                prepare: Box::new(move |r| {
                    let to = s2.join(format!("sftploop-{r}"));
                    clear(&to);
                    bed.sftp(None, &format!("put -r {} {}", l2.display(), to.display()))
                }),
                check: Box::new(move |r| {
                    let to = s2.join(format!("sftploop-{r}"));
                    let res = tree.check(&to).map(|_| ());
                    let _ = fs::remove_dir_all(&to);
                    res
                }),
            },
        ],
    );
    let _ = fs::remove_dir_all(&local);
    Ok(out)
}
