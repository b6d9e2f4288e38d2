//! The compat layer's raw access (tfd_client.compat speaks some commands
//! frame by frame): the channel's frames and units, the socket, and a
//! command line sent as it is, each over one tfp-client `Client`.

use crate::shapes::status_frame;
use std::io::Read;
use std::time::Duration;
use tfp_client::{Client, Error, Status};

/// `NAME args` through Client::command: the data of its OK (FAILED or
/// UNKNOWN the refusal; any other reply whole).
pub(crate) fn call(c: &mut Client, name: &str, args: &[u8]) -> Result<Vec<u8>, Error> {
    let line = if args.is_empty() {
        name.as_bytes().to_vec()
    } else {
        [name.as_bytes(), b" ", args].concat()
    };
    match c.command(&line)? {
        Status::Ok(d) | Status::Other(d) => Ok(d),
        st => Err(Error::refused(name, st)),
    }
}

/// Units sent as they are, each enciphered as one unit.
pub(crate) fn send_units(c: &mut Client, units: &[Vec<u8>]) -> Result<(), Error> {
    let refs: Vec<&[u8]> = units.iter().map(|u| &u[..]).collect();
    Ok(c.chan.tx.send_units(&refs)?)
}

/// One unit of `n` bytes, deciphered.
pub(crate) fn recv_unit(c: &mut Client, n: usize) -> Result<Vec<u8>, Error> {
    let mut b = vec![0u8; n];
    c.chan.rx.recv_unit(&mut b)?;
    Ok(b)
}

/// The socket's read and write timeout (None: block).
pub(crate) fn set_timeout(c: &mut Client, seconds: Option<f64>) -> Result<(), Error> {
    let t = seconds.map(Duration::from_secs_f64);
    c.chan.stream().set_read_timeout(t).map_err(Error::Local)?;
    c.chan.stream().set_write_timeout(t).map_err(Error::Local)?;
    Ok(())
}

/// Up to `n` bytes from the socket as they come (no cipher): empty at EOF.
pub(crate) fn recv_socket(c: &mut Client, n: usize) -> Result<Vec<u8>, Error> {
    let mut b = vec![0u8; n];
    let k = (&mut c.chan.stream()).read(&mut b).map_err(Error::Local)?;
    b.truncate(k);
    Ok(b)
}

/// One command whose answer is chunked data then a status (LS, RCVFILE...):
/// (data, status frame).
pub(crate) fn chunks(c: &mut Client, line: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Error> {
    c.chan.tx.send_frame(line)?;
    let mut out = Vec::new();
    let frame = status_frame(c.recv_chunks(&mut out)?);
    Ok((out, frame))
}
