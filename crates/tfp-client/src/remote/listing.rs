//! Remote listings as a tree operation needs them: LSR (2.4.1, on every
//! server) read with a bound, its lines parsed into entries whose names have
//! passed [`names::check`], and FSTAT for a size and a modification time.

use super::zlisting::{self, Asked};
use crate::caps::Ext;
use crate::error::TooBig;
use crate::tree::names::{self, Refused};
use crate::tree::{MAX_ENTRIES, MAX_LISTING_BYTES};
use crate::{Client, Error};
use std::io::{self, Write};
use tfp_wire::compress::listing::Form;
pub use tfp_wire::listing_end::Partial;
use tfp_wire::Status;

/// What a listing line says an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `D`.
    Dir,
    /// `F`: a regular file.
    File,
    /// `U`: a symlink or a special file on the server; never transferred.
    Other,
}

/// One checked entry: `rel` is relative to the listed directory, without the
/// directory's trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it is.
    pub kind: Kind,
    /// Its path below the listed directory.
    pub rel: Vec<u8>,
}

/// A listing split into the entries that may be used and those refused.
#[derive(Debug, Default)]
pub struct Listing {
    /// Entries whose names passed.
    pub entries: Vec<Entry>,
    /// Lines refused, as sent, with the reason.
    pub refused: Vec<(Vec<u8>, Refused)>,
    /// Each entry's size, index for index, where the listing said them
    /// (TFDLIST); empty where it did not (LSR, TFDNAMES).
    pub sizes: Vec<u64>,
    /// What the listing lacks, where its end says it (tfd's TFDLIST and
    /// TFDNAMES); an LSR says nothing (whole).
    pub partial: Partial,
}

/// Parses an LS/LSR answer: `D: rel/`, `F: rel`, `U: rel` a line. Each name
/// is checked; a line of another shape is refused as it stands.
pub fn parse(text: &[u8]) -> Result<Listing, TooBig> {
    let lines = text.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let n = lines.clone().count();
    if n > MAX_ENTRIES {
        return Err(TooBig::Entries(n));
    }
    let mut out = Listing::default();
    for line in lines {
        let (kind, name) = match line {
            [b'D', b':', b' ', rest @ ..] => (Kind::Dir, rest.strip_suffix(b"/").unwrap_or(rest)),
            [b'F', b':', b' ', rest @ ..] => (Kind::File, rest),
            [b'U', b':', b' ', rest @ ..] => (Kind::Other, rest),
            other => {
                // judged as a name, so a hostile line shows escaped
                out.refused.push((
                    other.to_vec(),
                    names::check(other).err().unwrap_or(Refused::OddComponent),
                ));
                continue;
            }
        };
        match names::check(name) {
            Ok(()) => out.entries.push(Entry {
                kind,
                rel: name.to_vec(),
            }),
            Err(why) => out.refused.push((name.to_vec(), why)),
        }
    }
    Ok(out)
}

/// A writer that refuses to hold more than [`MAX_LISTING_BYTES`].
pub struct Bounded(pub Vec<u8>);

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        held_within(&mut self.0, buf, MAX_LISTING_BYTES)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends `buf` to `held` while it stays within `bound` bytes: exactly the
/// bound is held, the first byte past it breaks the listing off (a chunk
/// that crosses it adds what fits, then fails).
fn held_within(held: &mut Vec<u8>, buf: &[u8], bound: usize) -> io::Result<usize> {
    let room = bound.saturating_sub(held.len());
    if buf.len() > room {
        held.extend_from_slice(&buf[..room]);
        return Err(io::Error::other("listing too long"));
    }
    held.extend_from_slice(buf);
    Ok(buf.len())
}

/// Why a listing gave nothing, as tf and the tree runs tell it: a refusal
/// as the server's status, anything else as it says itself.
pub fn reason(e: &Error) -> String {
    match e.cause() {
        Error::Refused(r) => status_text(&r.reply),
        other => other.to_string(),
    }
}

/// A sentence (a server's FAILED text ends with its full stop) made a clause
/// that a message goes on from ("...; nothing done"), so no ".;" is printed.
pub fn clause(s: &str) -> &str {
    s.trim_end().trim_end_matches('.')
}

/// Whether a listing's error is the session's (it failed, and whatever ran
/// on it stops), not the listing's own (refused, or over a bound).
pub fn session_failed(e: &Error) -> bool {
    !matches!(e.cause(), Error::Refused(_) | Error::TooBig(_))
}

