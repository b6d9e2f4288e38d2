//! The cost of durable uploads: `sync_uploads` yes ÷ no.

use super::measure::{check_size, clean, ok_status, on_session, pattern, Repeat};
use super::options::{Options, MIB, SMALL_BYTES, SMALL_FILES};
use crate::support::Server;
use std::fs;
use std::path::Path;
use tfp_client::replies::AsStatus as _;

/// Time with `sync_uploads yes` ÷ time with `no`, per run (sorted): small
/// uploads, big uploads; and the big upload's size.
#[derive(Default)]
pub(crate) struct SyncCost {
    pub(crate) small: Vec<f64>,
    pub(crate) big: Vec<f64>,
    pub(crate) big_mib: u64,
}

/// Seconds for `SMALL_FILES` small SNDFILEs, and for one big one, on `server`.
pub(crate) fn sync_run(server: &Server, pat: &[u8], big: u64, tag: &str) -> Result<(f64, f64), String> {
    let cfg = server.client_config();
    let (_, small) = on_session(server, &cfg, |c| {
        for i in 0..SMALL_FILES {
            let name = format!("small-{tag}-{i}");
            let st = c
                .sndfile(name.as_bytes(), true, &mut &pat[..SMALL_BYTES], &mut |_| {})
                .status()
                .map_err(|e| format!("SNDFILE: {e}"))?;
            ok_status("SNDFILE", &st)?;
        }
        Ok((SMALL_FILES * SMALL_BYTES) as u64)
    })?;
    for i in 0..SMALL_FILES {
        let _ = fs::remove_file(server.data_dir().join(format!("small-{tag}-{i}")));
    }
    nix::unistd::sync();
    let (_, big_secs) = on_session(server, &cfg, |c| {
        let mut src = Repeat {
            pattern: pat,
            pos: 0,
            left: big,
        };
        let st = c
            .sndfile(b"big.bin", true, &mut src, &mut |_| {})
            .status()
            .map_err(|e| format!("SNDFILE: {e}"))?;
        ok_status("SNDFILE", &st)?;
        Ok(big)
    })?;
    check_size(&server.data_dir().join("big.bin"), big)?;
    clean(server, "big.bin");
    Ok((small, big_secs))
}

/// Phase 4: sync_uploads on against off, alternating, `reps` times.
pub(crate) fn phase_sync(o: &Options, bin: &Path) -> Result<SyncCost, String> {
    let big_mib = o.mib.min(256);
    let mut on = Server::start_with(bin, "sync_uploads yes\n")?;
    let mut off = Server::start_with(bin, "sync_uploads no\n")?;
    let pat = pattern();
    let mut cost = SyncCost {
        big_mib,
        ..SyncCost::default()
    };
    for rep in 0..o.reps {
        let a = sync_run(&on, &pat, big_mib * MIB, &format!("on{rep}"))?;
        let b = sync_run(&off, &pat, big_mib * MIB, &format!("off{rep}"))?;
        cost.small.push(a.0 / b.0);
        cost.big.push(a.1 / b.1);
    }
    on.stop();
    off.stop();
    cost.small.sort_by(f64::total_cmp);
    cost.big.sort_by(f64::total_cmp);
    Ok(cost)
}
