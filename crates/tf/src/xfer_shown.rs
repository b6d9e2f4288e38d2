//! What a single `put`/`get` shows with `-n`, `-i` or `--json`: the item
//! of its one file (compared by size and mtime with what is at the target,
//! as rsync's `-i` says it), told before it moves; with `-n` nothing moves;
//! then the summary line (or `--json`'s object), as a tree run's. The
//! transfer itself is the one without them (xfer.rs, whose route the
//! engine alone chooses), so `--streams`, `--resume` and `--verify` go with
//! them.

use super::ctx::Ctx;
use super::exit::Exit;
use super::formats::{bytes, Units::Iec};
use super::items::{json_summary, Show};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use tf::options::commands::{self, Family};
use tfp_client::engine::item::{Action, Item};
use tfp_client::remote::listing::{self, Kind, Stat};
use tfp_client::tree::itemize::{file, lstated, stated};
use tfp_client::{escape, Client};

/// What the words of a one-file transfer ask to be shown.
pub(super) struct Shown {
    show: Show,
    dry: bool,
    /// `--parents`: a missing remote directory is made, not a failure.
    parents: bool,
}

/// What a one-file transfer's words ask of its output.
pub(super) enum Wanted {
    /// Nothing shown: the transfer alone (words that do not parse too:
    /// the transfer says what is wrong).
    Plain,
    /// Shown as it says.
    Shown(Shown),
    /// Given to a command other than put and get of a file: why not.
    Refused(String),
}

/// What `cmd`'s words ask shown.
pub(super) fn wanted(cmd: &str, args: &[String]) -> Wanted {
    let Ok(g) = commands::parse(Family::Transfer, args) else {
        return Wanted::Plain;
    };
    let (dry, show) = (g.flag("-n"), Show::of(&g, true));
    if !dry && show == Show::Quiet {
        return Wanted::Plain;
    }
    if !matches!(cmd, "put" | "get") || g.positional.iter().any(|p| p == "-") {
        return Wanted::Refused(format!(
            "{cmd}: -n, -i and --json are for put and get of a file (not -)"
        ));
    }
    let parents = g.flag("--parents");
    Wanted::Shown(Shown { show, dry, parents })
}

/// A failure before anything moved: the exit status and what to say.
type Failed = (Exit, String);