/// LS (`recursive` false) or LSR of `dir`, bounded and parsed. A listing cut
/// off at the byte bound leaves the session unusable (the rest of the stream
/// is unread), so after [`Error::TooBig`] the session is not used again
/// ([`Error::session_usable`] says so).
pub fn list(c: &mut Client, dir: &[u8], recursive: bool) -> Result<Listing, Error> {
    let name = if recursive { "LSR" } else { "LS" };
    let cmd = [name.as_bytes(), b" ", dir].concat();
    c.chan.tx.send_frame(&cmd)?;
    let mut out = Bounded(Vec::new());
    match c.recv_chunks(&mut out) {
        Ok(Status::Ok(_)) => {}
        Ok(st) => return Err(Error::refused(name, st)),
        Err(Error::Local(_)) => {
            hang_up(c);
            return Err(Error::TooBig(TooBig::Bytes));
        }
        Err(e) => return Err(e),
    }
    parse(&out.0).map_err(Error::TooBig)
}

/// One entry of a TFDLIST answer: what it is, its path below the listed
/// directory, and lstat's size, mtime (seconds) and mode on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatEntry {
    /// The entry, its name checked as an LSR line's.
    pub entry: Entry,
    /// Its size in bytes.
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// The permission bits.
    pub mode: u32,
}

/// A TFDLIST answer parsed: the entries whose names passed, those refused.
#[derive(Debug, Default)]
pub struct StatListing {
    /// Entries whose names passed.
    pub entries: Vec<StatEntry>,
    /// Names refused, as sent, with the reason.
    pub refused: Vec<(Vec<u8>, Refused)>,
    /// Those of `refused` whose one fault is a control character, with
    /// what each is: no local name may be made of one, but a command that
    /// acts on the server alone (a pattern of `rm`, `ls`) may name it by its
    /// real bytes, where LS shows each such character as `?`.
    pub controlled: Vec<Entry>,
    /// What the listing lacks, as its end said ([`Partial::of_ok`]).
    pub partial: Partial,
}

/// Parses a TFDLIST answer: `<D|F|U> <size> <mtime> <mode, octal> <length>
/// <name>\n` a line, the name `length` raw bytes. `None`: a line that does
/// not parse (the answer is not used), or more than [`MAX_ENTRIES`].
pub fn parse_stat(text: &[u8]) -> Option<StatListing> {
    parse_lines(text, true)
}

/// Parses a TFDNAMES answer: TFDLIST's lines without the numbers,
/// `<D|F|U> <length> <name>\n`; sizes, mtimes and modes are 0.
pub fn parse_names(text: &[u8]) -> Option<StatListing> {
    parse_lines(text, false)
}

/// TFDLIST's lines (`numbers`) or TFDNAMES'.
fn parse_lines(mut text: &[u8], numbers: bool) -> Option<StatListing> {
    let mut out = StatListing::default();
    let mut n = 0usize;
    while !text.is_empty() {
        n += 1;
        if n > MAX_ENTRIES {
            return None;
        }
        let mut fields = [&b"0"[..]; 5];
        let at: &[usize] = if numbers { &[0, 1, 2, 3, 4] } else { &[0, 4] };
        for &i in at {
            let sp = text.iter().take(24).position(|&b| b == b' ')?;
            fields[i] = &text[..sp];
            text = &text[sp + 1..];
        }
        let kind = match fields[0] {
            b"D" => Kind::Dir,
            b"F" => Kind::File,
            b"U" => Kind::Other,
            _ => return None,
        };
        let size: u64 = num(fields[1])?.parse().ok()?;
        let mtime: i64 = num(fields[2])?.parse().ok()?;
        let mode = u32::from_str_radix(num(fields[3])?, 8).ok()?;
        let len: usize = num(fields[4])?.parse().ok()?;
        if len > MAX_LISTING_BYTES {
            return None;
        }
        let name = text.get(..len)?;
        if text.get(len) != Some(&b'\n') {
            return None;
        }
        text = &text[len + 1..];
        match names::check(name) {
            Ok(()) => out.entries.push(StatEntry {
                entry: Entry {
                    kind,
                    rel: name.to_vec(),
                },
                size,
                mtime,
                mode: mode & 0o7777,
            }),
            Err(why) => {
                if why == Refused::Control && names::check_remote(name).is_ok() {
                    out.controlled.push(Entry {
                        kind,
                        rel: name.to_vec(),
                    });
                }
                out.refused.push((name.to_vec(), why))
            }
        }
    }
    Some(out)
}

