//! `tf backup SRC NAME`, `tf backup list NAME`, `tf restore NAME[@SNAP]
//! [PATH...] DEST` (issue 69): snapshots with history on the server.
//!
//! A snapshot is the directory `NAME/<UTC time>` holding `tree/` (the copy
//! of SRC) and `index` (one line an entry, [`crate::snap_index`]). It is
//! made under `NAME/.part-<time>`: first every file unchanged since the
//! previous complete snapshot (size, mtime to the nanosecond, mode and
//! owners, the index's quick check) is linked to its copy there with TFDLINK (no data
//! crosses), then `tree/` is made a copy of SRC by the one engine's mirror
//! (`-a`'s fidelity, removing what SRC no longer has, so the linked files
//! are found the same and only the others travel), then the index is
//! written, last, and the directory renamed to its time: a name without the
//! leading dot is always a complete snapshot. An interrupted run leaves its
//! `.part-` directory, which the next run takes over (renamed to its own
//! time), so what it already holds is not sent again.

use super::ctx::Ctx;
use super::exit::Exit;
use super::row::{Cmd, Done};
use super::snap_index::{self, Entry};
use super::snap_proof::{self, Place};
use super::snap_prune;
use super::snap_remote::{read_index, snapshots, split_at};
use super::snap_verify;
use std::process::ExitCode;
use tf::options::commands::{self, Family};
use tfp_client::escape::shown;
use tfp_client::tree::mirror::{self, Options};
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::link::Link;
use tfp_wire::Status;

/// The leading name of a snapshot being made.
const PART: &str = ".part-";

fn say(m: impl std::fmt::Display) -> ExitCode {
    eprintln!("tf: {m}");
    ExitCode::from(Exit::Error)
}

/// `tf backup SRC NAME` and `tf backup list NAME`.
pub fn backup(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let g = match commands::parse(Family::Backup, args) {
        Ok(g) => g,
        Err(commands::ParseError::Unknown(o)) => return Ok(say(format!("backup: unknown option {o}"))),
        Err(commands::ParseError::Bad(m)) => return Ok(say(m)),
    };
    let code = match g.positional.as_slice() {
        [p, name] if p == "prune" => {
            snapshots(x.c, name).and_then(|(s, l)| snap_prune::run(x.c, x.cfg, name, &g, &s, &l))
        }
        _ if snap_prune::any(&g) => return Ok(say("--keep-* and --dry-run go with backup prune")),
        [v, what] if v == "verify" => {
            let (name, snap) = split_at(what);
            let sample = g.num("--sample").map(|n| n as f64);
            snap_verify::run(x.c, x.cfg, name, snap, sample)
        }
        _ if g.num("--sample").is_some() => return Ok(say("--sample goes with backup verify")),
        [l, name] if l == "list" => list(x.c, name),
        [_, name] if name.contains('@') => {
            return Ok(say(format!(
                "a backup's name cannot hold '@' ({}): NAME@SNAPSHOT names a snapshot",
                shown(name.as_bytes())
            )))
        }
        [src, name] => make(x.c, x.cfg, src, name),
        _ => return Err(super::row::Failure::Usage),
    };
    Ok(code.unwrap_or_else(|e| {
        super::explain::session_error(&e, x.cfg).print();
        ExitCode::from(Exit::Error)
    }))
}

/// A UTC time as a snapshot's name: `2026-11-28T061500.123Z`.
fn now_name() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let s = d.as_secs() as i64;
    let (y, m, day) = tfp_wire::date::civil_from_days(s.div_euclid(86400));
    let t = s.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}{:02}{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        d.subsec_millis()
    )
}

fn ok(st: Status) -> bool {
    matches!(st, Status::Ok(_))
}

