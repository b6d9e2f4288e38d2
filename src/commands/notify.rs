//! The notification mode (document, "The notification system"; wire-notes §4).
//!
//! ADDNTFY registers `(token, directory)` pairs on the session; STARTNTFY turns
//! the session for good into a watcher: each pass visits the registrations in
//! ADDNTFY order and, for each, sends `"<index> <name>"` for the first regular file
//! whose name starts with the token, then waits for the client's answer (`END`
//! ends the session, `DEL` removes the file, anything else continues).
//!
//! Where tfd does better than the reference: no descriptor is kept between passes
//! (the reference leaked one per notification and ran out after ~1000); a watched
//! directory that disappears is skipped and picked up again if it comes back (the
//! reference crashed); a zero, negative or unparsable interval means the default
//! instead of a busy loop; and between passes the watcher sleeps in `poll(2)` on
//! inotify (so a new or deleted file is seen at once), the client socket (so a
//! client that leaves ends the session) and the interval, whichever comes first.
//! Locks do not apply to notifications (the document says so).

use super::{CmdResult, Reply};
use crate::fsys::{cname, secfs, walk, FsError, IntoFs, RelPath, MAX_NAME};
use crate::session::Session;
use log::{debug, info, warn};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::socket::{recv, MsgFlags};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};
use tfd_sys as sys;
use tfp_channel::ChannelError;
use tfp_wire::{command, Failed};

/// Most registrations one session may hold (each pass visits them all).
pub(crate) const MAX_REGISTRATIONS: usize = 64;
/// The interval when the client gives none, or one that is not positive.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_millis(25);
/// The shortest interval honoured: the document allows nanoseconds, but a pass
/// every nanosecond would be the busy loop the interval exists to avoid (the
/// document warns that the real wait may be longer than asked).
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// The longest interval honoured (a longer one would only hide a typo).
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Most answered-but-kept files remembered per registration between full passes
/// (beyond that, kept files may come again sooner: memory stays bounded).
const MAX_HELD: usize = 1024;

/// One ADDNTFY: a name prefix and the directory to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    /// Files whose names start with this are notifications (empty: every file).
    pub token: Vec<u8>,
    /// The watched directory, resolved again (confined) on every pass.
    pub dir: RelPath,
}

/// `ADDNTFY <token> <dir>`: the token runs to the first space, the directory is
/// the rest (empty: the root).
pub fn addntfy(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (token, dir) = command::split_space(arg).unwrap_or((arg, b""));
    if token.len() > MAX_NAME || token == b"." || token == b".." || token.contains(&b'/') || token.contains(&0) {
        debug!("{} ADDNTFY: invalid token", s.peer());
        return Err(Failed::NotifyAdd.into());
    }
    if s.family_mut::<Vec<Registration>>().len() >= MAX_REGISTRATIONS {
        debug!("{} ADDNTFY: more than {MAX_REGISTRATIONS} registrations", s.peer());
        return Err(Failed::NotifyAdd.into());
    }
    let p = s.path(dir)?;
    match s.root().open_dir(&p) {
        Ok(_) => {}
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        Err(_) => return Err(Failed::NotifyAdd.into()),
    }
    // watched by name, not pinned: a directory deleted and made again is
    // watched again (each poll resolves it anew)
    s.family_mut::<Vec<Registration>>().push(Registration {
        token: token.to_vec(),
        dir: p.unpinned(),
    });
    Ok(Reply::Ok)
}

/// `STARTNTFY [interval]`: no reply; the session becomes a watcher until the
/// client answers `END` or goes away. Without registrations: `FAILED 6`, and the
/// session stays in command mode.
pub(crate) fn startntfy(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.family_mut::<Vec<Registration>>().is_empty() {
        return Err(Failed::NotifyEmpty.into());
    }
    let interval = parse_interval(arg);
    let regs = std::mem::take(s.family_mut::<Vec<Registration>>());
    info!(
        "{} notification mode: {} registrations, interval {:?}",
        s.peer(),
        regs.len(),
        interval
    );
    let mut w = Watcher::new(regs, interval);
    let end = w.run(s);
    info!(
        "{} notification mode ended ({end}) after {} notifications",
        s.peer(),
        w.sent
    );
    Ok(Reply::Close)
}