fn num(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// TFDLIST of `dir` (tfd's extension: every entry below it with its size,
/// mtime and mode, in one exchange), bounded as [`list`]. `Ok(None)`: the
/// server has no TFDLIST (remembered on the session: never asked again)
/// or its answer does not parse; the caller lists with LSR and FSTAT.
pub fn list_stat(c: &mut Client, dir: &[u8]) -> Result<Option<StatListing>, Error> {
    if !c.caps().has(Ext::TfdList) {
        return Ok(None);
    }
    let (cmd, asked) = zlisting::line(c, Form::Stat, dir);
    c.chan.tx.send_frame(&cmd)?;
    recv_listing(c, asked)
}

/// Sends `cmds` in one write.
pub(crate) fn send_all(c: &mut Client, cmds: &[&[u8]]) -> Result<(), Error> {
    c.chan.tx.hold();
    for cmd in cmds {
        c.chan.tx.send_frame(cmd)?;
    }
    c.chan.tx.release()?;
    Ok(())
}

/// The answer of a TFDLIST or TFDNAMES sent as `asked` (compressed or
/// not, [`zlisting`]), bounded and parsed as [`list_stat`] says.
fn recv_listing(c: &mut Client, asked: Asked) -> Result<Option<StatListing>, Error> {
    let names = asked.form == Form::Names;
    let ext = if names { Ext::TfdNames } else { Ext::TfdList };
    let mut out = Bounded(Vec::new());
    let end = match zlisting::recv(c, asked, &mut out) {
        Ok(Status::Ok(end)) => end,
        Ok(Status::Unknown) => return Err(crate::caps::contradicted(ext)),
        Ok(st) => return Err(Error::refused(if names { "TFDNAMES" } else { "TFDLIST" }, st)),
        Err(Error::Local(_)) => {
            hang_up(c);
            return Err(Error::TooBig(TooBig::Bytes));
        }
        Err(e) => return Err(e),
    };
    let l = if names { parse_names(&out.0) } else { parse_stat(&out.0) };
    Ok(l.map(|l| StatListing {
        partial: Partial::of_ok(&end),
        ..l
    }))
}

/// Every entry below `dir` by its real bytes, for a tree download: TFDLIST
/// where the server has it (its names are raw, so a name holding a control
/// character is refused by name, where LSR shows the character as `?` and
/// the download then asked for a file that does not exist), else LSR, with
/// its names holding a `?` asked after ([`unhidden`]).
pub(crate) fn list_tree(c: &mut Client, dir: &[u8]) -> Result<Listing, Error> {
    let stat = list_stat(c, dir)?;
    tree_or_lsr(c, dir, stat.map(|l| (l, true)))
}

/// A TFDLIST answer (or TFDNAMES', not `sized`) as a tree's listing, or,
/// with none, LSR's.
fn tree_or_lsr(c: &mut Client, dir: &[u8], stat: Option<(StatListing, bool)>) -> Result<Listing, Error> {
    match stat {
        Some((l, sized)) => Ok(Listing {
            sizes: if sized {
                l.entries.iter().map(|e| e.size).collect()
            } else {
                Vec::new()
            },
            entries: l.entries.into_iter().map(|e| e.entry).collect(),
            refused: l.refused,
            partial: l.partial,
        }),
        None => {
            let l = list(c, dir, true)?;
            unhidden(c, dir, l)
        }
    }
}

/// What [`send_tree_listing`] sent ahead: TFDLIST or TFDNAMES.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ahead {
    /// TFDNAMES or TFDLIST, and how they were asked.
    listed: Option<Asked>,
}

/// Sends what [`list_tree`] would send first (TFDLIST where the server
/// has it; TFDNAMES where it has and the
/// sizes are not `sized`) without reading an answer: a
/// tree download sends it behind its FSTAT of the source, so the listing
/// costs no round trip of its own. The caller holds the sending side and
/// then reads with [`recv_tree_listing`] (a directory) or
/// [`drain_tree_listing`] (anything else).
pub(crate) fn send_tree_listing(c: &mut Client, dir: &[u8], sized: bool) -> Result<Ahead, Error> {
    // the names alone where the server has them: half the bytes of a
    // listing that a new connection's slow start carries
    let tfdlist = c.caps().has(Ext::TfdList);
    let names = tfdlist && !sized && c.caps().has(Ext::TfdNames);
    // no CONT ahead of its first chunk: tfd sends the next chunk without
    // waiting for that answer, and a server without the command, or a
    // listing refused or empty, would read one as a command
    let form = if names { Form::Names } else { Form::Stat };
    let listed = if tfdlist {
        Some(zlisting::send(c, form, dir)?)
    } else {
        None
    };
    Ok(Ahead { listed })
}

