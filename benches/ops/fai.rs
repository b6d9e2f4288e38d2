//! Phase 5: FAI entrances against RSA handshakes, and the floor under both.

use super::floors::rsa_one_core;
use super::options::{CAP_HANDSHAKES, FAI_SLICES, TARGET_FAI_VS_RSA};
use super::rate::{connect, echo, merged, rate, Rate};
use crate::support::{met, Server};
use std::sync::Arc;
use std::time::Duration;
use tfp_client::replies::Split as _;
use tfp_client::Client;

/// Phase 5: RSA handshakes, then FAI entrances, on one server whose sessions run
/// as `nobody` (as root) or as the invoking user. Returns (RSA, FAI).
/// A session process that does nothing: connect, a wrong version (refused at
/// once), read the refusal, close. What every connection costs whatever its
/// handshake (accept, fork, exit, reap): the floor under both of phase 5's rates.
pub(crate) fn refused_version(addr: std::net::SocketAddr) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.write_all(b"\0\0\0\x05floor").map_err(|e| format!("send: {e}"))?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).map_err(|e| format!("read: {e}"))?;
    if reply.len() > 4 && reply[4..].starts_with(b"FAILED 2") {
        Ok(())
    } else {
        Err(format!("answered {reply:?}"))
    }
}

/// What phase 5 measured: the three rates, and what bounds their ratio.
pub(crate) struct FaiFigures {
    pub(crate) rsa: Rate,
    pub(crate) fai: Rate,
    pub(crate) floor: Rate,
    /// One core's RSA-2048 decryptions per second, measured between the slices.
    pub(crate) rsa1_per_s: f64,
}

impl FaiFigures {
    /// What FAI ÷ RSA would be if an FAI entrance cost no more than a bare
    /// connection (the floor: with a process per connection nothing costs less)
    /// and an RSA handshake still cost what it costs beyond an entrance today
    /// (its decryption and what goes with it): 1 + that extra ÷ the floor.
    pub(crate) fn bound(&self) -> Option<f64> {
        let [rsa, fai, floor] = self.cpu_s()?;
        (floor > 0.0 && rsa > fai).then(|| 1.0 + (rsa - fai) / floor)
    }

    /// Busy CPU seconds per RSA handshake, FAI entrance and refused connection.
    pub(crate) fn cpu_s(&self) -> Option<[f64; 3]> {
        Some([self.rsa.cpu_s?, self.fai.cpu_s?, self.floor.cpu_s?])
    }
}

/// Busy CPU seconds of the whole machine so far (all CPUs: user, nice, system,
/// irq and softirq; idle, iowait and time stolen by the host left out).
pub(crate) fn busy_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| v.get(i).copied().unwrap_or(0))
        .sum::<u64>();
    let hz = tfd_sys::clock_ticks_per_second()?;
    Some(busy as f64 / hz as f64)
}

