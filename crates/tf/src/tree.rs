//! `put -r` and `get -r`: whole trees and many files (and glob patterns) over
//! a pool of sessions opened once, with rsync's rule for the destination
//! (`src` lands as DEST/src, `src/` its contents in DEST).
//! The runs are the library's (tfp_client::tree::copy, and ::mirror for
//! `tf mirror`); this is the command line around them: the options, what the
//! runs tell printed on stderr with a progress bar, the exit status.

use super::exit::Exit;
use super::explain;
use super::formats::{bytes, Units::Iec};
use super::items::Show;
use super::progress::Bar;
use super::reply::fail;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tf::options::commands::select::{filter_of, select_of, Unusable};
use tf::options::commands::{self, Family, ParseError};
use tfp_client::engine::events::{Events, Fault, Progress, Report};
use tfp_client::engine::item::Item;
use tfp_client::engine::opening::Opening;
use tfp_client::escape;
use tfp_client::temporaries;
use tfp_client::tree::glob;
use tfp_client::tree::options::{Options, DEFAULT_JOBS};
use tfp_client::tree::sync::Keeps;
use tfp_client::tree::{copy, copy_down};
use tfp_client::{ClientConfig, Error};
use tfp_wire::compress::Choice;

/// The other sessions of `tf put -r`/`get -r` given on the command line,
/// started before tf's own session is opened so that their handshakes run
/// beside its own rather than after it (nothing for any other command, a
/// `put -r` of no local directory, or Fast Access, whose sessions enter one
/// after the other).
pub fn opening(cmd: &str, args: &[String], cfg: &ClientConfig, fai: bool) -> Opening {
    let upload = match cmd {
        "put" => true,
        "get" => false,
        _ => return Opening::default(),
    };
    if fai || !wanted(args) {
        return Opening::default();
    }
    // the rule files and lists are read by the run (`-` is stdin, read once)
    let Ok(o) = parse(cmd, args, false) else {
        return Opening::default();
    };
    let dirs = !upload
        || o.sources.iter().filter(|s| !glob::has_magic(s.as_bytes())).any(|s| {
            std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(&glob::unescape(s.as_bytes())))
                .is_ok_and(|m| m.is_dir())
        });
    // with --backup the pool opens once the server's setting is known
    if !o.run.recursive || !dirs || o.run.backup.is_some() {
        return Opening::default();
    }
    Opening::start(cfg, o.run.jobs)
}

/// Whether `put`/`get` with `args` is a tree command: `-r`, `--jobs`, more
/// than one source, or a source with a wildcard or an escape.
pub fn wanted(args: &[String]) -> bool {
    let mut pos: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" => pos.extend(it.by_ref().map(String::as_str)),
            "-r" | "-p" | "-a" | "--archive" | "-S" | "--sparse" | "-X" | "--xattrs" | "-A" | "--acls" | "-H"
            | "--hard-links" | "-L" | "--copy-links" | "--jobs" | "--exclude" | "--include" => return true,
            "-o" | "--owner" | "-g" | "--group" | "-l" | "--links" | "--checksum" | "--safe-links" => return true,
            "--exclude-from" | "--include-from" | "--filter" | "--files-from" => return true,
            s if commands::takes_value(Family::Transfer, s) => {
                it.next();
            }
            s if s.starts_with("--") || commands::is_short_option(Family::Transfer, s) => {}
            s => pos.push(s),
        }
    }
    // an escaped wildcard is for the pattern rules too: it names the literal file
    let patterned = |s: &&str| glob::has_magic(s.as_bytes()) || glob::unescape(s.as_bytes()) != s.as_bytes();
    pos.len() > 2 || pos.iter().rev().skip(1).any(patterned) || lone_pattern(&pos).is_some()
}

/// The one source of `get 'd/*.txt'` or `put '*.txt'`, a pattern without a
/// destination, as sftp's `get *.txt`: its files land in the current
/// directory (get's local one; put's is the served root, as in tf shell).
fn lone_pattern<'a>(pos: &[&'a str]) -> Option<&'a str> {
    match pos {
        [only] if glob::has_magic(only.as_bytes()) => Some(only),
        _ => None,
    }
}

struct Opts {
    run: Options,
    /// `-z`, `--compress[=LEVEL]`, `--no-compress` (batches both ways),
    /// else the session's `--compression`.
    compress: Option<Choice>,
    /// `-S`: holes neither sent nor fetched (the run's config).
    sparse: bool,
    /// `-X`: extended attributes kept (the run's config).
    xattrs: bool,
    /// `-A`: POSIX ACLs kept (the run's config).
    acls: bool,
    sources: Vec<String>,
    dest: String,
    /// `-i`, `--json` (or `-n`'s items).
    show: Show,
}

