//! Listings. LS and LSR: generated lazily and streamed as RCVFILE-style chunks;
//! nothing is written inside the served tree (the reference's temporary file was
//! visible to other clients). The 2.5.1 forms: LSV2/LSRV2 write the listing to a
//! file the client names, LSV2DOWN/LSRV2DOWN send it as raw length-prefixed lines.
//! Every form hides secure `*.sd` directories and secure-FS metadata.

use super::{CmdResult, DeniedOr, OrFailed, Reply};
use crate::fsys::secfs;
use crate::fsys::walk::{Lister, Style};
use crate::fsys::{FsError, Kind, RelPath};
use crate::session::{denied_or, Session};
use log::{info, warn};
use tfp_wire::compress::listing::{self as zlist, Form};
use tfp_wire::listing_end::Partial;
use tfp_wire::secfs as bits;
use tfp_wire::{command, Failed};

fn list(s: &mut Session, arg: &[u8], recursive: bool) -> CmdResult {
    list_styled(s, arg, recursive, Style::Tagged, None)
}

/// `TFDLIST <dir>` (tfd's extension, doc/compatibility.md "Listings with
/// metadata"): LSR's walk, confined and bounded as LSR's, each line with
/// the entry's size, mtime and mode and its name length-prefixed.
pub fn tfdlist(s: &mut Session, arg: &[u8]) -> CmdResult {
    list_styled(s, arg, true, Style::Stat, None)
}

/// `TFDNAMES <dir>` (tfd's extension, doc/compatibility.md "Listings with
/// metadata"): TFDLIST without the sizes, times and modes, half its bytes,
/// which a tree's download does not need (its files' come with their data)
/// and which a new connection's slow start pays for: 10,000 files listed in
/// 190 KB instead of 390 KB.
pub fn tfdnames(s: &mut Session, arg: &[u8]) -> CmdResult {
    list_styled(s, arg, true, Style::Names, None)
}

/// `TFDENTRIES <dir>` (tfd's extension, doc/compatibility.md "Archive
/// copies"): TFDLIST's walk, each line what a faithful copy keeps of the
/// entry (tfp-wire's `entry::Entry`: kind, mode, mtime to the nanosecond,
/// owner, device number, a link's target as stored), the listed directory
/// itself first as `.`.
pub fn tfdentries(s: &mut Session, arg: &[u8]) -> CmdResult {
    list_styled(s, arg, true, Style::Entries, None)
}

/// `TFDDIRENTRIES <dir>` (tfd's extension, doc/compatibility.md "Archive
/// copies"): TFDENTRIES of one level, the directory and its entries, not
/// below: what `tf ls -l` shows (mode and owner) in one exchange, whatever
/// the tree beneath holds.
pub fn tfddirentries(s: &mut Session, arg: &[u8]) -> CmdResult {
    list_styled(s, arg, false, Style::Entries, None)
}

/// `TFDLISTZ <choice> <form> <dir>` (tfd's extension, doc/compatibility.md
/// "Compressed listings"): the listing `form` names, its chunks' data one
/// zstd frame (`tfp_wire::compress::listing`); unknown where this server
/// offers no compression, as a server without it answers.
pub fn tfdlistz(s: &mut Session, arg: &[u8]) -> CmdResult {
    let Some(offer) = super::compress::offer(s) else {
        return Ok(Reply::Unknown);
    };
    let (choice, form, dir) = zlist::parse(arg).ok_or(Failed::MissingParameter)?;
    let (recursive, style) = match form {
        Form::Stat => (true, Style::Stat),
        Form::Names => (true, Style::Names),
        Form::Entries => (true, Style::Entries),
        Form::DirEntries => (false, Style::Entries),
    };
    let _held = s.hold(super::compress::stream_held(s), zlist::LISTZ)?;
    let packer = zlist::Packer::new(zlist::level(choice, offer.level_max)).ok_or(Failed::Memory)?;
    list_styled(s, dir, recursive, style, Some(packer))
}

/// The listing's text a compressed listing packs at a time: a flushed
/// piece of the frame each (the chunk's carry cuts it where it ends).
const TEXT_PER_FILL: usize = 64 << 10;

/// The first chunk of a TFDLIST (or TFDNAMES): what a new connection's first flight
/// carries (10 segments), so the first entries leave while the walk goes on
/// (LS and LSR keep the reference's full chunks).
const FIRST_CHUNK: usize = 12 << 10;

