//! The client library's small transfers allocate room for what they move, not
//! for the largest frame the protocol allows. A 16 KiB SNDFILE, SUP or SDOWN
//! used to allocate (and zero) 512 KiB each time: on a busy machine that memset
//! was an eighth of all CPU in the 16 KiB SDOWN bench, taken from the server.
//! Bytes allocated are counted on the test's own thread, through the real wire
//! to the real tfd.

use tfd_sys::alloc_count::{allocated_by, Counting};
use tfd_testkit::reply::Answer as _;
use tfd_testkit::*;
use tfp_client::replies::AsStatus as _;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What a 16 KiB transfer may allocate in the client: the file's size a few
/// times over, far below the 512 KiB of a largest frame.
const LIMIT: usize = 128 * 1024;

#[test]
fn small_transfers_allocate_for_their_size_not_for_the_largest_frame() {
    let s = Server::start();
    let mut c = s.client();
    let data: Vec<u8> = (0..16 * 1024).map(|i| (i * 13 + 5) as u8).collect();
    // the first calls may size the buffers a client keeps
    for _ in 0..2 {
        c.sndfile(b"snd", true, &mut &data[..], &mut |_| {})
            .status()
            .expect("SNDFILE");
        assert_eq!(c.sup(b"sup", &mut &data[..]).answer().expect("SUP"), 0);
    }
    let (st, sndfile) = allocated_by(|| c.sndfile(b"snd", true, &mut &data[..], &mut |_| {}).status());
    assert!(matches!(st, Ok(tfp_wire::Status::Ok(_))), "SNDFILE: {st:?}");
    let (r, sup) = allocated_by(|| c.sup(b"sup", &mut &data[..]).answer());
    assert_eq!(r.expect("SUP"), 0);
    let mut out = Vec::with_capacity(data.len());
    let (r, sdown) = allocated_by(|| c.sdown(b"snd", &mut out).done());
    assert!(r.expect("SDOWN"), "SDOWN reported a failure");
    assert_eq!(out, data, "SDOWN brought back other bytes");
    assert_eq!(std::fs::read(s.data.join("snd")).unwrap(), data);
    assert_eq!(std::fs::read(s.data.join("sup")).unwrap(), data);
    eprintln!("allocated by one 16 KiB SNDFILE {sndfile} B, SUP {sup} B, SDOWN {sdown} B");
    for (op, n) in [("SNDFILE", sndfile), ("SUP", sup), ("SDOWN", sdown)] {
        assert!(n < LIMIT, "a 16 KiB {op} allocated {n} bytes in the client");
    }
    c.end().unwrap();
}
