//! The secure transport (records) underneath the halves: switching it on
//! between frames, and sealing and opening records on the socket.

use super::*;

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

pub(super) struct Sealing {
    pub(super) sealer: record::Sealer,
    pub(super) out: Vec<u8>,
}

/// Records arrive in `raw`; the one being read is opened in place, and its
/// data (`raw[at..end_data]`) handed out from there.
pub(super) struct Opening {
    pub(super) opener: record::Opener,
    pub(super) raw: Vec<u8>,
    /// Unread wire bytes: `raw[start..end]`.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) at: usize,
    pub(super) end_data: usize,
    /// The handshake hash the peer's first record must confirm (server side).
    pub(super) confirm: Option<[u8; noise::LEN]>,
    pub(super) closed: bool,
}

/// Room for two whole records, so one read usually brings a record whole.
const RAW_BUFFER: usize = 2 * (record::HEADER + record::MAX_BODY);
/// What the receive buffer starts with: small records (commands, replies) fit;
/// it grows towards [`RAW_BUFFER`] when bigger ones come, so a session that
/// only handshakes and echoes never faults in 128 KiB.
const RAW_START: usize = 16 * 1024;

impl NetStream {
    /// Seals one record of `kind` and sends it whole.
    pub(super) fn send_record(&mut self, kind: record::Kind, data: &[u8]) -> io::Result<()> {
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

    pub(super) fn read_records(&mut self, o: &mut Opening, buf: &mut [u8]) -> io::Result<usize> {
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
}
