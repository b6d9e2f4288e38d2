//! Confinement and scripts: `locksys DIR`, `flycontext DIR` (the session is
//! bound to DIR from then on: every later command of a `tf shell` / `tf -b`
//! session works inside it) and `runbash SCRIPT`.

use super::explain::Access;
use super::reply::report;
use super::row::{want, Done};
use super::v251::simple;
use std::io::Write;
use std::process::ExitCode;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// `locksys DIR`, `flycontext DIR`.
pub fn confine(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let line = format!("{} {}", cmd.to_ascii_uppercase(), args[0]);
    let targets = [(args[0].as_str(), Access::Read)];
    simple(c, cmd, line.as_bytes(), if cmd == "locksys" { &targets } else { &[] })
}

/// `runbash SCRIPT`: the script's output (stdout and stderr as it wrote them)
/// on stdout; how it ended on stderr unless it exited 0. Exit 0 when the
/// script exited 0, 2 otherwise (or when the server refused to run it).
pub fn runbash(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let st = c.command(format!("RUNBASH {}", args[0]).as_bytes())?;
    let Status::Ok(reply) = &st else {
        return Ok(report(c, cmd, &[(&args[0], Access::Read)], &st));
    };
    let (ending, output) = match reply.iter().position(|&b| b == b'\n') {
        Some(i) => (&reply[..i], &reply[i + 1..]),
        None => (&reply[..], &[][..]),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(output).and_then(|()| out.flush());
    let ending = tfp_client::escape::shown(ending);
    if ending == "exit 0" {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("tf: {}: the script ended: {ending}", args[0]);
    Ok(ExitCode::from(2))
}
