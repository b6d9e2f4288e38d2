//! PUTCAN and GETCAN (TF Protocol 2.5.1, wire-notes §3.20): PUT and GET with
//! cancellation points. After every `canpt` data chunks the transfer waits for
//! one i64 from the other side: on PUTCAN the server says whether its writes
//! went well (−3 go on, −2 a write failed and it has left the transfer), on
//! GETCAN the client says whether it wants more (−3 go on, anything else
//! stops the server at once). Neither has PUT's and GET's closing HPFFIN
//! exchange nor a final reply: the next frame is a new command.
//!
//! The caller's callback sees each step ([`CanEvent`]) and answers with a
//! [`Flow`], so an application can end an upload or a download at any chunk
//! (the protocol's reason for these commands) while the library keeps the
//! session in step: it always reads a window's answer before it sends an end
//! code, answers a GETCAN window that falls on the last chunk before the
//! server's 0 comes, and reads and drops what a GETCAN still sends until the
//! next window can stop it.

use crate::{Client, Error};
use std::io::{Read, Write};
use tfp_channel::read_full;
use tfp_wire::hpf::code;

/// What the callback of [`Client::putcan`] and [`Client::getcan`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// End here as if the data had ended: PUTCAN sends HPFEND (the server
    /// keeps what came); GETCAN stops the server at the next window.
    End,
    /// PUTCAN sends HPFSTOP (the server keeps what came); GETCAN stops the
    /// server at the next window.
    Stop,
    /// PUTCAN sends HPFCANCEL (the server deletes the file, even one that
    /// existed before); GETCAN stops the server at the next window.
    Cancel,
}

impl Flow {
    /// The code a PUTCAN ends with for this choice.
    fn put_code(self) -> i64 {
        match self {
            Flow::Continue | Flow::End => code::END,
            Flow::Stop => code::STOP,
            Flow::Cancel => code::CANCEL,
        }
    }
}

/// A step of a PUTCAN or GETCAN, handed to the caller's callback.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanEvent {
    /// The server accepted the command: chunks are at most `grant` bytes
    /// (what it granted of the buffer asked for). Always the first event.
    Granted {
        /// The granted buffer.
        grant: usize,
    },
    /// A chunk of `len` bytes moved (PUTCAN: sent; GETCAN: received and
    /// written to the output); `total` bytes so far.
    Chunk {
        /// This chunk's length.
        len: usize,
        /// Bytes moved so far, this chunk included.
        total: u64,
    },
    /// A cancellation point, after every `canpt` chunks. PUTCAN: the server
    /// answered that it goes on. GETCAN: the server waits for the answer
    /// (`Continue` is −3; anything else stops it).
    Window {
        /// Bytes moved so far.
        total: u64,
    },
    /// PUTCAN only: the reader has no more data. `Continue` or `End` ends
    /// the upload complete (HPFEND); `Stop` and `Cancel` send theirs instead
    /// (`Cancel`: the server deletes what it got, e.g. when the data read
    /// turned out to be bad).
    DataEnd {
        /// Bytes sent.
        total: u64,
    },
}

/// How a PUTCAN or GETCAN ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanOutcome {
    /// All the data moved: PUTCAN sent everything the reader gave and
    /// HPFEND; GETCAN got the server's end of file.
    Completed {
        /// Bytes moved.
        bytes: u64,
    },
    /// The callback ended the transfer with `by` (never `Continue`) after
    /// `bytes` bytes: for PUTCAN, the bytes the server got; for GETCAN, the
    /// bytes written to the output (what the server still sent before the
    /// next window is dropped).
    Ended {
        /// What the callback answered.
        by: Flow,
        /// Bytes moved.
        bytes: u64,
    },
}

impl CanOutcome {
    /// Bytes moved (sent by PUTCAN, written to the output by GETCAN).
    pub fn bytes(&self) -> u64 {
        match *self {
            CanOutcome::Completed { bytes } | CanOutcome::Ended { bytes, .. } => bytes,
        }
    }

