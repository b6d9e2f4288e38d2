//! The server's public key the handshake encrypts to: `--key`'s file, else
//! the key pinned for the server in the known servers file
//! (tfp_client::known_servers), else, on a first contact, the key the server
//! sends (`TFDHOSTKEY`), shown by its fingerprint and pinned once the user
//! accepts it (at the terminal, or `--accept-new`), as ssh's known_hosts.
//!
//! Nothing is authenticated before the key is settled: a first contact sends
//! the request alone, and a pinned key is what the session key is sealed to,
//! so a server without its private half learns neither the password nor a
//! key signature. When such a server refuses the session key, tf asks it for
//! its key and, when it is not the pinned one, refuses loudly with both
//! fingerprints and the line to remove ([`Pinned::changed`]).

use crate::explain;
use crate::reply::fail;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;
use tf::exit::Exit;
use tfp_client::host_key::{self, FetchError};
use tfp_client::known_servers;
use tfp_client::pinned::{self, Pinned};
use tfp_client::{ClientConfig, Error};

/// The key to encrypt to, and its pin when it came from one.
pub struct ServerKey {
    /// The PEM ([`ClientConfig::pubkey_pem`]).
    pub pem: Vec<u8>,
    /// Set when the key is the pinned one.
    pub pinned: Option<Pinned>,
}

/// A config for asking `server` its key: the connection options only.
fn asking(server: &str, timeout: Option<u64>) -> ClientConfig {
    let mut cfg = ClientConfig::new(server, Vec::new(), "");
    cfg.timeout = Some(Duration::from_secs(timeout.unwrap_or(30)));
    cfg
}

/// The server's key: `key` (`--key`) read and checked, else its pin, else
/// asked of the server and pinned as the user says.
pub fn settle(server: &str, key: Option<&str>, accept_new: bool, timeout: Option<u64>) -> Result<ServerKey, ExitCode> {
    if let Some(key) = key {
        let pem = std::fs::read(key).map_err(|e| fail(format!("--key {key}: {e}")))?;
        if let Err(e) = explain::check_key_file(key, &pem) {
            e.print();
            return Err(ExitCode::from(Exit::Error));
        }
        return Ok(ServerKey { pem, pinned: None });
    }
    let Some(path) = known_servers::default_path() else {
        return Err(fail(
            "no --key, and neither XDG_CONFIG_HOME nor HOME is set to find the known servers file: give --key",
        ));
    };
    let (mut known, pin) = pinned::lookup(server, path.clone()).map_err(fail)?;
    if let Some(pin) = pin {
        return Ok(ServerKey {
            pem: pin.key.pem().to_vec(),
            pinned: Some(pin),
        });
    }
    let offered = host_key::fetch(&asking(server, timeout)).map_err(|e| first_contact_failed(server, e))?;
    let fp = offered.fingerprint();
    let shown = path.display();
    if !accept_new {
        if !std::io::stdin().is_terminal() {
            return Err(fail(format!(
                "{server} is not in {shown} and there is no terminal to ask whether to trust its key \
                 {fp}: compare it with the server's (tfd --print-fingerprint) and run again with \
                 --accept-new, or give --key"
            )));
        }
        eprintln!("tf: {server} is not in {shown}");
        eprintln!("tf: its key fingerprint is {fp} (RSA {})", tfp_wire::hostkey::RSA_BITS);
        match confirm("Pin this key and connect (yes/no)? ") {
            Ok(true) => {}
            Ok(false) => return Err(fail(format!("{server}: its key was not accepted; nothing was pinned"))),
            Err(e) => return Err(fail(format!("terminal: {e}"))),
        }
    }
    let line = known.add(server, &offered).map_err(fail)?;
    eprintln!("tf: pinned the key of {server} ({fp}) in {shown}, line {line}");
    Ok(ServerKey {
        pem: offered.pem().to_vec(),
        pinned: None,
    })
}

/// The sentence for a first contact that brought no key.
fn first_contact_failed(server: &str, e: FetchError) -> ExitCode {
    match e {
        FetchError::Connect(e) => {
            explain::connect_error(&e, &asking(server, None)).print();
            ExitCode::from(Exit::Error)
        }
        FetchError::NotOffered(r) => fail(format!(
            "{server} does not send its public key on a first contact (a server older than this tf, or \
             not tfd; it answered {r}): give its key with --key"
        )),
        FetchError::Refused(why) => fail(format!(
            "{server} sent a public key tf refuses ({why}); nothing was pinned: give its key with --key"
        )),
    }
}

/// Asks on the terminal until `yes` or `no` is typed (as ssh does), at most
/// three times.
fn confirm(prompt: &str) -> std::io::Result<bool> {
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let mut out = &tty;
    let mut input = std::io::BufReader::new(&tty);
    write!(out, "{prompt}")?;
    for _ in 0..3 {
        out.flush()?;
        let mut line = String::new();
        if (&mut input).take(64).read_line(&mut line)? == 0 {
            return Ok(false);
        }
        match line.trim() {
            "yes" => return Ok(true),
            "no" => return Ok(false),
            _ => write!(out, "Please type 'yes' or 'no': ")?,
        }
    }
    Ok(false)
}

/// When `e` is the server refusing the session key sealed to `pin`, asks it
/// for its key; a key other than the pinned one is refused loudly (`Some` is
/// the exit). `None`: the refusal is something else, explained as usual.
pub fn changed(pin: &Pinned, e: &Error, cfg: &ClientConfig) -> Option<ExitCode> {
    let now = pin.replaced(e, cfg)?;
    let (server, shown, line) = (&cfg.server, pin.path.display(), pin.line);
    eprintln!(
        "tf: REFUSED: the key of {server} is not the one pinned for it: someone may be posing as the \
         server (a man in the middle), or its key was replaced"
    );
    eprintln!("tf: pinned:  {} ({shown}, line {line})", pin.key.fingerprint());
    eprintln!("tf: offered: {}", now.fingerprint());
    eprintln!(
        "hint: nothing was sent but the handshake; if the server's key was replaced on purpose \
         (compare with tfd --print-fingerprint on it), remove line {line} of {shown} and connect again"
    );
    Some(ExitCode::from(Exit::Error))
}
