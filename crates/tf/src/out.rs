//! tf's own `println!` and `print!`. std's panic when stdout cannot be
//! written ("failed printing to stdout: Broken pipe", exit 101, a backtrace
//! hint), where a Unix tool whose reader went away ends quietly: `tf backup
//! list NAME | head -1` must end as `ls | head -1` does, killed by SIGPIPE
//! (status 141 in a shell), with nothing on stderr. Declared before every
//! other module of the binary, so these stand for std's in all of them.

use tf::exit::Exit;

/// std's `println!`, ending tf quietly when stdout's reader has gone.
macro_rules! println {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// std's `print!`, likewise.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

/// std's `eprintln!`: `tf … 2>&1 | head -1` ends quietly too.
macro_rules! eprintln {
    () => {
        $crate::out::write_err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// std's `eprint!`, likewise.
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::out::write_err(format_args!($($arg)*))
    };
}

/// Writes `args` to stdout; a failure ends tf ([`ended`]).
pub fn write(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        drop(out);
        ended(&e);
    }
}

/// Writes `bytes` to stdout as they are, flushed; a failure ends tf
/// ([`ended`]): a listing or a script's output is not lost unsaid.
pub fn bytes(bytes: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        drop(out);
        ended(&e);
    }
}

/// Writes `args` to stderr; its reader gone, tf ends by SIGPIPE, and on
/// any other failure quietly with status 1 (there is nowhere left to say it).
pub fn write_err(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stderr().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            piped_away();
        }
        std::process::exit(Exit::Error as i32);
    }
}

/// Dies of SIGPIPE as a tool that never ignored it would.
fn piped_away() -> ! {
    tfd_sys::default_signal(libc::SIGPIPE);
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGPIPE);
    std::process::exit(tf::exit::by_signal(libc::SIGPIPE));
}

/// Ends tf after stdout failed: by SIGPIPE's default when its reader went
/// away (std ignores SIGPIPE, so the write only said EPIPE), else with one
/// sentence naming the cause (a full disk behind `>`) and status 1.
pub fn ended(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        piped_away();
    }
    eprintln!("tf: cannot write to standard output: {e}");
    std::process::exit(Exit::Error as i32);
}
