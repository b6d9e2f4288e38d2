//! tf's transfer subcommands: options, progress bar, resume, verification and
//! parallel streams.

use super::explain::{self, Access};
use super::{fail, report, ExitCode};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfd::client::{parallel, transfer::PutOutcome, Client, ClientConfig, ClientError, DIRECT_WRITE_MIN};
use tfd::fsys::direct::ChunkWriter;
use tfd::wire::Status;

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
    positional: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        streams: 1,
        bufsz: 4 << 20,
        ..Opts::default()
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match a.as_str() {
            "--offset" => o.offset = Some(num("--offset")?),
            "--resume" => o.resume = true,
            "--streams" => o.streams = num("--streams")?.clamp(1, 64) as usize,
            "--bufsz" => o.bufsz = num("--bufsz")?.clamp(1, i64::MAX as u64) as i64,
            "--verify" => o.verify = true,
            "--overwrite" => o.overwrite = true,
            "--delete" => o.delete = true,
            "--parents" => o.parents = true,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => o.positional.push(a.clone()),
        }
    }
    if o.positional.len() != 2 {
        return Err("needs a source and a destination".into());
    }
    if o.resume && o.offset.is_some() {
        return Err("--resume and --offset exclude each other".into());
    }
    Ok(o)
}

/// A progress bar on stderr (bytes, rate, ETA), drawn from a thread while a
/// transfer runs, only when stderr is a terminal.
struct Bar {
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

fn human(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

impl Bar {
    fn start(total: u64, counter: Arc<AtomicU64>) -> Bar {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Bar { done, handle: None };
        }
        let d = done.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            loop {
                let stop = d.load(Ordering::Relaxed);
                let n = counter.load(Ordering::Relaxed);
                let secs = t0.elapsed().as_secs_f64().max(1e-3);
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
                eprint!(
                    "\r{pct:5.1}%  {} / {}  {}/s  ETA {:.0}s   ",
                    human(n as f64),
                    human(total as f64),
                    human(rate),
                    eta
                );
                if stop {
                    eprintln!();
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Bar {
            done,
            handle: Some(handle),
        }
    }

    fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn sha_file(p: &Path) -> std::io::Result<String> {
    let mut f = File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!(
        "0x{}",
        h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

fn verify(c: &mut Client, remote: &str, local: &Path) -> Result<bool, String> {
    let here = sha_file(local).map_err(|e| format!("{}: {e}", local.display()))?;
    match c.call("SHA256", remote.as_bytes()).map_err(|e| e.to_string())? {
        Status::Ok(d) if d == here.as_bytes() => {
            eprintln!("verified: SHA-256 {here}");
            Ok(true)
        }
        Status::Ok(d) => {
            eprintln!("MISMATCH: local {here}, server {}", String::from_utf8_lossy(&d));
            Ok(false)
        }
        other => Err(format!("SHA256 on the server: {other:?}")),
    }
}

fn outcome(cfg: &ClientConfig, cmd: &str, remote: &str, st: Result<(), Status>) -> ExitCode {
    let access = if matches!(cmd, "put" | "sndfile" | "sup") {
        Access::Create
    } else {
        Access::Read
    };
    match st {
        Ok(()) => ExitCode::SUCCESS,
        Err(st) => report(cfg, cmd, &[(remote, access)], &st),
    }
}

/// `--parents`: MKDIR every missing ancestor of `remote`, like `mkdir -p`
/// (an existing directory is fine; anything else stops with its reason).
fn make_parents(c: &mut Client, cfg: &ClientConfig, remote: &str) -> Result<(), ExitCode> {
    let comps: Vec<&str> = remote.split('/').filter(|p| !p.is_empty()).collect();
    let mut dir = String::new();
    for comp in comps.iter().take(comps.len().saturating_sub(1)) {
        if !dir.is_empty() {
            dir.push('/');
        }
        dir.push_str(comp);
        match c.call("MKDIR", dir.as_bytes()) {
            Ok(Status::Ok(_)) => {}
            Ok(Status::Failed(n, _)) if n == i32::from(tfd::wire::Failed::DirExists.code()) => {}
            Ok(st) => return Err(report(cfg, "mkdir", &[(dir.as_str(), Access::Create)], &st)),
            Err(e) => {
                explain::session_error(&e, cfg).print();
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok(())
}

/// Runs one transfer subcommand.
pub fn run(c: &mut Client, cfg: &ClientConfig, cmd: &str, args: &[String]) -> ExitCode {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => return fail(format!("{cmd}: {e}")),
    };
    if o.parents {
        if !matches!(cmd, "put" | "sndfile" | "sup") {
            return fail(format!("{cmd}: --parents is for uploads (put, sndfile, sup)"));
        }
        if let Err(code) = make_parents(c, cfg, &o.positional[1]) {
            return code;
        }
    }
    match transfer(c, cfg, cmd, &o) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn transfer(c: &mut Client, cfg: &ClientConfig, cmd: &str, o: &Opts) -> Result<ExitCode, String> {
    let (src, dst) = (o.positional[0].as_str(), o.positional[1].as_str());
    let counter = Arc::new(AtomicU64::new(0));
    let err = |e: ClientError| e.to_string();
    let (remote, local) = if matches!(cmd, "put" | "sndfile" | "sup") {
        (dst, src)
    } else {
        (src, dst)
    };
    let local_path = Path::new(local);
    let st: Result<(), Status> = match cmd {
        "put" => {
            let size = std::fs::metadata(local_path)
                .map_err(|e| format!("{local}: {e}"))?
                .len();
            let offset = match (o.offset, o.resume) {
                (Some(n), _) => n,
                (None, true) => c.fsize(remote.as_bytes()).map_err(err)?.max(0) as u64,
                _ => 0,
            };
            let bar = Bar::start(size.saturating_sub(offset), counter.clone());
            let r = if o.streams > 1 && offset == 0 {
                parallel::put(cfg, local_path, remote.as_bytes(), o.streams, o.bufsz, &counter).map_err(err)?
            } else {
                let mut f = File::open(local_path).map_err(|e| format!("{local}: {e}"))?;
                f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
                let ctr = counter.clone();
                match c.put(remote.as_bytes(), offset, o.bufsz, &mut f, &mut |n| {
                    ctr.store(n, Ordering::Relaxed)
                }) {
                    Ok(Ok(PutOutcome::Done)) => Ok(()),
                    Ok(Ok(PutOutcome::ServerCancelled)) => Err(Status::Failed(7, "server cancelled the PUT".into())),
                    Ok(Err(st)) => Err(st),
                    Err(e) => return Err(e.to_string()),
                }
            };
            bar.finish();
            r
        }
        "get" => {
            let offset = match (o.offset, o.resume) {
                (Some(n), _) => n,
                (None, true) => std::fs::metadata(local_path).map(|m| m.len()).unwrap_or(0),
                _ => 0,
            };
            let total = c.fsize(remote.as_bytes()).map_err(err)?.max(0) as u64;
            let bar = Bar::start(total.saturating_sub(offset), counter.clone());
            let r = if o.streams > 1 && offset == 0 {
                parallel::get(cfg, remote.as_bytes(), local_path, o.streams, o.bufsz, &counter)
                    .map_err(err)?
                    .map(drop)
            } else {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(offset == 0)
                    .open(local_path)
                    .map_err(|e| format!("{local}: {e}"))?;
                f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
                let ctr = counter.clone();
                // full chunks go to disk past the page cache
                let mut w = ChunkWriter::new(f, offset, DIRECT_WRITE_MIN);
                let r = c.get(remote.as_bytes(), offset, o.bufsz, &mut w, &mut |n| {
                    ctr.store(n, Ordering::Relaxed)
                });
                r.map_err(err)?.map(drop)
            };
            bar.finish();
            r
        }
        "sndfile" => {
            let mut f = File::open(local_path).map_err(|e| format!("{local}: {e}"))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = Bar::start(size, counter.clone());
            let ctr = counter.clone();
            let r = c.sndfile(remote.as_bytes(), o.overwrite, &mut f, &mut |n| {
                ctr.store(n, Ordering::Relaxed)
            });
            bar.finish();
            match r.map_err(err)? {
                Status::Ok(_) => Ok(()),
                other => Err(other),
            }
        }
        "rcvfile" => {
            let mut f = File::create(local_path).map_err(|e| format!("{local}: {e}"))?;
            match c.rcvfile(remote.as_bytes(), o.delete, &mut f).map_err(err)? {
                Status::Ok(_) => Ok(()),
                other => Err(other),
            }
        }
        "sup" => {
            let mut f = File::open(local_path).map_err(|e| format!("{local}: {e}"))?;
            match c.sup(remote.as_bytes(), &mut f).map_err(err)? {
                0 => Ok(()),
                v => Err(Status::Failed(v, "SUP failed on the server".into())),
            }
        }
        "sdown" => {
            let mut f = File::create(local_path).map_err(|e| format!("{local}: {e}"))?;
            if c.sdown(remote.as_bytes(), &mut f).map_err(err)? {
                Ok(())
            } else {
                Err(Status::Failed(-1, "SDOWN failed on the server".into()))
            }
        }
        _ => return Err(format!("unknown transfer {cmd}")),
    };
    if st.is_ok() && o.verify && !(cmd == "rcvfile" && o.delete) && !verify(c, remote, local_path)? {
        return Ok(ExitCode::from(3));
    }
    Ok(outcome(cfg, cmd, remote, st))
}
