//! A file changed entirely or in part: tf's delta against its whole file.

use super::bed::{p, Bed};
use super::contest::{alternate, Contender, Outcome};
use super::options::{Options, CHANGED_MIB, EDITED_MIB};
use crate::support::race::{bytes, clear};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// A `changed` contender: before each round `dst/f.bin` is the old version
/// again (an hour older, so mirror sees it changed); `make` brings the new one
/// over, whose SHA-256 is `want`.
pub(crate) fn changed_contender<'a>(
    name: &'static str,
    dst: PathBuf,
    old: &'a [u8],
    want: &'a [u8],
    make: Box<dyn Fn() -> Result<Command, String> + 'a>,
) -> Contender<'a> {
    let dst2 = dst.clone();
    Contender {
        name,
        is_tf: true,
        first_only: false,
        prepare: Box::new(move |_| {
            clear(&dst);
            fs::create_dir_all(&dst).map_err(|e| e.to_string())?;
            let f = dst.join("f.bin");
            fs::write(&f, old).map_err(|e| format!("{}: {e}", f.display()))?;
            let h = fs::File::options().write(true).open(&f).map_err(|e| e.to_string())?;
            h.set_modified(SystemTime::now() - Duration::from_secs(3600))
                .and_then(|()| h.sync_all())
                .map_err(|e| e.to_string())?;
            nix::unistd::sync();
            make()
        }),
        check: Box::new(move |_| {
            let f = dst2.join("f.bin");
            let got = fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let r = if Sha256::digest(&got)[..] == want[..] {
                Ok(())
            } else {
                Err(format!("{}: not the new version", f.display()))
            };
            clear(&dst2);
            r
        }),
    }
}

/// A file rewritten entirely (`phase` "changed"), or [`EDITED_MIB`] of it in
/// the middle ("edited"), up (`tf mirror -R`) and down (`tf mirror`, what
/// `tf get` onto the old copy does: TFDDELTAGET), through the delta path
/// (`--no-whole-file`) and whole (`--whole-file`).
pub(crate) fn phase_changed(
    bed: &Bed,
    o: &Options,
    deadline: Instant,
    phase: &'static str,
) -> Result<(Outcome, Outcome), String> {
    let n = CHANGED_MIB << 20;
    let old = bytes(0x01d, n);
    let (new, how) = if phase == "edited" {
        let mut new = old.clone();
        let at = n / 2;
        new[at..at + (EDITED_MIB << 20)].copy_from_slice(&bytes(0x4e3, EDITED_MIB << 20));
        (new, format!("with {EDITED_MIB} MiB rewritten in the middle"))
    } else {
        (bytes(0x4e3, n), "rewritten entirely".to_string())
    };
    let want = Sha256::digest(&new).to_vec();
    let sd = bed.sync.data_dir();
    let dir = |what: &str| format!("{phase}-{what}");
    let (src, rsrc) = (bed.dir.join(dir("new")), sd.join(dir("new")));
    for d in [&src, &rsrc] {
        fs::create_dir_all(d).map_err(|e| e.to_string())?;
        fs::write(d.join("f.bin"), &new).map_err(|e| e.to_string())?;
    }
    drop(new);
    nix::unistd::sync();
    let (old, want, srcs) = (&old, &want, &p(&src));
    println!(
        "  [{phase}] {CHANGED_MIB} MiB {how}, {} round(s): tf mirror -R and tf mirror, \
         --no-whole-file and --whole-file ...",
        o.rounds
    );
    let (delta, whole, new_dir) = (dir("delta"), dir("whole"), dir("new"));
    let up = |name, how: &'static str, to: &str| {
        let to = to.to_string();
        let dst = sd.join(&to);
        let make = Box::new(move || bed.tf(&bed.sync, &["mirror", "-R", how, srcs, &to]));
        changed_contender(name, dst, old, want, make)
    };
    let up_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![
            up("tf mirror -R, delta", "--no-whole-file", &delta),
            up("tf mirror -R, whole", "--whole-file", &whole),
        ],
    );
    let down = |name, how: &'static str, to: &str| {
        let dst = bed.dir.join(to);
        let d = p(&dst);
        let from = new_dir.clone();
        let make = Box::new(move || bed.tf(&bed.sync, &["mirror", how, &from, &d]));
        changed_contender(name, dst, old, want, make)
    };
    let down_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![
            down("tf mirror, delta", "--no-whole-file", &delta),
            down("tf mirror, whole", "--whole-file", &whole),
        ],
    );
    clear(&src);
    clear(&rsrc);
    Ok((up_out, down_out))
}