/// One FSTAT's answer: the stat, or the refusal (or error) it was.
pub(crate) type Answer = Result<Stat, Error>;

/// FSTAT of `path` and, when given, of `next` in the same write: what a
/// tree copy may go into and where it would then go, both learnt in one
/// round trip.
pub(crate) fn fstats(c: &mut Client, path: &[u8], next: Option<&[u8]>) -> Result<(Answer, Option<Answer>), Error> {
    let Some(next) = next else {
        return Ok((fstat(c, path), None));
    };
    let (first, second) = ([&b"FSTAT "[..], path].concat(), [&b"FSTAT "[..], next].concat());
    send_all(c, &[&first, &second])?;
    let first = parse_fstat_answer(&c.chan.rx.recv_frame()?);
    let second = parse_fstat_answer(&c.chan.rx.recv_frame()?);
    Ok((first, Some(second)))
}

/// FSTAT of `src` with, when `tree`, the tree's listing sent behind it ([`send_tree_listing`], with the sizes when `sized`) in
/// the same write: a round trip less for a directory; the caller reads or
/// drains what went ahead.
pub(crate) fn fstat_listing_ahead(
    c: &mut Client,
    src: &[u8],
    (tree, sized): (bool, bool),
) -> Result<(Result<Stat, Error>, Option<Ahead>), Error> {
    if !tree {
        return Ok((fstat(c, src), None));
    }
    c.chan.tx.hold();
    c.chan.tx.send_frame(&[&b"FSTAT "[..], src].concat())?;
    let ahead = send_tree_listing(c, src, sized)?;
    c.chan.tx.release()?;
    Ok((parse_fstat_answer(&c.chan.rx.recv_frame()?), Some(ahead)))
}

/// [`list_tree`] of what [`send_tree_listing`] sent ahead.
pub(crate) fn recv_tree_listing(c: &mut Client, dir: &[u8], a: Ahead) -> Result<Listing, Error> {
    let names = a.listed.is_some_and(|l| l.form == Form::Names);
    let stat = match a.listed {
        Some(asked) => recv_listing(c, asked)?,
        None => None,
    };
    tree_or_lsr(c, dir, stat.map(|l| (l, !names)))
}

/// Reads and drops the answers to what [`send_tree_listing`] sent ahead of
/// a source that turned out not to be a directory (TFDLIST refuses it; one
/// made a directory meanwhile is read to its end, bounded).
pub(crate) fn drain_tree_listing(c: &mut Client, a: Ahead) -> Result<(), Error> {
    if let Some(asked) = a.listed {
        match recv_listing(c, asked) {
            Ok(_) => {}
            Err(e) if session_failed(&e) => return Err(e),
            // a refusal is the expected answer; one over the bound left the
            // session hung up
            Err(Error::TooBig(t)) => return Err(Error::Protocol(format!("the listing sent ahead: {t}"))),
            Err(_) => {}
        }
    }
    Ok(())
}

/// An LSR listing with the names it shows but that do not exist taken out:
/// tfd's LSR shows each control character of a name as `?`, so each download
/// of such a form said "no such file" of a file that is there. Every name
/// holding a `?` is asked for with FSTAT (all in one pipelined exchange; a
/// real `?` answers); one that does not answer is refused as
/// [`Refused::Hidden`], by the form listed, and what the listing shows
/// below such a directory is left with it, unsaid.
fn unhidden(c: &mut Client, dir: &[u8], mut l: Listing) -> Result<Listing, Error> {
    let asked: Vec<usize> = (0..l.entries.len())
        .filter(|&i| l.entries[i].rel.contains(&b'?'))
        .collect();
    if asked.is_empty() {
        return Ok(l);
    }
    let paths: Vec<Vec<u8>> = asked
        .iter()
        .map(|&i| {
            let mut p = dir.strip_suffix(b"/").unwrap_or(dir).to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(&l.entries[i].rel);
            p
        })
        .collect();
    let answers = super::pipeline::pipelined_lines(c, &[], "FSTAT", &paths)?;
    let hidden: Vec<Vec<u8>> = asked
        .iter()
        .zip(answers)
        .filter(|(_, st)| !matches!(st, Status::Ok(_)))
        .map(|(&i, _)| l.entries[i].rel.clone())
        .collect();
    let below = |rel: &[u8], h: &[u8]| rel.len() > h.len() && rel.starts_with(h) && rel[h.len()] == b'/';
    l.entries
        .retain(|e| !hidden.iter().any(|h| *h == e.rel || below(&e.rel, h)));
    let outermost = hidden
        .iter()
        .filter(|h| !hidden.iter().any(|o| below(h, o)))
        .map(|h| (h.clone(), Refused::Hidden));
    l.refused.extend(outermost);
    Ok(l)
}

