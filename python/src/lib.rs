//! `tfd_client._native`: the Python binding of tfp-client. It holds no protocol
//! logic: every method calls one tfp-client function with the GIL released and
//! turns its `Error` into the `tfd_client.Error` hierarchy (tfd_client/_errors.py).
#![forbid(unsafe_code)]
#![allow(clippy::too_many_arguments)]

mod backups;
mod can;
mod ceiling;
mod engine;
mod errors;
mod identities;
mod listings;
mod memory;
mod notifications;
mod pyio;
mod queue;
mod raw;
mod running;
mod server_key;
mod session;
mod shapes;
mod state;
mod tree;
mod tree_runs;
mod upload;
mod whole;

use errors::py_err;
use pyo3::prelude::*;
use state::{Conn, Session};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tfp_client::{Client, ClientConfig, Error, FaiToken, Transport};
use tfp_wire::compress::Choice;
use tree::TreeRun;

/// Opens a session (tfp_client::Client::builder(...).connect()). Without
/// `key_pem`/`key_file` (and `fai`), the server's key is the one pinned in
/// tf's known servers file ([`server_key`]); with `user`, the keys of
/// `identity`, else of ssh-agent and ~/.ssh, are offered first ([`identities`]).
/// `bwlimit`: tf's `--bwlimit` words, for the session and all it opens.
#[pyfunction]
#[pyo3(signature = (server, hash, key_pem=None, key_file=None, user=None, password=None, jail=None,
                    transport="prefer", aes=false, timeout=Some(30.0), proto=None, fai=None, key_len=None,
                    identity=None, passphrase=None, accept_new=false, compress=None, bwlimit=None))]
fn connect(
    py: Python<'_>,
    server: String,
    hash: String,
    key_pem: Option<Vec<u8>>,
    key_file: Option<PathBuf>,
    user: Option<String>,
    password: Option<Vec<u8>>,
    jail: Option<(String, String)>,
    transport: &str,
    aes: bool,
    timeout: Option<f64>,
    proto: Option<String>,
    fai: Option<(String, u64, Vec<u8>)>,
    key_len: Option<usize>,
    identity: Option<PathBuf>,
    passphrase: Option<Vec<u8>>,
    accept_new: bool,
    compress: Option<String>,
    bwlimit: Option<String>,
) -> PyResult<Session> {
    let value_err = |m: String| pyo3::exceptions::PyValueError::new_err(m);
    let t = match transport {
        "secure" | "require" => Transport::Require,
        "legacy" => Transport::Legacy,
        "prefer" => Transport::Prefer,
        other => {
            return Err(value_err(format!(
                "transport must be 'secure', 'legacy' or 'prefer', not {other:?}"
            )))
        }
    };
    let timeout = timeout.map(Duration::from_secs_f64);
    let mut cfg = ClientConfig::new(&server, Vec::new(), &hash);
    if let Some(n) = key_len {
        cfg.key_len = n;
    }
    if let Some(c) = compress {
        cfg.compress = Choice::parse(&c).ok_or_else(|| {
            value_err(format!(
                "compress must be 'auto', 'yes', 'no' or a level 1..=19, not {c:?}"
            ))
        })?;
    }
    // one bucket for the session and every connection its config opens
    if let Some(rate) = bwlimit {
        let limit = tfp_client::bwlimit::Limit::parse(&rate).map_err(|e| value_err(format!("bwlimit: {e}")))?;
        cfg.pace = tfp_client::bwlimit::limit(&limit).map_err(|e| py_err(py, Error::Local(e)))?;
    }
    match (&user, &identity) {
        (Some(u), _) => {
            cfg.keys =
                identities::key_login(u, identity.as_deref(), passphrase).map_err(|e| py_err(py, Error::Usage(e)))?;
        }
        // a single-user server with authorized_keys asks for a key login
        (None, _) => {
            cfg.keys =
                Some(identities::when_asked(identity.as_deref(), passphrase).map_err(|e| py_err(py, Error::Usage(e)))?);
        }
    }
    let by_key_alone = cfg.keys.is_some() && password.is_none();
    let mut b = Client::builder_from(cfg).hash(&hash).transport(t).aes(aes);
    let mut pinned = None;
    if let Some(f) = key_file {
        // read here so the config kept for extra streams holds the key
        b = b.key_pem(std::fs::read(&f).map_err(|e| py_err(py, Error::file(&f, e)))?);
    } else if let Some(p) = key_pem {
        b = b.key_pem(p);
    } else if fai.is_none() {
        let (pem, pin) = py
            .allow_threads(|| server_key::settle(&server, accept_new, timeout))
            .map_err(|e| errors::host_key(py, &e))?;
        b = b.key_pem(pem);
        pinned = pin;
    }
    if let Some(u) = user.filter(|_| !by_key_alone) {
        b = b.login(&u, password.unwrap_or_default());
    }
    if let Some((tok, dir)) = jail {
        b = b.jail(&tok, &dir);
    }
    b = b.timeout(timeout);
    if let Some(p) = proto {
        b = b.proto(&p);
    }
    if let Some((token, expiry, key)) = fai {
        b = b.fai(&FaiToken { token, expiry, key });
    }
    let cfg = b.config().clone();
    let c = py.allow_threads(|| b.connect()).map_err(|e| {
        match pinned
            .as_ref()
            .and_then(|p| py.allow_threads(|| server_key::changed(p, &e, &cfg)))
        {
            Some(refused) => errors::host_key(py, &refused),
            None => py_err(py, e),
        }
    })?;
    Ok(Session {
        client: Mutex::new(Some(Conn::Commands(c))),
        cfg,
        why: Mutex::new("it was closed"),
        lent: Default::default(),
        running: Mutex::new(None),
        uploading: Mutex::new(None),
    })
}

/// The FAILED codes tfp-wire knows: [(code, name, text)].
#[pyfunction]
fn failed_codes() -> Vec<(i64, String, &'static str)> {
    tfp_client::Failed::ALL
        .iter()
        .map(|f| (*f as i64, format!("{f:?}"), f.text()))
        .collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Session>()?;
    m.add_class::<TreeRun>()?;
    m.add_class::<upload::Upload>()?;
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(failed_codes, m)?)?;
    m.add_function(wrap_pyfunction!(ceiling::sealed_loopback_mbps, m)?)?;
    m.add_function(wrap_pyfunction!(memory::write_whole, m)?)?;
    m.add_function(wrap_pyfunction!(memory::stage_whole, m)?)?;
    m.add_function(wrap_pyfunction!(memory::stage_commit, m)?)?;
    m.add_function(wrap_pyfunction!(memory::stage_drop, m)?)?;
    m.add_function(wrap_pyfunction!(listings::list_stat, m)?)?;
    m.add_function(wrap_pyfunction!(listings::list_dir_entries, m)?)?;
    m.add_function(wrap_pyfunction!(tree_runs::copy_tree, m)?)?;
    m.add_function(wrap_pyfunction!(backups::backup, m)?)?;
    m.add_function(wrap_pyfunction!(backups::snapshots, m)?)?;
    m.add_function(wrap_pyfunction!(backups::restore, m)?)?;
    m.add_function(wrap_pyfunction!(backups::prune, m)?)?;
    m.add_function(wrap_pyfunction!(backups::verify, m)?)?;
    m.add_function(wrap_pyfunction!(tree_runs::mirror, m)?)?;
    Ok(())
}
