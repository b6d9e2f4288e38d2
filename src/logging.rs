//! Where tfd's log records go: standard error (the default, what a foreground
//! daemon under systemd, runit or a container wants), or syslog(3).
//!
//! One logger is installed for the life of the process and [`init`] may be called
//! again to switch its target or level: tfd must log before it has read its
//! configuration (errors in it, ignored keys), and only the configuration says
//! whether to use syslog. Forked session processes inherit the logger as it was at
//! fork time.
//!
//! - **stderr** uses env_logger: `RUST_LOG`, when set, rules (env_logger's syntax,
//!   per module); otherwise the level is `log_level` or `info`. Lines carry a UTC
//!   timestamp, the level and the module.
//! - **journald**: when standard error *is* the journal (systemd sets
//!   `JOURNAL_STREAM` to its device and inode, which are compared with fd 2's, so
//!   an inherited variable with a redirected stderr does not count), each line
//!   starts with the sd-daemon(3) `<N>` priority prefix instead of a timestamp, so
//!   the journal records the right priority and adds its own time.
//! - **a file** (`log_file`): the stderr layout, appended in one write(2) a
//!   line (O_APPEND: the listener's and every session's lines never
//!   interleave). The file sits at one descriptor number for the life of the
//!   process; a reload dup3(2)s the reopened file over it, so rotation
//!   needs no lock on the way of a log line, and sessions forked since
//!   follow (one forked before keeps the file it inherited).
//! - **syslog**: openlog(3) with ident `tfd`, facility `daemon`, the pid of the
//!   process that logged (sessions are separate processes) and the socket opened
//!   at once, so a session that later chroots still holds it. If the syslog daemon
//!   restarts, glibc reconnects by path, which a chrooted session cannot do: its
//!   further messages are lost, the listener's are not.
//!
//! Nothing here decides what is logged; callers never pass passwords, the hash or
//! key material to the log macros.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Once, OnceLock};

/// Where records go; chosen by the `log_target` config key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogTarget {
    /// Standard error (journald-aware).
    #[default]
    Stderr,
    /// syslog(3), facility daemon.
    Syslog,
    /// The file [`to_file`] installed (`log_file`; no `log_target` word).
    File,
}

impl LogTarget {
    /// The config spelling: `stderr` or `syslog` (lower case only, like every
    /// other keyword value tfd reads).
    pub fn parse(s: &str) -> Option<LogTarget> {
        match s {
            "stderr" => Some(LogTarget::Stderr),
            "syslog" => Some(LogTarget::Syslog),
            _ => None,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LogTarget::Stderr => "stderr",
            LogTarget::Syslog => "syslog",
            LogTarget::File => "file",
        }
    }
}

/// The one installed logger.
struct Logger {
    /// Formats and writes stderr lines; also holds the `RUST_LOG` rules, which
    /// apply to syslog too.
    stderr: env_logger::Logger,
    /// Whether `RUST_LOG` was set when the logger was built (then it, not the
    /// config, decides the level).
    env_rules: bool,
    /// The same layout, written to [`LOG_FD`].
    file: env_logger::Logger,
    /// [`LogTarget`] as a number, switched by [`init`] without a lock.
    target: AtomicU8,
}

/// The log file, at one descriptor number for the life of the process.
static LOG_FILE: OnceLock<std::fs::File> = OnceLock::new();

/// Writes to [`LOG_FILE`]; env_logger hands it each formatted line whole.
struct FdWriter;

impl Write for FdWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match LOG_FILE.get() {
            Some(mut f) => f.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Opens a log file for appending, as root in the listener: created 0640 if
/// missing, never through a symlink, and nothing but a regular file (a FIFO
/// would block the listener). `log_file` and `xferlog` alike.
pub fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    // back to plain blocking appends (O_NONBLOCK only mattered for the open)
    nix::fcntl::fcntl(
        file.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_APPEND),
    )?;
    Ok(file)
}

/// Makes `file` ([`open_append`]) the log file: at the log's descriptor
/// number, in place of the one there (rotation). Select it with
/// [`init`]`(LogTarget::File, ..)`.
pub fn to_file(file: std::fs::File) -> std::io::Result<()> {
    if let Some(held) = LOG_FILE.get() {
        nix::unistd::dup3(file.as_raw_fd(), held.as_raw_fd(), nix::fcntl::OFlag::O_CLOEXEC)?;
        return Ok(());
    }
    // the first file stays at its number (a racing first call rotates it)
    match LOG_FILE.set(file) {
        Ok(()) => Ok(()),
        Err(file) => to_file(file),
    }
}

