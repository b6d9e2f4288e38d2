//! DATE, UDATE, NDATE, DATEF, DTOF, FTOD. All UTC; the calendar arithmetic is
//! pure ([`tfp_wire::date`]: no libc time zone state), so it cannot be skewed by TZ.

use super::{CmdResult, OrFailed, Reply};
use crate::session::Session;
use std::time::{SystemTime, UNIX_EPOCH};
use tfp_wire::date::{format_utc, parse_utc};
use tfp_wire::{command, Failed};

fn now() -> (i64, u32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            (-(d.as_secs() as i64), 0)
        }
    }
}

/// `DATE` → `OK <seconds>`.
pub fn date(_s: &mut Session, _arg: &[u8]) -> CmdResult {
    Ok(Reply::Data(now().0.to_string().into_bytes()))
}

/// `UDATE` → `OK <sec>.<usec>`; the fraction unpadded, as every client parses it.
pub fn udate(_s: &mut Session, _arg: &[u8]) -> CmdResult {
    let (s, n) = now();
    Ok(Reply::Data(format!("{s}.{}", n / 1000).into_bytes()))
}

/// `NDATE` → `OK <sec>.<nsec>`, unpadded likewise.
pub fn ndate(_s: &mut Session, _arg: &[u8]) -> CmdResult {
    let (s, n) = now();
    Ok(Reply::Data(format!("{s}.{n}").into_bytes()))
}

/// `DATEF` → `OK YYYY-MM-DD HH:MM:SS` (UTC).
pub fn datef(_s: &mut Session, _arg: &[u8]) -> CmdResult {
    let t = format_utc(now().0).ok_or(Failed::DateNotRepresentable)?;
    Ok(Reply::Data(t.into_bytes()))
}

/// `DTOF <ts>`: garbage is refused with FAILED 26 rather than read as 0.
pub fn dtof(_s: &mut Session, arg: &[u8]) -> CmdResult {
    if arg.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Failed::MissingParameter.into());
    }
    let ts = command::parse_i64(arg).ok_or(Failed::DateNotRepresentable)?;
    let t = format_utc(ts).ok_or(Failed::DateNotRepresentable)?;
    Ok(Reply::Data(t.into_bytes()))
}

/// `FTOD <YYYY-MM-DD HH:MM:SS>`: unparsable input is FAILED 26, never a made-up OK.
pub fn ftod(_s: &mut Session, arg: &[u8]) -> CmdResult {
    if arg.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Failed::MissingParameter.into());
    }
    let s = std::str::from_utf8(arg).or_failed(Failed::DateNotRepresentable)?;
    let ts = parse_utc(s).ok_or(Failed::DateNotRepresentable)?;
    Ok(Reply::Data(ts.to_string().into_bytes()))
}
