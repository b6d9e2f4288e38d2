//! Whether the server takes compressed blocks: `TFDZSTD`, asked once per
//! session ([`crate::caps`]); a server without the extension (or with
//! `compression no`) answers `UNKNOWN` and gets today's bytes.

use crate::caps::{Ext, Known};
use crate::{Client, Error};
use tfp_wire::batch::put::PutMany;
use tfp_wire::compress::{Offer, PROBE};
use tfp_wire::Status;

/// What the server offers, or None when it takes no compressed blocks:
/// asked on the session's first need, then read from its caps.
pub fn offer(c: &mut Client) -> Result<Option<Offer>, Error> {
    match c.caps.get(Ext::Zstd) {
        Known::No => return Ok(None),
        Known::Yes if c.caps.offer().is_some() => return Ok(c.caps.offer()),
        _ => {}
    }
    let o = match c.call(PROBE, b"")? {
        Status::Ok(text) => Offer::parse(&text),
        _ => None,
    };
    c.caps.learn_offer(o);
    Ok(o)
}

/// Whether the server takes framed batch uploads (`TFDPUTMANY <n> z f`):
/// the probe `TFDPUTMANY 0 z f`, asked once per session of a server that
/// offers compression. A server from before them answers it `FAILED` (a
/// word it does not know) or `UNKNOWN`, and gets today's `z` batches.
pub fn framed(c: &mut Client) -> Result<bool, Error> {
    match c.caps.get(Ext::Framed) {
        Known::Yes => return Ok(true),
        Known::No => return Ok(false),
        Known::Unknown => {}
    }
    let probe = PutMany {
        blocks: true,
        framed: true,
        ..PutMany::new(0, false)
    };
    let yes = matches!(c.command(&probe.line())?, Status::Ok(_));
    c.caps.learn(Ext::Framed, yes);
    Ok(yes)
}
