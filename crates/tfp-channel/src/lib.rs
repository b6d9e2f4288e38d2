//! The TF Protocol's byte stream, blocking I/O on top of [`tfp_wire`]: one receiving half and one sending half,
//! each with its own cipher state, so a transfer can hand the receiving half to a
//! helper thread while the main thread keeps sending. Used by both the server's
//! sessions and the client.
//!
//! Each half ciphers *units* (wire-notes §1) through one code path whatever the
//! mode: the TFP stream cipher (the default, in place, slice by slice) or, after
//! GOAES, AES-256-CBC per unit ([`tfp_wire::aes`]), whose units take more bytes
//! on the wire than they carry. A command switches a half's mode between two
//! units ([`RxHalf::set_aes`], [`TxHalf::set_aes`]), so the switch lands on an
//! exact frame boundary in each direction; the stream cipher's state is kept
//! aside meanwhile, and comes back untouched when the layer is taken off.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use tfp_wire::aes::{self, AesDecrypt, AesEncrypt, AesError, AesKey, BLOCK};
use tfp_wire::frame::{self, FrameError, MAX_FRAME};
use tfp_wire::uuid::{self, TEXT_LEN};
use tfp_wire::Cipher;
use tfp_wire::{noise, record};

pub mod bandwidth;
mod ended;
mod meter;
mod net;
mod rx;
mod secure;
mod tx;

pub use ended::last_ended_port;
pub use meter::Meter;
pub use net::{NetStream, UrgentHandler};
pub use rx::{PartFrame, RxHalf, UnitPos};
pub use secure::SecureError;
pub use tx::{PreparedFrame, TxHalf};

/// Why a channel operation failed. Every variant ends the connection.
#[non_exhaustive]
#[derive(Debug)]
pub enum ChannelError {
    /// The peer closed the connection (EOF at a unit boundary or inside one).
    Closed,
    /// The socket failed or timed out.
    Io(io::Error),
    /// The peer sent a header the protocol forbids.
    Frame(FrameError),
    /// A unit would not decipher (AES padding: another key or IV, or a stream
    /// out of step).
    Cipher(AesError),
    /// CIAON is on and a unit came without the session's identity token.
    Identity,
    /// The secure transport refused a record (tampered, replayed, reordered,
    /// truncated) or could not seal one.
    Secure(String),
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelError::Closed => write!(f, "connection closed by peer"),
            ChannelError::Io(e) => write!(f, "i/o error: {e}"),
            ChannelError::Frame(e) => write!(f, "protocol violation: {e}"),
            ChannelError::Cipher(e) => write!(f, "cipher: {e}"),
            ChannelError::Identity => write!(f, "CIAON: a unit without the identity token"),
            ChannelError::Secure(e) => write!(f, "secure transport: {e}"),
        }
    }
}

impl std::error::Error for ChannelError {
    /// The socket's error, for a caller that wants its number.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChannelError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ChannelError {
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|i| i.is::<SecureError>()) {
            return ChannelError::Secure(e.to_string());
        }
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ChannelError::Closed
        } else {
            ChannelError::Io(e)
        }
    }
}

impl From<AesError> for ChannelError {
    fn from(e: AesError) -> Self {
        ChannelError::Cipher(e)
    }
}

impl From<FrameError> for ChannelError {
    fn from(e: FrameError) -> Self {
        ChannelError::Frame(e)
    }
}

/// Reads until `buf` is full or EOF and returns the count (unlike `read_exact`,
/// a short file is not an error). Used for chunking files into transfers.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Appends up to `max` bytes of `r` to `buf` (fewer only at the end of `r`) and
/// returns how many. They go into `buf`'s spare capacity, which readers of files
/// and slices fill without zeroing it first: a small file read into room for a
/// whole chunk costs only its own bytes.
pub fn read_append(r: &mut dyn Read, max: usize, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(max);
    r.take(max as u64).read_to_end(buf)
}