/// A directory removed with all it holds when dropped.
pub(crate) struct Removed(pub(crate) std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn fai_phase(bin: &std::path::Path, secs: f64) -> Result<FaiFigures, String> {
    let extra = if nix::unistd::geteuid().is_root() {
        "defusr nobody\nfai_max_minutes 60\n"
    } else {
        "fai_max_minutes 60\n"
    };
    // `nobody` opens the served root after its switch, and tfd refuses to start
    // when it could not: the root is made first, in a directory of its own that
    // lets it through (traverse only) to a 0755 root; the key and config stay in
    // the server's private one
    let root = Removed(crate::support::private_tempdir("bench-fai")?);
    let data = root.0.join("data");
    std::fs::create_dir(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    for (dir, mode) in [(&root.0, 0o711), (&data, 0o755)] {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(mode)).map_err(|e| e.to_string())?;
    }
    let mut server = Server::start_on(bin, Some(&data), extra)?;
    let cfg = Arc::new(server.client_config());
    let addr: std::net::SocketAddr = cfg.server.parse().map_err(|e| format!("{}: {e}", cfg.server))?;
    // the three are measured in turn, in SLICES rounds of secs/SLICES each, so
    // that the machine's drift (other load comes and goes) falls on all of them
    let slice = secs / FAI_SLICES as f64;
    let (mut rsa, mut fai, mut floor, mut rsa1) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..FAI_SLICES {
        let c = cfg.clone();
        let r = rate(
            8,
            slice,
            CAP_HANDSHAKES,
            |_| Ok(()),
            move |_, _| {
                let mut s = connect(&c)?;
                echo(&mut s)?;
                s.end().map_err(|e| format!("END: {e}"))
            },
        );
        rsa.push(r);
        server.drain_sessions(Duration::from_secs(5));
        let (c, c2) = (cfg.clone(), cfg.clone());
        let r = rate(
            8,
            slice,
            CAP_HANDSHAKES,
            // each client's token comes from one ordinary session (untimed)
            move |_| {
                let mut s = connect(&c)?;
                let t = s
                    .faitok(60)
                    .split()
                    .map_err(|e| format!("FAITOK: {e}"))?
                    .map_err(|st| format!("FAITOK: {st:?}"))?;
                s.end().map_err(|e| format!("END: {e}"))?;
                Ok(t)
            },
            move |_, token| {
                let (mut s, next) = Client::connect_fai(&c2, token).map_err(|e| format!("FAI: {e}"))?;
                *token = next;
                echo(&mut s)?;
                s.end().map_err(|e| format!("END: {e}"))
            },
        );
        fai.push(r);
        server.drain_sessions(Duration::from_secs(5));
        let r = rate(8, slice, CAP_HANDSHAKES, |_| Ok(()), move |_, _| refused_version(addr));
        floor.push(r);
        server.drain_sessions(Duration::from_secs(5));
        rsa1.push(rsa_one_core((slice / 4.0).clamp(0.25, 1.0))?);
    }
    server.stop();
    Ok(FaiFigures {
        rsa: merged(rsa),
        fai: merged(fai),
        floor: merged(floor),
        rsa1_per_s: merged(rsa1).per_s,
    })
}

/// Prints phase 5's rows, target and BENCH line; returns (ratio, met).
pub(crate) fn report_fai(f: &FaiFigures) -> (f64, bool) {
    let (rsa, fai, floor) = (&f.rsa, &f.fai, &f.floor);
    let ratio = if rsa.per_s > 0.0 {
        fai.per_s / rsa.per_s
    } else {
        f64::NAN
    };
    for (name, r) in [
        ("RSA handshake + ECHO + END (baseline)", rsa),
        ("FAI entrance + ECHO + END", fai),
        ("refused version (per-connection floor)", floor),
    ] {
        println!(
            "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3}",
            name, r.per_s, r.errors, r.p50_ms, r.p99_ms
        );
        if let Some(e) = &r.first_error {
            println!("  {} error(s), first: {e}", r.errors);
        }
    }
    let ok = ratio >= TARGET_FAI_VS_RSA && fai.errors == 0 && rsa.errors == 0;
    println!(
        "target FAI entrances ≥ {TARGET_FAI_VS_RSA}× RSA handshakes (8 clients): {} ({ratio:.2}×; \
         the floor allows at most {:.2}× of today's RSA handshakes)",
        met(ok),
        if rsa.per_s > 0.0 {
            floor.per_s / rsa.per_s
        } else {
            f64::NAN
        }
    );
    if let (Some(b), Some([r, a, c])) = (f.bound(), f.cpu_s()) {
        println!(
            "  busy CPU per operation, client and kernel included: RSA handshake {:.3} ms, FAI entrance {:.3} ms, \
             refused connection {:.3} ms (one RSA-2048 decryption alone: {:.3} ms); with a process per \
             connection, an entrance that cost no more than a refused connection would make FAI ÷ RSA \
             1 + ({:.3} − {:.3}) ÷ {:.3} = {b:.2}× on this machine",
            r * 1e3,
            a * 1e3,
            c * 1e3,
            1e3 / f.rsa1_per_s,
            r * 1e3,
            a * 1e3,
            c * 1e3
        );
    }
    (ratio, ok)
}