fn list_styled(s: &mut Session, arg: &[u8], recursive: bool, style: Style, packer: Option<zlist::Packer>) -> CmdResult {
    let p = s.path(arg)?;
    let fd = match s.root().open_dir(&p) {
        Ok(fd) => fd,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchDir.into()),
        Err(_) => return Err(Failed::NoSuchDir.into()),
    };
    s.check_lock_dir(&p)?;
    let id = s.secfs().id().map(<[u8]>::to_vec);
    // tfd's own listings: a small first chunk, and the next one sent before
    // its answer comes (LS and LSR keep the reference's stop-and-wait)
    let own = matches!(style, Style::Stat | Style::Names | Style::Entries);
    let (first, window) = if own {
        (FIRST_CHUNK, 2)
    } else {
        (tfp_wire::MAX_CHUNK, 1)
    };
    let mut lister = Lister::styled(fd, recursive, s.ctx().cfg.walk_limit, style)
        .or_failed(Failed::NoSuchDir)?
        .enter_secure_if(move |d| secfs::permits(d, id.as_deref(), Some(bits::LRDIR)));
    match packer {
        None => {
            s.send_chunks_led(first, window, |buf, want| Ok(lister.fill(buf, want)))?;
        }
        Some(mut p) => {
            let mut text = Vec::with_capacity(TEXT_PER_FILL + 4096);
            let (mut plain, mut packed) = (0usize, 0usize);
            s.send_chunks_led(first, window, |buf, _| {
                text.clear();
                let more = lister.fill(&mut text, TEXT_PER_FILL);
                let before = buf.len();
                p.pack(&text, !more, buf).or_failed(Failed::Memory)?;
                plain += text.len();
                packed += buf.len() - before;
                Ok(more)
            })?;
            info!(
                "{} {} listing: {plain} bytes as {packed} on the wire",
                s.peer(),
                zlist::LISTZ
            );
        }
    };
    if lister.truncated {
        warn!(
            "{} listing incomplete (walk_limit {}, depth or descriptors)",
            s.peer(),
            s.ctx().cfg.walk_limit
        );
    }
    if lister.unread.count > 0 {
        info!(
            "{} listing left out the contents of {} directories the user may not read",
            s.peer(),
            lister.unread.count
        );
    }
    // tfd's own listings end saying what they lack (tfp-wire's
    // listing_end): a client removes nothing for the absence of what it
    // could not see. LS and LSR end as the reference's.
    if !own {
        return Ok(Reply::Ok);
    }
    let end = Partial {
        cut: lister.truncated,
        unread: std::mem::take(&mut lister.unread),
    };
    Ok(end.encode().map_or(Reply::Ok, Reply::Data))
}

/// `LS [dir]`.
pub fn ls(s: &mut Session, arg: &[u8]) -> CmdResult {
    list(s, arg, false)
}

/// `LSR [dir]`.
pub fn lsr(s: &mut Session, arg: &[u8]) -> CmdResult {
    list(s, arg, true)
}

// ---- 2.5.1: LSV2, LSRV2, LSV2DOWN, LSRV2DOWN ------------------------------

/// Opens the directory a V2 listing lists, with the document's codes: missing →
/// 53 (the reference's `stat` failure), not a directory → 20, refused → 1.
fn v2_lister(s: &Session, p: &RelPath, recursive: bool) -> Result<Lister, Failed> {
    s.check_lock_dir(p)?;
    let fd = match s.root().open_dir(p) {
        Ok(fd) => fd,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied),
        Err(FsError::NotDir) => return Err(Failed::NotADirectory),
        Err(_) => return Err(Failed::LsrV2),
    };
    let mut prefix = p.to_bytes();
    if !prefix.is_empty() {
        prefix.push(b'/');
    }
    let id = s.secfs().id().map(<[u8]>::to_vec);
    Ok(
        Lister::styled(fd, recursive, s.ctx().cfg.walk_limit, Style::Rooted { prefix })
            .or_failed(Failed::LsrV2)?
            .enter_secure_if(move |d| secfs::permits(d, id.as_deref(), Some(bits::LRDIR))),
    )
}

