//! One transfer each: PUT (streamed and whole), GET, SNDFILE, RCVFILE, and
//! parallel PUT then GET over N streams.

use super::measure::{check_size, clean, measure, ok_status, on_session, timed, Count, Figure, Repeat};
use super::options::UNIT;
use crate::support::Server;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tfp_client::engine::download;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{parallel, Client, ClientConfig};

pub(crate) fn phase_put(server: &Server, cfg: &ClientConfig, pat: &[u8], size: u64) -> Result<Figure, String> {
    let f = measure(server, || {
        on_session(server, cfg, |c| {
            let mut src = Repeat {
                pattern: pat,
                pos: 0,
                left: size,
            };
            match c.put(b"put.bin", 0, UNIT as i64, &mut src, &mut |_| {}).split() {
                Ok(Ok(())) => Ok(size),
                Ok(Err(st)) => Err(format!("PUT refused: {st:?}")),
                Err(e) => Err(format!("PUT: {e}")),
            }
        })
    })?;
    check_size(&server.data_dir().join("put.bin"), size)?;
    Ok(f)
}

/// PUT as the public clients send it: each chunk enciphered whole, then written
/// in one call (the library's client ciphers and writes 64 KiB slices, so the
/// server's deciphering overlaps its own). The same bytes on the wire.
pub(crate) fn phase_put_whole(server: &Server, cfg: &ClientConfig, pat: &[u8], size: u64) -> Result<Figure, String> {
    let f = measure(server, || {
        on_session(server, cfg, |c| put_whole(c, pat, size).map(|_| size))
    })?;
    check_size(&server.data_dir().join("put.bin"), size)?;
    Ok(f)
}

pub(crate) fn put_whole(c: &mut Client, pat: &[u8], size: u64) -> Result<(), String> {
    use tfp_wire::hpf::{code, encode};
    let reply = c
        .raw(&[&b"PUT "[..], &encode(b"put.bin", 0, UNIT as i64, None)].concat())
        .map_err(|e| format!("PUT: {e}"))?;
    let grant = match reply.strip_prefix(b"OK ").map(<[u8; 8]>::try_from) {
        Some(Ok(g)) if (1..=UNIT as i64).contains(&i64::from_be_bytes(g)) => i64::from_be_bytes(g) as usize,
        _ => return Err(format!("PUT refused: {reply:?}")),
    };
    let mut src = Repeat {
        pattern: pat,
        pos: 0,
        left: size,
    };
    // the header unit and the data unit, enciphered one after the other in one buffer
    let mut unit = vec![0u8; 8 + grant];
    loop {
        let n = tfp_channel::read_full(&mut src, &mut unit[8..]).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        unit[..8].copy_from_slice(&(n as i64).to_be_bytes());
        let cipher = c.chan.tx.cipher_mut().ok_or("PUT: the session has no stream cipher")?;
        cipher.pack(&mut unit[..8]);
        cipher.pack(&mut unit[8..8 + n]);
        (&mut c.chan.stream())
            .write_all(&unit[..8 + n])
            .map_err(|e| format!("PUT: {e}"))?;
    }
    c.chan.tx.send_i64(code::END).map_err(|e| format!("PUT: {e}"))?;
    match c.chan.rx.recv_i64().map_err(|e| format!("PUT: {e}"))? {
        code::FIN => {}
        other => return Err(format!("PUT: the server answered {other}")),
    }
    c.chan.tx.send_i64(code::FIN).map_err(|e| format!("PUT: {e}"))
}

pub(crate) fn phase_get(server: &Server, cfg: &ClientConfig, size: u64) -> Result<Figure, String> {
    measure(server, || {
        on_session(server, cfg, |c| {
            let mut sink = Count(0);
            match c.get(b"put.bin", 0, UNIT as i64, &mut sink, &mut |_| {}).split() {
                Ok(Ok(n)) if n == size && sink.0 == size => Ok(n),
                Ok(Ok(n)) => Err(format!("GET returned {n} bytes ({} written), expected {size}", sink.0)),
                Ok(Err(st)) => Err(format!("GET refused: {st:?}")),
                Err(e) => Err(format!("GET: {e}")),
            }
        })
    })
}

pub(crate) fn phase_sndfile(server: &Server, cfg: &ClientConfig, pat: &[u8], size: u64) -> Result<Figure, String> {
    let f = measure(server, || {
        on_session(server, cfg, |c| {
            let mut src = Repeat {
                pattern: pat,
                pos: 0,
                left: size,
            };
            let st = c
                .sndfile(b"snd.bin", true, &mut src, &mut |_| {})
                .status()
                .map_err(|e| format!("SNDFILE: {e}"))?;
            ok_status("SNDFILE", &st)?;
            Ok(size)
        })
    })?;
    check_size(&server.data_dir().join("snd.bin"), size)?;
    Ok(f)
}

pub(crate) fn phase_rcvfile(server: &Server, cfg: &ClientConfig, size: u64) -> Result<Figure, String> {
    measure(server, || {
        on_session(server, cfg, |c| {
            let mut sink = Count(0);
            let st = c
                .rcvfile(b"snd.bin", false, &mut sink)
                .status()
                .map_err(|e| format!("RCVFILE: {e}"))?;
            ok_status("RCVFILE", &st)?;
            if sink.0 != size {
                return Err(format!("RCVFILE delivered {} bytes, expected {size}", sink.0));
            }
            Ok(size)
        })
    })
}

/// A local file of `size` bytes for the parallel phase.
pub(crate) fn make_local(path: &Path, pat: &[u8], size: u64) -> Result<(), String> {
    let mut f = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    io::copy(
        &mut Repeat {
            pattern: pat,
            pos: 0,
            left: size,
        },
        &mut f,
    )
    .and_then(|_| f.sync_all())
    .map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) struct Parallel {
    pub(crate) streams: usize,
    pub(crate) put: Figure,
    pub(crate) get: Figure,
}

pub(crate) fn phase_parallel(
    server: &Server,
    cfg: &ClientConfig,
    local: &Path,
    size: u64,
    streams: usize,
) -> Result<Parallel, String> {
    let progress = Arc::new(AtomicU64::new(0));
    clean(server, "par.bin");
    let put = measure(server, || {
        timed(
            || match parallel::put(cfg, local, b"par.bin", streams, UNIT as i64, &progress) {
                Ok(()) => Ok(size),
                Err(tfp_client::Error::Refused(r)) => Err(format!("parallel PUT refused: {:?}", r.reply)),
                Err(e) => Err(format!("parallel PUT: {e}")),
            },
        )
    })?;
    check_size(&server.data_dir().join("par.bin"), size)?;
    nix::unistd::sync();
    let out = local.with_extension("out");
    let get = measure(server, || {
        timed(|| {
            // the download engine, unchecked: the streams' own cost (benches/verify.rs
            // measures the end-to-end check)
            let mut c = Client::connect(cfg).map_err(|e| format!("connect: {e}"))?;
            let req = download::Request {
                remote: b"par.bin",
                target: out.as_path().into(),
                streams,
                bufsz: UNIT as i64,
                resume: false,
                verify: false,
                unverified: true,
                progress: &progress,
            };
            let r = download::download(&mut c, cfg, &req, &mut |_| {});
            let _ = c.end();
            match r {
                Ok(()) => Ok(fs::metadata(&out).map(|m| m.len()).unwrap_or(0)),
                Err(e) => Err(format!("parallel GET: {e}")),
            }
        })
    });
    let _ = fs::remove_file(&out);
    let get = get?;
    Ok(Parallel { streams, put, get })
}