/// The interval from STARTNTFY's argument, read as `strtod(3)` reads it (the
/// longest numeric prefix: decimal, exponent, hexadecimal, `inf`, `nan`).
/// Nothing numeric, zero, negative or NaN gives [`DEFAULT_INTERVAL`] (the
/// reference busy-looped on a negative one); the rest is held between
/// [`MIN_INTERVAL`] and [`MAX_INTERVAL`].
pub(crate) fn parse_interval(arg: &[u8]) -> Duration {
    match strtod_prefix(arg) {
        Some(v) if v > 0.0 && v >= MAX_INTERVAL.as_secs_f64() => MAX_INTERVAL,
        Some(v) if v > 0.0 => Duration::try_from_secs_f64(v)
            .unwrap_or(DEFAULT_INTERVAL)
            .max(MIN_INTERVAL),
        _ => DEFAULT_INTERVAL,
    }
}

/// The value of the longest prefix of `s` that `strtod(3)` would convert, or
/// None when it converts nothing.
fn strtod_prefix(s: &[u8]) -> Option<f64> {
    let mut i = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(|b| b.to_ascii_lowercase()).collect();
    let v = if lower.starts_with(b"inf") {
        f64::INFINITY
    } else if lower.starts_with(b"nan") {
        f64::NAN
    } else if lower.starts_with(b"0x") && rest.get(2).is_some_and(|b| b.is_ascii_hexdigit() || *b == b'.') {
        hex_float(&rest[2..])?
    } else {
        decimal(rest)?
    };
    Some(if neg { -v } else { v })
}

