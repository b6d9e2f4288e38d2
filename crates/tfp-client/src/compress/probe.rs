//! Whether the server takes compressed blocks: `TFDZSTD`, asked once per
//! session ([`crate::caps`]); a server without the extension (or with
//! `compression no`) answers `UNKNOWN` and gets today's bytes.

use crate::caps::{Ext, Known};
use crate::{Client, Error};
use tfp_wire::compress::{Offer, PROBE};
use tfp_wire::Status;

/// What the server offers, or None when it takes no compressed blocks.
pub fn offer(c: &mut Client) -> Result<Option<Offer>, Error> {
    if c.caps.get(Ext::Zstd) == Known::No {
        return Ok(None);
    }
    match c.call(PROBE, b"")? {
        Status::Ok(text) => {
            let o = Offer::parse(&text);
            c.caps.learn(Ext::Zstd, o.is_some());
            Ok(o)
        }
        _ => {
            c.caps.learn(Ext::Zstd, false);
            Ok(None)
        }
    }
}
