//! `tf stages`: the staged uploads of the session's user that are not
//! committed (an interrupted `put --streams`/`--resume`, or a big file of
//! `put -r`), which take room in the quota (`tf df` counts them) until they
//! are committed, discarded here, or swept 2 days after their last write.

use super::explain;
use super::formats;
use super::reply::{fail, print_status, report};
use super::row::Done;
use std::process::ExitCode;
use tf::options::commands::{self, Family};
use tfp_client::engine::staged;
use tfp_client::escape::shown;
use tfp_client::{Client, Error};
use tfp_wire::stage::listing::Listed;

const USAGE: &str = "usage: tf ... stages [DIR...] | stages --discard PATH... | stages --discard --all [DIR...]";

/// `dir` joined to a path the server gave relative to it.
fn joined(dir: &str, rel: &[u8]) -> Vec<u8> {
    let mut p = dir.trim_end_matches('/').as_bytes().to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(rel);
    p
}

/// What a stage is, in words, after its own name (`ls -a` and `stages`).
pub fn what(s: &Listed, dir: &str) -> String {
    let of = match &s.target {
        Some(t) => shown(&joined(dir, t)),
        None => "an unknown file".to_string(),
    };
    format!(
        "stage of {of}: {} of {} bytes written, {} counted in the quota",
        s.written, s.size, s.counted
    )
}

/// `stages [DIR...]`, `stages --discard PATH...`, `stages --discard --all [DIR...]`.
pub fn run(c: &mut Client, _cmd: &str, args: &[String]) -> Done {
    let g = match commands::parse(Family::Stages, args) {
        Ok(g) => g,
        Err(commands::ParseError::Unknown(o)) => return Ok(fail(format!("stages: unknown option {o} ({USAGE})"))),
        Err(commands::ParseError::Bad(m)) => return Ok(fail(m)),
    };
    let (discard, all) = (g.flag("--discard"), g.flag("--all"));
    if all && !discard {
        return Ok(fail(format!("stages: --all goes with --discard ({USAGE})")));
    }
    if discard && !all {
        if g.positional.is_empty() {
            return Ok(fail(USAGE.to_string()));
        }
        let mut code = ExitCode::SUCCESS;
        for p in &g.positional {
            code = drop_one(c, p.as_bytes(), code)?;
        }
        return Ok(code);
    }
    let dirs: Vec<&str> = if g.positional.is_empty() {
        vec![""]
    } else {
        g.positional.iter().map(String::as_str).collect()
    };
    let mut code = ExitCode::SUCCESS;
    let (mut n, mut counted) = (0usize, 0u64);
    for dir in dirs {
        let found = match staged::list(c, dir.as_bytes(), true) {
            Ok(v) => v,
            Err(Error::Refused(r)) => {
                code = report(c, "stages", &[(dir, explain::Access::Read)], &r.reply);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for s in found {
            let path = joined(dir, &s.path);
            if discard {
                code = drop_one(c, &path, code)?;
                continue;
            }
            n += 1;
            counted += s.counted;
            println!(
                "{}  {}  ({})",
                formats::local_time(s.mtime),
                shown(&path),
                what(&s, dir)
            );
        }
    }
    if !discard {
        println!(
            "{n} stage{}, {counted} bytes counted in the quota (tf df); tf stages --discard PATH removes one",
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(code)
}

/// Discards the stage `path` names (the target's path or the stage's own).
fn drop_one(c: &mut Client, path: &[u8], code: ExitCode) -> Result<ExitCode, Error> {
    match staged::discard(c, path) {
        Ok(()) => {
            println!("discarded {}", shown(path));
            Ok(code)
        }
        // the server's reason says it all (none of yours by that name, in use)
        Err(Error::Refused(r)) => Ok(print_status(&r.reply)),
        Err(e) => Err(e),
    }
}
