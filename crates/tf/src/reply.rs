//! How tf ends a command for people: one plain line for a local failure, a
//! reply printed (escaped), and after a FAILED or UNKNOWN one what it means
//! (explain.rs). Every command's file ends through here.

use super::exit::Exit;
use super::explain;
use std::process::ExitCode;
// server text goes to the terminal escaped (tfp-client escape.rs)
use tfp_client::escape::{shown, shown_text};
use tfp_client::Client;
use tfp_wire::Status;

/// `tf: MSG` on stderr; exit status 1. Each line of MSG goes through the
/// one escaping rule (it may quote a local or remote name; escaping what is
/// already escaped changes nothing).
pub fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tf: {}", lines_shown(&msg.to_string()));
    ExitCode::from(Exit::Error)
}

/// `text` escaped line by line: its own line breaks kept, no control
/// character within a line.
pub fn lines_shown(text: &str) -> String {
    text.split('\n').map(shown_text).collect::<Vec<_>>().join("\n")
}

/// Prints a reply; a FAILED or UNKNOWN one is followed by what it means for
/// `cmd` on its remote `targets` (see explain.rs), asked on the session `c`.
pub fn report(c: &mut Client, cmd: &str, targets: &[(&str, explain::Access)], st: &Status) -> ExitCode {
    let code = print_status(st);
    if matches!(st, Status::Failed(..) | Status::Unknown) {
        if let Some(e) = explain::failed(c, cmd, targets, st) {
            e.print();
        }
    }
    code
}

/// Prints a reply as it came (escaped): exit status 0 on OK, 2 on FAILED or
/// UNKNOWN.
pub fn print_status(st: &Status) -> ExitCode {
    match st {
        Status::Ok(d) if d.is_empty() => {
            println!("OK");
            ExitCode::SUCCESS
        }
        Status::Ok(d) => {
            println!("OK {}", shown(d));
            ExitCode::SUCCESS
        }
        Status::Failed(n, t) => {
            eprintln!("FAILED {n} : {}", shown(t.as_bytes()));
            ExitCode::from(Exit::Refused)
        }
        Status::Unknown => {
            eprintln!("UNKNOWN");
            ExitCode::from(Exit::Refused)
        }
        Status::Other(d) => {
            println!("{}", shown(d));
            ExitCode::SUCCESS
        }
    }
}
