//! GETTZ, SETTZ, LOCALTIME and DATEFTZ (2.5.1): a time zone per session; and
//! GENUUID, the identifiers beside them (one family in the server, the client
//! library and tf).
//!
//! The reference called setenv("TZ") on its process; tfd keeps the zone in the
//! session ([`SessionTz`]) and converts with it explicitly, so nothing global
//! changes (sessions are processes of their own anyway) and DATE, DATEF, DTOF and
//! FTOD stay UTC whatever SETTZ says.
//!
//! A zone is either a name in the system zone database (`America/New_York`, read as
//! a TZif file) or a POSIX TZ rule (`EST+5EDT,M3.2.0/2,M11.1.0/2`); anything else
//! is refused. The database is a service the daemon opens before the first fork
//! ([`crate::services::tz`]).

use super::{CmdResult, Reply};
use crate::services::tz::{from_database, is_zone_name};
use crate::session::Session;
use log::error;
use tfp_wire::{uuid, Failed};
use tz::TimeZone;

/// Longest zone argument accepted (a name or a POSIX rule).
pub const MAX_ZONE: usize = 255;

/// What GETTZ answers before any SETTZ (the reference's processes ran with TZ=UTC).
const INITIAL: &str = "UTC";

/// The session's zone: the text SETTZ was given (GETTZ repeats it) and the rules.
pub(crate) struct SessionTz {
    name: Vec<u8>,
    zone: TimeZone,
}

impl Default for SessionTz {
    fn default() -> Self {
        SessionTz {
            name: INITIAL.as_bytes().to_vec(),
            zone: utc(),
        }
    }
}

fn utc() -> TimeZone {
    posix_rule("UTC0").unwrap_or_else(TimeZone::utc)
}

/// The transition dates glibc (and so the reference) gives a POSIX rule that
/// names a daylight-saving zone without dates: the US rules, 02:00 local.
const DEFAULT_DATES: &str = ",M3.2.0,M11.1.0";

/// A POSIX TZ rule (`std offset [dst [offset] [,start[/time],end[/time]]]`),
/// parsed without touching any file. tz-rs refuses a daylight-saving rule
/// without dates (`CET-1CEST`), which POSIX allows and glibc completes with
/// [`DEFAULT_DATES`]: so does tfd.
fn posix_rule(rule: &str) -> Option<TimeZone> {
    posix_rule_as_given(rule).or_else(|| {
        if rule.contains(',') {
            return None;
        }
        posix_rule_as_given(&format!("{rule}{DEFAULT_DATES}"))
    })
}

/// A complete POSIX TZ rule: it becomes the footer of an in-memory TZif file
/// with no transitions, which RFC 8536 §3.3 defines as "this rule, for all
/// times" (the crate parses rules only from footers without file lookups).
/// Version 3, because only there does the crate take the RFC 8536 §3.3.1
/// extension (transition times from −167 to 167 hours) that the document's own
/// example `WART4WARST,J1/0,J365/25` uses, as glibc does.
fn posix_rule_as_given(rule: &str) -> Option<TimeZone> {
    if rule.is_empty() || rule.len() > MAX_ZONE || !rule.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    // header: magic, version 3, 15 reserved, then isutcnt isstdcnt leapcnt
    // timecnt typecnt charcnt; one local time type (UTC+0, "UTC")
    let mut block = Vec::new();
    block.extend_from_slice(b"TZif3");
    block.extend_from_slice(&[0u8; 15]);
    for n in [0u32, 0, 0, 0, 1, 4] {
        block.extend_from_slice(&n.to_be_bytes());
    }
    block.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    block.extend_from_slice(b"UTC\0");
    let mut file = block.clone(); // the v1 block
    file.extend_from_slice(&block); // the v2+ block (no times: the same bytes)
    file.push(b'\n');
    file.extend_from_slice(rule.as_bytes());
    file.push(b'\n');
    TimeZone::from_tz_data(&file).ok()
}

/// Resolves a SETTZ/DATEFTZ argument: a database name first (a leading `:` is
/// the POSIX way to say "a file"), then a POSIX rule; `UTC` always works.
pub fn resolve(arg: &[u8]) -> Option<TimeZone> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.len() > MAX_ZONE {
        return None;
    }
    let (file_only, name) = match s.strip_prefix(':') {
        Some(n) => (true, n),
        None => (false, s),
    };
    if is_zone_name(name) {
        if let Some(z) = from_database(name) {
            return Some(z);
        }
    }
    if name == "UTC" {
        return Some(utc());
    }
    if file_only {
        return None;
    }
    posix_rule(s)
}