/// Whether the system logger answers at `socket` (`/dev/log`): where it does
/// not, syslog(3) drops every line without a word.
pub fn syslog_reachable(socket: &std::path::Path) -> Result<(), std::io::Error> {
    std::os::unix::net::UnixDatagram::unbound()?.connect(socket)
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static INSTALL: Once = Once::new();
static OPENLOG: Once = Once::new();

/// Installs the logger on the first call; on every call sets the target and the
/// level. `level` is the config's `log_level` (None: `info`); it is ignored when
/// `RUST_LOG` is set. Safe to call again on reload.
pub fn init(target: LogTarget, level: Option<LevelFilter>) {
    let logger = LOGGER.get_or_init(build);
    INSTALL.call_once(|| {
        // Fails only if something else installed a logger first (a test harness):
        // then that one stays, and so does its filtering.
        let _ = log::set_logger(logger);
    });
    if target == LogTarget::Syslog {
        OPENLOG.call_once(|| tfd_sys::openlog(c"tfd", libc::LOG_PID | libc::LOG_NDELAY, libc::LOG_DAEMON));
        if let Err(e) = syslog_reachable(std::path::Path::new("/dev/log")) {
            logger.write_stderr(
                Level::Warn,
                &format!(
                    "syslog is unreachable (/dev/log: {e}): every log line from now on is lost; \
                     set log_file in tfd.conf, or run tfd in the foreground with log_target stderr"
                ),
            );
        }
    }
    let old = logger.target.swap(target as u8, Ordering::SeqCst);
    if old != target as u8 {
        // Said on stderr (old target) too, so whoever watches stderr knows where
        // the rest went.
        if old == LogTarget::Stderr as u8 {
            logger.write_stderr(Level::Info, &format!("logging to {} from now on", target.as_str()));
        }
        log::info!("logging to {}", target.as_str());
    }
    log::set_max_level(if logger.env_rules {
        logger.stderr.filter()
    } else {
        level.unwrap_or(LevelFilter::Info)
    });
}

/// Builds the logger: env_logger with `RUST_LOG` rules or letting everything
/// through (then `log::set_max_level` filters), and the journal format when
/// stderr is the journal.
fn build() -> Logger {
    let mut b = env_logger::Builder::new();
    let env_rules = std::env::var_os("RUST_LOG").is_some();
    if env_rules {
        b.parse_env("RUST_LOG");
    } else {
        b.filter_level(LevelFilter::Trace);
    }
    let mut f = env_logger::Builder::new();
    if env_rules {
        f.parse_env("RUST_LOG");
    } else {
        f.filter_level(LevelFilter::Trace);
    }
    f.write_style(env_logger::WriteStyle::Never)
        .format_timestamp_millis()
        .target(env_logger::Target::Pipe(Box::new(FdWriter)));
    if stderr_is_journal() {
        b.write_style(env_logger::WriteStyle::Never);
        b.format(|buf, record| {
            let text = format!("{}: {}", record.target(), record.args());
            buf.write_all(journal_line(record.level(), &text).as_bytes())
        });
    } else {
        b.format_timestamp_millis();
    }
    Logger {
        stderr: b.build(),
        file: f.build(),
        env_rules,
        target: AtomicU8::new(LogTarget::Stderr as u8),
    }
}

impl Logger {
    /// One line on stderr outside the log macros (target switches).
    fn write_stderr(&self, level: Level, text: &str) {
        self.stderr.log(
            &Record::builder()
                .level(level)
                .target(module_path!())
                .args(format_args!("{text}"))
                .build(),
        );
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.stderr.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        let target = self.target.load(Ordering::Relaxed);
        if target == LogTarget::Syslog as u8 {
            if self.stderr.matches(record) {
                let text = format!("{}: {}", record.target(), record.args());
                tfd_sys::syslog(syslog_priority(record.level()), &c_message(&text));
            }
        } else if target == LogTarget::File as u8 {
            self.file.log(record);
        } else {
            self.stderr.log(record);
        }
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}

/// syslog(3) severity of a log level (`trace` has none below `debug`).
pub(crate) fn syslog_priority(level: Level) -> libc::c_int {
    match level {
        Level::Error => libc::LOG_ERR,
        Level::Warn => libc::LOG_WARNING,
        Level::Info => libc::LOG_INFO,
        Level::Debug | Level::Trace => libc::LOG_DEBUG,
    }
}

/// A record for the journal's stderr stream: every line (a message may hold
/// several) gets the `<N>` prefix, so continuation lines keep the priority.
fn journal_line(level: Level, text: &str) -> String {
    let prio = syslog_priority(level);
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split('\n') {
        out.push_str(&format!("<{prio}>{line}\n"));
    }
    out
}

/// The message as a C string: a NUL byte (which would cut it short) is shown as
/// `\0`.
fn c_message(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

/// True when fd 2 is the stream systemd's `JOURNAL_STREAM` names.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    match tfd_sys::fstat(std::io::stderr().as_fd()) {
        Ok(st) => journal_stream_matches(&value.to_string_lossy(), st.st_dev, st.st_ino),
        Err(_) => false,
    }
}

/// Parses `JOURNAL_STREAM` (`<device>:<inode>`, decimal) and compares.
fn journal_stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    d.parse::<u64>().ok() == Some(dev) && i.parse::<u64>().ok() == Some(ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(LogTarget::parse("stderr"), Some(LogTarget::Stderr));
        assert_eq!(LogTarget::parse("syslog"), Some(LogTarget::Syslog));
        for bad in ["", "SYSLOG", "journald", "stderr "] {
            assert_eq!(LogTarget::parse(bad), None, "{bad:?}");
        }
        for t in [LogTarget::Stderr, LogTarget::Syslog] {
            assert_eq!(LogTarget::parse(t.as_str()), Some(t));
        }
        assert_eq!(LogTarget::default(), LogTarget::Stderr);
    }

    #[test]
    fn priorities() {
        assert_eq!(syslog_priority(Level::Error), 3);
        assert_eq!(syslog_priority(Level::Warn), 4);
        assert_eq!(syslog_priority(Level::Info), 6);
        assert_eq!(syslog_priority(Level::Debug), 7);
        assert_eq!(syslog_priority(Level::Trace), 7);
    }

    #[test]
    fn journal_lines() {
        assert_eq!(journal_line(Level::Warn, "a: b"), "<4>a: b\n");
        assert_eq!(journal_line(Level::Error, "one\ntwo"), "<3>one\n<3>two\n");
    }

    #[test]
    fn journal_stream() {
        assert!(journal_stream_matches("64768:1234", 64768, 1234));
        assert!(!journal_stream_matches("64768:1234", 64768, 1235));
        assert!(!journal_stream_matches("64768:1234", 1, 1234));
        for bad in ["", ":", "1", "1:", ":1", "x:1", "1:2:3", "-1:2"] {
            assert!(!journal_stream_matches(bad, 1, 2), "{bad:?}");
        }
    }

    #[test]
    fn c_messages() {
        assert_eq!(c_message("50% done").as_bytes(), b"50% done");
        assert_eq!(c_message("a\0b").as_bytes(), b"a\\0b");
    }
}

thread_local! {
    /// The errno behind the running command's failure, for its FAILED log line.
    static OS_CAUSE: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
}

/// Notes the OS error a command is failing with, so the session's FAILED log line
/// can name it: the FAILED codes are the document's and say "access denied"
/// whether the OS said EACCES, EROFS or EIO. Only the errno is kept (no path,
/// nothing a client sent). The last note of a command wins.
pub fn note_os_error(e: &std::io::Error) {
    if let Some(n) = e.raw_os_error() {
        OS_CAUSE.with(|c| c.set(Some(n)));
    }
}

/// Takes (and clears) the noted OS error.
pub fn take_os_error() -> Option<std::io::Error> {
    OS_CAUSE.with(|c| c.take()).map(std::io::Error::from_raw_os_error)
}

/// The account a LOGIN's argument names (the word before the password),
/// escaped for the log.
pub fn login_name(arg: &[u8]) -> String {
    let name = arg.split(|&b| b == b' ').next().unwrap_or_default();
    format!("\"{}\"", tfp_wire::escape::shown(name).replace('"', "\\\""))
}
