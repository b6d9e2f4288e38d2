//! Blocking I/O on top of [`crate::wire`]: one receiving half and one sending half,
//! each with its own cipher state, so a transfer can hand the receiving half to a
//! helper thread while the main thread keeps sending. Used by both the server's
//! sessions and the client.
//!
//! Each half ciphers *units* (wire-notes §1) through one code path whatever the
//! mode: the TFP stream cipher (the default, in place, slice by slice) or, after
//! GOAES, AES-256-CBC per unit ([`crate::wire::aes`]), whose units take more bytes
//! on the wire than they carry. A command switches a half's mode between two
//! units ([`RxHalf::set_aes`], [`TxHalf::set_aes`]), so the switch lands on an
//! exact frame boundary in each direction; the stream cipher's state is kept
//! aside meanwhile, and comes back untouched when the layer is taken off.
#![forbid(unsafe_code)]

use crate::wire::aes::{self, AesDecrypt, AesEncrypt, AesError, AesKey, BLOCK};
use crate::wire::frame::{self, FrameError, MAX_FRAME};
use crate::wire::uuid::{self, TEXT_LEN};
use crate::wire::Cipher;
use crate::wire::{noise, record};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

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

impl std::error::Error for ChannelError {}

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

/// The receive buffer: it gathers small units (headers, commands) into few
/// syscalls; reads of a slice go around it, straight into the caller's buffer.
/// Small on purpose: std zero-fills it on first use, and every page of that costs
/// a fresh session a page fault before its first command.
const RX_BUFFER: usize = 8 * 1024;

/// The receiving half: a buffered reader and the RX cipher.
pub struct RxHalf<R: Read = TcpStream> {
    inner: BufReader<R>,
    /// The stream cipher's state (None before the key exchange). Kept while a
    /// layer runs above it, so TFPCRYPTO finds it where GOAES left it.
    cipher: Option<Cipher>,
    /// The AES layer GOAES put on, if any: then it ciphers every unit.
    aes: Option<Box<AesDecrypt>>,
    /// CIAON's identity token: when set, every unit must come after it.
    ident: Option<[u8; TEXT_LEN]>,
    /// Under the secure transport: the stream cipher's state, kept (NIGMA
    /// still replaces it) but no longer applied.
    aside: Option<Cipher>,
    sealed: bool,
    /// Bytes received so far (for session accounting).
    pub bytes: u64,
}

/// Where a unit being read stands: the stream cipher's key index, and for AES
/// the plaintext and wire blocks still due and a block deciphered but not yet
/// handed out.
#[derive(Debug, Default)]
pub struct UnitPos {
    k: usize,
    started: bool,
    /// The identity token (CIAON) before the unit was checked.
    ident_checked: bool,
    /// Plaintext bytes of the unit not yet handed out.
    left: usize,
    /// AES: wire blocks not yet read.
    blocks: usize,
    carry: [u8; BLOCK],
    carry_at: usize,
    carry_end: usize,
}

impl UnitPos {
    /// A unit of `n` plaintext bytes, nothing read yet.
    pub fn new(n: usize) -> UnitPos {
        UnitPos {
            left: n,
            ..UnitPos::default()
        }
    }
}

impl<R: Read> RxHalf<R> {
    /// A plaintext half (before the key exchange).
    pub fn new(inner: R) -> Self {
        RxHalf {
            inner: BufReader::with_capacity(RX_BUFFER, inner),
            cipher: None,
            aes: None,
            ident: None,
            aside: None,
            sealed: false,
            bytes: 0,
        }
    }

    /// Switches decryption on (or replaces the state after NIGMA). Under an AES
    /// layer this replaces the state that comes back when the layer goes; under
    /// the secure transport the state is kept but never applied again.
    pub fn set_cipher(&mut self, c: Cipher) {
        if self.sealed {
            self.aside = Some(c);
        } else {
            self.cipher = Some(c);
        }
    }

    /// Puts the AES layer on (GOAES) or takes it off (`None`, TFPCRYPTO) from
    /// the next unit on. Call it between frames only.
    pub fn set_aes(&mut self, key: Option<&AesKey>) -> Result<(), ChannelError> {
        self.aes = match key {
            Some(k) => Some(Box::new(AesDecrypt::new(k)?)),
            None => None,
        };
        Ok(())
    }

    /// Whether the AES layer is on.
    pub fn aes_on(&self) -> bool {
        self.aes.is_some()
    }

    /// CIAON (`Some`): from the next unit on, every unit must come after this
    /// token, itself a unit of its own; CIAOFF (`None`).
    pub fn set_ident(&mut self, token: Option<[u8; TEXT_LEN]>) {
        self.ident = token;
    }

    /// Reads the token unit due before a unit and compares it.
    fn check_ident(&mut self) -> Result<(), ChannelError> {
        let Some(want) = self.ident.take() else {
            return Ok(());
        };
        let mut got = [0u8; TEXT_LEN];
        let r = self.recv_unit(&mut got);
        self.ident = Some(want);
        r?;
        if uuid::same(&want, &got) {
            Ok(())
        } else {
            Err(ChannelError::Identity)
        }
    }

    /// The RX cipher, for NIGMA.
    pub fn cipher_mut(&mut self) -> Option<&mut Cipher> {
        self.cipher.as_mut()
    }