/// Why the words of `put -r`/`get -r` are no good: the command, and what,
/// and whether `-r` was typed (a refusal names the command as typed).
#[derive(Debug)]
struct Usage<'a>(&'a str, Wrong, bool);

/// What is wrong with a tree command's words.
#[derive(Debug)]
enum Wrong {
    /// The option table refused a word.
    Parse(ParseError),
    /// `--resume` on another command than get.
    Resume,
    /// No source or no destination.
    Operands,
    /// `-` (stdin/stdout) among them.
    Stdio,
}

impl std::fmt::Display for Usage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cmd = self.0;
        let typed = if self.2 { " -r" } else { "" };
        match &self.1 {
            Wrong::Parse(ParseError::Unknown(s)) => {
                write!(
                    f,
                    "{s} is not an option of {cmd}{typed} (tf help {cmd} lists its options)"
                )
            }
            Wrong::Parse(ParseError::Bad(m)) => f.write_str(m),
            Wrong::Resume => write!(f, "{cmd}: --resume with several files is for get -r"),
            Wrong::Operands => write!(
                f,
                "usage: tf ... {cmd} -r [--jobs N] {}",
                if cmd == "put" {
                    "LOCAL... REMOTE"
                } else {
                    "REMOTE... LOCAL"
                }
            ),
            Wrong::Stdio => write!(f, "{cmd}: - (stdin/stdout) moves one file: use {cmd} without -r"),
        }
    }
}

/// The words of `put -r`/`get -r`; with `read`, the rule files and the
/// `--files-from` list read too (else the filter is left empty).
fn parse<'a>(cmd: &'a str, args: &[String], read: bool) -> Result<Opts, Usage<'a>> {
    let r = args.iter().take_while(|a| *a != "--").any(|a| a == "-r");
    let wrong = |w| Usage(cmd, w, r);
    let g = commands::parse(Family::Tree, args).map_err(|e| wrong(Wrong::Parse(e)))?;
    let (recursive, jobs) = (g.flag("-r"), g.num("--jobs").map_or(DEFAULT_JOBS, |n| n as usize));
    let resume = g.flag("--resume");
    let preserve = g.flag("-p");
    let compress = g.compress().map_err(|e| wrong(Wrong::Parse(e)))?;
    let copy_links = g.flag("-L");
    let archive = g.flag("-a");
    let mut keeps = tree_keeps(cmd, &g, archive);
    if resume && cmd != "get" {
        return Err(wrong(Wrong::Resume));
    }
    let bad = |e: Unusable| wrong(Wrong::Parse(ParseError::Bad(e.0)));
    // --files-from: the source directory's contents, as rsync's --relative
    let listed = g.text("--files-from").is_some();
    let filter = if read {
        filter_of(&g, recursive).map_err(bad)?
    } else {
        Default::default()
    };
    let select = select_of(&g).map_err(bad)?;
    let show = Show::of(&g, true);
    let dry_run = g.flag("-n");
    let (backup, remove_source) = (g.backup(), g.flag("--remove-source-files"));
    if let Some(Err(m)) = backup.as_ref().map(|w| w.check()) {
        return Err(wrong(Wrong::Parse(ParseError::Bad(m))));
    }
    let (sparse, xattrs, acls) = (g.flag("-S"), g.flag("-X"), g.flag("-A"));
    if xattrs && !archive {
        let m = format!("{cmd}: -X keeps extended attributes with -a (a tree's copy as rsync -aX makes it)");
        return Err(wrong(Wrong::Parse(ParseError::Bad(m))));
    }
    if acls && !archive {
        let m = format!("{cmd}: -A keeps ACLs with -a (a tree's copy as rsync -aA makes it)");
        return Err(wrong(Wrong::Parse(ParseError::Bad(m))));
    }
    let (hardlinks, checksum) = (g.flag("-H"), g.flag("--checksum"));
    if hardlinks && !archive {
        let m = format!("{cmd}: -H keeps hard links with -a (a tree's copy as rsync -aH makes it)");
        return Err(wrong(Wrong::Parse(ParseError::Bad(m))));
    }
    // -p keeps modes and mtimes as cp -p does, a directory's too: the tree
    // goes through the plan as -a's does, keeping those alone
    let tree_kept = keeps.is_some();
    if preserve && keeps.is_none() {
        keeps = Some(Keeps {
            attrs: true,
            ..Keeps::default()
        });
    }
    let mut pos = g.positional;
    let lone = lone_pattern(&pos.iter().map(String::as_str).collect::<Vec<_>>()).is_some();
    if lone {
        // "" is the served root, as tf shell's put at its root says it
        pos.push(if cmd == "get" { "." } else { "" }.to_string());
    }
    let Some(dest) = pos.pop().filter(|_| !pos.is_empty()) else {
        return Err(wrong(Wrong::Operands));
    };
    if pos.iter().any(|s| s == "-") || dest == "-" {
        return Err(wrong(Wrong::Stdio));
    }
    let run = Options {
        recursive: recursive || tree_kept || listed,
        resume,
        filter,
        jobs,
        fai: false,
        contents: listed,
        preserve,
        keeps,
        copy_links,
        checksum,
        opening: Default::default(),
        select,
        dry_run,
        itemize: show != Show::Quiet,
        backup,
        remove_source,
        // a drawn line's whole: every file's size from the first listing
        sized: super::progress::drawn(),
    };
    Ok(Opts {
        run,
        compress,
        sparse,
        xattrs,
        acls,
        sources: pos,
        dest,
        show,
    })
}

