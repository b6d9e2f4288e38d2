//! The machine's ceiling for a sealed stream over loopback: the secure
//! transport's AEAD records (64 KiB, the suite this machine picks) sealed by
//! one thread, written to a loopback TCP socket, read and opened by another,
//! with no server, no protocol and no files. A secure transfer over loopback
//! pays both ends' AEAD and the kernel's copies into and out of the socket on
//! the same cores, and more besides (the file, the protocol), so no
//! implementation's can beat this figure; the benches (`scripts/bench transfer
//! --only secure`, `scripts/bench-python --only fsspec`) measure it in their own
//! runs to say whether a target can be reached at all on the machine.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Instant;
use tfp_wire::noise::{CipherState, Suite};
use tfp_wire::record::{self, Kind, Opener, Sealer, HEADER, MAX_BODY, MAX_DATA, REKEY_AFTER};

/// MB/s of data through a sealed loopback stream of `mib` MiB, rounded up to
/// whole records; 0.0 when a socket could not be had or the stream broke, so a
/// bench reports it rather than failing.
pub fn sealed_loopback_mbps(mib: u64) -> f64 {
    let key = [9u8; 32];
    let total = (mib << 20).div_ceil(MAX_DATA as u64) * MAX_DATA as u64;
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return 0.0;
    };
    let Ok(addr) = listener.local_addr() else { return 0.0 };
    let t = Instant::now();
    let moved = std::thread::scope(|scope| {
        let sender = scope.spawn(move || seal_and_send(addr, key, total));
        let received = accept_and_open(&listener, key);
        match (sender.join(), received) {
            (Ok(Ok(())), Ok(got)) if got == total => got,
            _ => 0,
        }
    });
    moved as f64 / t.elapsed().as_secs_f64() / 1e6
}

/// The sending end: `total` bytes in whole records, each written at once.
fn seal_and_send(addr: SocketAddr, key: [u8; 32], total: u64) -> io::Result<()> {
    let mut sock = TcpStream::connect(addr)?;
    sock.set_nodelay(true)?;
    let mut s = Sealer::new(CipherState::with_key(Suite::preferred(), key), REKEY_AFTER);
    let data = vec![0x5au8; MAX_DATA];
    let mut out = vec![0u8; record::seal_room(MAX_DATA)];
    let mut done = 0u64;
    while done < total {
        let n = s.seal_into(Kind::Data, &data, &mut out).map_err(io::Error::other)?;
        sock.write_all(&out[..n])?;
        done += MAX_DATA as u64;
    }
    Ok(())
}

/// The receiving end: every record opened into one reused buffer until the
/// sender closes; the bytes of data opened.
fn accept_and_open(listener: &TcpListener, key: [u8; 32]) -> io::Result<u64> {
    let (mut sock, _) = listener.accept()?;
    let mut o = Opener::new(CipherState::with_key(Suite::preferred(), key));
    let mut raw = vec![0u8; 4 * (HEADER + MAX_BODY)];
    let mut data = vec![0u8; MAX_DATA];
    let (mut from, mut to, mut got) = (0usize, 0usize, 0u64);
    loop {
        while to - from >= HEADER {
            let mut hdr = [0u8; HEADER];
            hdr.copy_from_slice(&raw[from..from + HEADER]);
            let body = Opener::body_len(hdr).map_err(io::Error::other)?;
            if to - from < HEADER + body {
                break;
            }
            let at = from + HEADER;
            let (_, n) = o
                .open_to(hdr, &raw[at..at + body], &mut data)
                .map_err(io::Error::other)?;
            got += n as u64;
            from = at + body;
        }
        raw.copy_within(from..to, 0);
        to -= from;
        from = 0;
        match sock.read(&mut raw[to..])? {
            0 => return Ok(got),
            n => to += n,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sealed_stream_moves_every_byte() {
        // 0.0 is the answer for a broken stream or a short count
        assert!(super::sealed_loopback_mbps(4) > 0.0);
    }
}