    /// Reads exactly `buf.len()` bytes and decrypts them as one unit, slice by
    /// slice as they arrive, so decryption overlaps the peer's sending.
    pub fn recv_unit(&mut self, buf: &mut [u8]) -> Result<(), ChannelError> {
        self.recv_unit_part(buf, &mut UnitPos::new(buf.len()))
    }

    /// Reads and decrypts the next part of a unit (at most what is left of it);
    /// `pos` carries the unit's state from part to part.
    fn recv_unit_part(&mut self, buf: &mut [u8], pos: &mut UnitPos) -> Result<(), ChannelError> {
        debug_assert!(buf.len() <= pos.left);
        if !pos.ident_checked {
            pos.ident_checked = true;
            // the reference checks before every unit, but AES sends no empty ones
            if self.ident.is_some() && (self.aes.is_none() || pos.left > 0) {
                self.check_ident()?;
            }
        }
        if self.aes.is_some() {
            return self.recv_aes_part(buf, pos);
        }
        for piece in buf.chunks_mut(SLICE) {
            self.inner.read_exact(piece)?;
            self.bytes += piece.len() as u64;
            if let Some(c) = self.cipher.as_mut() {
                c.unpack_slice(piece, &mut pos.k);
            }
        }
        pos.left -= buf.len();
        Ok(())
    }

    /// [`RxHalf::recv_unit_part`] under AES: whole blocks are read and deciphered
    /// in place in `buf` (slice by slice, as they arrive); a block that straddles
    /// the part's end, and the padded last block, go through `pos.carry`. The
    /// last block is read and its padding checked as soon as the plaintext is
    /// all handed out, so the stream is at the next unit afterwards.
    fn recv_aes_part(&mut self, buf: &mut [u8], pos: &mut UnitPos) -> Result<(), ChannelError> {
        let Some(aes) = self.aes.as_mut() else {
            return Ok(());
        };
        if !pos.started {
            pos.started = true;
            pos.blocks = aes::wire_len(pos.left) / BLOCK;
            if pos.blocks > 0 {
                aes.begin_unit()?;
            }
        }
        let mut filled = 0;
        while filled < buf.len() {
            if pos.carry_at < pos.carry_end {
                let n = (pos.carry_end - pos.carry_at).min(buf.len() - filled);
                buf[filled..filled + n].copy_from_slice(&pos.carry[pos.carry_at..pos.carry_at + n]);
                pos.carry_at += n;
                filled += n;
                pos.left -= n;
                continue;
            }
            let room = buf.len() - filled;
            // blocks before the last one carry only data
            let data_blocks = pos.blocks.saturating_sub(1);
            if data_blocks > 0 && room >= 2 * BLOCK {
                let n = data_blocks.min((room - BLOCK) / BLOCK).min(SLICE / BLOCK) * BLOCK;
                self.inner.read_exact(&mut buf[filled..filled + n])?;
                self.bytes += n as u64;
                aes.blocks_in_place(&mut buf[filled..filled + n + BLOCK], n)?;
                filled += n;
                pos.left -= n;
                pos.blocks -= n / BLOCK;
                continue;
            }
            Self::aes_block_to_carry(&mut self.inner, aes, pos)?;
            self.bytes += BLOCK as u64;
        }
        if pos.left == 0 && pos.blocks == 1 {
            // all data handed out; only the padding block is due
            Self::aes_block_to_carry(&mut self.inner, aes, pos)?;
            self.bytes += BLOCK as u64;
        }
        Ok(())
    }

    /// Reads and deciphers the unit's next block into `pos.carry`; the last one
    /// has its padding checked and stripped.
    fn aes_block_to_carry(
        inner: &mut BufReader<R>,
        aes: &mut AesDecrypt,
        pos: &mut UnitPos,
    ) -> Result<(), ChannelError> {
        let mut block = [0u8; BLOCK];
        inner.read_exact(&mut block)?;
        pos.carry = aes.block(&block)?;
        pos.blocks -= 1;
        pos.carry_at = 0;
        pos.carry_end = if pos.blocks == 0 {
            aes::check_padding(&pos.carry, pos.left)?;
            pos.left
        } else {
            BLOCK
        };
        Ok(())
    }

    /// Reads a frame's header (payload at most `max` bytes) and the first
    /// `head.len()` bytes of its payload (fewer if it is shorter) into `head`.
    /// [`RxHalf::read_frame_part`] reads the rest wherever the caller wants it.
    /// Lets a command answer a frame by its first word while the peer already
    /// sends the next one, and put the payload straight where it belongs.
    pub fn begin_frame(&mut self, max: usize, head: &mut [u8]) -> Result<PartFrame, ChannelError> {
        let mut hdr = [0u8; 4];
        self.recv_unit(&mut hdr)?;
        let len = frame::decode_len(hdr, max)?;
        let mut part = PartFrame {
            len,
            filled: 0,
            unit: UnitPos::new(len),
        };
        let n = head.len().min(len);
        self.recv_unit_part(&mut head[..n], &mut part.unit)?;
        part.filled = n;
        Ok(part)
    }

