//! Confinement and scripts: `locksys DIR`, `flycontext DIR` (the session is
//! bound to DIR from then on: every later command of a `tf shell` / `tf -b`
//! session works inside it) and `runbash SCRIPT`.

use super::exit::Exit;
use super::explain::Access;
use super::reply::report;
use super::row::{want, Done};
use std::process::ExitCode;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// `locksys DIR`, `flycontext DIR`.
pub fn confine(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let (st, targets) = if cmd == "locksys" {
        (c.locksys(&args[0]), &[(args[0].as_str(), Access::Read)][..])
    } else {
        (c.flycontext(&args[0]), &[][..])
    };
    Ok(match st.status()? {
        Status::Ok(_) => ExitCode::SUCCESS,
        st => report(c, cmd, targets, &st),
    })
}

/// `runbash SCRIPT`: the script's output (stdout and stderr as it wrote them)
/// on stdout; how it ended on stderr unless it exited 0. Exit 0 when the
/// script exited 0, 2 otherwise (or when the server refused to run it).
pub fn runbash(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let run = match c.runbash(&args[0]).split()? {
        Ok(run) => run,
        Err(st) => return Ok(report(c, cmd, &[(&args[0], Access::Read)], &st)),
    };
    super::out::bytes(&run.output);
    if run.succeeded() {
        return Ok(ExitCode::SUCCESS);
    }
    let ending = tfp_client::escape::shown_str(&run.ending);
    eprintln!("tf: {}: the script ended: {ending}", args[0]);
    Ok(ExitCode::from(Exit::Refused))
}
