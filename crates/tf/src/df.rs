//! `tf df`: the space this session may still use, and where a quota applies,
//! how much of it is used, in `df -h`'s units.

use super::exit::Exit;
use super::explain;
use super::formats::{bytes, Units};
use std::process::ExitCode;
use tfp_client::{Client, ClientConfig, Error};

/// Prints the space; `--raw` prints the numbers in bytes.
pub fn run(c: &mut Client, cfg: &ClientConfig, args: &[String]) -> ExitCode {
    let raw = match args {
        [] => false,
        [a] if a == "--raw" => true,
        _ => return super::reply::fail("usage: tf ... df [--raw]".to_string()),
    };
    let size = |n: u64| if raw { n.to_string() } else { bytes(n as f64, Units::Df) };
    match c.space() {
        Ok(sp) => {
            println!("available  {}", size(sp.usable));
            if let Some(d) = sp.disk {
                println!("disk free  {}", size(d));
            }
            match sp.quota {
                Some((used, limit)) => {
                    let pct = used.saturating_mul(100).checked_div(limit).unwrap_or(100);
                    println!("quota      {} used of {} ({pct}%)", size(used), size(limit));
                }
                None if sp.disk.is_some() => println!("quota      none"),
                None => {}
            }
            ExitCode::SUCCESS
        }
        // the server's words are quoted (escaped), never sent raw to the terminal
        Err(Error::Refused(r)) => super::reply::fail(format!(
            "the server did not say how much space is left (it answered {:?})",
            explain::status_text(&r.reply)
        )),
        // an answer that is no numbers, said so in the same words
        Err(Error::Protocol(why)) => super::reply::fail(why),
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(Exit::Error)
        }
    }
}
