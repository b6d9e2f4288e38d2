//! Many small commands on one session without waiting for each answer:
//! what a mirror, a tree's directories and a listing's FSTATs send. Below
//! [`super::listing`] and the trees, which use it.

use crate::{Client, Error};
use tfp_wire::Status;

/// Most commands sent ahead of their answers on one session: a tree's
/// directories in one round trip (their answers, tens of bytes each, fit
/// the socket buffers many times over, so neither end blocks writing).
pub(crate) const WINDOW: usize = 256;

/// Most commands sent ahead whose answers are a status alone (`OK`, or
/// `FAILED` with its reason: 120 bytes at most on the wire), such as a
/// backup's links: 1,024 answers fit a socket's first receive buffer (128
/// KiB), so the server never blocks writing them while tf writes; 31,000
/// links over a 50 ms link were 121 windows of [`WINDOW`], 6 s of waiting.
pub(crate) const STATUS_WINDOW: usize = 1024;

/// Sends `NAME arg` for every arg on `c` without waiting for each answer (at
/// most `WINDOW` ahead: the server answers in order), and returns the
/// answers in order. One round trip per window instead of per command: what
/// makes a mirror of many unchanged files fast.
pub fn pipelined(c: &mut Client, name: &str, args: &[Vec<u8>]) -> Result<Vec<Status>, Error> {
    pipelined_lines(c, &[], name, args)
}

/// [`pipelined`] of commands answered by a status alone, [`STATUS_WINDOW`]
/// ahead.
pub fn pipelined_statuses(c: &mut Client, name: &str, args: &[Vec<u8>]) -> Result<Vec<Status>, Error> {
    windowed(c, STATUS_WINDOW, &[], name, args)
}

/// [`pipelined`] behind the commands `first` (whole lines, answered first):
/// a probe rides with the directories a run makes, no round trip of its own.
pub fn pipelined_lines(c: &mut Client, first: &[&[u8]], name: &str, args: &[Vec<u8>]) -> Result<Vec<Status>, Error> {
    windowed(c, WINDOW, first, name, args)
}

/// The pipeline, `window` commands ahead at most.
fn windowed(
    c: &mut Client,
    window: usize,
    first: &[&[u8]],
    name: &str,
    args: &[Vec<u8>],
) -> Result<Vec<Status>, Error> {
    let total = first.len() + args.len();
    let mut out = Vec::with_capacity(total);
    let mut sent = 0;
    while out.len() < total {
        // what the window allows leaves in one write: sent frame by frame,
        // 100 MKDIRs were 100 packets, which a new connection's congestion
        // window (10 packets) let out over three round trips; and it is
        // refilled once an eighth of it is answered, not an answer at a
        // time (5,300 directories went as 5,300 packets of one MKDIR each)
        if sent < total && sent - out.len() <= window - window / 8 {
            c.chan.tx.hold();
            while sent < total && sent - out.len() < window {
                match first.get(sent) {
                    Some(line) => c.chan.tx.send_frame(line)?,
                    None => c
                        .chan
                        .tx
                        .send_frame_parts(&[name.as_bytes(), b" ", &args[sent - first.len()]])?,
                }
                sent += 1;
            }
            c.chan.tx.release()?;
        }
        out.push(Status::parse(&c.chan.rx.recv_frame()?));
    }
    Ok(out)
}
