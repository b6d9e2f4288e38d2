//! One 1 GiB file through each transfer family, streamed (never held in memory),
//! compared by SHA-256 on the client, on the server's disk and after download.

use tfp_client::replies::{AsStatus as _, Split as _};

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use tfd_testkit::*;

const GIB: u64 = 1 << 30;

/// A deterministic byte stream of `left` bytes that hashes itself as it goes.
struct Pattern {
    left: u64,
    x: u64,
    hash: Sha256,
}

impl Pattern {
    fn new(n: u64, seed: u64) -> Pattern {
        Pattern {
            left: n,
            x: seed | 1,
            hash: Sha256::new(),
        }
    }
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.x ^= self.x << 13;
            self.x ^= self.x >> 7;
            self.x ^= self.x << 17;
            let b = self.x.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

struct HashSink(Sha256, u64);

impl Write for HashSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        self.1 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn disk_sha(p: &std::path::Path) -> Vec<u8> {
    let mut f = std::fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).unwrap();
    h.finalize().to_vec()
}

#[test]
fn one_gib_put_get_and_sndfile_rcvfile() {
    let srv = Server::start();
    let mut c = srv.client();

    let mut src = Pattern::new(GIB, 7);
    c.put(b"put.bin", 0, 4 << 20, &mut src, &mut |_| {})
        .split()
        .unwrap()
        .unwrap();
    let want = src.hash.finalize().to_vec();
    assert_eq!(disk_sha(&srv.path("put.bin")), want);
    let mut sink = HashSink(Sha256::new(), 0);
    assert_eq!(
        c.get(b"put.bin", 0, 4 << 20, &mut sink, &mut |_| {}).split().unwrap(),
        Ok(GIB)
    );
    assert_eq!(sink.0.finalize().to_vec(), want);
    std::fs::remove_file(srv.path("put.bin")).unwrap();

    let mut src = Pattern::new(GIB, 11);
    assert!(ok(&c
        .sndfile(b"snd.bin", false, &mut src, &mut |_| {})
        .status()
        .unwrap()));
    let want = src.hash.finalize().to_vec();
    assert_eq!(disk_sha(&srv.path("snd.bin")), want);
    let mut sink = HashSink(Sha256::new(), 0);
    assert!(ok(&c.rcvfile(b"snd.bin", true, &mut sink).status().unwrap()));
    assert_eq!(sink.1, GIB);
    assert_eq!(sink.0.finalize().to_vec(), want);
    assert!(
        !srv.path("snd.bin").exists(),
        "RCVFILE 1 deletes after a complete download"
    );
}
