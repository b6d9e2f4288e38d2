//! The calendar, pure: days ↔ civil dates (proleptic Gregorian) and the
//! `YYYY-MM-DD HH:MM:SS` UTC text of DATEF/DTOF/FTOD. No libc time zone state,
//! so it is unit-tested and cannot be skewed by TZ; the date commands, the
//! xferlog and `tfd ctl` all use it.

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats a timestamp as `YYYY-MM-DD HH:MM:SS` UTC; None when the year would not
/// fit a C `struct tm` (the document's "not representable").
pub fn format_utc(ts: i64) -> Option<String> {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if y - 1900 > i32::MAX as i64 || y - 1900 < i32::MIN as i64 {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        y,
        m,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ))
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC) strictly.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(' ')?;
    let mut dp = date.splitn(3, '-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let mut tp = time.trim().splitn(3, ':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let se: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&mo) || !(0..=23).contains(&h) || !(0..=59).contains(&mi) || !(0..=60).contains(&se) {
        return None;
    }
    if !(0..=9999).contains(&y) {
        return None;
    }
    let (ny, nm) = if mo == 12 { (y + 1, 1) } else { (y, mo + 1) };
    let mdays = days_from_civil(ny, nm, 1) - days_from_civil(y, mo, 1);
    if d == 0 || d as i64 > mdays {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_utc(0).unwrap(), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_795_298_546).unwrap(), "2026-11-21 22:02:26");
        assert_eq!(format_utc(-1).unwrap(), "1969-12-31 23:59:59");
        assert_eq!(format_utc(951_782_400).unwrap(), "2000-02-29 00:00:00");
        assert!(format_utc(i64::MAX).is_none());
    }

    #[test]
    fn round_trip() {
        for ts in [0i64, 1, 86_399, 86_400, 951_782_400, 1_795_298_546, 253_402_300_799] {
            assert_eq!(parse_utc(&format_utc(ts).unwrap()), Some(ts));
        }
        assert_eq!(parse_utc("1900-01-01 00:00:00"), Some(-2_208_988_800));
        assert_eq!(parse_utc("2023-02-29 00:00:00"), None);
        assert_eq!(parse_utc("garbage"), None);
        assert_eq!(parse_utc("2020-13-01 00:00:00"), None);
    }
}
