//! The ways a client ends a connection early: idle, or in the middle of an
//! upload or a download.

use super::op::{verify, OpResult};
use super::worker::Worker;
use tfd_testkit::reply::SizeOrCode as _;
use tfp_wire::hpf;

impl Worker {
    /// One of the ways a connection ends early.
    pub(crate) fn disconnect(&mut self) -> OpResult {
        self.tally.disconnects += 1;
        match self.rng.below(7) {
            0 => {
                if let Some((c, _, _)) = self.conn.take() {
                    c.end()?;
                }
            }
            1 => self.drop_connection(false),
            2 => self.drop_connection(true),
            3 => return self.abort_sndfile(),
            4 => self.abort_put()?,
            5 => self.abort_download(false)?,
            _ => self.abort_download(true)?,
        }
        Ok(())
    }

    /// Starts an SNDFILE, sends part of it, resets the connection; the name must
    /// never appear (the upload lives in a temporary file until it completes).
    pub(crate) fn abort_sndfile(&mut self) -> OpResult {
        let name = self.fresh("a");
        let path = self.path(&name);
        let c = self.client();
        let first = c.raw(&[&b"SNDFILE 0 "[..], &path].concat())?;
        verify(first == b"CONT", || {
            format!("SNDFILE -> {:?}", String::from_utf8_lossy(&first))
        })?;
        let chunk = vec![0xa5u8; 64 << 10];
        for _ in 0..2 {
            c.chan.tx.send_frame_parts(&[b"CONT ", &chunk])?;
            let r = c.chan.rx.recv_frame()?;
            verify(r == b"CONT", || {
                format!("SNDFILE chunk -> {:?}", String::from_utf8_lossy(&r))
            })?;
        }
        self.drop_connection(true);
        self.connect()?;
        let size = self.client().fsize(&path).size_or_code()?;
        self.tally.aborted_uploads_checked += 1;
        verify(size == -1, || {
            format!("a broken-off SNDFILE left {name} ({size} bytes) under its name")
        })
    }

    /// Starts a PUT, sends part of it, closes the connection (the partial file is
    /// of uncertain state from now on).
    pub(crate) fn abort_put(&mut self) -> OpResult {
        let name = self.fresh("b");
        self.maybe.insert(name.clone());
        let path = self.path(&name);
        let reset = self.rng.chance(2);
        let c = self.client();
        let f = c.raw(&[&b"PUT "[..], &hpf::encode(&path, 0, 65536, None)].concat())?;
        verify(f.starts_with(b"OK ") && f.len() == 11, || {
            format!("PUT -> {:?}", String::from_utf8_lossy(&f))
        })?;
        let chunk = vec![0x5au8; 65536];
        c.chan.tx.send_units(&[&65536i64.to_be_bytes(), &chunk])?;
        self.drop_connection(reset);
        Ok(())
    }

    /// Starts a download of a known file, reads its first chunk, closes.
    pub(crate) fn abort_download(&mut self, get: bool) -> OpResult {
        let Some(k) = self.pick_known() else {
            self.drop_connection(false);
            return Ok(());
        };
        let path = self.path(&k.name);
        let reset = self.rng.chance(2);
        let c = self.client();
        if get {
            let f = c.raw(&[&b"GET "[..], &hpf::encode(&path, 0, 65536, None)].concat())?;
            verify(f.starts_with(b"OK ") && f.len() == 11, || {
                format!("GET {} -> {:?}", k.name, String::from_utf8_lossy(&f))
            })?;
            let len = c.chan.rx.recv_i64()?;
            if len > 0 {
                c.chan.rx.recv_unit(&mut vec![0u8; len as usize])?;
            }
        } else {
            c.chan.tx.send_frame(&[&b"RCVFILE 0 "[..], &path].concat())?;
            let f = c.chan.rx.recv_frame()?;
            verify(f.starts_with(b"CONT ") || (k.size == 0 && f == b"OK"), || {
                format!(
                    "RCVFILE {} -> {:?}",
                    k.name,
                    String::from_utf8_lossy(&f[..f.len().min(40)])
                )
            })?;
        }
        self.drop_connection(reset);
        Ok(())
    }
}
