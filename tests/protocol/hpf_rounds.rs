//! HPF transfers as the plain session, the AES layer and the secure transport
//! each must carry them: PUT/GET round trips, PUT's STOP and CANCEL, and the
//! PUTCAN and GETCAN windows driven unit by unit.

use std::fs;
use tfd_testkit::{pattern, Server};
use tfp_client::replies::Split as _;
use tfp_client::Client;
use tfp_wire::hpf::{self, code};

/// PUT then GET of each size (as `p0`, `p1`, …; seeds from `seed`): the file
/// on disk and the bytes back are the bytes sent.
pub fn put_get_round_trips(srv: &Server, c: &mut Client, sizes: &[usize], seed: u64) {
    for (i, n) in sizes.iter().enumerate() {
        let data = pattern(*n, seed + i as u64);
        let name = format!("p{i}");
        c.put(name.as_bytes(), 0, 65_536, &mut &data[..], &mut |_| {})
            .split()
            .unwrap()
            .unwrap();
        assert_eq!(fs::read(srv.path(&name)).unwrap(), data, "PUT size {n}");
        let mut back = Vec::new();
        assert_eq!(
            c.get(name.as_bytes(), 0, 30_000, &mut back, &mut |_| {})
                .split()
                .unwrap(),
            Ok(*n as u64)
        );
        assert_eq!(back, data, "GET size {n}");
    }
}

/// PUT cancelled after its first chunk: with STOP the part sent is kept, with
/// CANCEL the file is deleted.
pub fn put_stop_keeps_and_cancel_deletes(srv: &Server, c: &mut Client) {
    c.put_cancel(b"stopped", 8, b"0123456789", code::STOP)
        .split()
        .unwrap()
        .unwrap();
    assert_eq!(fs::read(srv.path("stopped")).unwrap(), b"0123456789");
    c.put_cancel(b"cancelled", 8, b"0123456789", code::CANCEL)
        .split()
        .unwrap()
        .unwrap();
    assert!(!srv.path("cancelled").exists());
}

/// PUTCAN of 100 bytes to `pc`, canpt 2, grant 16: after every second chunk
/// the server answers CONT; after the end it sends no FIN and no reply.
pub fn putcan_window(srv: &Server, c: &mut Client) {
    let data = pattern(100, 5);
    let mut cmd = b"PUTCAN ".to_vec();
    cmd.extend_from_slice(&hpf::encode(b"pc", 0, 16, Some(2)));
    let f = c.raw(&cmd).unwrap();
    assert_eq!(i64::from_be_bytes(f[3..11].try_into().unwrap()), 16);
    for (i, chunk) in data.chunks(16).enumerate() {
        c.chan
            .tx
            .send_units(&[&(chunk.len() as i64).to_be_bytes(), chunk])
            .unwrap();
        if i % 2 == 1 {
            assert_eq!(c.chan.rx.recv_i64().unwrap(), code::CONT);
        }
    }
    c.chan.tx.send_i64(code::END).unwrap();
    assert_eq!(
        c.raw(b"ECHO next").unwrap(),
        b"next",
        "no FIN and no reply after PUTCAN"
    );
    assert_eq!(fs::read(srv.path("pc")).unwrap(), data);
}

/// GETCAN of 96 bytes from `gc`, canpt 3, grant 16: the client answers every
/// third chunk, and at a window boundary at EOF it still answers before the 0.
pub fn getcan_window(srv: &Server, c: &mut Client) {
    let want = pattern(96, 6);
    fs::write(srv.path("gc"), &want).unwrap();
    let mut cmd = b"GETCAN ".to_vec();
    cmd.extend_from_slice(&hpf::encode(b"gc", 0, 16, Some(3)));
    assert_eq!(&c.raw(&cmd).unwrap()[..3], b"OK ");
    let mut got = Vec::new();
    let mut chunks = 0;
    loop {
        let len = c.chan.rx.recv_i64().unwrap();
        if len <= 0 {
            assert_eq!(len, 0);
            break;
        }
        let mut b = vec![0u8; len as usize];
        c.chan.rx.recv_unit(&mut b).unwrap();
        got.extend_from_slice(&b);
        chunks += 1;
        if chunks % 3 == 0 {
            c.chan.tx.send_i64(code::CONT).unwrap();
        }
    }
    assert_eq!(got, want);
}
