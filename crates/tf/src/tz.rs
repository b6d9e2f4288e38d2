//! Time zones and identifiers: `gettz`, `localtime`, `genuuid` (no arguments)
//! and `settz ZONE`, `dateftz ZONE`. The zone `settz` sets lasts for the
//! session: `localtime` after it shows its clock in `tf shell` / `tf -b`.

use super::reply::report;
use super::row::{want, Done};
use super::v251::simple;
use std::process::ExitCode;
use tfp_client::replies::Split as _;
use tfp_client::{Client, ClientConfig};

/// `gettz`, `localtime`, `genuuid`: the answer's value on a line.
pub fn plain(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=0)?;
    let value = match cmd {
        "gettz" => c.gettz().map(|z| z.into_bytes()),
        "localtime" => c.localtime().map(|t| t.to_string().into_bytes()),
        _ => c.genuuid().map(String::into_bytes),
    };
    Ok(match value.split()? {
        Ok(v) => {
            if !v.is_empty() {
                println!("{}", tfp_client::escape::shown(&v));
            }
            ExitCode::SUCCESS
        }
        Err(st) => report(c, cmd, &[], &st),
    })
}

/// `settz ZONE`, `dateftz ZONE` (a zone name or a POSIX TZ rule).
pub fn zone(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 1..=1)?;
    simple(
        c,
        cmd,
        format!("{} {}", cmd.to_ascii_uppercase(), args[0]).as_bytes(),
        &[],
    )
}