/// Runs the transfer `body` as `s` shows it: the item first (with `-n`
/// alone), the summary after.
pub(super) fn run(
    x: &mut Ctx<'_>,
    (cmd, ends): (&str, (&str, &str)),
    s: Shown,
    body: impl FnOnce(&mut Ctx<'_>) -> ExitCode,
) -> ExitCode {
    let began = Instant::now();
    let looked = if cmd == "put" {
        look_put(x.c, ends, s.parents)
    } else {
        look_get(x.c, ends)
    };
    let (item, size) = match looked {
        Ok(found) => found,
        Err((code, text)) => {
            let text = escape::shown_text(&text);
            eprintln!("tf: {text}");
            s.show.failed(&text);
            summary(&s, cmd, (0, 0, 1, 0), began);
            return ExitCode::from(code);
        }
    };
    let items = u64::from(item.is_some());
    if let Some(i) = &item {
        s.show.item(i);
    }
    if s.dry {
        summary(&s, cmd, (0, items, 0, 0), began);
        return ExitCode::SUCCESS;
    }
    let code = body(x);
    let done = u64::from(code == ExitCode::SUCCESS);
    summary(&s, cmd, (done, items, 1 - done, size * done), began);
    code
}

/// A file the selection options leave as it is (`line` says why): no
/// item, nothing transferred, as a tree run tells its files so left (the
/// line on stderr, where `--json` keeps stdout its own).
pub(super) fn skipped(s: &Shown, cmd: &str, line: &str) -> ExitCode {
    let began = Instant::now();
    eprintln!("tf: {cmd}: {line}");
    summary(s, cmd, (0, 0, 0, 0), began);
    ExitCode::SUCCESS
}

/// Prints the summary of (transferred, items, failed, bytes), as a tree
/// run's says it.
fn summary(s: &Shown, cmd: &str, (moved, items, failed, size): (u64, u64, u64, u64), began: Instant) {
    let seconds = began.elapsed().as_secs_f64();
    if s.show == Show::Json {
        let counts = [
            ("transferred", moved),
            ("items", items),
            ("skipped", 0),
            ("failed", failed),
            ("bytes", size),
        ];
        println!("{}", json_summary(cmd, s.dry, &counts, seconds));
    } else if s.dry {
        println!("{cmd}: {items} to change, 0 skipped, {failed} failed (dry run: nothing changed)");
    } else {
        println!(
            "{cmd}: {moved} transferred, 0 skipped, {failed} failed ({} in {seconds:.1} s)",
            bytes(size as f64, Iec)
        );
    }
}

/// The last component of a path.
fn last(p: &[u8]) -> &[u8] {
    let p = p.strip_suffix(b"/").unwrap_or(p);
    p.rsplit(|&b| b == b'/').next().unwrap_or(p)
}

/// What FSTAT says of `path`: `None` when nothing is there; a session's
/// failure is one.
fn stat_of(c: &mut Client, path: &[u8]) -> Result<Option<Stat>, Failed> {
    match listing::fstat(c, path) {
        Ok(st) => Ok(Some(st)),
        Err(e) if listing::session_failed(&e) => Err((Exit::Error, e.to_string())),
        Err(_) => Ok(None),
    }
}

/// `put`: the local file and what the server has where it goes (into a
/// remote directory under its own name); a missing remote directory fails
/// as the upload would (unless `--parents` makes it).
fn look_put(c: &mut Client, (local, remote): (&str, &str), parents: bool) -> Result<(Option<Item>, u64), Failed> {
    let m = std::fs::metadata(local).map_err(|e| (Exit::Error, format!("put: {local}: {e}")))?;
    if !m.is_file() {
        return Err((Exit::Error, format!("put: {local}: not a regular file")));
    }
    let ours = stated(Kind::File, m.len(), m.mtime());
    let mut target = remote.trim_end_matches('/').as_bytes().to_vec();
    let mut theirs = stat_of(c, &target)?;
    if theirs.is_some_and(|st| st.kind == Kind::Dir) || target.is_empty() {
        let name = Path::new(local).file_name().map(|n| n.as_bytes()).unwrap_or_default();
        target = tfp_client::tree::names::rjoin(&target, name);
        theirs = stat_of(c, &target)?;
    }
    if theirs.is_none() && !parents {
        if let Some(i) = target.iter().rposition(|&b| b == b'/').filter(|&i| i > 0) {
            let dir = &target[..i];
            if !stat_of(c, dir)?.is_some_and(|st| st.kind == Kind::Dir) {
                let shown = escape::shown(dir);
                return Err((Exit::Refused, format!("put: {shown}: no such directory on the server")));
            }
        }
    }
    let theirs = theirs.map(|st| stated(st.kind, st.size, st.mtime));
    let item = file(last(&target), Action::Send, &ours, theirs.as_ref());
    Ok((Some(item), m.len()))
}

/// `get`: the server's file and what is here where it lands (into a local
/// directory under its own name); a missing local directory fails as the
/// download would.
fn look_get(c: &mut Client, (remote, local): (&str, &str)) -> Result<(Option<Item>, u64), Failed> {
    let shown = escape::shown_str(remote);
    let Some(st) = stat_of(c, remote.as_bytes())? else {
        return Err((Exit::Refused, format!("get: {shown}: no such file on the server")));
    };
    if st.kind != Kind::File {
        return Err((Exit::Refused, format!("get: {shown}: not a regular file on the server")));
    }
    let mut target = PathBuf::from(local);
    if target.is_dir() {
        target = target.join(std::ffi::OsStr::from_bytes(last(remote.as_bytes())));
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err((Exit::Error, format!("get: {}: no such directory", parent.display())));
    }
    let name = target.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    let theirs = stated(Kind::File, st.size, st.mtime);
    let item = file(&name, Action::Receive, &theirs, lstated(&target).as_ref());
    Ok((Some(item), st.size))
}
