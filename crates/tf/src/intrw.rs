//! `intread` and `intwrite`: the integrity transfers. Both move a whole file in
//! one piece with its SHA-256. A download is checked against the server's hash
//! and lands in the engine's scratch temporary renamed over LOCAL only when complete and checked
//! (`-` is stdout); an upload is a compare-and-swap: the server replaces REMOTE
//! only while its content still has the expected hash.

use super::exit::Exit;
use super::reply::fail;
use super::safe;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::process::ExitCode;
use tfp_client::engine::scratch::Scratch;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

use super::row::{want, Done, Failure};

/// The document's hash text of `data`.
fn hash_of(data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(data);
    safe::hex(h)
}

/// `intread REMOTE LOCAL`: prints the hash (on stdout, or on stderr when the
/// content goes to stdout). Exit 2 when the server answers −1, 3 when the
/// content does not match the hash the server sent.
pub fn intread(c: &mut Client, _: &ClientConfig, _: &str, args: &[String]) -> Done {
    want(args, 2..=2)?;
    let (remote, local) = (&args[0], &args[1]);
    let read = match c.intread(remote.as_bytes()) {
        Err(e) if e.is_declined() => None,
        r => Some(r?),
    };
    let Some((hash, data)) = read else {
        eprintln!("tf: {remote}: INTREAD refused (no such file, not a regular file, refused, locked, or over the server's intrw_max)");
        return Ok(ExitCode::from(Exit::Refused));
    };
    let here = hash_of(&data);
    if !here.as_bytes().eq_ignore_ascii_case(&hash) {
        eprintln!(
            "MISMATCH: received {here}, server {}; nothing written",
            tfp_client::escape::shown(&hash)
        );
        return Ok(ExitCode::from(Exit::Mismatch));
    }
    let written = match safe::dest(local, remote) {
        safe::Dest::Stdout => {
            super::out::bytes(&data);
            eprintln!("{here}");
            Ok(())
        }
        safe::Dest::Special(p) => {
            let r = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .and_then(|mut f| f.write_all(&data));
            println!("{here}");
            r.map_err(|e| format!("{}: {e}", tfp_client::escape::path(&p)))
        }
        safe::Dest::File(target) => {
            safe::clean_on_signals();
            let r = Scratch::create(&target).and_then(|mut tmp| {
                tmp.file().write_all(&data)?;
                tmp.file().sync_all()?;
                tmp.commit(None)
            });
            if r.is_ok() {
                println!("{here}");
            }
            r.map_err(|e| format!("{}: {e}", tfp_client::escape::path(&target)))
        }
    };
    Ok(match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("intread: {e}")),
    })
}

/// `intwrite LOCAL REMOTE [--expect HASH]`: without `--expect`, the hash is the
/// server's SHA256 of REMOTE just before (so only a change in between stops
/// the swap). Exit 2 when the server answers −1.
pub fn intwrite(x: &mut super::ctx::Ctx<'_>, cmd: &str, args: &[String]) -> Done {
    let c = &mut *x.c;
    let (pos, expect): (Vec<&String>, Option<&String>) = match args {
        [l, r] => (vec![l, r], None),
        [l, r, o, h] if o == "--expect" => (vec![l, r], Some(h)),
        [o, h, l, r] if o == "--expect" => (vec![l, r], Some(h)),
        _ => return Err(Failure::Usage),
    };
    let (local, remote) = (pos[0], pos[1]);
    let mut data = Vec::new();
    let read = if local == "-" {
        if let Some(code) = x.stdin.taken(cmd) {
            return Ok(code);
        }
        std::io::stdin().lock().read_to_end(&mut data)
    } else {
        match std::fs::metadata(local) {
            Ok(m) if !m.is_file() => return Ok(fail(format!("intwrite: {local}: not a regular file"))),
            _ => std::fs::File::open(local).and_then(|mut f| f.read_to_end(&mut data)),
        }
    };
    if let Err(e) = read {
        return Ok(fail(format!("intwrite: {local}: {e}")));
    }
    if data.len() > tfp_client::intrw::INT_MAX_SIZE {
        return Ok(fail(format!(
            "intwrite: {local}: over 2 GiB, more than INTWRITE can carry"
        )));
    }
    let expected = match expect {
        Some(h) if h.len() == tfp_wire::SHA256_TEXT_LEN && h.starts_with("0x") => h.as_bytes().to_vec(),
        Some(h) => {
            return Ok(fail(format!(
                "intwrite: --expect {h:?}: a hash is 0x and 64 hex digits"
            )))
        }
        None => match c.call("SHA256", remote.as_bytes())? {
            Status::Ok(h) => h,
            st => {
                return Ok(super::reply::report(
                    c,
                    "sha256",
                    &[(remote, super::explain::Access::Read)],
                    &st,
                ))
            }
        },
    };
    let replaced = match c.intwrite(remote.as_bytes(), &expected, &data) {
        Err(e) if e.is_declined() => false,
        r => r.map(|()| true)?,
    };
    if replaced {
        println!("{}", hash_of(&data));
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "tf: {remote}: INTWRITE refused: its content no longer has the hash {} (or it is missing, refused, locked, or over the server's intrw_max); nothing changed",
        tfp_client::escape::shown(&expected)
    );
    Ok(ExitCode::from(Exit::Refused))
}
