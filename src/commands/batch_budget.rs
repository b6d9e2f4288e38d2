//! The batches' share of the memory budget (`Session::hold`): what a
//! TFDGETMANY's paths or a TFDPUTMANY's outcomes and groups may hold,
//! claimed once the batch is opened, and the batch the budget refused. Its
//! client sent the batch without waiting for the `OK`, so a refusal before
//! it would have the batch read as commands: the batch is read to its end
//! instead, nothing of it kept, and every file answered failed with the
//! reason, so the session stays in step and goes on.

use super::{CmdError, CmdResult, Reply};
use crate::session::Session;
use log::warn;
use std::borrow::Cow;
use tfp_wire::batch::put::{AttrsHead, DirHead, Failure, FileHead, PutMany, Stored, MAX_HEADER, MAX_TRAILER};
use tfp_wire::batch::{get, is_end, Trailer, GETMANY, PUTMANY};
use tfp_wire::entry::Head;
use tfp_wire::fstat::FileType;
use tfp_wire::{Failed, MAX_FRAME};

/// Bytes a path of a TFDGETMANY holds besides its own: its vector's entry
/// (doubled while the list grows) and the allocator's share.
const PER_PATH: u64 = 96;
/// Bytes an outcome of a TFDPUTMANY may hold (a failure: its index, code and
/// reason), the list doubled while it grows.
const PER_FILE: u64 = 160;
/// Bytes of the uploads of the three groups a TFDPUTMANY holds at once
/// (filling, waiting, committing; 256 files each at most), their names
/// with them.
const GROUPS: u64 = 3 * 256 * 640;

/// What a TFDGETMANY of `n` paths may hold: every path (together at most
/// [`get::MAX_PATH_BYTES`]) until the batch is sent.
pub(super) fn getmany_held(n: u64) -> u64 {
    let paths = n.saturating_mul(get::MAX_PATH as u64).min(get::MAX_PATH_BYTES as u64);
    n.saturating_mul(PER_PATH).saturating_add(paths)
}

/// What a TFDPUTMANY of `n` files may hold: an outcome for each, the
/// groups being committed, a header; and with `blocks` (`z`) its zstd
/// stream, what `compression_memory` allows it (the window and zstd's own
/// buffers), and one decoded block.
pub(super) fn putmany_held(s: &Session, batch: PutMany) -> u64 {
    let stream = if batch.blocks {
        super::compress::stream_held(s)
    } else {
        0
    };
    // with `x`: an attributes frame and the sets it gives, one at a time
    let attrs = if batch.attrs { 2 * AttrsHead::MAX } else { 0 };
    batch
        .n
        .saturating_mul(PER_FILE)
        .saturating_add(GROUPS)
        .saturating_add(MAX_HEADER as u64)
        .saturating_add(attrs as u64)
        .saturating_add(stream)
}

/// The refusal's code and reason (a [`Session::hold`] error); any other
/// error is the caller's.
fn told(e: CmdError) -> Result<(i32, String), CmdError> {
    match e {
        CmdError::Told(f, why) => Ok((i32::from(f.code()), why)),
        e => Err(e),
    }
}

/// A TFDGETMANY of `n` paths the budget refused (`e`): its paths read and
/// dropped, each answered `X` with the reason, and `OK 0`.
pub(super) fn refuse_getmany(s: &mut Session, n: u64, e: CmdError) -> CmdResult {
    let (code, why) = told(e)?;
    for _ in 0..n {
        s.chan_mut().rx.recv_frame_max(get::MAX_PATH)?;
    }
    if !is_end(&s.chan_mut().rx.recv_frame_max(16)?) {
        return out_of_step(s, GETMANY, "no end frame after the announced paths");
    }
    s.chan_mut().tx.hold();
    for _ in 0..n {
        let refused = get::Reply::Refused {
            code,
            reason: Cow::Borrowed(&why),
        };
        s.chan_mut().tx.send_frame(&refused.encode())?;
    }
    s.chan_mut().tx.send_frame(&get::Sent { sent: 0 }.encode())?;
    s.chan_mut().tx.release()?;
    Ok(Reply::Sent)
}

/// The data a refused batch's header announces: a file's size, and
/// whether a trailer follows (an archive batch's other entries have
/// neither); None when it does not parse.
fn announced(head: &[u8], archive: bool) -> Option<(u64, bool)> {
    if !archive {
        if DirHead::parse(head).is_some() {
            return Some((0, false));
        }
        return FileHead::parse(head).map(|h| (h.size, true));
    }
    let h = Head::parse(head)?;
    Some(match h.kind {
        Some(FileType::Regular) => (h.size, true),
        _ => (0, false),
    })
}

/// A TFDPUTMANY the budget refused (`e`, or a `z` batch this server takes
/// no blocks for): every file read to its trailer and dropped (blocks
/// counted by their announced lengths, never decoded), then `OK 0 <n>` and
/// each file failed with the reason. A batch out of step ends the session,
/// as TFDPUTMANY's own.
pub(super) fn refuse_putmany(s: &mut Session, batch: PutMany, e: CmdError) -> CmdResult {
    let (code, why) = told(e)?;
    let n = batch.n;
    for i in 0..n {
        let read = super::putmany_frames::header_with_land(batch, |max| Ok(s.chan_mut().rx.recv_frame_max(max)?))?;
        let Some((size, trailer)) = read.ok().and_then(|(head, _)| announced(&head, batch.archive)) else {
            return out_of_step(s, PUTMANY, &format!("file {i}: a header that does not parse"));
        };
        let mut left = size;
        while left > 0 {
            let data = s.chan_mut().rx.recv_frame_max(MAX_FRAME)?;
            match super::compress::counted(&data, left, batch.blocks) {
                Ok(n) => left -= n,
                Err(_) => return out_of_step(s, PUTMANY, &format!("file {i}: data frames unlike its size")),
            }
        }
        if !trailer {
            continue;
        }
        if Trailer::parse(&s.chan_mut().rx.recv_frame_max(MAX_TRAILER)?).is_none() {
            return out_of_step(s, PUTMANY, &format!("file {i}: a trailer that does not parse"));
        }
    }
    if !is_end(&s.chan_mut().rx.recv_frame_max(MAX_TRAILER)?) {
        return out_of_step(s, PUTMANY, "no end frame after the announced files");
    }
    s.chan_mut().tx.hold();
    s.chan_mut().tx.send_frame(&Stored { stored: 0, failed: n }.encode())?;
    for index in 0..n {
        let failure = Failure {
            index,
            code,
            reason: Cow::Borrowed(&why),
        };
        s.chan_mut().tx.send_frame(&failure.encode())?;
    }
    s.chan_mut().tx.release()?;
    Ok(Reply::Sent)
}

/// A refused batch that cannot be read on: answered as the batch's own
/// command answers it, and the session ended.
fn out_of_step(s: &mut Session, command: &str, why: &str) -> CmdResult {
    warn!("{} {command} out of step: {why}; ending the session", s.peer());
    s.chan_mut()
        .tx
        .send_frame(format!("FAILED {} : {why}", Failed::MissingParameter.code()).as_bytes())?;
    Ok(Reply::Close)
}