    /// Whether all the data moved.
    pub fn is_complete(&self) -> bool {
        matches!(self, CanOutcome::Completed { .. })
    }
}

impl Client {
    /// `PUTCAN remote`: writes what `data` yields at `offset` (in place,
    /// without truncating) in chunks of at most `bufsz` bytes (the server may
    /// grant less), and after every `canpt` chunks reads the server's word on
    /// its writes; `canpt` 0 has no windows, so a failed write on the server
    /// is never reported. `on` is called with each [`CanEvent`] and decides
    /// with a [`Flow`].
    ///
    /// The server's HPFCANCEL at a window (a write failed: a full disk, the
    /// quota) is [`Error::Cancelled`], as a GET the server cancels; the
    /// session goes on, and the file may be incomplete or gone.
    /// A failed read of `data` ends the upload with HPFSTOP (the server keeps
    /// what it got, e.g. to resume at that offset) and is [`Error::Local`];
    /// the session goes on there too.
    ///
    /// Why the callback: an upload of data made on the fly can be given up
    /// when the producer fails, keeping or deleting what the server has,
    /// without closing the session, and the windows bound how much is sent
    /// past a write the server could not make.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), tfp_client::Error> {
    /// use tfp_client::{CanEvent, CanOutcome, Flow};
    /// let mut c = tfp_client::Client::builder("127.0.0.1:10345")
    ///     .key_file("pub.pem")
    ///     .hash("app-hash")
    ///     .connect()?;
    /// let log = std::fs::File::open("app.log").map_err(tfp_client::Error::Local)?;
    /// // the server answers every 16 chunks, so a full disk there costs at
    /// // most 16 chunks sent for nothing; and the upload is limited to
    /// // 64 MiB here, keeping what went
    /// let r = c.putcan(b"logs/app.log", 0, 1 << 20, 16, &mut &log, &mut |e| match e {
    ///     CanEvent::Chunk { total, .. } if total >= 64 << 20 => Flow::Stop,
    ///     _ => Flow::Continue,
    /// })?;
    /// if let CanOutcome::Ended { bytes, .. } = r {
    ///     eprintln!("stopped after {bytes} bytes");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn putcan(
        &mut self,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        canpt: u64,
        data: &mut dyn Read,
        on: &mut dyn FnMut(CanEvent) -> Flow,
    ) -> Result<CanOutcome, Error> {
        let grant = self.hpf_open("PUTCAN", remote, offset, bufsz, Some(canpt))?;
        let mut buf = vec![0u8; grant];
        let (mut total, mut chunks) = (0u64, 0u64);
        let mut flow = on(CanEvent::Granted { grant });
        loop {
            if flow != Flow::Continue {
                self.chan.tx.send_i64(flow.put_code())?;
                return Ok(CanOutcome::Ended { by: flow, bytes: total });
            }
            let n = match read_full(data, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    // no window is pending here: the session stays in step
                    self.chan.tx.send_i64(code::STOP)?;
                    return Err(Error::Local(e));
                }
            };
            if n == 0 {
                return match on(CanEvent::DataEnd { total }) {
                    Flow::Continue | Flow::End => {
                        self.chan.tx.send_i64(code::END)?;
                        Ok(CanOutcome::Completed { bytes: total })
                    }
                    by => {
                        self.chan.tx.send_i64(by.put_code())?;
                        Ok(CanOutcome::Ended { by, bytes: total })
                    }
                };
            }
            self.chan
                .tx
                .send_units_in_place(&(n as i64).to_be_bytes(), &mut buf[..n])?;
            total += n as u64;
            chunks += 1;
            flow = on(CanEvent::Chunk { len: n, total });
            if canpt > 0 && chunks % canpt == 0 {
                // the server's word comes after this chunk whatever the
                // caller chose: read it before any end code goes out
                match self.chan.rx.recv_i64()? {
                    code::CONT => {}
                    // the server has left the transfer: send nothing more
                    code::CANCEL => return Err(Error::Cancelled { command: "PUTCAN" }),
                    other => return Err(Error::Protocol(format!("PUTCAN: {other} at a cancellation point"))),
                }
                if flow == Flow::Continue {
                    flow = on(CanEvent::Window { total });
                }
            }
        }
    }

    /// `GETCAN remote`: reads from `offset` to the end of the file into `out`
    /// in chunks of at most `bufsz` bytes (the server may grant less), and
    /// after every `canpt` chunks tells the server to go on, or to stop when
    /// `on` has answered anything but [`Flow::Continue`] (`canpt` 0: no
    /// windows, the whole file comes). `on` is called with each
    /// [`CanEvent`]; a stop asked after a chunk takes effect at the next
    /// window, and what comes until then is read and dropped.
    ///
    /// The server's −2 (its read failed) is [`Error::Cancelled`], as a GET
    /// the server cancels. A failed write to `out` stops the download at the
    /// next window and is [`Error::Local`]. Both leave the session in step.
    ///
    /// Why the callback: a reader that needs only the head of a large file
    /// (a header, a first match) stops the server after the window where it
    /// has enough, instead of receiving the rest or breaking the session.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), tfp_client::Error> {
    /// use tfp_client::{CanEvent, Flow};
    /// let mut c = tfp_client::Client::builder("127.0.0.1:10345")
    ///     .key_file("pub.pem")
    ///     .hash("app-hash")
    ///     .connect()?;
    /// let mut head = Vec::new();
    /// // 64 KiB chunks, a window after each: the server stops sending as
    /// // soon as the first line is in
    /// let got = c.getcan(b"data/huge.csv", 0, 65536, 1, &mut head, &mut |e| match e {
    ///     CanEvent::Window { .. } => Flow::Stop,
    ///     _ => Flow::Continue,
    /// })?;
    /// let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
    /// println!("{} ({} bytes read)", String::from_utf8_lossy(first), got.bytes());
    /// # Ok(()) }
    /// ```
    pub fn getcan(
        &mut self,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        canpt: u64,
        out: &mut dyn Write,
        on: &mut dyn FnMut(CanEvent) -> Flow,
    ) -> Result<CanOutcome, Error> {
        let grant = self.hpf_open("GETCAN", remote, offset, bufsz, Some(canpt))?;
        let mut buf = vec![0u8; grant];
        let (mut total, mut chunks) = (0u64, 0u64);
        // once it is not Continue (or a write to `out` failed), chunks are
        // read and dropped until a window can stop the server
        let mut flow = on(CanEvent::Granted { grant });
        let mut failed: Option<std::io::Error> = None;
        loop {
            let len = self.chan.rx.recv_i64()?;
            match len {
                code::END => break,
                code::CANCEL => return Err(Error::Cancelled { command: "GETCAN" }),
                n if n < 0 || n as u64 > grant as u64 => {
                    return Err(Error::Protocol(format!("GETCAN: chunk header {n} (grant {grant})")))
                }
                _ => {}
            }
            let chunk = &mut buf[..len as usize];
            self.chan.rx.recv_unit(chunk)?;
            chunks += 1;
            if flow == Flow::Continue && failed.is_none() {
                match out.write_all(chunk) {
                    Ok(()) => {
                        total += len as u64;
                        flow = on(CanEvent::Chunk {
                            len: len as usize,
                            total,
                        });
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if canpt > 0 && chunks % canpt == 0 {
                if flow == Flow::Continue && failed.is_none() {
                    flow = on(CanEvent::Window { total });
                }
                if flow != Flow::Continue || failed.is_some() {
                    // anything but −3 stops the server silently: nothing follows
                    self.chan.tx.send_i64(code::CANCEL)?;
                    break;
                }
                self.chan.tx.send_i64(code::CONT)?;
            }
        }
        if let Some(e) = failed {
            return Err(Error::Local(e));
        }
        Ok(match flow {
            Flow::Continue => CanOutcome::Completed { bytes: total },
            by => CanOutcome::Ended { by, bytes: total },
        })
    }
}
