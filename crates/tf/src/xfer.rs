//! tf's transfer subcommands: options, progress bar, resume, verification and
//! parallel streams.

use super::exit::Exit;
use super::explain::{self, Access};
use super::formats::{bytes, Units::Iec};
use super::progress::Bar;
use super::reply::{fail, report};
use super::safe;
use super::xfer_error::XferError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tf::options::commands::{self, Family, ParseError};
use tfp_client::engine::digest::sha256_file;
use tfp_client::engine::scratch::Scratch;
use tfp_client::engine::upload;
use tfp_client::engine::upload::Dest;
use tfp_client::engine::{download, fetch};
use tfp_client::{escape, temporaries, Client, ClientConfig, Error};
use tfp_wire::compress::Choice;
use tfp_wire::Status;

mod stream_get;
use stream_get::{fetch, Out};

/// The `map_err` for an I/O step on the local file `what`.
fn on(what: &str) -> impl FnOnce(io::Error) -> XferError + '_ {
    move |e| XferError::Local(what.into(), e)
}

#[derive(Default)]
struct Opts {
    offset: Option<u64>,
    resume: bool,
    streams: usize,
    bufsz: i64,
    verify: bool,
    overwrite: bool,
    delete: bool,
    parents: bool,
    whole_file: bool,
    no_whole_file: bool,
    /// `-z`, `--compress[=LEVEL]`, `--no-compress`, or the session's
    /// `--compression`.
    compress: Option<Choice>,
    positional: Vec<String>,
    /// This command again as tf prints it (with the connection options
    /// given), `--resume` added when `resumed`.
    again: String,
    resumed: String,
    /// What `put` learned of the destination before (into_dir.rs).
    dest: Dest,
    /// `--max-size`, `--min-size`, `--update`, `--ignore-existing`,
    /// `--existing` (xfer_select.rs).
    select: tfp_client::tree::select::Select,
    // backups and moves (issue 68)
    /// `-b`, `--backup-dir`, `--suffix` (put and get).
    backup: Option<tfp_client::engine::backup::Wanted>,
    /// `--remove-source-files` (put and get).
    remove_source: bool,
    /// Set when the transfer failed because a connection of it ended (its
    /// session's, or one of its `--streams` lanes'): `--retries` tries
    /// again then, as after a tree's pool session broke (retry.rs).
    broke: std::cell::Cell<bool>,
    /// `--retries` will run this command again if its connection breaks
    /// (retry.rs): then the command to continue is not printed, tf runs it.
    tried_again: bool,
}

fn parse(args: &[String]) -> Result<Opts, XferError> {
    let said = |e| match e {
        ParseError::Unknown(s) => XferError::Said(format!("unknown option {s}")),
        ParseError::Bad(m) => XferError::Said(m),
    };
    let g = commands::parse(Family::Transfer, args).map_err(said)?;
    let select = tf::options::commands::select::select_of(&g).map_err(|e| XferError::Said(e.0))?;
    let (backup, remove_source) = (g.backup(), g.flag("--remove-source-files"));
    let o = Opts {
        offset: g.num("--offset"),
        resume: g.flag("--resume"),
        streams: g.num("--streams").unwrap_or(1) as usize,
        bufsz: g.num("--bufsz").unwrap_or(4 << 20) as i64,
        verify: g.flag("--verify"),
        overwrite: g.flag("--overwrite"),
        delete: g.flag("--delete"),
        parents: g.flag("--parents"),
        whole_file: g.flag("--whole-file"),
        no_whole_file: g.flag("--no-whole-file"),
        compress: g.compress().map_err(said)?,
        positional: g.positional,
        again: String::new(),
        resumed: String::new(),
        dest: Dest::Known,
        select,
        backup,
        remove_source,
        broke: Default::default(),
        tried_again: false,
    };
    if let Some(Err(m)) = o.backup.as_ref().map(|w| w.check()) {
        return Err(XferError::Said(m));
    }
    if (o.backup.is_some() || o.remove_source) && o.offset.is_some() {
        return Err("--backup and --remove-source-files exclude --offset (a write in place keeps no old file)".into());
    }
    if o.positional.len() != 2 {
        return Err("needs a source and a destination".into());
    }
    if o.resume && o.offset.is_some() {
        return Err("--resume and --offset exclude each other".into());
    }
    Ok(o)
}

