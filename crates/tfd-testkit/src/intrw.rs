//! INTREAD and INTWRITE spoken by hand, as the Python client speaks them,
//! and the text form of a hash they carry.

use tfp_client::Client;

/// The document's text form of `data`'s SHA-256 (`0x` and 64 hex digits), as
/// SHA256, INTREAD and INTWRITE carry it.
pub fn hash_text(data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    tfp_wire::sha256_text(&Sha256::digest(data).into()).to_vec()
}

/// INTREAD as the Python client does it: i32 size (or −1), 66-byte hash, bytes.
pub fn intread(c: &mut Client, path: &str) -> Result<(Vec<u8>, Vec<u8>), i32> {
    c.chan.tx.send_frame(format!("INTREAD {path}").as_bytes()).unwrap();
    let n = c.chan.rx.recv_i32().unwrap();
    if n < 0 {
        return Err(n);
    }
    let mut hash = vec![0u8; tfp_wire::SHA256_TEXT_LEN];
    c.chan.rx.recv_unit(&mut hash).unwrap();
    let mut data = vec![0u8; n as usize];
    c.chan.rx.recv_unit(&mut data).unwrap();
    Ok((hash, data))
}

/// INTWRITE as the Python client does it: raw hash unit, then `[i32 size][data]`.
pub fn intwrite(c: &mut Client, path: &str, hash: &[u8], data: &[u8]) -> i32 {
    c.chan.tx.send_frame(format!("INTWRITE {path}").as_bytes()).unwrap();
    c.chan.tx.send_units(&[hash]).unwrap();
    c.chan
        .tx
        .send_units(&[&(data.len() as i32).to_be_bytes(), data])
        .unwrap();
    c.chan.rx.recv_i32().unwrap()
}
