//! `netlock`, `netlock_try`, `netunlock` (locks that last as long as the
//! session, so useful in `tf shell` / `tf -b`) and `netmutacq_try`,
//! `netmutrel` (a mutex kept in a file, which outlives sessions).
//!
//! The ids of the locks taken are remembered in the session's context, so
//! `netunlock` without an id releases the last one: a batch file need not know
//! the id the server will hand out.

use super::ctx::Ctx;
use super::explain::Access;
use super::reply::{fail, report};
use super::row::{want, Done};
use std::process::ExitCode;
use tfp_client::replies::AsStatus as _;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// `netlock TIMEOUT PATH`, `netlock_try TIMEOUT PATH`: prints the lock id.
pub fn netlock(x: &mut Ctx<'_>, cmd: &str, args: &[String]) -> Done {
    want(args, 2..=2)?;
    let (timeout, path) = (&args[0], &args[1]);
    if !timeout.parse::<f64>().is_ok_and(|t| t > 0.0) {
        return Ok(fail(format!("{cmd}: TIMEOUT {timeout:?}: a number of seconds")));
    }
    let line = format!("{} {timeout} {path}", cmd.to_ascii_uppercase());
    let st = x.c.command(line.as_bytes())?;
    Ok(match &st {
        Status::Ok(id) => {
            let id = String::from_utf8_lossy(id).into_owned();
            println!("{}", tfp_client::escape::shown_str(&id));
            x.held.push(id);
            ExitCode::SUCCESS
        }
        _ => report(x.c, cmd, &[(path, Access::Read)], &st),
    })
}

/// `netunlock [ID]`: without ID, the last lock this session took.
pub fn netunlock(x: &mut Ctx<'_>, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=1)?;
    let id = match args.first() {
        Some(id) => id.clone(),
        None => match x.held.last() {
            Some(id) => id.clone(),
            None => return Ok(fail("netunlock: this session holds no lock (give an ID)")),
        },
    };
    let st = x.c.command(format!("NETUNLOCK {id}").as_bytes())?;
    Ok(match &st {
        Status::Ok(_) => {
            x.held.retain(|h| *h != id);
            ExitCode::SUCCESS
        }
        _ => report(x.c, cmd, &[], &st),
    })
}

/// `netmutacq_try PATH TOKEN`, `netmutrel PATH TOKEN`.
pub fn netmut(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 2..=2)?;
    let (path, token) = (&args[0], &args[1]);
    if path.contains(' ') {
        return Ok(fail(format!(
            "{cmd}: {path:?}: the protocol separates PATH from TOKEN by a space, so PATH cannot hold one"
        )));
    }
    let st = if cmd == "netmutrel" {
        c.netmutrel(path, token)
    } else {
        c.netmutacq_try(path, token)
    };
    Ok(match st.status()? {
        Status::Ok(_) => ExitCode::SUCCESS,
        st => report(c, cmd, &[(path, Access::Read)], &st),
    })
}
