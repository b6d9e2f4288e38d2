//! The floors under the figures: one core's RSA, the disk under 16 KiB
//! uploads, the CPU under the mixed load.

use super::options::CAP;
use super::rate::{rate, Rate};
use super::small::Small;
use std::sync::Arc;

/// Baseline of phase 4: RSA-2048 OAEP private decryptions on one thread alone.
pub(crate) fn rsa_one_core(secs: f64) -> Result<Rate, String> {
    use openssl::rsa::{Padding, Rsa};
    let key = Rsa::generate(2048).map_err(|e| e.to_string())?;
    let mut ct = vec![0u8; 256];
    key.public_encrypt(&[0x5a; 32], &mut ct, Padding::PKCS1_OAEP)
        .map_err(|e| e.to_string())?;
    let key = Arc::new(key);
    Ok(rate(
        1,
        secs,
        CAP,
        move |_| Ok((key.clone(), ct.clone())),
        |_, (key, ct)| {
            let mut out = [0u8; 256];
            match key.private_decrypt(ct, &mut out, Padding::PKCS1_OAEP) {
                Ok(32) => Ok(()),
                other => Err(format!("RSA: {other:?}")),
            }
        },
    ))
}

/// What a 16 KiB upload must do to the disk, with no network, cipher or protocol:
/// the floor under the uploads' rates. SNDFILE and SUP are atomic (a file with no
/// name, its data, linked in place of the old one), PUT writes in place; with
/// `sync` (the server's `sync_uploads`) data and name reach stable storage first.
#[derive(Clone, Copy)]
pub(crate) enum DiskFloor {
    Atomic,
    InPlace,
}

impl DiskFloor {
    /// 8 threads, each in a directory of its own under `root` (the served root's
    /// file system), as phase 2's clients are.
    pub(crate) fn rate(self, root: &std::path::Path, data: &Arc<Vec<u8>>, sync: bool, secs: f64) -> Rate {
        let (root, data) = (root.to_path_buf(), data.clone());
        rate(
            8,
            secs,
            CAP,
            move |i| {
                let dir = root.join(format!("floor{i}"));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                std::fs::write(dir.join("f"), [0u8; 1]).map_err(|e| e.to_string())?;
                Ok(dir)
            },
            move |_, dir| self.write(dir, &data, sync).map_err(|e| format!("disk floor: {e}")),
        )
    }

    pub(crate) fn write(self, dir: &std::path::Path, data: &[u8], sync: bool) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let target = dir.join("f");
        match self {
            DiskFloor::Atomic => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_TMPFILE)
                    .mode(0o644)
                    .open(dir)?;
                f.write_all(data)?;
                if sync {
                    f.sync_data()?;
                }
                let (fd, part) = (format!("/proc/self/fd/{}", f.as_raw_fd()), dir.join("part"));
                nix::unistd::linkat(
                    None,
                    std::path::Path::new(&fd),
                    None,
                    &part,
                    nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
                )?;
                std::fs::rename(&part, &target)?;
                if sync {
                    std::fs::File::open(dir)?.sync_all()?;
                }
            }
            DiskFloor::InPlace => {
                let f = std::fs::OpenOptions::new().write(true).open(&target)?;
                f.write_all_at(data, 0)?;
                if sync {
                    f.sync_data()?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the servers of this run sync uploads (the default unless
/// TFD_BENCH_CONF says `sync_uploads no`).
pub(crate) fn uploads_synced() -> bool {
    let conf = std::env::var("TFD_BENCH_CONF").unwrap_or_default();
    !conf.lines().any(|l| l.split_whitespace().eq(["sync_uploads", "no"]))
}

/// The most the mixed load could reach ÷ 64-client ECHO if the CPU were its only
/// limit: the machine's busy CPU per operation of each kind, measured alone in
/// this run, weighted as the mix draws them (a reconnect every 20 operations; of
/// the rest 3 in 10 ECHO and 1 in 10 each of the others). FSTAT and DATE are
/// counted as one ECHO and MKDIR+RMDIR as two (each costs at least a round
/// trip), a reconnect as a handshake less its ECHO, and the transfers at their
/// 8-client cost (more clients only cost more).
pub(crate) fn mixed_bound(cpus: usize, echo64: &Rate, echo8: &Rate, small: &[(Small, Rate)], hs: &Rate) -> Option<f64> {
    let cost = |op: Small| op.rate_in(small).and_then(|r| r.cpu_s);
    let transfers: f64 = [Small::Sndfile, Small::Rcvfile, Small::Put, Small::Get]
        .into_iter()
        .map(cost)
        .sum::<Option<f64>>()?;
    let e = echo64.cpu_s?;
    let reconnect = hs.cpu_s? - echo8.cpu_s?;
    let per_op = 0.05 * reconnect + 0.95 * (0.6 * e + 0.1 * transfers);
    (per_op > 0.0 && echo64.per_s > 0.0).then(|| cpus as f64 / per_op / echo64.per_s)
}