/// What a tree run keeps beyond files and directories, as rsync's letters
/// ask it: `-a` (`-rlptgoD`, with `-H`), or `-l` (symlinks) and `-o`/`-g`
/// (owners) alone, which keep no mode or mtime unless `-p` asks them (rsync
/// -r -l and -r -o keep none); `--safe-links` with them. `None`: files and
/// directories alone.
fn tree_keeps(cmd: &str, g: &commands::Given, archive: bool) -> Option<Keeps> {
    let (links, owners) = (g.flag("-l"), g.flag("-o") || g.flag("-g"));
    let mut keeps = if archive {
        Keeps::archive_for(cmd == "put")
    } else if links || owners {
        Keeps {
            attrs: g.flag("-p"),
            ..Keeps::default()
        }
    } else {
        return None;
    };
    keeps.links |= links;
    keeps.owners |= owners;
    keeps.safe_links = g.flag("--safe-links");
    keeps.hardlinks = archive && g.flag("-H");
    Some(keeps)
}

/// The exit status of a run: 1 if anything failed here, 2 if the server
/// refused anything, 0 otherwise.
pub(super) fn code(r: &Report) -> ExitCode {
    if r.local > 0 {
        ExitCode::from(Exit::Error)
    } else if r.refused > 0 {
        ExitCode::from(Exit::Refused)
    } else {
        ExitCode::SUCCESS
    }
}

/// A tree run's progress bar: files done out of all and bytes moved; where
/// the plan knew every size, as rsync's `--info=progress2` says it: the
/// bytes of the whole, the share done, the rate and the time left.
fn tree_bar(total: usize, p: &Arc<Progress>) -> Bar {
    let q = p.clone();
    Bar::start(move |secs| {
        let b = q.moved() as f64;
        let rate = b / secs;
        let whole = q.total() as f64;
        if whole > 0.0 {
            let pct = (b / whole * 100.0).min(100.0);
            let eta = super::progress::eta((whole - b).max(0.0), rate);
            return format!(
                "{} of {}  {pct:3.0}%  {}/s  {eta}  {}/{total} files   ",
                bytes(b, Iec),
                bytes(whole, Iec),
                bytes(rate, Iec),
                q.files()
            );
        }
        format!(
            "{}/{total} files  {}  {}/s   ",
            q.files(),
            bytes(b, Iec),
            bytes(rate, Iec)
        )
    })
}

/// What a tree run tells, printed: failures and notes on stderr as
/// `tf: ...`, the pool's session error explained, a progress bar on a
/// terminal. With `interrupted` set (downloads) a signal while files move
/// removes their temporaries and says the sentence after the partials kept.
pub(super) struct Told<'a> {
    cfg: &'a ClientConfig,
    interrupted: Option<String>,
    bar: Mutex<Option<Bar>>,
    note: Mutex<Option<u64>>,
    /// How the server ended a session, once asked ([`Events::session_error`]).
    ended: Mutex<Option<String>>,
    /// When the run began, and the counters of its transfers: the summary.
    began: Instant,
    moved: Mutex<Vec<Arc<Progress>>>,
    /// What is printed of the items, and how many were told.
    show: Show,
    items: std::sync::atomic::AtomicU64,
    /// `-v`: the details are said ([`Events::detail`]), each once.
    details: Option<Mutex<Vec<String>>>,
}

