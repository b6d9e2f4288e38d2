//! The secure filesystem (TFPSFS): `setfsid`, `setfsperm`, `remfsperm`,
//! `getfsperm`, `issecfs`. Masks are given and shown by name as well as by
//! number. The identity set by `setfsid` lasts for the session (use it in
//! `tf shell` / `tf -b`); since it grants rights, it can come from a file
//! instead of the command line, where every user's `ps` sees it.

use super::explain::Access;
use super::reply::{fail, report};
use super::row::{want, Done, Failure};
use super::v251::simple;
use std::process::ExitCode;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::secfs::mask;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// The permission bits by the names tf reads and prints (the document's
/// SECFS_* names, lower case, without the prefix).
const NAMES: &[(&str, u32)] = mask::NAMES;

/// A mask that is neither a number nor known names: the mask as given.
#[derive(Debug, PartialEq, Eq)]
struct BadMask(String);

impl std::fmt::Display for BadMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        write!(
            f,
            "MASK {:?}: a number, or names from {} joined by ','",
            self.0,
            known.join(",")
        )
    }
}

/// A mask: a decimal number, or names joined by `,` (`all` for every bit).
fn parse_mask(m: &str) -> Result<u32, BadMask> {
    if let Ok(n) = m.parse::<u32>() {
        return Ok(n);
    }
    let mut bits = 0;
    for w in m.split(',').map(str::trim) {
        bits |= match w {
            "all" => mask::ALL,
            _ => NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(w))
                .map(|(_, b)| *b)
                .ok_or_else(|| BadMask(m.to_string()))?,
        };
    }
    Ok(bits)
}

/// `MASK name,name,...` (`-` for none).
fn show_mask(m: u32) -> String {
    let names = mask::names(m);
    format!("{m} {}", if names.is_empty() { "-".into() } else { names.join(",") })
}

/// An identity the protocol can carry: no space (it ends the identity), no `:`
/// (tf's own message before the library's `Usage` for the same rule).
fn check_id(cmd: &str, id: &str) -> Result<(), ExitCode> {
    if id.contains([' ', ':', '\n', '\r', '\0']) {
        return Err(fail(format!("{cmd}: identity {id:?}: no spaces, ':' or line breaks")));
    }
    Ok(())
}

/// `setfsid ID` or `setfsid --file FILE` (the file's first line).
pub fn setfsid(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    let id = match args {
        [f, file] if f == "--file" => match std::fs::read_to_string(file) {
            Ok(t) => t.lines().next().unwrap_or("").to_string(),
            Err(e) => return Ok(fail(format!("{cmd}: {file}: {e}"))),
        },
        [id] => id.clone(),
        _ => return Err(Failure::Usage),
    };
    if let Err(code) = check_id(cmd, &id) {
        return Ok(code);
    }
    let st = c.setfsid(&id).status()?;
    Ok(done(c, cmd, &[], &st))
}

/// Nothing on OK (the commands answer no data), else the report.
fn done(c: &mut Client, cmd: &str, targets: &[(&str, Access)], st: &Status) -> ExitCode {
    match st {
        Status::Ok(_) => ExitCode::SUCCESS,
        _ => report(c, cmd, targets, st),
    }
}

/// `setfsperm ID MASK DIR`.
pub fn setfsperm(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 3..=3)?;
    let (id, dir) = (&args[0], &args[2]);
    if let Err(code) = check_id(cmd, id) {
        return Ok(code);
    }
    let m = match parse_mask(&args[1]) {
        Ok(m) => m,
        Err(e) => return Ok(fail(format!("{cmd}: {e}"))),
    };
    let st = c.setfsperm(id, m, dir).status()?;
    Ok(done(c, cmd, &[(dir, Access::Read)], &st))
}

/// `remfsperm ID DIR`.
pub fn remfsperm(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 2..=2)?;
    if let Err(code) = check_id(cmd, &args[0]) {
        return Ok(code);
    }
    let st = c.remfsperm(&args[0], &args[1]).status()?;
    Ok(done(c, cmd, &[(&args[1], Access::Read)], &st))
}

/// `getfsperm ID DIR`: `MASK NAMES` (0 and `-` for an identity without an
/// entry, or a directory outside the domain).
pub fn getfsperm(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 2..=2)?;
    if let Err(code) = check_id(cmd, &args[0]) {
        return Ok(code);
    }
    match c.getfsperm(&args[0], &args[1]).split()? {
        Ok(m) => {
            println!("{}", show_mask(m));
            Ok(ExitCode::SUCCESS)
        }
        Err(st) => Ok(report(c, cmd, &[(&args[1], Access::Read)], &st)),
    }
}

/// `issecfs DIR`: `secure` and exit 0, or the FAILED line (60: not secure) and 2.
pub fn issecfs(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    let code = simple(c, cmd, format!("ISSECFS {}", args[0]).as_bytes(), &[])?;
    if code == ExitCode::SUCCESS {
        println!("secure");
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_by_name_and_number() {
        assert_eq!(parse_mask("12"), Ok(12));
        assert_eq!(parse_mask("rfile,wfile"), Ok(12));
        assert_eq!(parse_mask("all"), Ok(4095));
        assert!(parse_mask("rfile,nope").is_err());
        assert_eq!(show_mask(12), "12 rfile,wfile");
        assert_eq!(show_mask(0), "0 -");
    }
}
