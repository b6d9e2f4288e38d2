//! tfd's listings compressed (TFDLISTZ, doc/compatibility.md "Compressed
//! listings"): where this session compresses (`--compress`, or by default
//! over a slow link, as the engine's transfers decide), a TFDLIST,
//! TFDNAMES, TFDENTRIES or TFDDIRENTRIES is asked as `TFDLISTZ <choice>
//! <form> <dir>` and its chunks decoded as they come, into the same bound
//! the plain answer has. A server that did not tell it has it (or has
//! compression off) is asked the plain command.

use crate::caps::Ext;
use crate::{Client, Error};
use std::io::{self, Write};
use tfp_wire::compress::listing::{self as zlist, Form, UnpackError, Unpacker};
use tfp_wire::Status;

/// How a listing was asked: the plain command, or compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Asked {
    pub form: Form,
    pub zipped: bool,
}

/// The command that asks `form` of `dir`: compressed where this session
/// compresses and the server has not said it cannot; how it was asked, for
/// [`recv`].
pub(crate) fn line(c: &mut Client, form: Form, dir: &[u8]) -> (Vec<u8>, Asked) {
    let choice = crate::engine::compressed_listing(c).filter(|_| c.caps().has(Ext::ListZ));
    let line = match choice {
        Some(choice) => zlist::encode(choice, form, dir),
        None => [form.word().as_bytes(), b" ", dir].concat(),
    };
    (
        line,
        Asked {
            form,
            zipped: choice.is_some(),
        },
    )
}

/// Sends [`line`].
pub(crate) fn send(c: &mut Client, form: Form, dir: &[u8]) -> Result<Asked, Error> {
    let (line, asked) = line(c, form, dir);
    c.chan.tx.send_frame(&line)?;
    Ok(asked)
}

/// Reads the answer of what [`send`] asked into `out` (its bound is the
/// plain listing's, whatever the frame expands to): its status, as
/// [`Client::recv_chunks`] gives it. A frame that does not decode, or does
/// not end with the listing, breaks the session off (the rest of it is
/// unread) as a protocol error.
pub(crate) fn recv(c: &mut Client, asked: Asked, out: &mut dyn Write) -> Result<Status, Error> {
    if !asked.zipped {
        return c.recv_chunks(out);
    }
    let unpacker = Unpacker::new().ok_or_else(|| Error::Local(io::Error::other("zstd has no memory")))?;
    let mut sink = Sink {
        unpacker,
        out,
        broken: None,
    };
    let st = c.recv_chunks(&mut sink);
    let broken = |c: &Client, why: &str| {
        // the rest of the listing is unread: the session cannot go on
        let _ = c.chan.stream().shutdown(std::net::Shutdown::Both);
        Err(Error::Protocol(format!(
            "the server's compressed {} listing {why}",
            asked.form.word()
        )))
    };
    match (st, sink.broken) {
        (Err(Error::Local(_)), Some(UnpackError::Corrupt)) => broken(c, "does not decode"),
        (Ok(Status::Unknown), _) => Err(crate::caps::contradicted(Ext::ListZ)),
        (Ok(Status::Ok(d)), _) => match sink.unpacker.finish() {
            Ok(()) => Ok(Status::Ok(d)),
            Err(_) => broken(c, "ended before its frame"),
        },
        (st, _) => st,
    }
}

/// The chunks' writer of a compressed listing: each chunk decoded into the
/// listing's bounded text.
struct Sink<'a> {
    unpacker: Unpacker,
    out: &'a mut dyn Write,
    broken: Option<UnpackError>,
}

impl Write for Sink<'_> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        let out = &mut *self.out;
        match self
            .unpacker
            .unpack(chunk, &mut |text| out.write_all(text).map_err(|_| ()))
        {
            Ok(()) => Ok(chunk.len()),
            Err(e) => {
                self.broken = Some(e);
                Err(io::Error::other("a compressed listing refused"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
