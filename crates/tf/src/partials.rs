//! `tf partials [--discard] [DIR...]`: the partial downloads left below each
//! DIR (default `.`) by an interrupted `get`, `get -r` or `mirror`, with
//! their size, their age and whether a later `--resume` continues them;
//! `--discard` removes them. Local only: no server is asked.

use super::formats::human_size;
use super::reply::fail;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;
use tf::exit::Exit;
use tfp_client::escape;
use tfp_client::leftovers::{self, Leftover};

const USAGE: &str = "usage: tf partials [--discard] [DIR...]";

/// `tf partials` with the words after it.
pub fn run(args: &[String]) -> ExitCode {
    let mut discard = false;
    let mut dirs: Vec<&str> = Vec::new();
    let mut words = args.iter();
    while let Some(a) = words.next() {
        match a.as_str() {
            "--discard" => discard = true,
            "--" => dirs.extend(words.by_ref().map(String::as_str)),
            o if o.starts_with('-') && o.len() > 1 => return fail(format!("partials: unknown option {o} ({USAGE})")),
            d => dirs.push(d),
        }
    }
    if dirs.is_empty() {
        dirs.push(".");
    }
    let mut code = ExitCode::SUCCESS;
    for d in dirs {
        let dir = Path::new(d);
        if !dir.is_dir() {
            return fail(format!("partials: {}: not a directory", escape::path(dir)));
        }
        let (found, unread) = leftovers::find(dir);
        for (p, e) in unread {
            eprintln!("tf: partials: {}: {e}", escape::path(&p));
            code = ExitCode::from(Exit::Error);
        }
        let left = if discard { remove(&found) } else { list(&found) };
        if !left {
            code = ExitCode::from(Exit::Error);
        }
        summary(dir, &found, discard);
    }
    code
}

/// One line a leftover: its size, its age, whether it is resumable, its
/// target; true (nothing failed).
fn list(found: &[Leftover]) -> bool {
    let now = SystemTime::now();
    for l in found {
        let state = if l.resumable { "resumable" } else { "no journal" };
        println!(
            "{:>6}  {:>4}  {state:<10}  {}",
            human_size(l.size),
            age(l.modified, now),
            escape::path(&l.target)
        );
    }
    true
}

/// Removes each leftover, saying so; false when one could not be.
fn remove(found: &[Leftover]) -> bool {
    let mut all = true;
    for l in found {
        match leftovers::discard(l) {
            Ok(()) => println!(
                "removed the partial download of {} ({})",
                escape::path(&l.target),
                human_size(l.size)
            ),
            Err(e) => {
                eprintln!("tf: partials: {}: left: {e}", escape::path(&l.target));
                all = false;
            }
        }
    }
    all
}

/// The line after the list: how many, how big, and what to run next.
fn summary(dir: &Path, found: &[Leftover], discarded: bool) {
    let shown = escape::path(dir);
    if found.is_empty() {
        println!("no partial downloads below {shown}");
        return;
    }
    let size: u64 = found.iter().map(|l| l.size).sum();
    let n = found.len();
    let s = if n == 1 { "" } else { "s" };
    if discarded {
        return;
    }
    println!("{n} partial download{s} below {shown}, {}", human_size(size));
    if found.iter().any(|l| l.resumable) {
        println!("hint: `tf get REMOTE LOCAL --resume` (or get -r --resume, mirror) continues a resumable one");
    }
    println!("hint: `tf partials --discard {shown}` removes them");
}

/// How long ago `t` was, in the largest whole unit: `45s`, `12m`, `3h`, `2d`.
fn age(t: Option<SystemTime>, now: SystemTime) -> String {
    let Some(secs) = t.and_then(|t| now.duration_since(t).ok()).map(|d| d.as_secs()) else {
        return "-".into();
    };
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn ages_in_their_largest_whole_unit() {
        let now = SystemTime::now();
        let ago = |s| age(Some(now - Duration::from_secs(s)), now);
        assert_eq!(ago(45), "45s");
        assert_eq!(ago(12 * 60 + 5), "12m");
        assert_eq!(ago(3 * 3600 + 59), "3h");
        assert_eq!(ago(2 * 86_400), "2d");
        assert_eq!(age(None, now), "-");
        assert_eq!(age(Some(now + Duration::from_secs(9)), now), "-");
    }
}
