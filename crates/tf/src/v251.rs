//! What the 2.5.1 commands' files share: one line sent and its reply printed,
//! and times as ISO 8601. Their rows are in table.rs; the families live in
//! v251_fs.rs, intrw.rs, netlock.rs, secfs.rs, tz.rs, layer.rs, confine.rs.

use super::explain;
use super::reply::report;
use super::row::Done;
use std::process::ExitCode;
use tfp_client::Client;
use tfp_wire::Status;

/// Sends `line`; OK prints its data (if any) on a line of its own, anything
/// else is reported with what it means for `targets`.
pub fn simple(c: &mut Client, cmd: &str, line: &[u8], targets: &[(&str, explain::Access)]) -> Done {
    let st = c.command(line)?;
    Ok(match &st {
        Status::Ok(d) => {
            if !d.is_empty() {
                println!("{}", tfp_client::escape::shown(d));
            }
            ExitCode::SUCCESS
        }
        _ => report(c, cmd, targets, &st),
    })
}

/// A Unix time as ISO 8601 UTC (`2026-11-23T14:05:00Z`).
pub fn iso(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(tfp_wire::date::format_utc)
        .map_or_else(|| "?".into(), |t| format!("{}Z", t.replacen(' ', "T", 1)))
}
