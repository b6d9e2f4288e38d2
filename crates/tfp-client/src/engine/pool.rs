//! A fixed pool of sessions moving many files: all opened at the start (a
//! handshake per session, not per file) and kept for the whole run, each
//! taking the next job as it finishes the last.

use crate::{Client, ClientConfig, Error};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Opens `n` sessions with `connect`; at the same time when `parallel`, one
/// after the other otherwise (Fast Access: each entrance hands out the key of
/// the next). The first failure ends the sessions already open.
pub fn open(
    n: usize,
    parallel: bool,
    connect: &(dyn Fn() -> Result<Client, Error> + Sync),
) -> Result<Vec<Client>, Error> {
    let results: Vec<Result<Client, Error>> = if parallel && n > 1 {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..n).map(|_| s.spawn(connect)).collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or(Err(Error::Protocol("connecting thread panicked".into())))
                })
                .collect()
        })
    } else {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let r = connect();
            let failed = r.is_err();
            v.push(r);
            if failed {
                break;
            }
        }
        v
    };
    let mut ok = Vec::with_capacity(n);
    let mut first_err = None;
    for r in results {
        match r {
            Ok(c) => ok.push(c),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        for c in ok {
            let _ = c.end();
        }
        return Err(e);
    }
    Ok(ok)
}

/// Runs `work` on every job over `sessions`, one thread each. A session whose
/// job ends in a [`Error`] is dropped from the run (its connection is in
/// an unknown state); the others take the rest. The result of each job, in
/// job order: `None` for jobs no session was left to run.
pub fn run<J: Sync, R: Send>(
    sessions: Vec<&mut Client>,
    jobs: &[J],
    work: &(dyn Fn(&mut Client, &J) -> Result<R, Error> + Sync),
) -> Vec<Option<Result<R, Error>>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, Error>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for c in sessions {
            let (next, results) = (&next, &results);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { return };
                let r = work(c, job);
                let broken = r.is_err();
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                if broken {
                    return;
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// A pool being opened in the background while the caller's session lists,
/// makes directories and asks what the server takes: a tree's sessions are
/// ready when its files are, instead of a handshake's round trips later
/// (four more sessions at 50 ms took 0.25 s after the listing). Sessions not
/// taken are ended when it is dropped.
pub(crate) struct Early {
    handle: Option<std::thread::JoinHandle<Result<Vec<Client>, Error>>>,
}

impl Early {
    /// Starts opening `n` sessions with `connect`.
    pub(crate) fn start(
        n: usize,
        parallel: bool,
        connect: impl Fn() -> Result<Client, Error> + Sync + Send + 'static,
    ) -> Early {
        let handle = std::thread::Builder::new()
            .name("tf-pool".into())
            .spawn(move || open(n, parallel, &connect))
            .ok();
        Early { handle }
    }

    /// The sessions, once all are open (or the first failure).
    pub(crate) fn join(mut self) -> Result<Vec<Client>, Error> {
        match self.handle.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(Error::Protocol("connecting thread panicked".into())),
            None => Err(Error::Protocol("could not start a thread to connect".into())),
        }
    }
}

impl Drop for Early {
    fn drop(&mut self) {
        if let Some(Ok(Ok(v))) = self.handle.take().map(std::thread::JoinHandle::join) {
            for c in v {
                let _ = c.end();
            }
        }
    }
}

/// How a pool session connects: LOGIN, INJAIL, Fast Access as the caller's.
pub(crate) fn connector(cfg: &ClientConfig, fai: bool) -> impl Fn() -> Result<Client, Error> + Sync + Send + 'static {
    let cfg = cfg.clone();
    move || -> Result<Client, Error> {
        if fai {
            let dir = crate::fai_cache::default_dir();
            if let Some(cache) = dir.and_then(|d| crate::fai_cache::FaiCache::open(&d, &cfg).ok()) {
                return crate::fai_cache::connect_cached(&cfg, &cache).map(|(c, _)| c);
            }
        }
        Client::connect(&cfg)
    }
}

/// Opens `n` more sessions like the caller's (LOGIN, INJAIL, Fast Access).
pub(crate) fn open_pool(cfg: &ClientConfig, n: usize, fai: bool) -> Result<Vec<Client>, Error> {
    open(n, !fai, &connector(cfg, fai))
}