/// A transfer's progress bar (bytes, rate, ETA): `counter` of `total` bytes.
fn transfer_bar(total: u64, counter: Arc<AtomicU64>) -> Bar {
    told_bar(Arc::new(AtomicU64::new(total)), counter)
}

/// [`transfer_bar`] whose total is told as the transfer learns it.
fn told_bar(told: Arc<AtomicU64>, counter: Arc<AtomicU64>) -> Bar {
    Bar::start(move |secs| {
        let total = told.load(Ordering::Relaxed);
        let n = counter.load(Ordering::Relaxed);
        let rate = n as f64 / secs;
        let pct = if total > 0 {
            n as f64 * 100.0 / total as f64
        } else {
            100.0
        };
        let eta = if rate > 0.0 && total > n {
            (total - n) as f64 / rate
        } else {
            0.0
        };
        format!(
            "{pct:5.1}%  {} / {}  {}/s  ETA {eta:.0}s   ",
            bytes(n as f64, Iec),
            bytes(total as f64, Iec),
            bytes(rate, Iec),
        )
    })
}

/// Compares `here` (the local SHA-256 as `0x<hex>`) with the server's SHA256
/// of `remote`; `what` names the local side in the message.
fn verify(c: &mut Client, remote: &str, here: &str, what: &str) -> Result<bool, XferError> {
    match c.call("SHA256", remote.as_bytes())? {
        Status::Ok(d) if d == here.as_bytes() => {
            eprintln!("verified: SHA-256 {here}");
            Ok(true)
        }
        Status::Ok(d) => {
            eprintln!("MISMATCH: {what} {here}, server {}", tfp_client::escape::shown(&d));
            Ok(false)
        }
        other => Err(XferError::Sha256(other)),
    }
}

fn outcome(c: &mut Client, cmd: &str, remote: &str, st: Result<(), Status>) -> ExitCode {
    let access = if is_upload(cmd) { Access::Create } else { Access::Read };
    match st {
        Ok(()) => ExitCode::SUCCESS,
        Err(st) => report(c, cmd, &[(remote, access)], &st),
    }
}

fn is_upload(cmd: &str) -> bool {
    matches!(cmd, "put" | "sndfile" | "sup")
}

/// An upload's local source, checked before anything is sent to the server.
enum Source {
    /// `-`.
    Stdin,
    /// A regular file that opened for reading, and its size.
    File(u64),
}

fn open_source(local: &str) -> Result<Source, XferError> {
    if local == "-" {
        return Ok(Source::Stdin);
    }
    // stat first: opening a FIFO would block, and a directory opens fine
    let m = std::fs::metadata(local).map_err(on(local))?;
    if m.is_dir() {
        return Err(XferError::Said(format!(
            "{local}: is a directory; tf uploads one regular file"
        )));
    }
    if !m.is_file() {
        return Err(XferError::Said(format!(
            "{local}: is not a regular file (use - to upload from stdin)"
        )));
    }
    let f = File::open(local).map_err(on(local))?;
    let size = f.metadata().map_err(on(local))?.len();
    Ok(Source::File(size))
}

/// Runs one transfer subcommand. Uploads check their local source before the
/// server hears of them, and a failed one takes back the directories
/// `--parents` made for it.
pub fn run(x: &mut super::ctx::Ctx<'_>, cmd: &str, args: &[String]) -> ExitCode {
    run_put(x, cmd, args, Dest::Known)
}

/// [`run`] for a `put` whose destination `put` has looked at already; with
/// `-n`, `-i` or `--json`, shown as xfer_shown.rs says.
pub fn run_put(x: &mut super::ctx::Ctx<'_>, cmd: &str, args: &[String], dest: Dest) -> ExitCode {
    use super::xfer_shown::{wanted, Wanted};
    match wanted(cmd, args) {
        Wanted::Plain => run_plain(x, cmd, args, dest),
        Wanted::Shown(s) => match parse(args) {
            Ok(o) => {
                let ends = (o.positional[0].as_str(), o.positional[1].as_str());
                // a file the selection leaves is told as a tree run tells it
                if let Some(line) = super::xfer_select::skip(x.c, &o.select, cmd == "put", ends) {
                    return super::xfer_shown::skipped(&s, cmd, &line);
                }
                super::xfer_shown::run(x, (cmd, ends), s, |x| run_plain(x, cmd, args, dest))
            }
            Err(e) => fail(format!("{cmd}: {e}")),
        },
        Wanted::Refused(why) => fail(why),
    }
}

