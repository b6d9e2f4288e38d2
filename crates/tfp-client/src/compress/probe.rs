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
    match c.caps().get(Ext::Zstd) {
        Known::No => return Ok(None),
        Known::Yes if c.caps().offer().is_some() => return Ok(c.caps().offer()),
        _ => {}
    }
    let o = match c.call(PROBE, b"")? {
        Status::Ok(text) => Offer::parse(&text),
        _ => None,
    };
    crate::caps::answered_offer(c, o)?;
    Ok(o)
}

/// Whether the server takes framed batch uploads (`TFDPUTMANY <n> z f`):
/// the probe `TFDPUTMANY 0 z f`, asked once per session of a server that
/// offers compression. A server from before them answers it `FAILED` (a
/// word it does not know) or `UNKNOWN`, and gets today's `z` batches.
pub fn framed(c: &mut Client) -> Result<bool, Error> {
    match c.caps().get(Ext::Framed) {
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
    crate::caps::answered(c, Ext::Framed, yes)?;
    Ok(yes)
}

/// Whether the server sends framed batch downloads (`TFDGETMANY <n> <max>
/// … z f`): the probe `TFDGETMANY 0 0 z f`, asked once per session of a
/// server that offers compression. A server from before them answers it
/// `FAILED` (a word it does not know), and gets today's `z` batches.
pub fn framed_get(c: &mut Client) -> Result<bool, Error> {
    match c.caps().get(Ext::GetFramed) {
        Known::Yes => return Ok(true),
        Known::No => return Ok(false),
        Known::Unknown => {}
    }
    let probe = tfp_wire::batch::get::GetMany {
        n: 0,
        max: Some(0),
        packed: false,
        archive: false,
        compress: Some(tfp_wire::compress::Choice::Auto),
        framed: true,
    };
    let yes = matches!(c.command(&probe.line())?, Status::Ok(_));
    crate::caps::answered(c, Ext::GetFramed, yes)?;
    Ok(yes)
}

/// The round trips [`offer`] and [`framed`] still cost on `c`: none once
/// the session knows both answers (or that the server offers nothing),
/// else one ([`ask`] sends both questions in one write).
pub(crate) fn round_trips(c: &Client) -> u32 {
    let known = |e| c.caps.get(e) != Known::Unknown;
    let none = c.caps.get(Ext::Zstd) == Known::No;
    u32::from(!(none || (known(Ext::Zstd) && c.caps.offer().is_some() && known(Ext::Framed))))
}

/// The lines of the compression questions still to ask on `c`, with what
/// each answer teaches.
fn unasked(c: &Client) -> Vec<(Vec<u8>, Ext)> {
    let mut v = Vec::new();
    if c.caps.get(Ext::Zstd) == Known::Unknown || (c.caps.get(Ext::Zstd) == Known::Yes && c.caps.offer().is_none()) {
        v.push((PROBE.as_bytes().to_vec(), Ext::Zstd));
    }
    if c.caps.get(Ext::Framed) == Known::Unknown && c.caps.get(Ext::Zstd) != Known::No {
        let probe = PutMany {
            blocks: true,
            framed: true,
            ..PutMany::new(0, false)
        };
        v.push((probe.line(), Ext::Framed));
    }
    v
}

/// Asks TFDZSTD and the framed batch's probe in one write, `before` them
/// any other line still to ask (a batch command's probe: a pool session's
/// questions in one round trip), and records the answers. A server without
/// compression answers the framed probe `FAILED` or `UNKNOWN` as well,
/// which only says no.
pub(crate) fn ask(c: &mut Client, before: &[&[u8]]) -> Result<Vec<Status>, Error> {
    let z = unasked(c);
    c.chan.tx.hold();
    for line in before {
        c.chan.tx.send_frame(line)?;
    }
    for (line, _) in &z {
        c.chan.tx.send_frame(line)?;
    }
    c.chan.tx.release()?;
    let mut first = Vec::with_capacity(before.len());
    for _ in before {
        first.push(Status::parse(&c.chan.rx.recv_frame()?));
    }
    for (_, ext) in z {
        let st = Status::parse(&c.chan.rx.recv_frame()?);
        match ext {
            Ext::Zstd => crate::caps::answered_offer(
                c,
                match &st {
                    Status::Ok(text) => Offer::parse(text),
                    _ => None,
                },
            )?,
            e => crate::caps::answered(c, e, matches!(st, Status::Ok(_)))?,
        }
    }
    Ok(first)
}