fn make(c: &mut Client, cfg: &ClientConfig, src: &str, name: &str) -> Result<ExitCode, Error> {
    let src_dir = std::path::Path::new(src);
    if !src_dir.is_dir() {
        return Ok(say(format!("{} is not a directory", shown(src.as_bytes()))));
    }
    let mut at = String::new();
    for part in name.split('/').filter(|p| !p.is_empty()) {
        at = if at.is_empty() {
            part.to_string()
        } else {
            format!("{at}/{part}")
        };
        c.call("MKDIR", at.as_bytes())?;
    }
    let (done, parts) = snapshots(c, name)?;
    let time = now_name();
    let work = format!("{name}/{PART}{time}");
    // an interrupted run's part is taken over: what it holds is not sent again
    let taken = match parts.iter().find(|p| p.starts_with(PART)) {
        Some(p) => ok(c.call("RENAM", format!("{name}/{p} | {work}").as_bytes())?),
        None => false,
    };
    if !taken && !ok(c.call("MKDIR", work.as_bytes())?) {
        return Ok(say(format!(
            "{} could not be made on the server",
            shown(work.as_bytes())
        )));
    }
    c.call("MKDIR", format!("{work}/tree").as_bytes())?;
    c.call("DEL", format!("{work}/index").as_bytes())?;
    let keys = match snap_proof::new_keys() {
        Ok(k) => k,
        Err(e) => return Ok(say(format!("no random keys for the snapshot's proofs: {e}"))),
    };
    let scanned = match snap_index::scan(src_dir, &keys) {
        Ok(e) => e,
        Err(e) => return Ok(say(format!("{} could not be read: {e}", shown(src.as_bytes())))),
    };
    let entries = snap_verify::entries(&scanned);
    if let Some(prev) = done.last() {
        match read_index(c, &format!("{name}/{prev}/index")) {
            Ok(old) => link_unchanged(
                c,
                &format!("{name}/{prev}/tree"),
                &format!("{work}/tree"),
                &old,
                &entries,
            )?,
            Err(m) => eprintln!("tf: {m}; every file is sent"),
        }
    }
    let o = Options {
        upload: true,
        delete: true,
        ..Options::default()
    };
    let told = super::tree::Told::new(cfg, None);
    let r = mirror::mirror(c, cfg, &format!("{src}/"), &format!("{work}/tree"), &o, &told)?;
    if !r.report.ok() || r.summary.is_none() {
        return Ok(say(format!(
            "the snapshot is not complete (some files failed); {} stays for the next run",
            shown(work.as_bytes())
        )));
    }
    let text = snap_index::render(&entries);
    c.sndfile(format!("{work}/index").as_bytes(), true, &mut &text[..], &mut |_| {})?;
    // the proofs are kept before the snapshot shows: a complete snapshot
    // made here always has them
    let kept = Place::of(cfg, name, &time).and_then(|p| {
        p.store(&snap_verify::proofs(&keys, &scanned))
            .map_err(|e| format!("{}: {e}", tfp_client::escape::path(p.path())).into())
    });
    if let Err(m) = kept {
        eprintln!("tf: the snapshot's proofs could not be kept ({m}): backup verify will only compare SHA-256");
    }
    let fin = format!("{name}/{time}");
    if !ok(c.call("RENAM", format!("{work} | {fin}").as_bytes())?) {
        return Ok(say(format!(
            "{} could not be renamed into place",
            shown(work.as_bytes())
        )));
    }
    let files = entries.iter().filter(|e| e.kind == b'f').count();
    println!("{} {files} files", shown(fin.as_bytes()));
    Ok(ExitCode::SUCCESS)
}

/// Links each file of `now` that `old` has unchanged from `from` into `to`,
/// making the directories on the way (a link that cannot be made leaves the
/// file to the mirror, which sends it).
fn link_unchanged(c: &mut Client, from: &str, to: &str, old: &[Entry], now: &[Entry]) -> Result<(), Error> {
    let old: std::collections::HashMap<&[u8], &Entry> = old.iter().map(|e| (&e.path[..], e)).collect();
    for e in now {
        let path = String::from_utf8_lossy(&e.path);
        if e.kind == b'd' {
            c.call("MKDIR", format!("{to}/{path}").as_bytes())?;
            continue;
        }
        let same = old.get(&e.path[..]).is_some_and(|o| o.same_quick(e));
        if e.kind == b'f' && same {
            let l = Link {
                existing: format!("{from}/{path}").into_bytes(),
                new: format!("{to}/{path}").into_bytes(),
            };
            if let Some(line) = l.line() {
                c.command(&line)?;
            }
        }
    }
    Ok(())
}