/// One transfer, as its words say.
fn run_plain(x: &mut super::ctx::Ctx<'_>, cmd: &str, args: &[String], dest: Dest) -> ExitCode {
    let (c, cfg) = (&mut *x.c, x.cfg);
    let mut o = match parse(args) {
        Ok(o) => o,
        Err(e) => return fail(format!("{cmd}: {e}")),
    };
    o.dest = dest;
    o.tried_again = x.tried_again;
    let mut words: Vec<&str> = vec![cmd];
    words.extend(args.iter().map(String::as_str).filter(|a| *a != "--resume"));
    o.again = x.invoked.command(&words);
    words.push("--resume");
    o.resumed = x.invoked.command(&words);
    let moving = o.backup.is_some() || o.remove_source;
    if moving && (!matches!(cmd, "put" | "get") || o.positional.iter().any(|p| p == "-")) {
        return fail(format!(
            "{cmd}: --backup and --remove-source-files are for put and get of a file (not -)"
        ));
    }
    if matches!(cmd, "put" | "get") {
        let ends = (o.positional[0].as_str(), o.positional[1].as_str());
        if let Some(line) = super::xfer_select::skip(c, &o.select, cmd == "put", ends) {
            println!("{cmd}: {line}");
            return ExitCode::SUCCESS;
        }
    }
    if !is_upload(cmd) {
        if o.parents {
            return fail(format!("{cmd}: --parents is for uploads (put, sndfile, sup)"));
        }
        let code = match download(c, cfg, cmd, &o) {
            Err(XferError::Client(Error::Mismatch(m))) => {
                eprintln!("tf: {m}");
                ExitCode::from(Exit::Mismatch)
            }
            r => r.unwrap_or_else(fail),
        };
        x.broken |= o.broke.get();
        return code;
    }
    // a name the server cannot store is refused before anything is sent
    if let Some(why) = tfp_client::tree::names::unstorable(o.positional[1].as_bytes()) {
        return fail(format!(
            "{cmd}: {}: {why}; nothing sent (give a remote name without it)",
            tfp_client::escape::shown_str(&o.positional[1])
        ));
    }
    if o.positional[0] == "-" {
        if let Some(code) = x.stdin.taken(cmd) {
            return code;
        }
    }
    if cmd == "put" && std::path::Path::new(&o.positional[0]).is_dir() {
        // what the user meant, said as the command that does it
        let mut words: Vec<&str> = vec![cmd, "-r"];
        words.extend(args.iter().map(String::as_str).filter(|a| *a != "--resume"));
        return fail(format!(
            "{cmd}: {}: is a directory; {} uploads it and all it holds",
            tfp_client::escape::shown_str(&o.positional[0]),
            x.invoked.command(&words)
        ));
    }
    let src = match open_source(&o.positional[0]) {
        Ok(s) => s,
        Err(e) => return fail(format!("{cmd}: {e}")),
    };
    if matches!(src, Source::Stdin) && (o.streams > 1 || o.resume || o.offset.is_some()) {
        return fail(format!(
            "{cmd}: - (stdin) is read once: no --resume, --offset or --streams"
        ));
    }
    let made = if o.parents {
        match super::xfer_parents::make(c, cfg, &o.positional[1]) {
            Ok(m) => m,
            Err(code) => return code,
        }
    } else {
        Vec::new()
    };
    let code = match moving {
        true => super::xfer_moves::put(c, cfg, &o.positional, o.backup.as_ref(), o.remove_source, |c, cfg| {
            upload(c, cfg, cmd, &o, src)
        }),
        false => upload(c, cfg, cmd, &o, src).unwrap_or_else(fail),
    };
    if code != ExitCode::SUCCESS && !made.is_empty() {
        super::xfer_parents::undo(c, &made);
    }
    // a lane's connection ended while tf's own session answers: retry.rs
    // reads it as a pool session's break
    x.broken |= o.broke.get();
    code
}

