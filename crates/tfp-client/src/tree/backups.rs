//! rsync's `--backup` in a tree run (`put -r`, `get -r`, `mirror`): the
//! server's side set once for the run's sessions (TFDBACKUP, every pool
//! session too), this machine's side kept by the landing
//! ([`crate::engine::backup`]), and a mirror's removals made file by file
//! so that each removed file is kept, as rsync keeps them.

use super::sync::{Plan, Remove, Side};
use crate::engine::backup::{set_remote, Wanted};
use crate::remote::listing::Kind;
use crate::{Client, ClientConfig, Error};

/// Sets the server's side for a run whose remote destination is `base`
/// (when `wanted`): TFDBACKUP on `c`, and the config the run's other
/// sessions are opened with, which sends it on each. A server without it
/// is [`Error::Usage`] ([`crate::engine::backup::UNSUPPORTED`]), before
/// anything moved.
pub fn remote_start(
    c: &mut Client,
    cfg: &ClientConfig,
    wanted: Option<&Wanted>,
    base: &[u8],
) -> Result<ClientConfig, Error> {
    let mut own = cfg.clone();
    if let Some(w) = wanted {
        w.check().map_err(Error::Usage)?;
        let b = w
            .remote(base)
            .ok_or_else(|| Error::Usage("--backup-dir cannot be sent as it is".into()))?;
        set_remote(c, &b)?;
        own.backup = Some(b);
    }
    Ok(own)
}

/// Ends what [`remote_start`] set on `c` (a shell's next command keeps
/// nothing of it).
pub fn remote_end(c: &mut Client, wanted: Option<&Wanted>) {
    if wanted.is_some() {
        let _ = set_remote(c, &tfp_wire::backup::Backup::Off);
    }
}

/// A mirror's removals as rsync makes them with `--backup`: a directory's
/// files each removed (so each is kept) before the directory; with the
/// backups beside the files (no backup directory), a directory that held
/// files stays (it holds their backups), and a file already named with the
/// suffix is never removed (rsync's `P *SUFFIX` rule). `dest` is the
/// destination's side as listed.
pub(crate) fn file_by_file(p: &mut Plan, dest: &Side, wanted: &Wanted) {
    let beside = wanted.dir.is_none();
    let suffix = wanted.suffix().as_bytes();
    let protected = |rel: &[u8]| beside && !suffix.is_empty() && rel.ends_with(suffix);
    let mut out = Vec::with_capacity(p.remove.len());
    for r in std::mem::take(&mut p.remove) {
        if r.kind != Kind::Dir {
            if !(r.extra && protected(&r.rel)) {
                out.push(r);
            }
            continue;
        }
        let mut held_files = false;
        let prefix = [&r.rel[..], b"/"].concat();
        for (rel, m) in dest
            .range(prefix.clone()..)
            .take_while(|(rel, _)| rel.starts_with(&prefix))
        {
            if m.kind == Kind::Dir {
                continue;
            }
            held_files = true;
            if !protected(rel) {
                out.push(Remove {
                    rel: rel.clone(),
                    kind: m.kind,
                    extra: false,
                });
            }
        }
        if !(beside && held_files) {
            out.push(r);
        }
    }
    p.remove = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::sync::Meta;

    fn side(entries: &[(&str, Kind)]) -> Side {
        entries
            .iter()
            .map(|(n, k)| {
                (
                    n.as_bytes().to_vec(),
                    Meta {
                        kind: *k,
                        size: 0,
                        mtime: 0,
                        changed: 0,
                        facts: None,
                    },
                )
            })
            .collect()
    }

    fn removals(p: &Plan) -> Vec<String> {
        p.remove
            .iter()
            .map(|r| String::from_utf8_lossy(&r.rel).into_owned())
            .collect()
    }

    #[test]
    fn a_removed_directorys_files_go_first_and_backups_beside_stay() {
        let dest = side(&[
            ("d", Kind::Dir),
            ("d/a", Kind::File),
            ("d/e", Kind::Dir),
            ("d/e/b", Kind::File),
            ("d2", Kind::File),
            ("empty", Kind::Dir),
            ("x~", Kind::File),
        ]);
        let plan = || Plan {
            remove: ["d", "empty", "x~"]
                .iter()
                .map(|n| Remove {
                    rel: n.as_bytes().to_vec(),
                    kind: dest[n.as_bytes()].kind,
                    extra: true,
                })
                .collect(),
            ..Plan::default()
        };
        let mut into = plan();
        let w = Wanted {
            suffix: None,
            dir: Some("../bak".into()),
        };
        file_by_file(&mut into, &dest, &w);
        assert_eq!(removals(&into), ["d/a", "d/e/b", "d", "empty", "x~"]);
        let mut beside = plan();
        file_by_file(&mut beside, &dest, &Wanted::default());
        assert_eq!(removals(&beside), ["d/a", "d/e/b", "empty"]);
    }
}
