//! The receiving half: frames and slices read and deciphered, whole or in parts.

use super::*;

/// The receive buffer: it gathers small units (headers, commands) into few
/// syscalls; reads of a slice go around it, straight into the caller's buffer.
/// Small on purpose: std zero-fills it on first use, and every page of that costs
/// a fresh session a page fault before its first command.
const RX_BUFFER: usize = 8 * 1024;

/// The receiving half: a buffered reader and the RX cipher.
pub struct RxHalf<R: Read = TcpStream> {
    pub(super) inner: BufReader<R>,
    /// The stream cipher's state (None before the key exchange). Kept while a
    /// layer runs above it, so TFPCRYPTO finds it where GOAES left it.
    pub(super) cipher: Option<Cipher>,
    /// The AES layer GOAES put on, if any: then it ciphers every unit.
    pub(super) aes: Option<Box<AesDecrypt>>,
    /// CIAON's identity token: when set, every unit must come after it.
    pub(super) ident: Option<[u8; TEXT_LEN]>,
    /// Under the secure transport: the stream cipher's state, kept (NIGMA
    /// still replaces it) but no longer applied.
    pub(super) aside: Option<Cipher>,
    pub(super) sealed: bool,
    /// Bytes received so far (for session accounting).
    pub bytes: u64,
    /// Where `bytes` is shown while a command runs (`tfd ctl sessions`).
    pub(super) shown: super::meter::Shown,
    /// The peer owes the answer to a frame sent ahead
    /// ([`RxHalf::owe_frame`]): read before the next unit.
    owed: bool,
    /// That answer, once read ([`RxHalf::take_early`]).
    early: Option<Vec<u8>>,
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
            shown: Default::default(),
            owed: false,
            early: None,
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
        if std::mem::take(&mut self.owed) {
            self.early = Some(self.recv_frame()?);
        }
        self.recv_unit_part(buf, &mut UnitPos::new(buf.len()))
    }

    /// The next frame the peer sends answers a frame sent ahead
    /// ([`super::TxHalf::send_frame_ahead`]): whatever reads next reads it
    /// first and puts it aside for [`RxHalf::take_early`], then reads what
    /// it came for.
    pub fn owe_frame(&mut self) {
        self.owed = true;
    }

    /// The answer [`RxHalf::owe_frame`] announced: put aside already, or
    /// read now (a reader needs it before any other).
    pub fn recv_owed(&mut self) -> Result<Option<Vec<u8>>, ChannelError> {
        if std::mem::take(&mut self.owed) {
            return Ok(Some(self.recv_frame()?));
        }
        Ok(self.early.take())
    }

    /// The answer [`RxHalf::owe_frame`] put aside, once it was read.
    pub fn take_early(&mut self) -> Option<Vec<u8>> {
        self.early.take()
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
            self.shown.moved(self.bytes);
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
                self.shown.moved(self.bytes);
                aes.blocks_in_place(&mut buf[filled..filled + n + BLOCK], n)?;
                filled += n;
                pos.left -= n;
                pos.blocks -= n / BLOCK;
                continue;
            }
            Self::aes_block_to_carry(&mut self.inner, aes, pos)?;
            self.bytes += BLOCK as u64;
            self.shown.moved(self.bytes);
        }
        if pos.left == 0 && pos.blocks == 1 {
            // all data handed out; only the padding block is due
            Self::aes_block_to_carry(&mut self.inner, aes, pos)?;
            self.bytes += BLOCK as u64;
            self.shown.moved(self.bytes);
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

    /// Reads an HPF upload's data units and codes up to the client's FIN
    /// (`-127`), dropping the data: what a server does once it has ended or
    /// cancelled a PUT-style flow. A unit larger than `grant` breaks the
    /// connection (`FrameError::TooLarge`), as it would during the flow.
    pub fn drain_to_fin(&mut self, grant: usize) -> Result<(), ChannelError> {
        let mut sink = vec![0u8; grant];
        loop {
            let len = self.recv_i64()?;
            if len == tfp_wire::hpf::code::FIN {
                return Ok(());
            }
            if len > grant as i64 {
                let len = len.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                return Err(ChannelError::Frame(tfp_wire::FrameError::TooLarge { len, max: grant }));
            }
            if len > 0 {
                self.recv_unit(&mut sink[..len as usize])?;
            }
        }
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