/// Closes a session whose stream was broken off unread (a listing past its
/// bound, a download past its announced size): the server's further bytes
/// are refused at once instead of filling the socket's buffers while the
/// rest of a run goes on, and nothing more is asked of it.
pub fn hang_up(c: &Client) {
    let _ = c.chan.stream().shutdown(std::net::Shutdown::Both);
}

/// What FSTAT says of a remote path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// What it is.
    pub kind: Kind,
    /// Its size in bytes.
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
}

/// FSTAT: `OK <D|F|U> <size> <atime> <mtime>` parsed ([`Client::fstat`]).
pub fn fstat(c: &mut Client, path: &[u8]) -> Result<Stat, Error> {
    parse_fstat_answer(&c.raw(&[&b"FSTAT "[..], path].concat())?)
}

/// An FSTAT answer frame as [`fstat`] takes it (for a caller that sent the
/// command itself, ahead of others).
pub fn parse_fstat_answer(frame: &[u8]) -> Result<Stat, Error> {
    let d = crate::error::ok("FSTAT", Status::parse(frame))?;
    parse_fstat(&d).ok_or_else(|| Error::Protocol(format!("FSTAT answered {:?}", names::shown(&d))))
}

/// An FSTAT answer's text (`T size atime mtime`) parsed.
pub fn parse_fstat(d: &[u8]) -> Option<Stat> {
    let text = std::str::from_utf8(d).ok()?;
    let f: Vec<&str> = text.split(' ').collect();
    let [t, size, _, mtime] = f.as_slice() else {
        return None;
    };
    let kind = match *t {
        "D" => Kind::Dir,
        "F" => Kind::File,
        _ => Kind::Other,
    };
    Some(Stat {
        kind,
        size: size.parse().ok()?,
        mtime: mtime.parse().ok()?,
    })
}

/// A FAILED or UNKNOWN status as the server sent it, escaped.
pub fn status_text(st: &Status) -> String {
    crate::escape::status_text(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_held_to_its_bound_exactly() {
        let mut held = Vec::new();
        assert_eq!(held_within(&mut held, b"abcd", 10).unwrap(), 4);
        assert_eq!(held_within(&mut held, b"efgh", 10).unwrap(), 4);
        // the chunk that crosses the bound: what fits is held, then it breaks off
        assert!(held_within(&mut held, b"ijkl", 10).is_err());
        assert_eq!(held, b"abcdefghij");
        let mut exact = Vec::new();
        assert_eq!(held_within(&mut exact, &[7; 10], 10).unwrap(), 10);
        assert!(held_within(&mut exact, b"x", 10).is_err());
        assert_eq!(exact.len(), 10);
    }

    #[test]
    fn a_listing_splits_into_checked_entries() {
        let l = parse(b"D: sub/\nF: sub/a b\nU: link\nF: ../evil\nF: /etc/x\nD: a/../../b/\nX: odd\nF: \n").unwrap();
        assert_eq!(
            l.entries,
            [
                Entry {
                    kind: Kind::Dir,
                    rel: b"sub".to_vec()
                },
                Entry {
                    kind: Kind::File,
                    rel: b"sub/a b".to_vec()
                },
                Entry {
                    kind: Kind::Other,
                    rel: b"link".to_vec()
                },
            ]
        );
        let why: Vec<Refused> = l.refused.iter().map(|r| r.1).collect();
        assert_eq!(
            why,
            [
                Refused::DotDot,
                Refused::Absolute,
                Refused::DotDot,
                Refused::OddComponent,
                Refused::Empty
            ]
        );
    }

    #[test]
    fn a_listing_over_the_entry_bound_is_refused_whole() {
        let text = b"F: x\n".repeat(MAX_ENTRIES + 1);
        assert_eq!(parse(&text).unwrap_err(), TooBig::Entries(MAX_ENTRIES + 1));
    }

    #[test]
    fn fstat_answers_parse() {
        assert_eq!(
            parse_fstat(b"F 12 1 1700000000"),
            Some(Stat {
                kind: Kind::File,
                size: 12,
                mtime: 1_700_000_000
            })
        );
        assert_eq!(parse_fstat(b"F x 1 2"), None);
    }
}
