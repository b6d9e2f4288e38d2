//! TFDDIRENTRIES (tfd's extension, doc/compatibility.md "Archive copies"):
//! TFDENTRIES of one level, the directory and its entries with their modes
//! and owners, what `tf ls -l` shows. A server without it answers UNKNOWN,
//! asked again each time (a listing asks once), and the caller shows what
//! FSTAT tells. Asked compressed where the session compresses
//! ([`zlisting`]).

use super::entries::{parse, Entries};
use super::listing::{hang_up, Bounded};
use super::zlisting;
use crate::error::TooBig;
use crate::{Client, Error};
use tfp_wire::compress::listing::Form;
use tfp_wire::Status;

/// TFDDIRENTRIES of `dir`, bounded as an LS. `Ok(None)`: the server has no
/// TFDDIRENTRIES, refused it, or its answer does not parse.
pub fn list(c: &mut Client, dir: &[u8]) -> Result<Option<Entries>, Error> {
    let asked = zlisting::send(c, Form::DirEntries, dir)?;
    let mut out = Bounded(Vec::new());
    match zlisting::recv(c, asked, &mut out) {
        Ok(Status::Ok(_)) => Ok(parse(&out.0)),
        Ok(_) => Ok(None),
        Err(Error::Local(_)) => {
            hang_up(c);
            Err(Error::TooBig(TooBig::Bytes))
        }
        Err(e) => Err(e),
    }
}