/// Large units are ciphered and moved in slices of this size: small enough that
/// both peers' ciphers work at once (pipelining), large enough that syscalls stay
/// cheap. Replies below it still leave in one write.
pub const SLICE: usize = 64 * 1024;

/// Both halves of a TCP connection.
pub struct Channel {
    /// Receiving half.
    pub rx: RxHalf<NetStream>,
    /// Sending half.
    pub tx: TxHalf<NetStream>,
}

impl Channel {
    /// Wraps a connected stream (TCP_NODELAY on: replies are single writes and must
    /// not wait for delayed ACKs).
    pub fn new(stream: TcpStream) -> io::Result<Channel> {
        Channel::with_urgent(stream, None)
    }

    /// Like [`Channel::new`], with a handler for TCP urgent (OOB) data that runs
    /// before any normal read could pass it (see [`NetStream`]).
    pub fn with_urgent(stream: TcpStream, urgent: Option<UrgentHandler>) -> io::Result<Channel> {
        stream.set_nodelay(true)?;
        let rx = NetStream {
            sock: stream.try_clone()?,
            urgent,
            pace: None,
            seal: None,
            open: None,
        };
        let tx = NetStream {
            sock: stream,
            urgent: None,
            pace: None,
            seal: None,
            open: None,
        };
        Ok(Channel {
            rx: RxHalf::new(rx),
            tx: TxHalf::new(tx),
        })
    }

    /// Applies bandwidth limits to both directions from now on.
    pub fn set_pace(&mut self, pace: Option<std::sync::Arc<crate::bandwidth::Pace>>) {
        self.rx.inner.get_mut().pace = pace.clone();
        self.tx.inner.pace = pace;
    }

