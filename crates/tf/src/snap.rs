//! `tf backup SRC NAME`, `tf backup list NAME`, `tf restore NAME[@SNAP]
//! [PATH...] DEST` (issue 69): snapshots with history on the server, made,
//! listed and restored by the library ([`tfp_client::backup`]); tf parses
//! the words and says the outcome.

use super::ctx::Ctx;
use super::exit::Exit;
use super::row::{Cmd, Done};
use std::process::ExitCode;
use tf::options::commands::{self, Family, Given};
use tfp_client::backup::prune::{Fate, Rule};
use tfp_client::backup::remote::split_at;
use tfp_client::backup::{self, Failure};
use tfp_client::escape::shown;
use tfp_client::ClientConfig;

fn say(m: impl std::fmt::Display) -> ExitCode {
    eprintln!("tf: {m}");
    ExitCode::from(Exit::Error)
}

/// The exit of a backup's failure: its sentence, or the session's error
/// explained.
fn failed(f: Failure, cfg: &ClientConfig) -> ExitCode {
    match f {
        Failure::Said(m) => say(m),
        Failure::Session(e) => {
            super::explain::session_error(&e, cfg).print();
            ExitCode::from(Exit::Error)
        }
    }
}

/// `tf backup SRC NAME` and `tf backup list NAME`.
pub fn backup(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let g = match commands::parse(Family::Backup, args) {
        Ok(g) => g,
        Err(commands::ParseError::Unknown(o)) => return Ok(say(format!("backup: unknown option {o}"))),
        Err(commands::ParseError::Bad(m)) => return Ok(say(m)),
    };
    let code = match g.positional.as_slice() {
        [p, name] if p == "prune" => return Ok(prune(x, name, &g)),
        _ if !rules(&g).is_empty() || g.flag("--dry-run") => {
            return Ok(say("--keep-* and --dry-run go with backup prune"))
        }
        [v, what] if v == "verify" => return Ok(verify(x, what, g.num("--sample"))),
        _ if g.num("--sample").is_some() => return Ok(say("--sample goes with backup verify")),
        [l, name] if l == "list" => list(x.c, name),
        [src, name] => {
            // Ctrl-C (SIGTERM, SIGHUP) says what it leaves, as a tree
            // upload's does, and ends the run even where tf was started
            // with SIGINT ignored (a script's background job)
            super::safe::interrupt_leaves("no snapshot is made; the next backup takes over what this one sent");
            let told = super::tree::Told::new(x.cfg, None);
            return Ok(match backup::make(x.c, x.cfg, src, name, &told) {
                Ok(m) => {
                    for n in &m.notes {
                        eprintln!("tf: {n}");
                    }
                    let n = m.counts;
                    println!(
                        "{} {} files: {} new, {} changed, {} unmodified; {} bytes added",
                        shown(m.snapshot.as_bytes()),
                        m.files,
                        n.new,
                        n.changed,
                        n.unmodified,
                        n.added
                    );
                    ExitCode::SUCCESS
                }
                Err(f) => failed(f, x.cfg),
            });
        }
        _ => return Err(super::row::Failure::Usage),
    };
    Ok(code.unwrap_or_else(|e| {
        super::explain::session_error(&e, x.cfg).print();
        ExitCode::from(Exit::Error)
    }))
}

/// The keep rules given: each with its N.
fn rules(g: &Given) -> Vec<(Rule, u64)> {
    [
        ("--keep-last", Rule::Last),
        ("--keep-daily", Rule::Daily),
        ("--keep-weekly", Rule::Weekly),
        ("--keep-monthly", Rule::Monthly),
    ]
    .into_iter()
    .filter_map(|(o, r)| g.num(o).map(|n| (r, n)))
    .collect()
}

/// `tf backup prune NAME --keep-* N [--dry-run]`: each snapshot's fate, a
/// line each.
fn prune(x: &mut Ctx<'_>, name: &str, g: &Given) -> ExitCode {
    let rules = rules(g);
    if rules.is_empty() {
        return say("backup prune needs at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly");
    }
    let fates = match backup::prune::prune(x.c, x.cfg, name, &rules, g.flag("--dry-run")) {
        Ok(f) => f,
        Err(f) => return failed(f, x.cfg),
    };
    let mut code = ExitCode::SUCCESS;
    for (s, fate) in fates {
        let s = shown(s.as_bytes());
        match fate {
            Fate::Kept => println!("keep {s}"),
            Fate::WouldGo => println!("would remove {s}"),
            Fate::Removed => println!("removed {s}"),
            Fate::NotRemoved => {
                eprintln!("tf: {s} could not be removed");
                code = ExitCode::from(Exit::Error);
            }
        }
    }
    code
}

/// `tf backup verify NAME[@SNAPSHOT] [--sample PERCENT]`: each file not
/// held as backed up named, then the outcome in one line.
fn verify(x: &mut Ctx<'_>, what: &str, sample: Option<u64>) -> ExitCode {
    let (name, snap) = split_at(what);
    let v = match backup::verify::verify(x.c, x.cfg, name, snap.as_deref(), sample.map(|n| n as f64)) {
        Ok(v) => v,
        Err(f) => return failed(f, x.cfg),
    };
    if let Some(w) = v.strength.warning(&v.label) {
        eprintln!("tf: {w}");
    }
    for (path, why) in &v.bad {
        eprintln!("tf: {}: {} {why}", v.label, shown(path));
    }
    if !v.ok() {
        return say(format!(
            "{}: {} of {} files are not held as they were backed up",
            v.label,
            v.bad.len(),
            v.files
        ));
    }
    println!(
        "{}: {} files held as backed up ({})",
        v.label,
        v.files,
        v.strength.words()
    );
    ExitCode::SUCCESS
}

/// `tf backup list NAME`: each complete snapshot, its files and bytes, and
/// the bytes it added to the server's disk.
fn list(c: &mut tfp_client::Client, name: &str) -> Result<ExitCode, tfp_client::Error> {
    for l in backup::list(c, name)? {
        match (l.held, l.added) {
            (Ok((files, bytes)), Some(added)) => println!(
                "{}\t{files} files\t{bytes} bytes\t{added} bytes added",
                shown(l.snapshot.as_bytes())
            ),
            (Ok((files, bytes)), None) => println!("{}\t{files} files\t{bytes} bytes", shown(l.snapshot.as_bytes())),
            (Err(m), _) => eprintln!("tf: {m}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tf restore NAME[@SNAP] [PATH...] DEST`.
pub fn restore(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let [what, rest @ .., dest] = args else {
        return Err(super::row::Failure::Usage);
    };
    let told = super::tree::Told::new(x.cfg, None);
    Ok(match backup::restore(x.c, x.cfg, what, rest, dest, &told) {
        Ok(r) => {
            for m in &r.missing {
                eprintln!("tf: {m}");
            }
            for w in &r.mismatched {
                eprintln!("tf: {} does not match the snapshot's index", shown(w.as_bytes()));
            }
            if r.ok() {
                let of = |n: u64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
                println!(
                    "restored {} ({}) of {}@{} into {}",
                    of(r.files as u64, "file"),
                    of(r.bytes, "byte"),
                    shown(split_at(what).0.as_bytes()),
                    shown(r.snapshot.as_bytes()),
                    shown(dest.as_bytes())
                );
                ExitCode::SUCCESS
            } else {
                ExitCode::from(Exit::Error)
            }
        }
        Err(f) => failed(f, x.cfg),
    })
}
