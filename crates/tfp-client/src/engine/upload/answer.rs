//! A batch's answer once its `OK` is in: how many entries were stored and
//! each refusal. Read alike for files ([`super::batch`]) and archive
//! entries ([`super::entries`]).

use crate::{Client, Error};
use tfp_wire::batch::put::{self, Stored};
use tfp_wire::Status;

/// A server's refusal of one entry: its FAILED code and reason.
pub(crate) type Refusal = (i32, String);

/// Reads a batch's outcome once its `OK` is in: `OK <stored> <failed>`
/// and the failures, each the index of one of the `n` entries sent, its
/// FAILED code and reason.
pub(crate) fn refusals(c: &mut Client, n: usize) -> Result<Vec<(usize, Refusal)>, Error> {
    let head = c.chan.rx.recv_frame()?;
    let failed = Stored::parse(&head)
        .and_then(|s| usize::try_from(s.failed).ok())
        .filter(|&f| f <= n);
    let failed = match (failed, Status::parse(&head)) {
        (Some(f), _) => f,
        (None, Status::Ok(_)) => {
            return Err(Error::Protocol(format!(
                "TFDPUTMANY: a reply {:?}",
                String::from_utf8_lossy(&head)
            )))
        }
        (None, st) => {
            return Err(Error::Protocol(format!(
                "TFDPUTMANY: {}",
                crate::remote::listing::status_text(&st)
            )))
        }
    };
    let mut out = Vec::with_capacity(failed);
    for _ in 0..failed {
        let f = c.chan.rx.recv_frame()?;
        let outcome =
            put::Failure::parse(&f).and_then(|o| Some((usize::try_from(o.index).ok().filter(|&i| i < n)?, o)));
        let Some((i, o)) = outcome else {
            return Err(Error::Protocol(format!(
                "TFDPUTMANY: an outcome {:?}",
                String::from_utf8_lossy(&f)
            )));
        };
        out.push((i, (o.code, o.reason.into_owned())));
    }
    Ok(out)
}