/// `YYYY-MM-DD HH:MM:SS ZONE` for `ts` in `zone` (the reference's
/// `%Y-%m-%d %H:%M:%S %Z`).
pub fn format_in(zone: &TimeZone, ts: i64) -> Option<String> {
    let t = zone.find_local_time_type(ts).ok()?;
    let local = ts.checked_add(i64::from(t.ut_offset()))?;
    let mut out = tfp_wire::date::format_utc(local)?;
    out.push(' ');
    out.push_str(t.time_zone_designation());
    Some(out)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The zone argument, or FAILED 16 when there is none.
fn zone_arg(arg: &[u8]) -> Result<&[u8], Failed> {
    if arg.iter().all(|b| b.is_ascii_whitespace()) {
        Err(Failed::MissingParameter)
    } else {
        Ok(arg)
    }
}

/// `GETTZ` → `OK <zone>`: what the last successful SETTZ set, `UTC` before.
pub fn gettz(s: &mut Session, _arg: &[u8]) -> CmdResult {
    Ok(Reply::Data(s.family_mut::<SessionTz>().name.clone()))
}

/// `SETTZ <zone>` → `OK`; an empty argument is FAILED 16, a zone that is neither
/// in the database nor a POSIX rule FAILED 26, and the session's zone stays.
pub fn settz(s: &mut Session, arg: &[u8]) -> CmdResult {
    let arg = zone_arg(arg)?;
    let zone = resolve(arg).ok_or(Failed::DateNotRepresentable)?;
    *s.family_mut::<SessionTz>() = SessionTz {
        name: arg.to_vec(),
        zone,
    };
    Ok(Reply::Ok)
}

/// `LOCALTIME` → `OK YYYY-MM-DD HH:MM:SS ZONE` in the session's zone.
pub fn localtime(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let t = format_in(&s.family_mut::<SessionTz>().zone, now()).ok_or(Failed::DateNotRepresentable)?;
    Ok(Reply::Data(t.into_bytes()))
}

/// `DATEFTZ <zone>` → the same in `zone`, leaving the session's zone as it is.
pub fn dateftz(_s: &mut Session, arg: &[u8]) -> CmdResult {
    let arg = zone_arg(arg)?;
    let zone = resolve(arg).ok_or(Failed::DateNotRepresentable)?;
    let t = format_in(&zone, now()).ok_or(Failed::DateNotRepresentable)?;
    Ok(Reply::Data(t.into_bytes()))
}

/// `GENUUID` → `OK <uuid>`: a random (version 4) UUID from the OS CSPRNG, in
/// lower-case text, as the reference's `uuid_generate_random`.
pub fn genuuid(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let mut b = [0u8; 16];
    if let Err(e) = getrandom::getrandom(&mut b) {
        error!("{} GENUUID: no randomness: {e}", s.peer());
        return Err(Failed::Memory.into());
    }
    Ok(Reply::Data(uuid::v4_text(b).to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["UTC", "America/New_York", "Etc/GMT+5", "EST5EDT", "right/UTC"] {
            assert!(is_zone_name(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../etc", "a//b", "a/./b", "a/..", "a b", "x\0"] {
            assert!(!is_zone_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn posix_rules_without_files() {
        let z = posix_rule("EST+5EDT,M3.2.0/2,M11.1.0/2").unwrap();
        // 2023-01-15 12:00 UTC: standard time; 2023-07-15 12:00 UTC: daylight time
        assert_eq!(format_in(&z, 1_673_784_000).unwrap(), "2023-01-15 07:00:00 EST");
        assert_eq!(format_in(&z, 1_689_422_400).unwrap(), "2023-07-15 08:00:00 EDT");
        let z = posix_rule("JST-9").unwrap();
        assert_eq!(format_in(&z, 0).unwrap(), "1970-01-01 09:00:00 JST");
        assert_eq!(format_in(&utc(), 0).unwrap(), "1970-01-01 00:00:00 UTC");
        for bad in ["", "garbage/zone", "EST+99999", "ES", "EST5EDT,M13.1.0", "A\nB"] {
            assert!(posix_rule(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn database_names_resolve_beneath_the_directory() {
        crate::services::tz::preload();
        if crate::services::tz::database_fd().is_none() {
            eprintln!("skipped: no zone database");
            return;
        }
        let ny = resolve(b"America/New_York").expect("tzdata installed");
        assert_eq!(format_in(&ny, 1_673_784_000).unwrap(), "2023-01-15 07:00:00 EST");
        assert!(resolve(b":America/New_York").is_some());
        assert!(
            resolve(b"US/Eastern").is_some(),
            "a relative symlink inside the database"
        );
        assert!(resolve(b"UTC").is_some());
        for bad in [
            &b"../../../etc/passwd"[..],
            b"/etc/passwd",
            b":/etc/passwd",
            b"Nowhere/City",
            b":EST+5",
        ] {
            assert!(resolve(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
