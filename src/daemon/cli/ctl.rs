//! `tfd ctl`: one request to a running tfd's control socket, and which tfd
//! answers said plainly (the system's, or a demo's in this directory).

use super::fail;
use crate::config::Config;
use crate::daemon::demo;
use std::path::PathBuf;
use std::process::ExitCode;

/// `tfd ctl`: one request to the control socket of a running tfd.
pub(super) fn main(args: &[String]) -> ExitCode {
    let mut config: Option<PathBuf> = None;
    let mut socket: Option<PathBuf> = None;
    let mut words: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--config" => match it.next() {
                Some(v) => config = Some(PathBuf::from(v)),
                None => return fail("-c needs a file"),
            },
            "--socket" => match it.next() {
                Some(v) => socket = Some(PathBuf::from(v)),
                None => return fail("--socket needs a path"),
            },
            w => words.push(w),
        }
    }
    if words.is_empty() {
        return fail(format!("ctl needs a request\n{}", crate::daemon::control::help_text()));
    }
    // the list is the table this tfd was built with: no socket needed
    if matches!(words.as_slice(), ["help"] | ["--help"] | ["-h"]) {
        print!("{}", crate::daemon::control::help_text());
        return ExitCode::SUCCESS;
    }
    // Which tfd answers is not obvious without -c or --socket (the system's
    // /run/tfd/ctl.sock, not the demo in this terminal): say it on stderr.
    let explicit = socket.is_some() || config.is_some();
    let (path, source) = match socket {
        Some(s) => (s, "--socket".to_string()),
        None => {
            // the file given (or the system's, when it exists) says which
            // tfd: one that cannot be read is refused, never replaced by the
            // default socket, which may be another tfd's
            let given = config.is_some();
            let conf = config.unwrap_or_else(|| PathBuf::from("/etc/tfd/tfd.conf"));
            match Config::control_socket_in(&conf) {
                Ok(Some(p)) => (p, format!("control_socket of {}", conf.display())),
                Ok(None) => (
                    PathBuf::from(crate::config::DEFAULT_CONTROL_SOCKET),
                    format!("the default: {} names no control_socket", conf.display()),
                ),
                Err(crate::config::ConfigError::Read { error, .. })
                    if !given && error.kind() == std::io::ErrorKind::NotFound =>
                {
                    (
                        PathBuf::from(crate::config::DEFAULT_CONTROL_SOCKET),
                        "the default".to_string(),
                    )
                }
                Err(e) => {
                    return fail(format!(
                        "{e}\nnot asking any tfd: the control socket {} names is unknown (mend it, or name \
                         the socket with --socket PATH)",
                        conf.display()
                    ))
                }
            }
        }
    };
    if !explicit {
        eprintln!(
            "tfd ctl: asking the tfd at {} ({source}); -c FILE or --socket PATH picks another",
            path.display()
        );
    }
    match crate::daemon::control::call(&path, &words.join(" ")) {
        Ok(text) => {
            print!("{text}");
            if text.starts_with("error") {
                ExitCode::from(2)
            } else if text.starts_with("restart:") {
                // done, but some of it waits for a restart
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let demos = demo_sockets();
            let hint = if demos.is_empty() || explicit {
                String::new()
            } else {
                format!(
                    "\nhint: a tfd demo here answers on {}",
                    demos
                        .iter()
                        .map(|p| format!("--socket {}", p.display()))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            fail(format!("control socket {} ({source}): {e}{hint}", path.display()))
        }
    }
}

/// The admin sockets of demos run from this directory (`tfd demo` names them
/// `tfd-demo/ctl-PORT.sock`).
fn demo_sockets() -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(demo::DEFAULT_DIR) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("ctl-") && name.ends_with(".sock") && std::os::unix::net::UnixStream::connect(p).is_ok()
        })
        .collect();
    v.sort();
    v
}