    /// Reads the next bytes of a frame begun with [`RxHalf::begin_frame`] into
    /// `out`: as many as fit, up to the frame's end. Returns how many.
    pub fn read_frame_part(&mut self, part: &mut PartFrame, out: &mut [u8]) -> Result<usize, ChannelError> {
        let n = out.len().min(part.left());
        self.recv_unit_part(&mut out[..n], &mut part.unit)?;
        part.filled += n;
        Ok(n)
    }

    /// Reads and drops the rest of a frame begun with [`RxHalf::begin_frame`].
    pub fn skip_frame_rest(&mut self, part: &mut PartFrame) -> Result<(), ChannelError> {
        let mut scratch = vec![0u8; part.left().min(SLICE)];
        while part.left() > 0 {
            self.read_frame_part(part, &mut scratch)?;
        }
        Ok(())
    }

    /// Reads one frame whose payload may not exceed `max` bytes.
    pub fn recv_frame_max(&mut self, max: usize) -> Result<Vec<u8>, ChannelError> {
        let mut hdr = [0u8; 4];
        self.recv_unit(&mut hdr)?;
        let len = frame::decode_len(hdr, max)?;
        let mut buf = vec![0u8; len];
        self.recv_unit(&mut buf)?;
        Ok(buf)
    }

    /// Reads one frame of up to [`MAX_FRAME`] bytes.
    pub fn recv_frame(&mut self) -> Result<Vec<u8>, ChannelError> {
        self.recv_frame_max(MAX_FRAME)
    }

    /// Reads one raw big-endian i64 unit (HPF headers and codes).
    pub fn recv_i64(&mut self) -> Result<i64, ChannelError> {
        let mut b = [0u8; 8];
        self.recv_unit(&mut b)?;
        Ok(i64::from_be_bytes(b))
    }

    /// Reads one raw big-endian i32 unit (SUP/SDOWN headers).
    pub fn recv_i32(&mut self) -> Result<i32, ChannelError> {
        let mut b = [0u8; 4];
        self.recv_unit(&mut b)?;
        Ok(i32::from_be_bytes(b))
    }

    /// The underlying reader (for socket options and timeouts).
    pub fn get_ref(&self) -> &R {
        self.inner.get_ref()
    }

    /// Bytes already read from the socket but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.inner.buffer().len()
    }
}

/// A frame read in parts: its payload length, how much of it is read, and the
/// payload unit's cipher position there.
#[derive(Debug)]
pub struct PartFrame {
    len: usize,
    filled: usize,
    unit: UnitPos,
}

impl PartFrame {
    /// A raw unit of `len` bytes announced by the peer outside a frame header
    /// (INTWRITE's payload), read in parts with [`RxHalf::read_frame_part`].
    pub fn unit(len: usize) -> PartFrame {
        PartFrame {
            len,
            filled: 0,
            unit: UnitPos::new(len),
        }
    }

    /// The payload's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the payload read so far.
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// Bytes of the payload still to read.
    pub fn left(&self) -> usize {
        self.len - self.filled
    }
}

/// The sending half: the socket, the TX cipher and a reusable output buffer so that
/// every reply (header + payload) leaves in one write.
pub struct TxHalf<W: Write = TcpStream> {
    inner: W,
    /// The stream cipher's state, kept aside while the AES layer runs.
    cipher: Option<Cipher>,
    /// The AES layer GOAES put on, if any: then it ciphers every unit.
    aes: Option<Box<AesEncrypt>>,
    /// CIAON's identity token (client side): sent before every unit.
    ident: Option<[u8; TEXT_LEN]>,
    /// Under the secure transport: the stream cipher's state, kept (NIGMA
    /// still replaces it) but no longer applied.
    aside: Option<Cipher>,
    sealed: bool,
    /// [`TxHalf::hold`]: small sends gather in `buf` until [`TxHalf::release`].
    held: bool,
    buf: Vec<u8>,
    /// Bytes sent so far.
    pub bytes: u64,
    /// Bumped whenever the TX cipher state moves, so a prepared frame made from
    /// an older state is refused instead of sent garbled.
    generation: u64,
    /// The last prepared frame's buffer, reused for the next one (frames are up
    /// to 512 KiB, one per round trip).
    spare: Vec<u8>,
}

/// A frame enciphered ahead of time with a copy of the TX cipher state (see
/// [`TxHalf::prepare_frame_parts`]). Sending it makes that copy the current state;
/// dropping it leaves the current state as it was.
pub struct PreparedFrame {
    /// Stream cipher: the whole frame. AES: the header's 4 bytes of room, then
    /// the enciphered payload (the header's block is in `head`).
    bytes: Vec<u8>,
    /// AES: the header's enciphered block, sent before `bytes[4..]`.
    head: Option<[u8; BLOCK]>,
    /// Not enciphered yet: `bytes[4..]` goes out through the plain path.
    plain: bool,
    cipher: Option<Cipher>,
    generation: u64,
}

impl PreparedFrame {
    /// The frame's size on the wire (header included).
    pub fn wire_len(&self) -> usize {
        match self.head {
            None => self.bytes.len(),
            Some(h) => h.len() + self.bytes.len() - 4,
        }
    }
}

impl<W: Write> TxHalf<W> {
    /// A plaintext half.
    pub fn new(inner: W) -> Self {
        TxHalf {
            inner,
            cipher: None,
            aes: None,
            ident: None,
            aside: None,
            sealed: false,
            held: false,
            buf: Vec::with_capacity(1024),
            bytes: 0,
            generation: 0,
            spare: Vec::new(),
        }
    }

