//! The session layer: `goaes`, `tfpcrypto` (the cipher), `ciaon`, `ciaoff`
//! (the identity token before every unit), `faitok`, `faimq` (Fast Access).
//! The first four change how the rest of the session travels, so they matter
//! in `tf shell` / `tf -b`; the client library switches its side with them.

use super::reply::{fail, report};
use super::row::{want, Done};
use super::v251::iso;
use std::process::ExitCode;
use tfp_client::fai_cache::{default_dir, FaiCache};
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// `goaes`, `tfpcrypto`.
pub fn goaes(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=0)?;
    let st = if cmd == "goaes" {
        c.goaes().status()?
    } else {
        c.tfpcrypto().status()?
    };
    Ok(done(c, cmd, &st))
}

/// `ciaon` (prints the token), `ciaoff`.
pub fn ciaon(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=0)?;
    let st = if cmd == "ciaon" {
        match c.ciaon().split()? {
            Ok(token) => {
                println!("{token}");
                return Ok(ExitCode::SUCCESS);
            }
            Err(st) => st,
        }
    } else {
        c.ciaoff().status()?
    };
    Ok(done(c, cmd, &st))
}

/// Nothing on OK, else the report.
fn done(c: &mut Client, cmd: &str, st: &Status) -> ExitCode {
    match st {
        Status::Ok(_) => ExitCode::SUCCESS,
        _ => report(c, cmd, &[], st),
    }
}

/// `faitok [MINUTES]`: a token stored where `tf --fai` looks for it (never
/// printed: its key opens a session without RSA); prints where and until when.
pub fn faitok(c: &mut Client, cfg: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=1)?;
    let minutes = match args.first().map(|m| m.parse::<u32>()) {
        None => 60,
        Some(Ok(m)) if m > 0 => m,
        Some(_) => return Ok(fail(format!("{cmd}: MINUTES: a positive number"))),
    };
    let Some(dir) = default_dir() else {
        return Ok(fail(format!("{cmd}: neither XDG_CACHE_HOME nor HOME is set")));
    };
    let cache = match FaiCache::open(&dir, cfg) {
        Ok(cache) => cache,
        Err(e) => return Ok(fail(format!("{cmd}: {e}"))),
    };
    let t = match c.faitok(minutes).split()? {
        Ok(t) => t,
        Err(st) => return Ok(report(c, cmd, &[], &st)),
    };
    if let Err(e) = cache.store(&t) {
        return Ok(fail(format!("{cmd}: {}: {e}", cache.path().display())));
    }
    println!("{} expires {}", cache.path().display(), iso(t.expiry));
    Ok(ExitCode::SUCCESS)
}

/// `faimq`: the longest token lifetime the server grants, in minutes.
pub fn faimq(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=0)?;
    Ok(match c.faimq().split()? {
        Ok(minutes) => {
            println!("{minutes}");
            ExitCode::SUCCESS
        }
        Err(st) => report(c, cmd, &[], &st),
    })
}
