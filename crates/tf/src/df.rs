//! `tf df [BACKUP]`: the space this session may still use, and where a
//! quota applies, how much of it is used, in `df -h`'s units; with a
//! backup's name, what each of its snapshots adds to the server's disk
//! (issue 69: its files not linked from the snapshot before).

use super::exit::Exit;
use super::explain;
use super::formats::{bytes, Units};
use std::process::ExitCode;
use tfp_client::escape::shown;
use tfp_client::{Client, ClientConfig, Error};

/// Prints the space; `--raw` prints the numbers in bytes.
pub fn run(c: &mut Client, cfg: &ClientConfig, args: &[String]) -> ExitCode {
    let (raw, backup) = match args {
        [] => (false, None),
        [a] if a == "--raw" => (true, None),
        [a, n] | [n, a] if a == "--raw" && !n.starts_with('-') => (true, Some(n)),
        [n] if !n.starts_with('-') => (false, Some(n)),
        _ => return super::reply::fail("usage: tf ... df [--raw] [BACKUP]".to_string()),
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
            match backup {
                Some(name) => snapshots(c, cfg, name, &size),
                None => ExitCode::SUCCESS,
            }
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

/// A line a snapshot of `name`: what it added to the server's disk and what
/// it holds.
fn snapshots(c: &mut Client, cfg: &ClientConfig, name: &str, size: &dyn Fn(u64) -> String) -> ExitCode {
    let listed = match tfp_client::backup::list(c, name) {
        Ok(l) => l,
        Err(e) => {
            explain::session_error(&e, cfg).print();
            return ExitCode::from(Exit::Error);
        }
    };
    if listed.is_empty() {
        return super::reply::fail(format!("{} has no complete snapshot", shown(name.as_bytes())));
    }
    for l in listed {
        let at = format!("{}@{}", shown(name.as_bytes()), shown(l.snapshot.as_bytes()));
        match (l.held, l.added) {
            (Ok((files, bytes)), Some(added)) => {
                println!("{at}  adds {} of {} ({files} files)", size(added), size(bytes))
            }
            (Ok((files, bytes)), None) => println!("{at}  holds {} ({files} files)", size(bytes)),
            (Err(m), _) => eprintln!("tf: {m}"),
        }
    }
    ExitCode::SUCCESS
}
