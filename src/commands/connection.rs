//! KEEPALIVE, PROCKEY, NIGMA and TLB: the commands about the connection itself
//! rather than files.

use super::{CmdResult, OrFailed, Reply};
use crate::services::registry;
use crate::session::liveness::{set_keepalive, Keepalive};
use crate::session::Session;
use log::{info, warn};
use tfp_wire::{command, Cipher, Failed};

/// Largest NIGMA key: the document sets no bound; this keeps a key swap cheap.
pub(crate) const NIGMA_MAX: usize = 4096;

/// Parses `<on> <idle> | <intvl> | <cnt>`: all four fields are required.
pub(crate) fn parse_keepalive(arg: &[u8]) -> Option<Keepalive> {
    let (on, rest) = command::split_space(arg)?;
    let (idle, rest) = command::split_pipe(rest)?;
    let (interval, count) = command::split_pipe(rest)?;
    let num = |b: &[u8]| command::parse_i64(b).and_then(|v| u32::try_from(v).ok());
    Some(Keepalive {
        on: num(on)? != 0,
        idle: num(idle)?,
        interval: num(interval)?,
        count: num(count)?,
    })
}

/// `KEEPALIVE <on> <idle> | <intvl> | <cnt>`.
pub fn keepalive(s: &mut Session, arg: &[u8]) -> CmdResult {
    let k = parse_keepalive(arg).ok_or(Failed::MissingParameter)?;
    match set_keepalive(s.chan().stream(), k) {
        Ok(()) => Ok(Reply::Ok),
        Err(e) => {
            warn!("{} KEEPALIVE {k:?}: {e}", s.peer());
            Err(Failed::Keepalive.into())
        }
    }
}

/// `PROCKEY` → `OK /<32 hex>`: an unguessable key for the UDP probes.
pub fn prockey(s: &mut Session, _arg: &[u8]) -> CmdResult {
    Ok(Reply::Data(registry::key_string(&s.live().key).into_bytes()))
}

/// `NIGMA <n>`: a new session key of n bytes (≥ 8, a multiple of 4) from the OS
/// CSPRNG, sent under the old key; then both directions restart from the new key
/// and its seed (decisions.md: what the Python and Java clients do).
pub fn nigma(s: &mut Session, arg: &[u8]) -> CmdResult {
    let n = command::parse_i64(arg).ok_or(Failed::Nigma)?;
    if n < 8 || n % 4 != 0 || n as usize > NIGMA_MAX {
        return Err(Failed::Nigma.into());
    }
    let mut key = vec![0u8; n as usize];
    getrandom::getrandom(&mut key).or_failed(Failed::Nigma)?;
    s.chan_mut().tx.send_frame(b"OK")?;
    s.chan_mut().tx.send_units(&[&(n as i32).to_be_bytes(), &key])?;
    s.chan_mut().tx.set_cipher(Cipher::new(&key));
    s.chan_mut().rx.set_cipher(Cipher::new(&key));
    info!("{} NIGMA: session key replaced ({n} bytes)", s.peer());
    Ok(Reply::Sent)
}

/// `TLB` → `OK <4|6 ip;port>`, round-robin across every session of this server.
pub fn tlb(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let list = &s.ctx().tlb;
    if list.is_empty() {
        return Err(Failed::Tlb.into());
    }
    let i = (s.ctx().services.registry.tlb_next() % list.len() as u64) as usize;
    Ok(Reply::Data(list[i].clone().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_forms() {
        assert_eq!(
            parse_keepalive(b"1 60 | 10 | 5"),
            Some(Keepalive {
                on: true,
                idle: 60,
                interval: 10,
                count: 5
            })
        );
        assert_eq!(parse_keepalive(b"0 0 | 0 | 0").map(|k| k.on), Some(false));
        for bad in [
            &b"0"[..],
            b"1 60",
            b"1 60 | 10",
            b"1 x | 1 | 1",
            b"1 -1 | 1 | 1",
            b"1 1|1|1",
        ] {
            assert_eq!(parse_keepalive(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