    /// Switches encryption on (or replaces the state after NIGMA; under the
    /// secure transport the state is kept but never applied again).
    pub fn set_cipher(&mut self, c: Cipher) {
        self.generation += 1;
        if self.sealed {
            self.aside = Some(c);
        } else {
            self.cipher = Some(c);
        }
    }

    /// Puts the AES layer on (GOAES) or takes it off (`None`, TFPCRYPTO) from
    /// the next unit on. Call it between frames only.
    pub fn set_aes(&mut self, key: Option<&AesKey>) -> Result<(), ChannelError> {
        self.generation += 1;
        self.aes = match key {
            Some(k) => Some(Box::new(AesEncrypt::new(k)?)),
            None => None,
        };
        Ok(())
    }

    /// Whether the AES layer is on.
    pub fn aes_on(&self) -> bool {
        self.aes.is_some()
    }

    /// CIAON on the client side (`Some`): the token goes before every unit
    /// from now on; CIAOFF (`None`).
    pub fn set_ident(&mut self, token: Option<[u8; TEXT_LEN]>) {
        self.generation += 1;
        self.ident = token;
    }

    /// The TX cipher, for NIGMA.
    pub fn cipher_mut(&mut self) -> Option<&mut Cipher> {
        self.generation += 1;
        self.cipher.as_mut()
    }

    /// Enciphers a frame now, with a copy of the cipher state, to be sent later by
    /// [`TxHalf::send_prepared`] if nothing else is sent first. Stop-and-wait flows
    /// (SNDFILE, RCVFILE) use it to encipher the next chunk while the peer is
    /// still busy with the current one; the bytes on the wire are the same.
    pub fn prepare_frame_parts(&mut self, parts: &[&[u8]]) -> Result<PreparedFrame, ChannelError> {
        let mut bytes = std::mem::take(&mut self.spare);
        bytes.clear();
        bytes.extend_from_slice(&[0; 4]);
        for p in parts {
            bytes.extend_from_slice(p);
        }
        self.prepare_frame_buffer(bytes)
    }

    /// A buffer for [`TxHalf::prepare_frame_buffer`]: 4 bytes of room for the
    /// header, then `payload` zero bytes to fill in place, with the capacity of
    /// earlier frames kept, so data appended after them (see [`read_append`])
    /// is neither zeroed nor reallocated. Reads straight into it save a copy of
    /// every byte.
    pub fn frame_buffer(&mut self, payload: usize) -> Vec<u8> {
        let mut bytes = self.spare_buffer();
        bytes.resize(4 + payload, 0);
        bytes
    }

    /// This side's reusable room for outgoing data, empty but with the capacity
    /// earlier frames gave it; give it back with [`TxHalf::recycle_frame_buffer`].
    pub fn spare_buffer(&mut self) -> Vec<u8> {
        let mut bytes = std::mem::take(&mut self.spare);
        bytes.clear();
        bytes
    }

    /// Takes back a buffer from [`TxHalf::frame_buffer`] or
    /// [`TxHalf::spare_buffer`] that was not sent, so the next one reuses its room.
    pub fn recycle_frame_buffer(&mut self, bytes: Vec<u8>) {
        if bytes.capacity() > self.spare.capacity() {
            self.spare = bytes;
        }
    }

    /// Like [`TxHalf::prepare_frame_parts`], for a payload already in place after
    /// the first 4 bytes of `bytes` (see [`TxHalf::frame_buffer`]).
    pub fn prepare_frame_buffer(&mut self, mut bytes: Vec<u8>) -> Result<PreparedFrame, ChannelError> {
        let len = bytes.len().saturating_sub(4);
        if bytes.len() < 4 || len > MAX_FRAME {
            return Err(ChannelError::Io(io::Error::other("frame payload over MAX_FRAME")));
        }
        bytes[..4].copy_from_slice(&(len as i32).to_be_bytes());
        if self.ident.is_some() {
            // tokens go between the units: sent on the plain path (CIAON is rare)
            return Ok(PreparedFrame {
                bytes,
                head: None,
                cipher: None,
                plain: true,
                generation: self.generation,
            });
        }
        if let Some(aes) = self.aes.as_mut() {
            // every AES unit starts from the IV, so enciphering ahead moves no
            // state: the payload in place (its padding needs a block of room),
            // the header's block beside it
            let mut hdr = [0u8; 2 * BLOCK];
            hdr[..4].copy_from_slice(&bytes[..4]);
            aes.begin_unit()?;
            let n = aes.update_in_place(&mut hdr, 4)?;
            let mut last = [0u8; 2 * BLOCK];
            let k = aes.finish_unit(&mut last)?;
            let mut head = [0u8; BLOCK];
            if n + k != BLOCK {
                return Err(AesError::Openssl.into());
            }
            head.copy_from_slice(&last[..BLOCK]);
            if len > 0 {
                bytes.resize(4 + len + BLOCK, 0);
                aes.begin_unit()?;
                let n = aes.update_in_place(&mut bytes[4..], len)?;
                let k = aes.finish_unit(&mut last)?;
                bytes.truncate(4 + n);
                bytes.extend_from_slice(&last[..k]);
            }
            return Ok(PreparedFrame {
                bytes,
                head: Some(head),
                cipher: None,
                plain: false,
                generation: self.generation,
            });
        }
        let mut cipher = self.cipher.clone();
        if let Some(c) = cipher.as_mut() {
            let (hdr, payload) = bytes.split_at_mut(4);
            c.pack(hdr);
            c.pack(payload);
        }
        Ok(PreparedFrame {
            bytes,
            head: None,
            cipher,
            plain: false,
            generation: self.generation,
        })
    }

