//! The session cipher and the secure transport's AEAD alone: the baselines.

use super::measure::pattern;
use super::options::{MIB, UNIT};
use std::thread;
use std::time::Instant;
use tfp_wire::Cipher;

pub(crate) fn cipher_key() -> Vec<u8> {
    (0..32u8).map(|i| i.wrapping_mul(97).wrapping_add(13)).collect()
}

/// The cipher alone, one thread: MB/s of `pack` (or `unpack`) over `mib` MiB.
pub(crate) fn cipher_rate(mib: u64, unpack: bool) -> f64 {
    let mut buf = pattern();
    let units = (mib * MIB).div_ceil(UNIT as u64).max(1);
    let mut c = Cipher::new(&cipher_key());
    // warm up: page the buffer in, let the clock settle
    c.pack(&mut buf);
    let t = Instant::now();
    for _ in 0..units {
        if unpack {
            c.unpack(std::hint::black_box(&mut buf));
        } else {
            c.pack(std::hint::black_box(&mut buf));
        }
    }
    (units * UNIT as u64) as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// `pack` on `threads` threads at once, `mib` MiB each: total MB/s. Shows what
/// the machine's cores really deliver together (shared or throttled vCPUs).
/// The secure transport's AEAD alone on one thread: the record layer sealing
/// 64 KiB records (the suite this machine would pick), MB/s.
pub(crate) fn aead_rate(mib: u64) -> f64 {
    use tfp_wire::noise::{CipherState, Suite};
    use tfp_wire::record::{Kind, Sealer, MAX_DATA, REKEY_AFTER};
    let mut s = Sealer::new(CipherState::with_key(Suite::preferred(), [7; 32]), REKEY_AFTER);
    let data = vec![0x5au8; MAX_DATA];
    let mut out = Vec::with_capacity(MAX_DATA + 64);
    let total = mib * MIB;
    let t = Instant::now();
    let mut done = 0u64;
    while done < total {
        out.clear();
        if s.seal(Kind::Data, &data, &mut out).is_err() {
            return 0.0;
        }
        done += MAX_DATA as u64;
    }
    std::hint::black_box(&out);
    done as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// The secure transport's ceiling on this machine (`tfp_client::ceiling`):
/// no secure transfer over loopback can beat it.
pub(crate) fn aead_loopback_rate(mib: u64) -> f64 {
    tfp_client::ceiling::sealed_loopback_mbps(mib)
}

pub(crate) fn cipher_rate_threads(mib: u64, threads: usize) -> f64 {
    let barrier = std::sync::Barrier::new(threads + 1);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut buf = pattern();
                    let mut c = Cipher::new(&cipher_key());
                    c.pack(&mut buf);
                    barrier.wait();
                    for _ in 0..(mib * MIB).div_ceil(UNIT as u64).max(1) {
                        c.pack(std::hint::black_box(&mut buf));
                    }
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        for h in handles {
            let _ = h.join();
        }
        let units = (mib * MIB).div_ceil(UNIT as u64).max(1);
        (threads as u64 * units * UNIT as u64) as f64 / t.elapsed().as_secs_f64() / 1e6
    })
}