impl<'a> Told<'a> {
    pub(super) fn new(cfg: &'a ClientConfig, interrupted: Option<String>) -> Self {
        Told {
            cfg,
            interrupted,
            bar: Mutex::new(None),
            note: Mutex::new(None),
            ended: Mutex::new(None),
            began: Instant::now(),
            moved: Mutex::new(Vec::new()),
            show: Show::Quiet,
            items: Default::default(),
            details: None,
        }
    }

    /// Says the details (`-v`) when `verbose`.
    pub(super) fn verbose(mut self, verbose: bool) -> Self {
        self.details = verbose.then(Default::default);
        self
    }

    /// Prints the items as `show` says.
    pub(super) fn showing(mut self, show: Show) -> Self {
        self.show = show;
        self
    }

    /// Whether the items were printed (`-i`, `--json`).
    pub(super) fn itemized(&self) -> bool {
        self.show != Show::Quiet
    }

    /// Seconds since the run began.
    pub(super) fn seconds(&self) -> f64 {
        self.began.elapsed().as_secs_f64()
    }

    /// Whether the summary is `--json`'s object.
    pub(super) fn json(&self) -> bool {
        self.show == Show::Json
    }
}

impl Events for Told<'_> {
    fn failed(&self, _fault: Fault, text: &str) {
        super::progress::say(&format!("tf: {}", escape::shown_text(text)));
        self.show.failed(&escape::shown_text(text));
    }

    fn item(&self, item: &Item) {
        self.items.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.show.item(item);
    }

    fn note(&self, text: &str) {
        super::progress::note(&escape::shown_text(text));
    }

    fn detail(&self, text: &str) {
        // once a run: each directory of a tree run asks its own
        let Some(said) = &self.details else { return };
        let mut said = said.lock().unwrap_or_else(|p| p.into_inner());
        if !said.iter().any(|s| s == text) {
            said.push(text.to_string());
            super::progress::note(&escape::shown_text(text));
        }
    }

    fn verified(&self, sha256: &str) {
        super::progress::verified(&escape::shown_str(sha256));
    }

    fn pool_failed(&self, e: &Error) {
        explain::session_error(e, self.cfg).print();
    }

    /// As a single transfer words it: a session the server ended is named
    /// by what its port says now (asked once a run), not by the stream.
    fn session_error(&self, e: &Error) -> String {
        let mut said = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = said.as_ref() {
            return s.clone();
        }
        let what = explain::session_error(e, self.cfg).what;
        if super::ended::is_end(e) {
            *said = Some(what.clone());
        }
        what
    }

    fn transferring(&self, total: usize, progress: &Arc<Progress>) {
        if let Some(how) = &self.interrupted {
            super::safe::clean_on_signals();
            // said by the signal thread too, after the partials it names
            let id = temporaries::note_continue(how.clone());
            *self.note.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
        }
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = Some(tree_bar(total, progress));
        self.moved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(progress.clone());
    }

    fn transferred(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish();
        }
        if let Some(id) = self.note.lock().unwrap_or_else(|p| p.into_inner()).take() {
            temporaries::drop_note(id);
        }
    }
}

impl Told<'_> {
    /// The run's summary line, as mirror prints one: files moved, left out
    /// on purpose and failed, and the bytes this run moved of the files that
    /// landed, in how long.
    pub(super) fn summary(&self, cmd: &str, r: &Report, dry_run: bool) -> String {
        let bytes: u64 = self
            .moved
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|p| p.landed())
            .sum();
        let failed = (r.local + r.refused) as u64;
        let seconds = self.began.elapsed().as_secs_f64();
        let items = self.items.load(std::sync::atomic::Ordering::Relaxed);
        if self.json() {
            let counts = [
                ("transferred", r.transferred as u64),
                ("items", items),
                ("skipped", r.skipped as u64),
                ("failed", failed),
                ("bytes", bytes),
            ];
            return super::items::json_summary(cmd, dry_run, &counts, seconds);
        }
        if dry_run {
            return format!(
                "{cmd}: {items} to change, {} skipped, {failed} failed (dry run: nothing changed)",
                r.skipped
            );
        }
        format!(
            "{cmd}: {} transferred, {} skipped, {} failed ({} in {:.1} s)",
            r.transferred,
            r.skipped,
            r.local + r.refused,
            super::formats::bytes(bytes as f64, Iec),
            self.began.elapsed().as_secs_f64()
        )
    }
}