/// `LSV2 <dir>@||@<file>` (and LSRV2): the listing goes to `file` inside the
/// root, one path from the root per line, directories ending in `/`. The file is
/// written beside its final name and renamed into place once complete, so it never
/// lists itself half-written and a failed listing leaves the old file (if any)
/// untouched; a file that did not exist before is not part of its own listing.
fn lsv2_common(s: &mut Session, arg: &[u8], recursive: bool) -> CmdResult {
    let (dir, file) = command::split_lsv2(arg).ok_or(Failed::MissingParameter)?;
    let p = s.path(dir)?;
    s.check_lock_dir(&p)?;
    let out = s.path(file)?;
    // never the root, nor a name listings hide (secure-FS metadata, uploads in
    // progress): a listing must not overwrite what protects a directory
    if out.name().map_or(true, crate::fsys::names::is_hidden_meta) {
        return Err(Failed::AccessDenied.into());
    }
    let mut lister = v2_lister(s, &p, recursive)?;
    s.check_lock_parent(&out)?;
    match s.stat(&out) {
        Ok(st) if Kind::of(&st) == Kind::Dir => return Err(Failed::AccessDenied.into()),
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        _ => {}
    }
    let mut budget = super::quota::budget(s, Some(&out));
    let mut up = super::backup::begin(s, &out, 0).denied_or(Failed::AccessDenied)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let more = lister.fill(&mut buf, 60 * 1024);
        if !super::quota::reserve(&mut budget, buf.len() as u64) {
            super::quota::refused(s, "LSV2");
            return Err(Failed::Quota.into());
        }
        up.write(&buf).map_err(store_error)?;
        if !more {
            break;
        }
    }
    if lister.truncated {
        warn!(
            "{} LSV2 listing incomplete (walk_limit {}, depth or descriptors): no file written",
            s.peer(),
            s.ctx().cfg.walk_limit
        );
        return Err(Failed::LsrV2.into());
    }
    up.commit(true).map_err(store_error)?;
    super::quota::settle(&mut budget);
    Ok(Reply::Ok)
}

/// Storing the listing failed: a full disk is the document's quota failure (13)
/// wherever the kernel reports it (a write or the final flush), as for every
/// upload; anything else is 53.
fn store_error(e: FsError) -> Failed {
    match e {
        FsError::NoSpace | FsError::QuotaFull => Failed::Quota,
        e => denied_or(e, Failed::LsrV2),
    }
}

/// `LSV2 <dir>@||@<file>`.
pub fn lsv2(s: &mut Session, arg: &[u8]) -> CmdResult {
    lsv2_common(s, arg, false)
}

/// `LSRV2 <dir>@||@<file>`: recursive.
pub fn lsrv2(s: &mut Session, arg: &[u8]) -> CmdResult {
    lsv2_common(s, arg, true)
}

/// The end markers of a DOWN listing.
const DOWN_DONE: i32 = -10;
const DOWN_PARTIAL: i32 = -11;

/// `LSV2DOWN <dir>` (and LSRV2DOWN): `OK`, then per entry a raw i32 length and
/// the line (with its `\n`), each its own unit, then −10, or −11 when the
/// listing is not whole (walk_limit stopped it, or a subtree deeper than
/// MAX_DEPTH or unopenable for want of descriptors was left out).
fn lsv2down_common(s: &mut Session, arg: &[u8], recursive: bool) -> CmdResult {
    let p = s.path(arg)?;
    let mut lister = v2_lister(s, &p, recursive)?;
    s.chan_mut().tx.send_frame(b"OK")?;
    let mut lines: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut ends: Vec<usize> = Vec::new();
    loop {
        lines.clear();
        ends.clear();
        let mut more = true;
        while lines.len() < 32 * 1024 {
            more = lister.next_line(&mut lines);
            if !more {
                break;
            }
            ends.push(lines.len());
        }
        // one write for many entries: each length and each line is still its own unit
        let mut units: Vec<Vec<u8>> = Vec::with_capacity(ends.len() + 1);
        let mut start = 0;
        for &end in &ends {
            units.push(((end - start) as i32).to_be_bytes().to_vec());
            start = end;
        }
        let mut refs: Vec<&[u8]> = Vec::with_capacity(units.len() * 2 + 1);
        let mut start = 0;
        for (len, &end) in units.iter().zip(&ends) {
            refs.push(len);
            refs.push(&lines[start..end]);
            start = end;
        }
        let last;
        if !more {
            let code = if lister.truncated { DOWN_PARTIAL } else { DOWN_DONE };
            if lister.truncated {
                warn!(
                    "{} LSV2DOWN listing incomplete (walk_limit {}, depth or descriptors)",
                    s.peer(),
                    s.ctx().cfg.walk_limit
                );
            }
            last = code.to_be_bytes();
            refs.push(&last);
        }
        s.chan_mut().tx.send_units(&refs)?;
        if !more {
            return Ok(Reply::Sent);
        }
    }
}

/// `LSV2DOWN <dir>`.
pub fn lsv2down(s: &mut Session, arg: &[u8]) -> CmdResult {
    lsv2down_common(s, arg, false)
}

/// `LSRV2DOWN <dir>`: recursive.
pub fn lsrv2down(s: &mut Session, arg: &[u8]) -> CmdResult {
    lsv2down_common(s, arg, true)
}
