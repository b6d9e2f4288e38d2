//! What a delta download's most signatures cost the session that takes them.

use super::measure::{ok_status, pattern};
use super::options::MIB;
use crate::support::Server;
use std::fs;
use std::path::Path;
use std::time::Instant;
use tfp_client::Client;

/// What the `sigmem` phase saw.
pub(crate) struct SigMem {
    pub(crate) entries: usize,
    /// The session's peak resident memory before the signatures and after
    /// the records' end, KiB.
    pub(crate) before_kib: u64,
    pub(crate) after_kib: u64,
    pub(crate) secs: f64,
    /// The start of the end frame (`E<SHA-256>` when tfd took them all).
    pub(crate) end: String,
}

/// A session's peak resident memory so far (`VmHWM`), KiB.
pub(crate) fn peak_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// TFDDELTAGET of a 1 MiB file, claiming an old copy as big as the most
/// signatures allowed describe, then every one of them and the end; the
/// records are read to their end. The first entries are the file's own
/// blocks, so tfd's early probe finds the delta pays and takes (and
/// indexes) them all; the rest are distinct. Measures the session process,
/// the listener's one child that is no helper.
pub(crate) fn phase_sigmem(bin: &Path) -> Result<SigMem, String> {
    use tfp_wire::delta as wire;
    let server = Server::start(bin)?;
    let file = &pattern()[..MIB as usize];
    fs::write(server.data_dir().join("m.bin"), file).map_err(|e| e.to_string())?;
    let own = fast_rsync::Signature::calculate(
        file,
        fast_rsync::SignatureOptions {
            block_size: wire::MAX_BLOCK,
            crypto_hash_size: wire::STRONG,
        },
    );
    let own = &own.serialized()[wire::SIG_HEADER..];
    let mut c = Client::connect(&server.client_config()).map_err(|e| format!("connect: {e}"))?;
    let entries = (wire::MAX_GET_SIGNATURE / wire::ENTRY as u64) as usize;
    let size = entries as u64 * wire::MAX_BLOCK as u64;
    let arg = format!("{size} {} {} m.bin", wire::MAX_BLOCK, wire::STRONG);
    let st = c.call("TFDDELTAGET", arg.as_bytes()).map_err(|e| e.to_string())?;
    ok_status("TFDDELTAGET", &st)?;
    let pid = match server.session_pids()[..] {
        [pid] => pid,
        ref v => return Err(format!("one session process expected, found {v:?}")),
    };
    let before_kib = peak_kib(pid).ok_or("no VmHWM for the session")?;
    // distinct entries: a xorshift stream, not a repeated pattern
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut all = vec![0u8; entries * wire::ENTRY];
    for c in all.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
    }
    all[..own.len()].copy_from_slice(own);
    let t0 = Instant::now();
    let mut frame = Vec::with_capacity(1 + wire::ENTRY * 20_000);
    for chunk in all.chunks(wire::ENTRY * 20_000) {
        frame.clear();
        frame.push(b'S');
        frame.extend_from_slice(chunk);
        c.chan.tx.send_frame(&frame).map_err(|e| e.to_string())?;
    }
    c.chan.tx.send_frame(b"E").map_err(|e| e.to_string())?;
    let end = loop {
        let f = c.chan.rx.recv_frame().map_err(|e| e.to_string())?;
        if !matches!(f.first(), Some(b'C' | b'L')) {
            break f;
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    let after_kib = peak_kib(pid).ok_or("no VmHWM for the session")?;
    Ok(SigMem {
        entries,
        before_kib,
        after_kib,
        secs,
        end: String::from_utf8_lossy(&end[..end.len().min(20)]).into_owned(),
    })
}
