//! The transfer log (`xferlog` key): one line per completed or aborted upload or
//! download, in the layout of wu-ftpd's xferlog(5), so the tools that read FTP
//! transfer logs (xferstats, log analysers) read tfd's too.
//!
//! A line has 16 blank-separated fields (the first, the time, is itself five
//! words, as ctime(3) prints it):
//!
//! ```text
//! Sat Nov 21 10:00:00 2026 2 192.0.2.7 1048576 /isos/big\x20one.iso b _ i r alice tfd 0 * c PUT 1.532
//! ```
//!
//! | # | field | tfd writes |
//! |---|---|---|
//! | 1 | current-time | when the line was written, **UTC** (a chrooted session has no time zone file, and one zone for all nodes sorts cleanly) |
//! | 2 | transfer-time | whole seconds, rounded up, at least 1 (tools divide by it) |
//! | 3 | remote-host | the client's IP address |
//! | 4 | file-size | bytes actually moved (not the file's size) |
//! | 5 | filename | the path beneath the served root (the jail after INJAIL), from `/`, escaped |
//! | 6 | transfer-type | `b` (binary) |
//! | 7 | special-action-flag | `_` (none) |
//! | 8 | direction | `i` upload to tfd, `o` download from tfd |
//! | 9 | access-mode | `r` (a real, authenticated user) |
//! | 10 | username | the session's user (the LOGIN name, or the system user), escaped |
//! | 11 | service-name | `tfd` |
//! | 12 | authentication-method | `0` |
//! | 13 | authenticated-user-id | `*` |
//! | 14 | completion-status | `c` complete, `i` incomplete (broken off, cancelled, failed) |
//! | 15 | command | tfd's addition: the protocol command (`SNDFILE`, `RCVFILE`, `PUT`, `GET`, ...) |
//! | 16 | duration | tfd's addition: the exact duration in seconds, with milliseconds |
//!
//! Escaping keeps every field one word and a line one line whatever a client
//! names its files: any byte outside printable ASCII, the space and the backslash
//! become `\xNN` (so `\x20` is a space); the original bytes can be recovered.
//!
//! The listener opens the file as root before it forks (so sessions that dropped
//! privileges or chrooted still hold it) with `O_APPEND`; each line is one
//! write(2), which the kernel appends atomically on a local file system, so lines
//! from concurrent sessions never interleave. (NFS does not make `O_APPEND`
//! atomic across clients: give each node its own transfer log.)

use std::fs::File;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which way the bytes went, seen from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to tfd (SNDFILE, SUP, PUT, PUTCAN): `i`.
    Incoming,
    /// From tfd to the client (RCVFILE, SDOWN, GET, GETCAN): `o`.
    Outgoing,
}

/// One finished transfer.
#[derive(Debug, Clone)]
pub struct XferEntry<'a> {
    /// How long it took.
    pub duration: Duration,
    /// The client's address.
    pub peer: IpAddr,
    /// Bytes moved.
    pub bytes: u64,
    /// Path beneath the session's root (raw bytes: names need not be UTF-8).
    pub path: &'a [u8],
    /// Upload or download.
    pub direction: Direction,
    /// False when broken off, cancelled or failed.
    pub complete: bool,
    /// The session's user.
    pub user: &'a str,
    /// The protocol command.
    pub command: &'a str,
}

/// An open transfer log, shared by the listener and every session it forks.
#[derive(Debug)]
pub struct XferLog {
    file: File,
}

impl XferLog {
    /// Opens (creating with mode 0640) `path` for appending. Refuses a final
    /// symbolic link (`O_NOFOLLOW`: root must not be steered into appending to
    /// another file by whoever can write the log directory) and anything but a
    /// regular file (a FIFO is opened non-blocking so a missing reader cannot
    /// hang the listener, then refused).
    pub fn open(path: &Path) -> io::Result<XferLog> {
        Ok(XferLog {
            file: crate::logging::open_append(path)?,
        })
    }

    /// Appends the entry's line; a failure (disk full) is logged, never fatal to
    /// the session.
    pub fn record(&self, e: &XferEntry<'_>) {
        if let Err(err) = self.write_line(&format_line(e, SystemTime::now())) {
            log::warn!("xferlog: cannot append: {err}");
        }
    }