/// `digits [. digits] [e [sign] digits]`, at least one digit in the mantissa.
fn decimal(s: &[u8]) -> Option<f64> {
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(0);
    let mut end = int;
    let mut frac = 0;
    if s.get(end) == Some(&b'.') {
        frac = digits(end + 1);
        end += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    if matches!(s.get(end), Some(b'e') | Some(b'E')) {
        let mut j = end + 1;
        if matches!(s.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        let exp = digits(j);
        if exp > 0 {
            end = j + exp;
        }
    }
    std::str::from_utf8(&s[..end]).ok()?.parse().ok()
}

/// The part of a hexadecimal float after `0x`: `hexdigits [. hexdigits] [p [sign] digits]`.
fn hex_float(s: &[u8]) -> Option<f64> {
    let mut mant = 0f64;
    let mut scale: i64 = 0;
    let mut seen = false;
    let mut i = 0;
    let mut after_point = false;
    while let Some(&c) = s.get(i) {
        if c == b'.' && !after_point {
            after_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            mant = mant * 16.0 + f64::from(d);
            seen = true;
            if after_point {
                scale -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if matches!(s.get(i), Some(b'p') | Some(b'P')) {
        let mut j = i + 1;
        let neg = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        let n = s[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            let e: i64 = std::str::from_utf8(&s[j..j + n]).ok()?.parse().unwrap_or(i64::MAX / 2);
            scale = scale.saturating_add(if neg { -e } else { e });
        }
    }
    Some(mant * 2f64.powi(scale.clamp(-2000, 2000) as i32))
}

/// Why the watch loop ended.
#[derive(Debug)]
enum End {
    /// The client answered a notification with END (or sent END while waiting).
    Requested,
    /// The client closed the connection.
    Gone,
    /// The connection failed.
    Broken(ChannelError),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Requested => write!(f, "END"),
            End::Gone => write!(f, "client closed"),
            End::Broken(e) => write!(f, "{e}"),
        }
    }
}

impl From<ChannelError> for End {
    fn from(e: ChannelError) -> Self {
        match e {
            ChannelError::Closed => End::Gone,
            e => End::Broken(e),
        }
    }
}

/// What inotify reports on a watched directory: its entries appearing or going
/// away, and the directory itself going away.
fn watch_mask() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

/// A directory's identity, so two registrations of one directory share a watch
/// and a directory re-created under the same name gets a new one.
type DirId = (u64, u64);

/// The state of the watch loop.
struct Watcher {
    regs: Vec<Registration>,
    interval: Duration,
    /// Per registration: the files answered with something other than DEL since
    /// the last full pass (at most [`MAX_HELD`]). They are not sent again before
    /// the next full pass, so the passes inotify wakes in between bring news: the
    /// next matching file, if any.
    held: Vec<HashSet<Vec<u8>>>,
    /// Per registration: whether its directory was missing on the last pass
    /// (for logging the change once).
    missing: Vec<bool>,
    /// None when inotify is unavailable: the interval alone paces the passes.
    inotify: Option<Inotify>,
    watches: HashMap<DirId, WatchDescriptor>,
    /// Directories inotify refused (e.g. no /proc after a chroot): not retried.
    unwatchable: HashSet<DirId>,
    sent: u64,
}

impl Watcher {
    fn new(regs: Vec<Registration>, interval: Duration) -> Watcher {
        let inotify = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
            Ok(i) => Some(i),
            Err(e) => {
                warn!("inotify unavailable ({e}); polling every {interval:?}");
                None
            }
        };
        let n = regs.len();
        Watcher {
            regs,
            interval,
            held: vec![HashSet::new(); n],
            missing: vec![false; n],
            inotify,
            watches: HashMap::new(),
            unwatchable: HashSet::new(),
            sent: 0,
        }
    }

    /// Passes until the client ends or leaves. The first pass and every pass at
    /// least `interval` after the previous full pass are full passes; passes woken
    /// by inotify in between skip what was already answered.
    fn run(&mut self, s: &mut Session) -> End {
        let mut next_full = Instant::now();
        loop {
            self.drain_events();
            let full = Instant::now() >= next_full;
            if full {
                self.held.iter_mut().for_each(HashSet::clear);
            }
            if let Err(end) = self.pass(s) {
                return end;
            }
            if full {
                // the reference sleeps after each pass: a slow pass never spins
                next_full = Instant::now() + self.interval;
            }
            if let Err(end) = self.wait(s, next_full) {
                return end;
            }
        }
    }

    /// Reads and discards pending inotify events: they only say "look again",
    /// except IN_IGNORED, which says a watch is gone.
    fn drain_events(&mut self) {
        let Some(ino) = &self.inotify else { return };
        // bounded: a directory changing faster than we read just means another pass
        for _ in 0..64 {
            match ino.read_events() {
                Ok(events) if !events.is_empty() => {
                    for ev in events {
                        if ev.mask.contains(AddWatchFlags::IN_IGNORED) {
                            self.watches.retain(|_, wd| *wd != ev.wd);
                        }
                    }
                }
                _ => break,
            }
        }
    }

    /// One pass over the registrations, in order.
    fn pass(&mut self, s: &mut Session) -> Result<(), End> {
        let mut seen = HashSet::new();
        for i in 0..self.regs.len() {
            // opened and closed on every pass: nothing is held between passes;
            // ADDNTFY is not TFPSFS-tagged, so a secure directory renamed onto
            // the watched name since is judged on the descriptor opened, and
            // skipped (its files are never named, nor deleted by the answer)
            let opened = s.root().open_dir(&self.regs[i].dir).and_then(|d| {
                if secfs::permits(d.as_fd(), s.secfs().id(), None) {
                    Ok(d)
                } else {
                    Err(FsError::Access)
                }
            });
            let dir = match opened {
                Ok(d) => {
                    if self.missing[i] {
                        info!("{} notification {i}: directory is back", s.peer());
                        self.missing[i] = false;
                    }
                    d
                }
                Err(e) => {
                    if !self.missing[i] {
                        info!("{} notification {i}: directory unavailable ({e}), skipped", s.peer());
                        self.missing[i] = true;
                    }
                    continue;
                }
            };
            if let Ok(st) = sys::fstat(dir.as_fd()) {
                let id = (st.st_dev, st.st_ino);
                seen.insert(id);
                self.ensure_watch(s, id, dir.as_fd());
            }
            let token = &self.regs[i].token;
            let held = &self.held[i];
            let name = match walk::first_file(dir.as_fd(), |n| n.starts_with(token) && !held.contains(n)) {
                Ok(Some(n)) => n,
                Ok(None) => continue,
                Err(e) => {
                    debug!("{} notification {i}: scan failed: {e}", s.peer());
                    continue;
                }
            };
            s.chan_mut()
                .tx
                .send_frame_parts(&[i.to_string().as_bytes(), b" ", &name])?;
            self.sent += 1;
            let answer = s.chan_mut().rx.recv_frame()?.to_ascii_uppercase();
            match &answer[..] {
                b"END" => return Err(End::Requested),
                b"DEL" => self.delete(s, i, dir.as_fd(), &name),
                _ if self.held[i].len() < MAX_HELD => {
                    self.held[i].insert(name);
                }
                _ => {}
            }
        }
        self.forget_unseen(&seen);
        Ok(())
    }

    /// DEL: unlinks the notified file through the descriptor it was found in, so
    /// a directory renamed or swapped since cannot redirect the removal.
    fn delete(&self, s: &Session, i: usize, dir: BorrowedFd<'_>, name: &[u8]) {
        let r = cname(name).and_then(|c| sys::unlinkat(dir, &c, false).into_fs());
        if let Err(e) = r {
            debug!(
                "{} notification {i}: DEL {:?} failed: {e}",
                s.peer(),
                String::from_utf8_lossy(name)
            );
        }
    }

    /// Watches the directory behind `dir` unless already watched. inotify takes a
    /// path, so it is given the descriptor's /proc link: the very directory that
    /// was resolved beneath the root, never a path looked up again.
    fn ensure_watch(&mut self, s: &Session, id: DirId, dir: BorrowedFd<'_>) {
        let Some(ino) = &self.inotify else { return };
        if self.watches.contains_key(&id) || self.unwatchable.contains(&id) {
            return;
        }
        match ino.add_watch(format!("/proc/self/fd/{}", dir.as_raw_fd()).as_str(), watch_mask()) {
            Ok(wd) => {
                self.watches.insert(id, wd);
            }
            Err(e) => {
                debug!(
                    "{} inotify watch refused ({e}); the interval paces this directory",
                    s.peer()
                );
                self.unwatchable.insert(id);
            }
        }
    }

    /// Drops the watches of directories no registration reached in this pass
    /// (deleted, moved away or replaced), so they cannot wake the loop.
    fn forget_unseen(&mut self, seen: &HashSet<DirId>) {
        let Some(ino) = &self.inotify else { return };
        self.watches.retain(|id, wd| {
            let keep = seen.contains(id);
            if !keep {
                let _ = ino.rm_watch(*wd);
            }
            keep
        });
    }

    /// Sleeps until `deadline`, an inotify event, or the client: a closed
    /// connection ends the loop; a frame sent unasked is read (END ends, anything
    /// else is ignored), so pending bytes can never make the poll spin.
    fn wait(&mut self, s: &mut Session, deadline: Instant) -> Result<(), End> {
        loop {
            if s.chan_mut().rx.buffered() > 0 {
                return self.unasked(s);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            // rounded up to whole milliseconds: a sub-millisecond interval never
            // turns into a zero timeout
            let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as u32;
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let sock = s.chan().stream().as_fd();
            let sock_flags = PollFlags::POLLIN;
            let mut fds = vec![PollFd::new(sock, sock_flags)];
            if let Some(ino) = &self.inotify {
                fds.push(PollFd::new(ino.as_fd(), PollFlags::POLLIN));
            }
            match nix::poll::poll(&mut fds, timeout) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(End::Broken(ChannelError::Io(e.into()))),
            }
            let client = fds[0].revents().unwrap_or(PollFlags::empty());
            let event = fds.get(1).and_then(|f| f.revents()).unwrap_or(PollFlags::empty());
            if !client.is_empty() {
                // Never blocking: readable may only mean TCP urgent data, which the
                // session's OOB thread takes; a normal peek would then wait for
                // the client while inotify events pile up.
                let mut b = [0u8; 1];
                let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
                match recv(s.chan().stream().as_raw_fd(), &mut b, flags) {
                    Ok(0) => return Err(End::Gone),
                    Ok(_) => return self.unasked(s),
                    Err(Errno::EINTR) => continue,
                    Err(Errno::EAGAIN) => {
                        // let the OOB thread take the urgent byte instead of spinning
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(e) => return Err(End::Broken(ChannelError::Io(e.into()))),
                }
            }
            if !event.is_empty() {
                return Ok(());
            }
        }
    }

    /// A frame the client sent while no notification was pending.
    fn unasked(&mut self, s: &mut Session) -> Result<(), End> {
        let f = s.chan_mut().rx.recv_frame()?;
        if f.eq_ignore_ascii_case(b"END") {
            return Err(End::Requested);
        }
        debug!(
            "{} notification mode: ignored an unasked frame of {} bytes",
            s.peer(),
            f.len()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> f64 {
        parse_interval(s.as_bytes()).as_secs_f64()
    }

    #[test]
    fn intervals() {
        assert_eq!(secs("3.3"), 3.3);
        assert_eq!(secs("1e-2"), 0.01);
        assert_eq!(secs("1.0e-9"), 0.001, "at least MIN_INTERVAL");
        assert_eq!(secs("0.0015"), 0.0015);
        assert_eq!(secs(" +2.5E+1x"), 25.0);
        assert_eq!(secs("5."), 5.0);
        assert_eq!(secs(".5"), 0.5);
        assert_eq!(secs("1e"), 1.0, "an exponent without digits is not part of the number");
        assert_eq!(secs("0x1p-2"), 0.25);
        assert_eq!(secs("0x.8"), 0.5);
        assert_eq!(secs("0x"), 0.025, "strtod reads the 0 only");
        for d in ["", "0", "-5", "-0.1", "nan", "NaN", "abc", ".", "-", "e5", "0e10"] {
            assert_eq!(parse_interval(d.as_bytes()), DEFAULT_INTERVAL, "{d:?}");
        }
        for d in ["inf", "Infinity", "1e999", "7200", "0x1p30"] {
            assert_eq!(parse_interval(d.as_bytes()), MAX_INTERVAL, "{d:?}");
        }
        assert_eq!(parse_interval(b"-inf"), DEFAULT_INTERVAL);
    }
}