    /// Sends a prepared frame and takes on the cipher state it was made with.
    /// A frame prepared before anything else was sent is refused: it would
    /// decipher as garbage on the other side.
    pub fn send_prepared(&mut self, f: PreparedFrame) -> Result<(), ChannelError> {
        if f.generation != self.generation {
            return Err(ChannelError::Io(io::Error::other("prepared frame is stale")));
        }
        if !f.plain {
            // what a hold gathered goes first
            self.release()?;
        }
        if f.plain {
            let r = self.send_frame(&f.bytes[4..]);
            self.spare = f.bytes;
            return r;
        }
        let r = match f.head {
            None => self.inner.write_all(&f.bytes),
            Some(h) => write_all_pair(&mut self.inner, &h, &f.bytes[4..]),
        };
        self.bytes += f.wire_len() as u64;
        if f.head.is_none() {
            self.cipher = f.cipher;
        }
        self.generation += 1;
        self.spare = f.bytes;
        r?;
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), ChannelError> {
        let r = self.inner.write_all(&self.buf);
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        r?;
        Ok(())
    }

    /// Starts a send: the output buffer is empty, but for what a hold gathered.
    fn begin_send(&mut self) {
        if !self.held {
            self.buf.clear();
        }
    }

    /// Ends a send: the buffer goes out, unless a hold keeps a small one back.
    fn end_send(&mut self) -> Result<(), ChannelError> {
        if self.held && self.buf.len() < SLICE {
            return Ok(());
        }
        self.flush_buf()
    }

    /// From now on small sends gather in the output buffer (whatever reaches
    /// [`SLICE`] still leaves at once), so a reply made of several sends that
    /// the peer reads without answering in between (a small GET's grant, data
    /// and end; SDOWN's data and end) leaves in one write: one segment and one
    /// wakeup of the peer instead of one each. Call [`TxHalf::release`] before
    /// waiting for the peer; the session releases after every command.
    pub fn hold(&mut self) {
        self.held = true;
    }

    /// Ends a hold and sends what it gathered.
    pub fn release(&mut self) -> Result<(), ChannelError> {
        self.held = false;
        if self.buf.is_empty() {
            return Ok(());
        }
        self.flush_buf()
    }

    /// Sends one frame.
    pub fn send_frame(&mut self, payload: &[u8]) -> Result<(), ChannelError> {
        self.send_frame_parts(&[payload])
    }

