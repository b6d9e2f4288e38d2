//! The sending half: frames enciphered and written, and frames prepared ahead.

use super::*;

/// The sending half: the socket, the TX cipher and a reusable output buffer so that
/// every reply (header + payload) leaves in one write.
pub struct TxHalf<W: Write = TcpStream> {
    pub(super) inner: W,
    /// The stream cipher's state, kept aside while the AES layer runs.
    pub(super) cipher: Option<Cipher>,
    /// The AES layer GOAES put on, if any: then it ciphers every unit.
    pub(super) aes: Option<Box<AesEncrypt>>,
    /// CIAON's identity token (client side): sent before every unit.
    pub(super) ident: Option<[u8; TEXT_LEN]>,
    /// Under the secure transport: the stream cipher's state, kept (NIGMA
    /// still replaces it) but no longer applied.
    pub(super) aside: Option<Cipher>,
    pub(super) sealed: bool,
    /// [`TxHalf::hold`]: small sends gather in `buf` until [`TxHalf::release`].
    pub(super) held: bool,
    /// The buffer holds a frame sent ahead ([`TxHalf::send_frame_ahead`]):
    /// the next send adds to it instead of starting afresh.
    pub(super) ahead: bool,
    pub(super) buf: Vec<u8>,
    /// Bytes sent so far.
    pub bytes: u64,
    /// Where `bytes` is shown while a command runs (`tfd ctl sessions`).
    pub(super) shown: super::meter::Shown,
    /// Bumped whenever the TX cipher state moves, so a prepared frame made from
    /// an older state is refused instead of sent garbled.
    pub(super) generation: u64,
    /// The last prepared frame's buffer, reused for the next one (frames are up
    /// to 512 KiB, one per round trip).
    pub(super) spare: Vec<u8>,
}

/// A frame enciphered ahead of time with a copy of the TX cipher state (see
/// [`TxHalf::prepare_frame_parts`]). Sending it makes that copy the current state;
/// dropping it leaves the current state as it was.
pub struct PreparedFrame {
    /// Stream cipher: the whole frame. AES: the header's 4 bytes of room, then
    /// the enciphered payload (the header's block is in `head`).
    pub(super) bytes: Vec<u8>,
    /// AES: the header's enciphered block, sent before `bytes[4..]`.
    pub(super) head: Option<[u8; BLOCK]>,
    /// Not enciphered yet: `bytes[4..]` goes out through the plain path.
    pub(super) plain: bool,
    pub(super) cipher: Option<Cipher>,
    pub(super) generation: u64,
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
            ahead: false,
            buf: Vec::with_capacity(1024),
            bytes: 0,
            shown: Default::default(),
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
        self.shown.moved(self.bytes);
        if f.head.is_none() {
            self.cipher = f.cipher;
        }
        self.generation += 1;
        self.spare = f.bytes;
        r?;
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), ChannelError> {
        self.ahead = false;
        let r = self.inner.write_all(&self.buf);
        self.bytes += self.buf.len() as u64;
        self.shown.moved(self.bytes);
        self.buf.clear();
        r?;
        Ok(())
    }

    /// Starts a send: the output buffer is empty, but for what a hold gathered.
    fn begin_send(&mut self) {
        if !self.held && !self.ahead {
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

    /// Sends one frame with the next write, ahead of whatever is sent next
    /// (no write of its own): a question whose answer nothing waits for
    /// yet rides the first flight that follows.
    pub fn send_frame_ahead(&mut self, payload: &[u8]) -> Result<(), ChannelError> {
        let held = std::mem::replace(&mut self.held, true);
        let r = self.send_frame(payload);
        self.held = held;
        self.ahead = !self.buf.is_empty();
        r
    }

    /// Sends now a frame [`TxHalf::send_frame_ahead`] holds back for the
    /// next write (with whatever a hold gathered behind it): a reader needs
    /// its answer before anything else is sent.
    pub fn send_ahead(&mut self) -> Result<(), ChannelError> {
        if !self.ahead {
            return Ok(());
        }
        self.flush_buf()
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
            self.shown.moved(self.bytes);
            self.buf.clear();
            self.ahead = false;
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
                    self.shown.moved(self.bytes);
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
                    self.shown.moved(self.bytes);
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
