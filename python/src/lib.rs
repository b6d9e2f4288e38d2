//! `tfd_client._native`: the Python binding of tfp-client. It holds no protocol
//! logic: every method calls one tfp-client function with the GIL released and
//! turns its `Error` into the `tfd_client.Error` hierarchy (tfd_client/_errors.py).
#![forbid(unsafe_code)]
#![allow(clippy::too_many_arguments)]

mod can;
mod ceiling;
mod engine;
mod errors;
mod notifications;
mod pyio;
mod queue;
mod raw;
mod running;
mod session;
mod shapes;
mod state;
mod tree;
mod upload;
mod whole;

use errors::py_err;
use pyo3::prelude::*;
use state::{Conn, Session};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use tfp_client::{Client, ClientConfig, Error, FaiToken, Transport};
use tree::TreeRun;

/// Opens a session (tfp_client::Client::builder(...).connect()).
#[pyfunction]
#[pyo3(signature = (server, hash, key_pem=None, key_file=None, user=None, password=None, jail=None,
                    transport="prefer", aes=false, timeout=Some(30.0), proto=None, fai=None, key_len=None))]
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
) -> PyResult<Session> {
    let t = match transport {
        "secure" | "require" => Transport::Require,
        "legacy" => Transport::Legacy,
        "prefer" => Transport::Prefer,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "transport must be 'secure', 'legacy' or 'prefer', not {other:?}"
            )))
        }
    };
    let mut cfg = ClientConfig::new(&server, Vec::new(), &hash);
    if let Some(n) = key_len {
        cfg.key_len = n;
    }
    let mut b = Client::builder_from(cfg).hash(&hash).transport(t).aes(aes);
    if let Some(p) = key_pem {
        b = b.key_pem(p);
    }
    if let Some(f) = key_file {
        // read here so the config kept for extra streams holds the key
        b = b.key_pem(std::fs::read(&f).map_err(|e| py_err(py, Error::file(&f, e)))?);
    }
    if let Some(u) = user {
        b = b.login(&u, password.unwrap_or_default());
    }
    if let Some((tok, dir)) = jail {
        b = b.jail(&tok, &dir);
    }
    b = b.timeout(timeout.map(Duration::from_secs_f64));
    if let Some(p) = proto {
        b = b.proto(&p);
    }
    if let Some((token, expiry, key)) = fai {
        b = b.fai(&FaiToken { token, expiry, key });
    }
    let cfg = b.config().clone();
    let c = py.allow_threads(|| b.connect()).map_err(|e| py_err(py, e))?;
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
    Ok(())
}