    /// Sends one frame whose payload is given in pieces (still one payload unit).
    pub fn send_frame_parts(&mut self, parts: &[&[u8]]) -> Result<(), ChannelError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > MAX_FRAME {
            return Err(ChannelError::Io(io::Error::other("frame payload over MAX_FRAME")));
        }
        self.begin_send();
        self.append_unit(&[&(len as i32).to_be_bytes()])?;
        self.append_unit(parts)?;
        self.end_send()
    }

    /// Sends raw units (no headers), each encrypted on its own. A reply smaller
    /// than [`SLICE`] leaves in one write; larger data in [`SLICE`]-sized writes.
    pub fn send_units(&mut self, units: &[&[u8]]) -> Result<(), ChannelError> {
        self.begin_send();
        for u in units {
            self.append_unit(&[u])?;
        }
        self.end_send()
    }

    /// Sends `head`, then `body`, as two units: the bytes `send_units(&[head,
    /// body])` would send, but the stream cipher works on `body` where it lies
    /// instead of on a copy in the output buffer (a transfer's chunk is scratch
    /// once sent; the copy was a tenth of a big transfer's CPU). `body` is left
    /// enciphered. AES, CIAON, the secure transport (which copies nothing
    /// already) and small bodies take the ordinary path.
    pub fn send_units_in_place(&mut self, head: &[u8], body: &mut [u8]) -> Result<(), ChannelError> {
        if self.cipher.is_none() || self.aes.is_some() || self.ident.is_some() || self.sealed || body.len() < SLICE / 2
        {
            return self.send_units(&[head, body]);
        }
        self.begin_send();
        self.append_unit(&[head])?;
        self.generation += 1;
        let mut k = 0;
        for part in body.chunks_mut(SLICE) {
            if let Some(c) = self.cipher.as_mut() {
                c.pack_slice(part, &mut k);
            }
            // the head leaves with the first slice, in one syscall
            let r = write_all_pair(&mut self.inner, &self.buf, part);
            self.bytes += (self.buf.len() + part.len()) as u64;
            self.buf.clear();
            r?;
        }
        Ok(())
    }

    /// Encrypts one unit (given in pieces) into the output buffer, writing the
    /// buffer out whenever it reaches [`SLICE`].
    fn append_unit(&mut self, pieces: &[&[u8]]) -> Result<(), ChannelError> {
        self.generation += 1;
        if let Some(token) = self.ident {
            // the reference checks before every unit, but AES sends no empty ones
            if self.aes.is_none() || pieces.iter().any(|p| !p.is_empty()) {
                self.ident = None;
                let r = self.append_unit(&[&token]);
                self.ident = Some(token);
                r?;
            }
        }
        if self.aes.is_some() {
            return self.append_aes_unit(pieces);
        }
        let mut k = 0;
        for piece in pieces {
            for part in piece.chunks(SLICE) {
                if self.sealed && part.len() >= SLICE / 2 {
                    // the records cipher it: a big slice goes out from where
                    // it lies, after what is gathered so far
                    if !self.buf.is_empty() {
                        self.flush_buf()?;
                    }
                    let r = self.inner.write_all(part);
                    self.bytes += part.len() as u64;
                    r?;
                    continue;
                }
                let start = self.buf.len();
                self.buf.extend_from_slice(part);
                if let Some(c) = self.cipher.as_mut() {
                    c.pack_slice(&mut self.buf[start..], &mut k);
                }
                if self.buf.len() >= SLICE {
                    self.flush_buf()?;
                }
            }
        }
        Ok(())
    }

    /// [`TxHalf::append_unit`] under AES: the plaintext is gathered in the output
    /// buffer and enciphered in place a whole number of blocks at a time (so
    /// OpenSSL never holds a partial block while working in place, which would
    /// overwrite input it has not read yet), then the padded last block. An
    /// empty unit sends nothing (as the reference does).
    fn append_aes_unit(&mut self, pieces: &[&[u8]]) -> Result<(), ChannelError> {
        if pieces.iter().all(|p| p.is_empty()) {
            return Ok(());
        }
        let Some(aes) = self.aes.as_mut() else {
            return Ok(());
        };
        aes.begin_unit()?;
        // where the plaintext not yet enciphered begins
        let mut plain = self.buf.len();
        for piece in pieces {
            for part in piece.chunks(SLICE) {
                self.buf.extend_from_slice(part);
                let ready = (self.buf.len() - plain) / BLOCK * BLOCK;
                if ready > 0 {
                    let end = self.buf.len();
                    self.buf.resize(end + BLOCK, 0);
                    let n = aes.update_in_place(&mut self.buf[plain..], ready)?;
                    self.buf.truncate(end);
                    if n != ready {
                        return Err(AesError::Openssl.into());
                    }
                    plain += ready;
                }
                if plain >= SLICE {
                    let r = self.inner.write_all(&self.buf[..plain]);
                    self.bytes += plain as u64;
                    self.buf.drain(..plain);
                    plain = 0;
                    r?;
                }
            }
        }
        // the last partial block (0..15 bytes) and the padding
        let tail = self.buf.len() - plain;
        let mut last = [0u8; 2 * BLOCK];
        last[..tail].copy_from_slice(&self.buf[plain..]);
        self.buf.truncate(plain);
        let n = aes.update_in_place(&mut last, tail)?;
        let mut fin = [0u8; 2 * BLOCK];
        let k = aes.finish_unit(&mut fin)?;
        if n != 0 || k != BLOCK {
            return Err(AesError::Openssl.into());
        }
        self.buf.extend_from_slice(&fin[..BLOCK]);
        Ok(())
    }

    /// Sends one raw big-endian i64 unit.
    pub fn send_i64(&mut self, v: i64) -> Result<(), ChannelError> {
        self.send_units(&[&v.to_be_bytes()])
    }

    /// Sends one raw big-endian i32 unit.
    pub fn send_i32(&mut self, v: i32) -> Result<(), ChannelError> {
        self.send_units(&[&v.to_be_bytes()])
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl RxHalf<NetStream> {
    /// Turns the secure transport on for everything that arrives from now on
    /// (call it between frames). Bytes already buffered are the first records'
    /// own; the stream cipher is kept aside, no longer applied. `confirm`: the
    /// handshake hash the peer's first record must carry (the server's side).
    pub fn start_opening(&mut self, opener: record::Opener, confirm: Option<[u8; noise::LEN]>) {
        let pending = self.inner.buffer().to_vec();
        self.inner.consume(pending.len());
        let mut raw = vec![0u8; RAW_START.max(pending.len())];
        raw[..pending.len()].copy_from_slice(&pending);
        self.inner.get_mut().open = Some(Box::new(Opening {
            opener,
            raw,
            start: 0,
            end: pending.len(),
            at: 0,
            end_data: 0,
            confirm,
            closed: false,
        }));
        self.aside = self.cipher.take();
        self.sealed = true;
    }

    /// Whether the secure transport is on.
    pub fn secure(&self) -> bool {
        self.sealed
    }
}

impl TxHalf<NetStream> {
    /// Turns the secure transport on for everything sent from now on (call it
    /// between frames); the stream cipher is kept aside, no longer applied.
    pub fn start_sealing(&mut self, sealer: record::Sealer) {
        self.generation += 1;
        self.inner.seal = Some(Box::new(Sealing {
            sealer,
            out: Vec::new(),
        }));
        self.aside = self.cipher.take();
        self.sealed = true;
    }

    /// The client's first record: the handshake hash, so the server knows the
    /// client holds the keys before it acts on anything.
    pub fn send_confirm(&mut self, h: &[u8; noise::LEN]) -> Result<(), ChannelError> {
        self.release()?;
        self.generation += 1;
        self.inner.send_record(record::Kind::Confirm, h)?;
        Ok(())
    }

    /// Ends the stream with a `Close` record, so the peer can tell the end from
    /// a truncation; nothing without the secure transport.
    pub fn send_close(&mut self) -> Result<(), ChannelError> {
        self.release()?;
        if self.inner.seal.is_none() {
            return Ok(());
        }
        self.generation += 1;
        self.inner.send_record(record::Kind::Close, &[])?;
        Ok(())
    }

    /// Whether the secure transport is on.
    pub fn secure(&self) -> bool {
        self.sealed
    }
}

/// Writes `a` then `b` in as few syscalls as the kernel allows (one, usually),
/// so a prepared AES frame's header block does not leave as a packet of its own.
fn write_all_pair<W: Write>(w: &mut W, a: &[u8], b: &[u8]) -> io::Result<()> {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() {
        match w.write_vectored(&[io::IoSlice::new(a), io::IoSlice::new(b)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) if n < a.len() => a = &a[n..],
            Ok(n) => {
                b = &b[n - a.len()..];
                a = &[];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    w.write_all(b)
}

/// Called when TCP urgent data is waiting; returns true if it consumed the byte.
pub type UrgentHandler = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// The socket, in either direction. With an urgent-data handler it never lets a normal read
/// run past TCP urgent data: Linux drops the urgent byte (and its POLLPRI) once a
/// normal read passes the mark, so each read first polls for POLLIN|POLLPRI and
/// lets the handler take the urgent byte before any normal data is read. POLLIN
/// without POLLPRI guarantees normal data precedes any urgent byte arriving later,
/// and a normal read stops short of the mark, so no urgent byte is ever lost.
pub struct NetStream {
    sock: TcpStream,
    urgent: Option<UrgentHandler>,
    /// Bandwidth limits (`rate_limit_*`), if any; None costs nothing.
    pace: Option<std::sync::Arc<crate::bandwidth::Pace>>,
    /// The secure transport's sending side, once on: every write is a record.
    seal: Option<Box<Sealing>>,
    /// The secure transport's receiving side, once on: reads open records.
    open: Option<Box<Opening>>,
}

/// A secure transport failure, carried inside an `io::Error` through `Read`
/// and `Write` so [`ChannelError`] can tell it from a socket error.
#[derive(Debug)]
pub struct SecureError(pub String);

impl std::fmt::Display for SecureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SecureError {}

fn secure_err(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, SecureError(what.to_string()))
}

struct Sealing {
    sealer: record::Sealer,
    out: Vec<u8>,
}

/// Records arrive in `raw`; the one being read is opened in place, and its
/// data (`raw[at..end_data]`) handed out from there.
struct Opening {
    opener: record::Opener,
    raw: Vec<u8>,
    /// Unread wire bytes: `raw[start..end]`.
    start: usize,
    end: usize,
    at: usize,
    end_data: usize,
    /// The handshake hash the peer's first record must confirm (server side).
    confirm: Option<[u8; noise::LEN]>,
    closed: bool,
}

/// Room for two whole records, so one read usually brings a record whole.
const RAW_BUFFER: usize = 2 * (record::HEADER + record::MAX_BODY);
/// What the receive buffer starts with: small records (commands, replies) fit;
/// it grows towards [`RAW_BUFFER`] when bigger ones come, so a session that
/// only handshakes and echoes never faults in 128 KiB.
const RAW_START: usize = 16 * 1024;

impl NetStream {
    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.sock
    }

    /// Whether the secure transport is on in either direction.
    pub fn secure(&self) -> bool {
        self.seal.is_some() || self.open.is_some()
    }

    fn write_sock(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(p) = &self.pace else {
            return self.sock.write(buf);
        };
        let n = buf.len().min(p.quantum());
        p.charge(crate::bandwidth::Dir::Out, n);
        self.sock.write(&buf[..n])
    }

    fn write_sock_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_sock(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Seals one record of `kind` and sends it whole.
    fn send_record(&mut self, kind: record::Kind, data: &[u8]) -> io::Result<()> {
        let Some(mut s) = self.seal.take() else {
            return Err(secure_err("not on"));
        };
        // grown to what the biggest record so far needed: a session that only
        // sends small replies never touches (or faults in) 128 KiB
        let room = record::seal_room(data.len());
        if s.out.len() < room {
            s.out.resize(room, 0);
        }
        let r = s.sealer.seal_into(kind, data, &mut s.out).map_err(secure_err);
        let r = r.and_then(|n| self.write_sock_all(&s.out[..n]));
        self.seal = Some(s);
        r
    }

    /// Reads the socket until `raw` holds `need` unread bytes.
    fn fill(&mut self, o: &mut Opening, need: usize) -> io::Result<()> {
        while o.end - o.start < need {
            if o.start + need > o.raw.len() {
                o.raw.copy_within(o.start..o.end, 0);
                o.end -= o.start;
                o.start = 0;
            }
            if need > o.raw.len() {
                let grown = (2 * need).clamp(need, RAW_BUFFER.max(need));
                o.raw.resize(grown, 0);
            }
            let end = o.end;
            let n = self.read_sock(&mut o.raw[end..])?;
            if n == 0 {
                return Err(secure_err(if o.end == o.start {
                    "the stream ended without a close record (truncated)"
                } else {
                    "the stream ended inside a record (truncated)"
                }));
            }
            o.end += n;
        }
        Ok(())
    }

    /// Opens the next record into `o.at..o.end_data`: data, or the end of the
    /// stream (`closed`). Rekey records are followed and skipped.
    fn next_record(&mut self, o: &mut Opening) -> io::Result<()> {
        loop {
            self.fill(o, record::HEADER)?;
            let mut hdr = [0u8; record::HEADER];
            hdr.copy_from_slice(&o.raw[o.start..o.start + record::HEADER]);
            let body = record::Opener::body_len(hdr).map_err(secure_err)?;
            self.fill(o, record::HEADER + body)?;
            let at = o.start + record::HEADER;
            let (kind, len) = o
                .opener
                .open(hdr, &mut o.raw[at..at + body])
                .map_err(|e| secure_err(format!("record refused: {e}")))?;
            o.start = at + body;
            let expected = o.confirm.take();
            match (kind, expected) {
                (record::Kind::Confirm, Some(h)) if len == h.len() => {
                    if !openssl::memcmp::eq(&o.raw[at..at + len], &h) {
                        return Err(secure_err("the peer confirmed another handshake"));
                    }
                }
                (_, Some(_)) | (record::Kind::Confirm, None) => {
                    return Err(secure_err("no confirmation before data"));
                }
                (record::Kind::Rekey, None) => {}
                (record::Kind::Close, None) => {
                    o.closed = true;
                    return Ok(());
                }
                (record::Kind::Data, None) => {
                    o.at = at;
                    o.end_data = at + len;
                    if len > 0 {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// When the next record is data that fits `buf` whole, deciphers it
    /// straight there (bulk reads: no copy after the AEAD) and returns its
    /// length; None when it does not apply (nothing consumed then).
    fn next_record_into(&mut self, o: &mut Opening, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.fill(o, record::HEADER)?;
        let mut hdr = [0u8; record::HEADER];
        hdr.copy_from_slice(&o.raw[o.start..o.start + record::HEADER]);
        let body = record::Opener::body_len(hdr).map_err(secure_err)?;
        let len = body - record::MIN_BODY;
        if len == 0 || len > buf.len() {
            return Ok(None);
        }
        self.fill(o, record::HEADER + body)?;
        let at = o.start + record::HEADER;
        let (kind, n) = o
            .opener
            .open_to(hdr, &o.raw[at..at + body], buf)
            .map_err(|e| secure_err(format!("record refused: {e}")))?;
        o.start = at + body;
        match kind {
            record::Kind::Data => Ok(Some(n)),
            _ => Err(secure_err("no confirmation before data")),
        }
    }

    fn read_records(&mut self, o: &mut Opening, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while o.at == o.end_data {
            if o.closed {
                return Ok(0);
            }
            if o.confirm.is_none() {
                if let Some(n) = self.next_record_into(o, buf)? {
                    return Ok(n);
                }
            }
            self.next_record(o)?;
        }
        let n = buf.len().min(o.end_data - o.at);
        buf[..n].copy_from_slice(&o.raw[o.at..o.at + n]);
        o.at += n;
        Ok(n)
    }

    /// Reads at most one pacing quantum and charges what arrived (the sender
    /// is held back by TCP's window while we sleep).
    fn read_paced(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(p) = &self.pace else {
            return self.sock.read(buf);
        };
        let n = buf.len().min(p.quantum());
        let n = self.sock.read(&mut buf[..n])?;
        p.charge(crate::bandwidth::Dir::In, n);
        Ok(n)
    }
}

impl Write for NetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.seal.is_none() {
            return self.write_sock(buf);
        }
        // one record per write, sent whole: the count is what it carried
        let n = buf.len().min(record::MAX_DATA);
        self.send_record(record::Kind::Data, &buf[..n])?;
        Ok(n)
    }

    /// One syscall for a header and its data when nothing stands between them
    /// and the socket (no records, no pacing): the default would send the
    /// header alone, as a segment of its own.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if self.seal.is_none() && self.pace.is_none() {
            return self.sock.write_vectored(bufs);
        }
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
        self.write(first)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

impl Read for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(mut o) = self.open.take() else {
            return self.read_sock(buf);
        };
        let r = self.read_records(&mut o, buf);
        self.open = Some(o);
        r
    }
}

impl NetStream {
    /// Reads the socket (see the type's comment on urgent data).
    fn read_sock(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let Some(handler) = self.urgent.as_ref() else {
            return self.read_paced(buf);
        };
        loop {
            let timeout = match self.sock.read_timeout()? {
                None => PollTimeout::NONE,
                Some(d) => {
                    PollTimeout::try_from(d.as_millis().clamp(1, i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN | PollFlags::POLLPRI)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::TimedOut, "read timed out")),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let ev = fds[0].revents().unwrap_or(PollFlags::empty());
            if ev.contains(PollFlags::POLLPRI) {
                // never fall into a blocking read here: if the OOB thread took this
                // byte, a blocking read could skip (and so drop) the *next* urgent
                // byte before anyone reads it. Poll again instead.
                if !handler() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                continue;
            }
            if ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                return self.read_paced(buf);
            }
        }
    }
}

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