/// `tf backup list NAME`: each complete snapshot, its files and bytes.
fn list(c: &mut Client, name: &str) -> Result<ExitCode, Error> {
    let (done, _) = snapshots(c, name)?;
    for s in done {
        match read_index(c, &format!("{name}/{s}/index")) {
            Ok(e) => {
                let files: Vec<_> = e.iter().filter(|e| e.kind == b'f').collect();
                let bytes: u64 = files.iter().map(|e| e.size).sum();
                println!("{}\t{} files\t{bytes} bytes", shown(s.as_bytes()), files.len());
            }
            Err(m) => eprintln!("tf: {m}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tf restore NAME[@SNAP] [PATH...] DEST`.
pub fn restore(x: &mut Ctx<'_>, _: &Cmd, args: &[String]) -> Done {
    let [what, rest @ .., dest] = args else {
        return Err(super::row::Failure::Usage);
    };
    let code = restore_run(x.c, x.cfg, what, rest, dest);
    Ok(code.unwrap_or_else(|e| {
        super::explain::session_error(&e, x.cfg).print();
        ExitCode::from(Exit::Error)
    }))
}

fn restore_run(
    c: &mut Client,
    cfg: &ClientConfig,
    what: &str,
    paths: &[String],
    dest: &str,
) -> Result<ExitCode, Error> {
    let (name, snap) = split_at(what);
    let (done, _) = snapshots(c, name)?;
    let Some(snap) = snap.or_else(|| done.last().cloned()) else {
        return Ok(say(format!("{} has no complete snapshot", shown(name.as_bytes()))));
    };
    if !done.contains(&snap) {
        return Ok(say(format!(
            "{} has no snapshot {}",
            shown(name.as_bytes()),
            shown(snap.as_bytes())
        )));
    }
    let index = match read_index(c, &format!("{name}/{snap}/index")) {
        Ok(i) => i,
        Err(m) => return Ok(say(m)),
    };
    let tree = format!("{name}/{snap}/tree");
    let wanted: Vec<String> = if paths.is_empty() {
        vec![String::new()]
    } else {
        paths.iter().map(|p| p.trim_matches('/').to_string()).collect()
    };
    let o = Options::default();
    let told = super::tree::Told::new(cfg, None);
    let mut bad = 0;
    for p in &wanted {
        let Some(e) = index
            .iter()
            .find(|e| e.path == p.as_bytes())
            .or(p.is_empty().then_some(&ROOT))
        else {
            bad += 1;
            eprintln!(
                "tf: {} is not in snapshot {}",
                shown(p.as_bytes()),
                shown(snap.as_bytes())
            );
            continue;
        };
        let (from, to) = (join(&tree, p), join(dest, p));
        if e.kind == b'd' {
            std::fs::create_dir_all(&to).map_err(Error::Local)?;
            let r = mirror::mirror(c, cfg, &format!("{from}/"), &to, &o, &told)?;
            bad += usize::from(!r.report.ok());
        } else {
            if let Some(parent) = std::path::Path::new(&to).parent() {
                std::fs::create_dir_all(parent).map_err(Error::Local)?;
            }
            let r = tfp_client::tree::copy_down::get(c, cfg, &[from], &to, &archive(), &told)?;
            bad += usize::from(!r.ok());
        }
    }
    let wrong = snap_index::check(std::path::Path::new(dest), &index, &wanted);
    for w in &wrong {
        eprintln!("tf: {} does not match the snapshot's index", shown(w.as_bytes()));
    }
    if bad + wrong.len() > 0 {
        return Ok(ExitCode::from(Exit::Error));
    }
    Ok(ExitCode::SUCCESS)
}

/// The whole snapshot: a directory at the root.
static ROOT: Entry = Entry {
    kind: b'd',
    size: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    mtime_ns: 0,
    sha256: None,
    path: Vec::new(),
};

fn archive() -> tfp_client::tree::options::Options {
    tfp_client::tree::options::Options {
        keeps: Some(tfp_client::tree::sync::Keeps::archive()),
        ..Default::default()
    }
}

fn join(a: &str, p: &str) -> String {
    if p.is_empty() {
        a.to_string()
    } else {
        format!("{}/{p}", a.trim_end_matches('/'))
    }
}
