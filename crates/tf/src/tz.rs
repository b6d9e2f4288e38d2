//! Time zones and identifiers: `gettz`, `localtime`, `genuuid` (no arguments)
//! and `settz ZONE`, `dateftz ZONE`. The zone `settz` sets lasts for the
//! session: `localtime` after it shows its clock in `tf shell` / `tf -b`.

use super::row::{want, Done};
use super::v251::simple;
use tfp_client::{Client, ClientConfig};

/// `gettz`, `localtime`, `genuuid`: the answer's value on a line.
pub fn plain(c: &mut Client, _: &ClientConfig, cmd: &str, args: &[String]) -> Done {
    want(args, 0..=0)?;
    simple(c, cmd, cmd.to_ascii_uppercase().as_bytes(), &[])
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