/// Uploads: the words said as an upload request, sent by the client
/// engine (tfp_client::engine::upload, which alone chooses the route), the
/// outcome told. `put` replaces the remote file whole; only `--resume`,
/// `--offset` and `--streams` against a server without stages write in
/// place.
fn upload(c: &mut Client, cfg: &ClientConfig, cmd: &str, o: &Opts, src: Source) -> Result<ExitCode, XferError> {
    let (local, remote) = (o.positional[0].as_str(), o.positional[1].as_str());
    let from_stdin = local == "-";
    let staged = cmd == "put" && o.offset.is_none() && (o.resume || o.streams > 1);
    if o.offset.is_some() {
        safe::interrupt_leaves("the remote file holds what was written before it");
    } else {
        safe::interrupt_leaves("the remote file is left as it was");
    }
    let _note = (!from_stdin).then(|| {
        Noted(temporaries::note_continue(if staged {
            format!("{} continues from what the server kept", o.resumed)
        } else {
            format!("{} sends it again", o.again)
        }))
    });
    // stdin is read once: hash it on the way for --verify (a file is hashed
    // after, from the disk; nothing is hashed without --verify)
    let mut stdin = std::io::stdin().lock();
    let mut hashing = safe::HashingReader {
        inner: &mut stdin,
        hash: (from_stdin && o.verify).then(Sha256::new),
    };
    let (source, size) = match src {
        Source::Stdin => (upload::Source::Stream(&mut hashing), 0),
        Source::File(size) => (upload::Source::File(Path::new(local), size), size),
    };
    let kind = match cmd {
        "put" => upload::Kind::Put,
        "sup" => upload::Kind::Sup,
        _ => upload::Kind::Sndfile { overwrite: o.overwrite },
    };
    let mut req = upload::Request {
        offset: o.offset,
        resume: o.resume,
        streams: o.streams,
        bufsz: o.bufsz,
        verify: o.verify,
        delta: delta_rule(o),
        dest: o.dest,
        compress: o.compress.unwrap_or(cfg.compress),
        ..upload::Request::new(source, remote.as_bytes(), kind)
    };
    let (done, total) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(size)));
    let bar = (kind != upload::Kind::Sup).then(|| told_bar(total.clone(), done.clone()));
    let progress = upload::Progress {
        done: &done,
        total: &total,
    };
    let r = upload::send(c, cfg, &mut req, &progress, &mut |n| match n {
        upload::Note::NoStages => super::put_staged::no_stages(remote),
    });
    if let Some(bar) = bar {
        bar.finish();
    }
    let (st, remote) = match r {
        Ok(sent) => {
            let remote = String::from_utf8_lossy(&sent.remote).into_owned();
            if let Some(report) = &sent.staged {
                super::put_staged::told(report, &remote, o.resume);
                return Ok(ExitCode::SUCCESS);
            }
            (Ok(()), remote)
        }
        // the server ended the session: said as for any command, then the
        // command that continues, as an interruption says it
        Err(f) if super::ended::is_end(&f.error) => {
            o.broke.set(true);
            explain::session_error(&f.error, cfg).print();
            for note in temporaries::kept_notes().into_iter().filter(|_| !o.tried_again) {
                eprintln!("tf: {note}");
            }
            return Ok(ExitCode::from(Exit::Error));
        }
        Err(f) => {
            let remote = String::from_utf8_lossy(&f.remote).into_owned();
            if f.staged() {
                return super::put_staged::failed(c, &remote, *f.error, o.resume || o.streams > 1);
            }
            (told_failure(local, f)?, remote)
        }
    };
    let remote = remote.as_str();
    if st.is_ok() && o.verify {
        let here = match hashing.hash {
            Some(h) => safe::hex(h),
            None => sha256_file(Path::new(local)).map_err(on(local))?,
        };
        if !verify(c, remote, &here, "local")? {
            return Ok(ExitCode::from(Exit::Mismatch));
        }
    }
    Ok(outcome(c, cmd, remote, st))
}

/// A failed upload (not a staged one, which put_staged tells) as tf tells
/// it: a refusal as its status, to be explained; a PUT the server cancelled
/// told like one (FAILED 7, as RCVFILE's failed transfer); anything else
/// said as it is.
fn told_failure(local: &str, f: upload::Failure) -> Result<Result<(), Status>, XferError> {
    match f.told() {
        Ok(st) => Ok(Err(st)),
        Err(Error::Local(e)) => Err(XferError::Local(local.into(), e)),
        Err(e) => Err(e.into()),
    }
}

/// `--whole-file` and `--no-whole-file` as the engine takes them.
fn delta_rule(o: &Opts) -> upload::DeltaRule {
    match (o.whole_file, o.no_whole_file) {
        (true, _) => upload::DeltaRule::Never,
        (_, true) => upload::DeltaRule::Always,
        _ => upload::DeltaRule::Auto,
    }
}

