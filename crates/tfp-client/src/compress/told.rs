//! Whether the server takes compressed blocks, and in which frames: read
//! from the session's caps ([`crate::caps`], told as it entered); a server
//! that told nothing (or has `compression no`) gets today's bytes.

use crate::caps::Ext;
use crate::{Client, Error};
use tfp_wire::compress::Offer;

/// What the server offers, or None when it takes no compressed blocks.
pub fn offer(c: &mut Client) -> Result<Option<Offer>, Error> {
    Ok(c.caps().offer())
}

/// Whether the server takes framed batch uploads (`TFDPUTMANY <n> z f`).
pub fn framed(c: &mut Client) -> Result<bool, Error> {
    Ok(c.caps().has(Ext::Framed))
}

/// Whether the server sends framed batch downloads (`TFDGETMANY <n> <max>
/// … z f`).
pub fn framed_get(c: &mut Client) -> Result<bool, Error> {
    Ok(c.caps().has(Ext::GetFramed))
}