/// Says which partials a run kept and `how` to continue them.
pub(super) fn tell_kept(r: &Report, how: &str) {
    if r.kept.is_empty() {
        return;
    }
    for (p, bytes) in &r.kept {
        eprintln!("tf: {bytes} bytes kept in {}", escape::shown(p.as_os_str().as_bytes()));
    }
    eprintln!("tf: {} partial download(s) kept; {how}", r.kept.len());
}

/// `put` or `get` as a tree command. A run says, if interrupted, the command
/// that continues it: the same command, which lands where it did by rsync's
/// rule for the destination.
pub fn run(x: &mut super::ctx::Ctx<'_>, cmd: &str, args: &[String]) -> ExitCode {
    let mut o = match parse(cmd, args, true) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    // the summary line says how many tries the run took (JSON's object not)
    let after = if o.show == Show::Json {
        String::new()
    } else {
        super::retry::told(x.tries)
    };
    let mut own = x.cfg.clone();
    own.compress = o.compress.unwrap_or(own.compress);
    own.sparse = o.sparse;
    own.xattrs = o.xattrs;
    own.acls = o.acls;
    let (c, cfg) = (&mut *x.c, &own);
    o.run.fai = x.fai;
    o.run.opening = std::mem::take(&mut x.opening);
    let dry = o.run.dry_run;
    if dry {
        // nothing to continue, nothing to record
        let told = Told::new(cfg, None).showing(o.show).verbose(x.verbose);
        let r = if cmd == "put" {
            copy::put(c, cfg, &o.sources, &o.dest, &o.run, &told)
        } else {
            copy_down::get(c, cfg, &o.sources, &o.dest, &o.run, &told)
        };
        return ended(r.map(|r| (told.summary(cmd, &r, true), r)), cfg, &after);
    }
    let mut again: Vec<&str> = vec![cmd];
    again.extend(args.iter().map(String::as_str).filter(|a| *a != "--resume"));
    if cmd == "get" {
        again.push("--resume");
    }
    let again = x.invoked.command(&again);
    let r = if cmd == "put" {
        super::safe::interrupt_leaves("each remote file is the old or the new one, whole");
        let how = format!("{again} continues");
        let told = Told::new(cfg, Some(how)).showing(o.show).verbose(x.verbose);
        let r = copy::put(c, cfg, &o.sources, &o.dest, &o.run, &told);
        r.map(|r| (told.summary(cmd, &r, false), r))
    } else {
        let how = format!("{again} continues them");
        let told = Told::new(cfg, Some(how.clone())).showing(o.show).verbose(x.verbose);
        let r = copy_down::get(c, cfg, &o.sources, &o.dest, &o.run, &told);
        if let Ok(r) = &r {
            tell_kept(r, &how);
        }
        r.map(|r| (told.summary(cmd, &r, false), r))
    };
    x.broken = r.as_ref().is_ok_and(|(_, r)| r.broken);
    // one local file put (-p, -a): as quiet as a plain put when it went well
    let one_file = cmd == "put"
        && o.show == Show::Quiet
        && matches!(o.sources.as_slice(), [s] if std::fs::metadata(s).is_ok_and(|m| m.is_file()));
    if let Ok((_, rep)) = &r {
        if one_file && rep.ok() {
            return code(rep);
        }
    }
    ended(r, cfg, &after)
}

/// The summary printed, `after` it, and the exit status of a run that `r`
/// ended.
fn ended(r: Result<(String, Report), Error>, cfg: &ClientConfig, after: &str) -> ExitCode {
    match r {
        Ok((summary, r)) => {
            println!("{summary}{after}");
            code(&r)
        }
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(Exit::Error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn tree_commands_are_told_apart_from_single_transfers() {
        assert!(wanted(&s(&["-r", "a", "b"])));
        assert!(wanted(&s(&["a", "b", "c"])));
        assert!(wanted(&s(&["*.log", "logs/"])));
        assert!(wanted(&s(&["d/s*.txt"])) && !wanted(&s(&["d/s.txt"])));
        assert!(wanted(&s(&["a", "b", "--jobs", "2"])));
        assert!(!wanted(&s(&["a", "b"])));
        assert!(!wanted(&s(&["a", "b", "--streams", "4"])));
        // a single file shown is still a single transfer (xfer_shown.rs)
        assert!(!wanted(&s(&["-n", "a", "b", "--streams", "4"])));
        assert!(!wanted(&s(&["a", "b", "-i", "--resume"])) && !wanted(&s(&["--json", "a", "b"])));
        assert!(wanted(&s(&["a\\*", "b"])));
        assert!(!wanted(&s(&["a", "b*"])));
    }
}
