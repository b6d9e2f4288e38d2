//! The 2.5.1 integrity transfers, INTREAD and INTWRITE: a whole file with its
//! SHA-256, and a replacement made only if the file still hashes as expected.
//! Each reads exactly what the server sends, so the session stays in step for
//! the next command whatever the outcome.

use super::{Client, Error};
use tfp_wire::SHA256_TEXT_LEN;

/// Largest INTREAD/INTWRITE payload: the size travels as an i32.
pub const INT_MAX_SIZE: usize = i32::MAX as usize;

/// INTREAD's answer: the server's hash text and the content.
pub type Checked = (Vec<u8>, Vec<u8>);

impl Client {
    /// `INTREAD path`: the server's hash text (`0x` and 64 hex digits) and the
    /// content. The server's −1 (missing, refused, locked too long, or larger
    /// than its `intrw_max`) is [`Error::Declined`].
    pub fn intread(&mut self, path: &[u8]) -> Result<Checked, Error> {
        self.chan.tx.send_frame(&[b"INTREAD ", path].concat())?;
        let n = self.chan.rx.recv_i32()?;
        if n < 0 {
            return Err(Error::Declined {
                command: "INTREAD",
                answer: n.into(),
            });
        }
        let mut hash = vec![0u8; SHA256_TEXT_LEN];
        self.chan.rx.recv_unit(&mut hash)?;
        let mut data = vec![0u8; n as usize];
        self.chan.rx.recv_unit(&mut data)?;
        Ok((hash, data))
    }

    /// `INTWRITE path`: replaces the server's file with `data` only if its
    /// current content hashes to `expected` (`0x` and 64 hex digits). `Ok`
    /// when replaced; the document's −1 (the file changed meanwhile, or is
    /// missing, refused or locked) is [`Error::Declined`] (see
    /// [`Error::is_declined`]).
    pub fn intwrite(&mut self, path: &[u8], expected: &[u8], data: &[u8]) -> Result<(), Error> {
        if expected.len() != SHA256_TEXT_LEN {
            return Err(Error::Protocol(format!(
                "INTWRITE: a hash is {SHA256_TEXT_LEN} bytes (0x and 64 hex digits)"
            )));
        }
        let size = i32::try_from(data.len()).map_err(|_| Error::Protocol("INTWRITE: content over 2 GiB".into()))?;
        self.chan.tx.send_frame(&[b"INTWRITE ", path].concat())?;
        self.chan.tx.send_units(&[expected])?;
        self.chan.tx.send_units(&[&size.to_be_bytes(), data])?;
        match self.chan.rx.recv_i32()? {
            0 => Ok(()),
            n => Err(Error::Declined {
                command: "INTWRITE",
                answer: n.into(),
            }),
        }
    }
}