    /// One write(2) of the whole line, so concurrent appends never interleave.
    fn write_line(&self, line: &[u8]) -> io::Result<()> {
        loop {
            match (&self.file).write(line) {
                Ok(n) if n == line.len() => return Ok(()),
                Ok(n) => return Err(io::Error::other(format!("short write ({n} of {} bytes)", line.len()))),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The line for `e`, stamped `now`, with its newline.
pub(crate) fn format_line(e: &XferEntry<'_>, now: SystemTime) -> Vec<u8> {
    let ms = e.duration.as_millis();
    let whole_secs = ms.div_ceil(1000).max(1);
    let mut path = Vec::with_capacity(e.path.len() + 1);
    if !e.path.starts_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(e.path);
    let user = if e.user.is_empty() {
        "*".into()
    } else {
        escape(e.user.as_bytes())
    };
    let command = if e.command.is_empty() {
        "*".into()
    } else {
        escape(e.command.as_bytes())
    };
    format!(
        "{} {whole_secs} {} {} {} b _ {} r {user} tfd 0 * {} {command} {}.{:03}\n",
        ctime_utc(now),
        e.peer.to_canonical(),
        e.bytes,
        escape(&path),
        match e.direction {
            Direction::Incoming => 'i',
            Direction::Outgoing => 'o',
        },
        if e.complete { 'c' } else { 'i' },
        ms / 1000,
        ms % 1000,
    )
    .into_bytes()
}

/// Printable ASCII except space and backslash stays; every other byte is `\xNN`.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// `Sat Nov 21 10:00:00 2026`: ctime(3)'s layout (day of month padded with a
/// blank), in UTC.
fn ctime_utc(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    let (y, m, d) = tfp_wire::date::civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS.get(days.rem_euclid(7) as usize).unwrap_or(&"???");
    let month = MONTHS.get((m as usize).wrapping_sub(1)).unwrap_or(&"???");
    format!(
        "{weekday} {month} {d:>2} {:02}:{:02}:{:02} {y}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn entry<'a>(path: &'a [u8], user: &'a str) -> XferEntry<'a> {
        XferEntry {
            duration: Duration::from_millis(1532),
            peer: "192.0.2.7".parse().unwrap(),
            bytes: 1_048_576,
            path,
            direction: Direction::Incoming,
            complete: true,
            user,
            command: "PUT",
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn ctime_layout() {
        assert_eq!(ctime_utc(at(0)), "Thu Jan  1 00:00:00 1970");
        // 2026-11-21 10:00:00 UTC was a Saturday
        assert_eq!(ctime_utc(at(1_795_255_200)), "Sat Nov 21 10:00:00 2026");
        assert_eq!(ctime_utc(at(951_782_400 + 86_399)), "Tue Feb 29 23:59:59 2000");
        assert_eq!(
            ctime_utc(UNIX_EPOCH - Duration::from_secs(1)),
            "Wed Dec 31 23:59:59 1969"
        );
    }

    #[test]
    fn line_layout() {
        let line = format_line(&entry(b"isos/big one.iso", "alice"), at(1_795_255_200));
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "Sat Nov 21 10:00:00 2026 2 192.0.2.7 1048576 /isos/big\\x20one.iso b _ i r alice tfd 0 * c PUT 1.532\n"
        );
        let mut e = entry(b"/a", "");
        e.direction = Direction::Outgoing;
        e.complete = false;
        e.duration = Duration::from_micros(300);
        e.bytes = 0;
        e.peer = Ipv6Addr::from([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]).into();
        e.command = "GET";
        let line = String::from_utf8(format_line(&e, at(0))).unwrap();
        assert_eq!(
            line,
            "Thu Jan  1 00:00:00 1970 1 127.0.0.1 0 /a b _ o r * tfd 0 * i GET 0.000\n"
        );
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 20, "5 time words + 15 fields");
    }

    #[test]
    fn hostile_names_stay_one_field_on_one_line() {
        let nasty = b"a b\tc\nd\re\\f\x00g\x7f\xc3\xa9h%s";
        let line = format_line(&entry(nasty, "bob smith\n"), at(0));
        let text = String::from_utf8(line).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
        assert!(
            text.contains(" /a\\x20b\\x09c\\x0ad\\x0de\\x5cf\\x00g\\x7f\\xc3\\xa9h%s "),
            "{text}"
        );
        assert!(text.contains(" bob\\x20smith\\x0a tfd "), "{text}");
        assert_eq!(text.split_whitespace().count(), 20);
    }

    #[test]
    fn escape_is_reversible() {
        let all: Vec<u8> = (0..=255).collect();
        let esc = escape(&all);
        let mut back = Vec::new();
        let b = esc.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' {
                let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                back.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
            } else {
                back.push(b[i]);
                i += 1;
            }
        }
        assert_eq!(back, all);
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("tfd-xferlog-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn appends_whole_lines_from_many_writers() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp("append");
        let path = dir.join("xferlog");
        std::fs::write(&path, "old line\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let log = std::sync::Arc::new(XferLog::open(&path).unwrap());
        // an existing file keeps its mode
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    let name = format!("dir/file-{t}-{}", "x".repeat(3000));
                    for _ in 0..200 {
                        log.record(&entry(name.as_bytes(), "alice"));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 8 * 200);
        assert_eq!(lines[0], "old line");
        for l in &lines[1..] {
            assert_eq!(l.split_whitespace().count(), 20, "{l}");
            assert!(l.ends_with(" c PUT 1.532"), "{l}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_creates_0640_and_refuses_links_and_fifos() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp("open");
        let path = dir.join("new");
        XferLog::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o640, 0, "{mode:o}");
        std::os::unix::fs::symlink(&path, dir.join("link")).unwrap();
        assert!(XferLog::open(&dir.join("link")).is_err());
        nix::unistd::mkfifo(&dir.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(XferLog::open(&dir.join("fifo")).is_err());
        assert!(XferLog::open(&dir.join("missing/x")).is_err());
        std::fs::create_dir(dir.join("d")).unwrap();
        assert!(XferLog::open(&dir.join("d")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keeps_appending_to_the_rotated_file() {
        // The descriptor, not the path, is what sessions use: renaming the file
        // away (log rotation) leaves existing holders appending to it.
        let dir = temp("rotate");
        let path = dir.join("xferlog");
        let log = XferLog::open(&path).unwrap();
        std::fs::rename(&path, dir.join("xferlog.1")).unwrap();
        log.record(&entry(b"/x", "u"));
        assert_eq!(
            std::fs::read_to_string(dir.join("xferlog.1")).unwrap().lines().count(),
            1
        );
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
