//! A single file's data down as blocks (`TFDGETZ`): GET's flow, each unit
//! one block decoded within what the file has left before the sink sees
//! it, a zstd stream per request (a resume starts a new one).

use super::Blocks;
use crate::remote::listing;
use crate::transfer::Progress;
use crate::{Client, Error};
use std::sync::Mutex;
use tfp_wire::compress::get::{encode, GET};
use tfp_wire::compress::Choice;

impl Client {
    /// [`Client::get_to_sink`] through `TFDGETZ` under `choice`: from
    /// `offset` to the file's end, `left` bytes of it announced (FSTAT), so
    /// no block may decode to more. A block refused (announcing more,
    /// decoding to more or less, corrupt) is [`Error::Protocol`] and the
    /// session is closed: nothing of the block reaches the sink.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn getz_to_sink<S>(
        &mut self,
        choice: Choice,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        left: u64,
        mut sink: S,
        progress: Progress<'_>,
    ) -> Result<u64, Error>
    where
        S: FnMut(&[u8]) -> std::io::Result<()> + Send,
    {
        let mut cmd = GET.as_bytes().to_vec();
        cmd.push(b' ');
        cmd.extend_from_slice(&encode(choice, remote, offset, bufsz));
        self.chan.tx.send_frame(&cmd)?;
        let grant = self.hpf_granted(GET, bufsz)?;
        let mut blocks = Blocks::new(GET)?;
        let fault = Mutex::new(None);
        let mut left = left;
        let decoded = |unit: &[u8]| {
            let data = match blocks.data(unit, left) {
                Ok(d) => d,
                Err(e) => {
                    *fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    return Err(std::io::Error::from(std::io::ErrorKind::InvalidData));
                }
            };
            left -= data.len() as u64;
            sink(data)
        };
        let r = self.get_granted_to_sink(grant, decoded, progress);
        match (r, fault.into_inner().unwrap_or_else(|p| p.into_inner())) {
            (Err(_), Some(e)) => {
                // the server is not to be believed: the rest of its stream is not read
                listing::hang_up(self);
                Err(e)
            }
            (r, _) => r,
        }
    }
}