/// The directory `target` is in (`.` for a bare name).
fn parent_of(target: &Path) -> std::path::PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// A note for the signal thread, dropped when the command ends.
struct Noted(u64);

impl Drop for Noted {
    fn drop(&mut self) {
        temporaries::drop_note(self.0);
    }
}

/// Downloads. `get` into a regular file goes through the engine
/// (tfp_client::engine: a resumable partial beside the target, journaled,
/// verified when resumed or parallel, renamed over the target only when
/// complete); `rcvfile`/`sdown` through the engine's scratch temporary
/// (the same place beside the target and the same commit), keeping only
/// the size the server announced. Either way a failure leaves the local file
/// as it was. `--offset` alone writes in place.
fn download(c: &mut Client, cfg: &ClientConfig, cmd: &str, o: &Opts) -> Result<ExitCode, XferError> {
    let (remote, local) = (o.positional[0].as_str(), o.positional[1].as_str());
    if (o.resume || o.offset.is_some()) && cmd != "get" {
        return Err(XferError::Said(format!("{cmd}: --resume and --offset are for get")));
    }
    if (o.resume || o.offset.is_some()) && local == "-" {
        return Err("get: --resume and --offset need a local file, not -".into());
    }
    if let Some(offset) = o.offset {
        // dd's seek: the one download written in place, by request
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(local)
            .map_err(local_failure(Path::new(local)))?;
        let leaves = format!("{} holds bytes of both from offset {offset}", escape::shown_str(local));
        let st = fetch(c, cfg, cmd, o, Out::File(f, offset), &leaves)?;
        if st.is_ok() && o.verify {
            let here = sha256_file(Path::new(local)).map_err(on(local))?;
            if !verify(c, remote, &here, "local")? {
                return Ok(ExitCode::from(Exit::Mismatch));
            }
        }
        return Ok(outcome(c, cmd, remote, st));
    }
    match safe::dest(local, remote) {
        safe::Dest::Stdout => {
            if o.resume {
                return Err("get: --resume needs a local file, not -".into());
            }
            let out = std::io::stdout();
            let mut w = safe::Hashing {
                inner: out.lock(),
                hash: o.verify.then(Sha256::new),
            };
            let st = fetch(c, cfg, cmd, o, Out::Stream(&mut w), "what went to stdout is of neither");
            w.flush().map_err(on("stdout"))?;
            let st = st?;
            stream_end(c, cmd, o, st, w.hash, "stdout")
        }
        safe::Dest::Special(p) => {
            if o.resume {
                return Err(XferError::Said(format!(
                    "get: {}: --resume needs a regular file",
                    tfp_client::escape::path(&p)
                )));
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .map_err(local_failure(&p))?;
            let mut w = safe::Hashing {
                inner: &mut f,
                hash: o.verify.then(Sha256::new),
            };
            let leaves = format!("what went to {} is of neither", tfp_client::escape::path(&p));
            let st = fetch(c, cfg, cmd, o, Out::Stream(&mut w), &leaves)?;
            stream_end(c, cmd, o, st, w.hash, &tfp_client::escape::path(&p))
        }
        safe::Dest::File(target) if cmd == "get" => get_file(c, cfg, o, &target),
        safe::Dest::File(target) => {
            safe::clean_on_signals();
            let cannot = |e: std::io::Error| {
                XferError::Said(format!(
                    "{}: cannot create a temporary beside it: {}",
                    tfp_client::escape::path(&target),
                    local_cause(&target, &e)
                ))
            };
            let mut tmp = Scratch::create(&target).map_err(cannot)?;
            let file = tmp.file().try_clone().map_err(cannot)?;
            let tmp_path = tmp.path().to_path_buf();
            let leaves = format!("not received ({} left as it was)", tfp_client::escape::path(&target));
            let st = fetch(c, cfg, cmd, o, Out::File(file, 0), &leaves)?;
            if st.is_ok() && o.verify && !(cmd == "rcvfile" && o.delete) {
                let here = sha256_file(&tmp_path).map_err(on(&tfp_client::escape::path(&tmp_path)))?;
                if !verify(c, remote, &here, "downloaded")? {
                    eprintln!("tf: {} left as it was", tfp_client::escape::path(&target));
                    return Ok(ExitCode::from(Exit::Mismatch));
                }
            }
            if st.is_ok() {
                tmp.commit(None).map_err(local_failure(&target))?;
            }
            Ok(outcome(c, cmd, remote, st))
        }
    }
}

/// `get` into a regular file, through the engine.
fn get_file(c: &mut Client, cfg: &ClientConfig, o: &Opts, target: &Path) -> Result<ExitCode, XferError> {
    let remote = o.positional[0].as_str();
    safe::clean_on_signals();
    let _note = Noted(temporaries::note_continue(format!("{} continues it", o.resumed)));
    let counter = Arc::new(AtomicU64::new(0));
    let told = Arc::new(AtomicU64::new(0));
    let bar = told_bar(told.clone(), counter.clone());
    let backups = match o.backup.as_ref().map(|w| w.local(&parent_of(target))).transpose() {
        Ok(b) => b.map(Arc::new),
        Err(e) => return Err(XferError::Said(format!("--backup-dir: {e}"))),
    };
    let req = download::Request {
        remote: remote.as_bytes(),
        target: match &backups {
            Some(b) => download::Target::Keeping(target, b),
            None => target.into(),
        },
        streams: o.streams.max(1),
        bufsz: o.bufsz,
        resume: o.resume,
        verify: o.verify,
        unverified: false,
        progress: &counter,
    };
    // `-z`, `--compress`, `--no-compress` choose a single file's compression
    let mut own = cfg.clone();
    own.compress = o.compress.unwrap_or(own.compress);
    let r = fetch::fetch(c, &own, &req, delta_rule(o), &told, &mut |m| super::progress::said(m));
    let by_delta = matches!(r, Ok(fetch::Fetched::Delta));
    let r = r.map(|_| ());
    bar.finish();
    if by_delta && o.verify {
        // a delta is checked end to end already; --verify asks the server again
        let here = sha256_file(target).map_err(on(&tfp_client::escape::path(target)))?;
        if !verify(c, remote, &here, "local")? {
            return Ok(ExitCode::from(Exit::Mismatch));
        }
    }
    let e = match r {
        Ok(()) if o.remove_source => return Ok(super::xfer_moves::got(c, target, remote)),
        Ok(()) => return Ok(ExitCode::SUCCESS),
        Err(e) => e,
    };
    let code = match e.cause() {
        Error::Refused(r) => report(c, "get", &[(remote, Access::Read)], &r.reply),
        Error::Cancelled { command } => report(
            c,
            "get",
            &[(remote, Access::Read)],
            &Status::Failed(7, format!("server cancelled the {command}")),
        ),
        Error::File { .. } if e.is_no_space() => fail(format!(
            "{}; the partial download was removed to free the space",
            e.cause()
        )),
        Error::File { .. } | Error::Local(_) | Error::Usage(_) => fail(e.cause().to_string()),
        Error::Mismatch(m) => {
            eprintln!("tf: {m}");
            ExitCode::from(Exit::Mismatch)
        }
        other => {
            o.broke.set(super::ended::is_end(other));
            explain::session_error(other, cfg).print();
            ExitCode::from(Exit::Error)
        }
    };
    if let Some(k) = e.kept() {
        eprintln!(
            "tf: {} left as it was; {} bytes kept in {}: {} continues",
            escape::shown(target.as_os_str().as_bytes()),
            k.bytes,
            escape::shown(k.partial.as_os_str().as_bytes()),
            o.resumed
        );
    }
    Ok(code)
}

/// One sentence for a local I/O error (full disk, permission, missing directory).
fn local_cause(p: &Path, e: &std::io::Error) -> String {
    tfp_client::error::local_cause(p, e)
}

/// [`local_cause`] as the error that stops the transfer.
fn local_failure(p: &Path) -> impl FnOnce(std::io::Error) -> XferError + '_ {
    move |e| XferError::Said(local_cause(p, &e))
}

/// The end of a download written as a stream: verified from what passed.
fn stream_end(
    c: &mut Client,
    cmd: &str,
    o: &Opts,
    st: Result<(), Status>,
    hash: Option<Sha256>,
    what: &str,
) -> Result<ExitCode, XferError> {
    let remote = o.positional[0].as_str();
    // `hash` is there exactly when --verify was given
    if let (true, Some(h)) = (st.is_ok() && !(cmd == "rcvfile" && o.delete), hash) {
        if !verify(c, remote, &safe::hex(h), what)? {
            return Ok(ExitCode::from(Exit::Mismatch));
        }
    }
    Ok(outcome(c, cmd, remote, st))
}