    /// Turns encryption on in both directions from the same session key.
    pub fn start_cipher(&mut self, key: &[u8]) {
        self.rx.set_cipher(Cipher::new(key));
        self.tx.set_cipher(Cipher::new(key));
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        self.tx.get_ref().get_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame read in two parts, split anywhere (inside a cipher slice, on its
    /// edge, past the end), is the same as one read whole, and the stream stays in
    /// step for the next frame.
    #[test]
    fn frames_read_in_parts_match_whole_frames() {
        let key: Vec<u8> = (7u8..=30).collect();
        let payload: Vec<u8> = (0..SLICE * 2 + 77).map(|i| (i * 13 % 251) as u8).collect();
        for head in [0, 1, 5, SLICE - 1, SLICE, SLICE + 3, payload.len(), payload.len() + 10] {
            let mut tx = TxHalf::new(Vec::new());
            tx.set_cipher(Cipher::new(&key));
            tx.send_frame(&payload).unwrap();
            tx.send_frame(b"next").unwrap();
            let wire = tx.get_ref().clone();
            let mut rx = RxHalf::new(&wire[..]);
            rx.set_cipher(Cipher::new(&key));
            let mut buf = vec![0u8; head];
            let mut part = rx.begin_frame(MAX_FRAME, &mut buf).unwrap();
            assert_eq!(part.len(), payload.len());
            assert_eq!(part.filled(), head.min(payload.len()));
            assert_eq!(&buf[..part.filled()], &payload[..part.filled()], "head {head}");
            // the rest in odd pieces, then nothing more
            buf.truncate(part.filled());
            let mut piece = vec![0u8; 1000];
            while part.left() > 0 {
                let n = rx.read_frame_part(&mut part, &mut piece).unwrap();
                buf.extend_from_slice(&piece[..n]);
            }
            assert_eq!(rx.read_frame_part(&mut part, &mut piece).unwrap(), 0);
            assert_eq!(buf, payload, "head {head}");
            assert_eq!(rx.recv_frame().unwrap(), b"next", "head {head}");

            // or skipped: the stream stays in step
            let mut rx = RxHalf::new(&wire[..]);
            rx.set_cipher(Cipher::new(&key));
            let mut part = rx.begin_frame(MAX_FRAME, &mut vec![0u8; head]).unwrap();
            rx.skip_frame_rest(&mut part).unwrap();
            assert_eq!(rx.recv_frame().unwrap(), b"next", "head {head}");
        }
    }

    #[test]
    fn frames_round_trip_through_halves() {
        let key: Vec<u8> = (1u8..=20).collect();
        let mut tx = TxHalf::new(Vec::new());
        tx.set_cipher(Cipher::new(&key));
        tx.send_frame(b"hello").unwrap();
        tx.send_frame_parts(&[b"CONT ", b"data"]).unwrap();
        tx.send_i64(-127).unwrap();
        tx.send_frame(b"").unwrap();
        let wire = tx.get_ref().clone();
        let mut rx = RxHalf::new(&wire[..]);
        rx.set_cipher(Cipher::new(&key));
        assert_eq!(rx.recv_frame().unwrap(), b"hello");
        assert_eq!(rx.recv_frame().unwrap(), b"CONT data");
        assert_eq!(rx.recv_i64().unwrap(), -127);
        assert_eq!(rx.recv_frame().unwrap(), b"");
        assert!(matches!(rx.recv_frame(), Err(ChannelError::Closed)));
    }

    /// A body enciphered where it lies goes out as the same bytes as through
    /// the output buffer, small or big, in plaintext, and under AES.
    #[test]
    fn units_sent_in_place_are_the_same_bytes() {
        let key: Vec<u8> = (5u8..=37).collect();
        for n in [0usize, 10, SLICE / 2 - 1, SLICE / 2, SLICE, 3 * SLICE + 17] {
            let body: Vec<u8> = (0..n as u32).map(|i| (i * 13 + i / 97) as u8).collect();
            for cipher in [false, true] {
                for aes_on in [false, true] {
                    let half = || {
                        let mut t = TxHalf::new(Vec::new());
                        if cipher {
                            t.set_cipher(Cipher::new(&key));
                        }
                        if aes_on {
                            t.set_aes(Some(&AesKey::new([3; 32], [4; 16]))).unwrap();
                        }
                        t.send_frame(b"before").unwrap();
                        t
                    };
                    let mut plain = half();
                    plain.send_units(&[&(n as i64).to_be_bytes(), &body]).unwrap();
                    plain.send_frame(b"after").unwrap();
                    let mut tx = half();
                    let mut scratch = body.clone();
                    tx.send_units_in_place(&(n as i64).to_be_bytes(), &mut scratch).unwrap();
                    tx.send_frame(b"after").unwrap();
                    assert_eq!(tx.get_ref(), plain.get_ref(), "n {n} cipher {cipher} aes {aes_on}");
                    assert_eq!(tx.bytes, plain.bytes, "n {n} cipher {cipher} aes {aes_on}");
                }
            }
        }
    }

    /// A hold keeps small sends back and releases the same bytes in one write;
    /// what reaches a slice, a prepared frame or a big body goes out in order.
    #[test]
    fn held_sends_leave_together_as_the_same_bytes() {
        let key: Vec<u8> = (9u8..=40).collect();
        let big: Vec<u8> = (0..(3 * SLICE) as u32).map(|i| (i * 5 + i / 77) as u8).collect();
        let sends = |t: &mut TxHalf<Vec<u8>>, writes: &mut Vec<usize>| {
            t.send_frame(b"OK grant").unwrap();
            writes.push(t.get_ref().len());
            t.send_units(&[&7i64.to_be_bytes(), b"small data"]).unwrap();
            writes.push(t.get_ref().len());
            t.send_i64(0).unwrap();
            writes.push(t.get_ref().len());
            let mut scratch = big.clone();
            t.send_units_in_place(&(big.len() as i64).to_be_bytes(), &mut scratch)
                .unwrap();
            writes.push(t.get_ref().len());
            t.send_i32(-1).unwrap();
            writes.push(t.get_ref().len());
        };
        let mut plain = TxHalf::new(Vec::new());
        plain.set_cipher(Cipher::new(&key));
        sends(&mut plain, &mut Vec::new());
        let mut tx = TxHalf::new(Vec::new());
        tx.set_cipher(Cipher::new(&key));
        tx.hold();
        let mut writes = Vec::new();
        sends(&mut tx, &mut writes);
        // the three small sends stay back; the big body takes them out before it
        assert_eq!(writes[..3], [0, 0, 0], "held");
        assert!(writes[3] > 3 * SLICE, "a big body goes out with what was held");
        assert_eq!(writes[4], writes[3], "held again after it");
        tx.release().unwrap();
        assert_eq!(tx.get_ref(), plain.get_ref());
        assert_eq!(tx.bytes, plain.bytes);
        // a prepared frame sends what was held first
        let mut tx = TxHalf::new(Vec::new());
        tx.set_cipher(Cipher::new(&key));
        let mut plain = TxHalf::new(Vec::new());
        plain.set_cipher(Cipher::new(&key));
        plain.send_frame(b"held").unwrap();
        plain.send_frame(b"prepared").unwrap();
        tx.hold();
        tx.send_frame(b"held").unwrap();
        let p = tx.prepare_frame_parts(&[b"prepared"]).unwrap();
        tx.send_prepared(p).unwrap();
        assert_eq!(tx.get_ref(), plain.get_ref());
        assert!(!tx.held, "sending a prepared frame ends the hold");
    }

    #[test]
    fn prepared_frames_are_the_same_bytes_and_refused_when_stale() {
        let key: Vec<u8> = (7u8..=40).collect();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        // reference: the plain path
        let mut plain = TxHalf::new(Vec::new());
        plain.set_cipher(Cipher::new(&key));
        plain.send_frame(b"first").unwrap();
        plain.send_frame_parts(&[b"CONT ", &big]).unwrap();
        plain.send_frame(b"after").unwrap();
        // prepared while "waiting", then sent
        let mut tx = TxHalf::new(Vec::new());
        tx.set_cipher(Cipher::new(&key));
        tx.send_frame(b"first").unwrap();
        let p = tx.prepare_frame_parts(&[b"CONT ", &big]).unwrap();
        assert_eq!(p.wire_len(), 4 + 5 + big.len());
        let dropped = tx.prepare_frame_parts(&[b"never sent"]).unwrap();
        drop(dropped); // dropping one leaves the state alone
        tx.send_prepared(p).unwrap();
        tx.send_frame(b"after").unwrap();
        assert_eq!(tx.get_ref(), plain.get_ref(), "same bytes on the wire");
        assert_eq!(tx.bytes, plain.bytes);
        // a frame prepared before something else was sent is refused
        let stale = tx.prepare_frame_parts(&[b"x"]).unwrap();
        tx.send_frame(b"in between").unwrap();
        let before = tx.get_ref().len();
        assert!(tx.send_prepared(stale).is_err());
        assert_eq!(tx.get_ref().len(), before, "nothing written");
        assert!(tx.prepare_frame_parts(&[&vec![0u8; MAX_FRAME + 1]]).is_err());

        // filled in place, in a buffer reused from the frame sent before: the
        // same bytes again
        let mut tx = TxHalf::new(Vec::new());
        tx.set_cipher(Cipher::new(&key));
        tx.send_frame(b"first").unwrap();
        let mut buf = tx.frame_buffer(5 + big.len());
        assert_eq!(buf.len(), 4 + 5 + big.len());
        buf[4..9].copy_from_slice(b"CONT ");
        buf[9..].copy_from_slice(&big);
        let p = tx.prepare_frame_buffer(buf).unwrap();
        let at = p.bytes.as_ptr();
        tx.send_prepared(p).unwrap();
        let again = tx.frame_buffer(10);
        assert_eq!(again.as_ptr(), at, "the sent frame's buffer comes back");
        let short = tx.prepare_frame_buffer(again[..4 + 5].to_vec()).unwrap();
        drop(short);
        tx.send_frame(b"after").unwrap();
        assert_eq!(tx.get_ref(), plain.get_ref(), "same bytes on the wire");
        assert!(tx.prepare_frame_buffer(vec![0u8; 3]).is_err());
        assert!(tx.prepare_frame_buffer(vec![0u8; 4 + MAX_FRAME + 1]).is_err());
    }

    #[test]
    fn oversize_and_negative_headers_are_violations() {
        let big = 600_000i32.to_be_bytes();
        let mut rx = RxHalf::new(&big[..]);
        assert!(matches!(
            rx.recv_frame(),
            Err(ChannelError::Frame(FrameError::TooLarge { .. }))
        ));
        let neg = (-1i32).to_be_bytes();
        let mut rx = RxHalf::new(&neg[..]);
        assert!(matches!(
            rx.recv_frame(),
            Err(ChannelError::Frame(FrameError::Negative(-1)))
        ));
        let mut rx = RxHalf::new(&[0u8, 0, 1, 0, 1, 2][..]);
        assert!(matches!(rx.recv_frame_max(100), Err(ChannelError::Frame(_))));
    }

    fn aes_key(iv: u8) -> AesKey {
        AesKey::new(core::array::from_fn(|i| i as u8 * 3 + 1), [iv; aes::IV_LEN])
    }

    /// The switch lands between frames: stream, then AES, then the stream again
    /// from the state it was left in; every kind of unit goes through, read whole
    /// or in odd parts, and the wire sizes are the padded ones.
    #[test]
    fn aes_layer_switches_at_frame_boundaries() {
        let key: Vec<u8> = (5u8..=40).collect();
        let payload: Vec<u8> = (0..SLICE * 2 + 77).map(|i| (i * 13 % 251) as u8).collect();
        for head in [0, 1, 15, 16, 17, 31, 32, 33, SLICE, payload.len()] {
            let mut tx = TxHalf::new(Vec::new());
            tx.set_cipher(Cipher::new(&key));
            tx.send_frame(b"before").unwrap();
            tx.set_aes(Some(&aes_key(7))).unwrap();
            let at = tx.get_ref().len();
            tx.send_frame(b"OK").unwrap();
            assert_eq!(tx.get_ref().len() - at, 16 + 16, "header and payload one block each");
            tx.send_frame(&payload).unwrap();
            tx.send_frame(b"").unwrap();
            tx.send_frame(&[9u8; 16]).unwrap();
            tx.send_frame_parts(&[b"OK ", &[b'u'; 36], b"", &payload[..SLICE + 3]])
                .unwrap();
            tx.send_i64(-5).unwrap();
            let p = tx.prepare_frame_parts(&[b"CONT ", &payload[..1000]]).unwrap();
            assert_eq!(p.wire_len(), 16 + aes::wire_len(1005));
            tx.send_prepared(p).unwrap();
            tx.set_aes(None).unwrap();
            tx.send_frame(b"after").unwrap();
            let wire = tx.get_ref().clone();

            let mut rx = RxHalf::new(&wire[..]);
            rx.set_cipher(Cipher::new(&key));
            assert_eq!(rx.recv_frame().unwrap(), b"before");
            rx.set_aes(Some(&aes_key(7))).unwrap();
            assert_eq!(rx.recv_frame().unwrap(), b"OK");
            let mut buf = vec![0u8; head];
            let mut part = rx.begin_frame(MAX_FRAME, &mut buf).unwrap();
            buf.truncate(part.filled());
            let mut piece = vec![0u8; 1000];
            while part.left() > 0 {
                let n = rx.read_frame_part(&mut part, &mut piece).unwrap();
                buf.extend_from_slice(&piece[..n]);
            }
            assert_eq!(buf, payload, "head {head}");
            assert_eq!(rx.recv_frame().unwrap(), b"");
            assert_eq!(rx.recv_frame().unwrap(), [9u8; 16]);
            let parts = rx.recv_frame().unwrap();
            assert_eq!(&parts[..3], b"OK ");
            assert_eq!(&parts[3..39], &[b'u'; 36]);
            assert_eq!(&parts[39..], &payload[..SLICE + 3]);
            assert_eq!(rx.recv_i64().unwrap(), -5);
            let mut part = rx.begin_frame(MAX_FRAME, &mut vec![0u8; head.min(2000)]).unwrap();
            rx.skip_frame_rest(&mut part).unwrap();
            rx.set_aes(None).unwrap();
            assert_eq!(rx.recv_frame().unwrap(), b"after", "head {head}");
            assert!(matches!(rx.recv_frame(), Err(ChannelError::Closed)));
            assert_eq!(rx.bytes, wire.len() as u64);
        }
    }

    /// A peer with another IV: the first unit's padding is wrong, and that is an
    /// error, not a garbled frame.
    #[test]
    fn aes_with_a_wrong_iv_is_an_error() {
        let mut tx = TxHalf::new(Vec::new());
        tx.set_aes(Some(&aes_key(1))).unwrap();
        tx.send_frame(b"LS /").unwrap();
        let wire = tx.get_ref().clone();
        let mut rx = RxHalf::new(&wire[..]);
        rx.set_aes(Some(&aes_key(2))).unwrap();
        assert!(matches!(
            rx.recv_frame(),
            Err(ChannelError::Cipher(AesError::BadPadding))
        ));
    }

    /// CIAON's tokens go before every unit, in both ciphers, and a new token
    /// replaces the old one between frames.
    #[test]
    fn identity_tokens_before_every_unit() {
        let t1 = *b"11111111-1111-4111-8111-111111111111";
        let t2 = *b"22222222-2222-4222-8222-222222222222";
        for aes in [false, true] {
            let mut tx = TxHalf::new(Vec::new());
            if aes {
                tx.set_aes(Some(&aes_key(3))).unwrap();
            }
            tx.set_ident(Some(t1));
            tx.send_frame(b"one").unwrap();
            tx.send_frame(b"").unwrap();
            tx.send_i64(7).unwrap();
            tx.set_ident(Some(t2));
            tx.send_frame(b"two").unwrap();
            tx.set_ident(None);
            tx.send_frame(b"three").unwrap();
            let wire = tx.get_ref().clone();
            let mut rx = RxHalf::new(&wire[..]);
            if aes {
                rx.set_aes(Some(&aes_key(3))).unwrap();
            }
            rx.set_ident(Some(t1));
            assert_eq!(rx.recv_frame().unwrap(), b"one", "aes {aes}");
            assert_eq!(rx.recv_frame().unwrap(), b"", "aes {aes}");
            assert_eq!(rx.recv_i64().unwrap(), 7, "aes {aes}");
            rx.set_ident(Some(t2));
            assert_eq!(rx.recv_frame().unwrap(), b"two", "aes {aes}");
            rx.set_ident(None);
            assert_eq!(rx.recv_frame().unwrap(), b"three", "aes {aes}");
            // the wrong token
            let mut rx = RxHalf::new(&wire[..]);
            if aes {
                rx.set_aes(Some(&aes_key(3))).unwrap();
            }
            rx.set_ident(Some(t2));
            assert!(matches!(rx.recv_frame(), Err(ChannelError::Identity)), "aes {aes}");
        }
    }

    #[test]
    fn truncated_payload_is_closed() {
        let mut rx = RxHalf::new(&[0u8, 0, 0, 5, b'a'][..]);
        assert!(matches!(rx.recv_frame(), Err(ChannelError::Closed)));
    }
}
