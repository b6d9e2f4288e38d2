//! A client's bandwidth limit (`tf --bwlimit`, rsync's option): one token
//! bucket per direction for everything a [`ClientConfig`](crate::ClientConfig)
//! opens, so the limit holds for the whole run however many sessions
//! (`--jobs`) and byte-range connections (`--streams`) share the work. It is
//! the bucket tfd paces its own sessions with (tfp_channel's bandwidth),
//! charged where bytes meet each socket: an upload's writes wait for their
//! tokens, and a download's reads do, TCP's window holding the server back
//! meanwhile. A timetable (rclone's `--bwlimit "08:00,1M 19:00,off"`, or
//! by weekday, `"Mon-08:00,512K Fri-19:00,off"`) changes the bucket's rate
//! as the local clock passes each time it names.

use std::sync::Arc;
use std::time::Duration;
use tfp_channel::bandwidth::{Buckets, Pace, Rates};

/// The least limit taken, in bytes per second (rsync's too).
pub const LEAST: u64 = 512;

/// A rate as rsync's `--bwlimit` reads it, in bytes per second: a number,
/// maybe with a fraction, then a unit: none or `K` is KiB (1024 bytes), `M`
/// MiB, `G` GiB, `B` bytes; `KB`, `MB`, `GB` are powers of 1000 and `KiB`,
/// `MiB`, `GiB` of 1024 (any case). 0 (or `off`) is no limit.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("{text:?} is no rate: write a number of KiB/s, or one with a unit (500K, 2M, 1.5G)");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "" | "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        _ => return Err(bad()),
    };
    let rate = n * scale;
    if !rate.is_finite() || rate >= u64::MAX as f64 {
        return Err(bad());
    }
    match rate as u64 {
        0 => Ok(0),
        r if r < LEAST => Err(format!("{text:?} is below the least limit, {LEAST} bytes a second")),
        r => Ok(r),
    }
}

/// What `--bwlimit` says: one rate, or a timetable of rates by the local
/// time of day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// Bytes per second (0: none).
    Rate(u64),
    /// `(minute of the day, rate)`, by minute: each rate holds from its
    /// minute to the next one's, the last one's past midnight until the first.
    Timetable(Vec<(u32, u64)>),
    /// `(minute of the week, Monday 00:00 being 0, rate)`, by minute: as a
    /// day's timetable, over the week (rclone's `Mon-08:00,512K`).
    Weekly(Vec<(u32, u64)>),
}

/// Minutes in a day, and in a week.
const DAY: u32 = 24 * 60;
const WEEK: u32 = 7 * DAY;

/// The weekdays as rclone names them, Monday first.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One timetable entry's time: `HH:MM` (every day: `None`) or
/// `Day-HH:MM` (that weekday, Monday 0), as the minute of that day.
fn entry_time(at: &str) -> Option<(Option<u32>, u32)> {
    let (day, hm) = match at.split_once('-') {
        Some((d, hm)) => {
            let d = d.to_ascii_lowercase();
            let day = DAYS.iter().position(|n| d == *n || (full(&d) && d.starts_with(n)))?;
            (Some(day as u32), hm)
        }
        None => (None, at),
    };
    let (h, m) = hm.split_once(':')?;
    match (h.parse::<u32>(), m.parse::<u32>()) {
        (Ok(h), Ok(m)) if h < 24 && m < 60 && hm.len() == 5 => Some((day, h * 60 + m)),
        _ => None,
    }
}

/// Whether `d` (lower case) is a weekday's whole English name.
fn full(d: &str) -> bool {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .contains(&d)
}

/// How often a timetable's bucket looks at the clock.
const LOOK: Duration = Duration::from_secs(10);

impl Limit {
    /// A rate ([`parse_rate`]) or rclone's timetable: `HH:MM,RATE` entries
    /// separated by spaces (`"08:00,1M 19:00,off"`); with a weekday before
    /// any time (`Mon-08:00,512K`, rclone's `Mon` to `Sun` or the whole
    /// name) a week's, whose entries without a day hold on every day.
    pub fn parse(text: &str) -> Result<Limit, String> {
        if !text.contains(',') {
            return parse_rate(text).map(Limit::Rate);
        }
        let mut entries = Vec::new();
        for entry in text.split_whitespace() {
            let bad = || {
                format!("{entry:?} is no timetable entry: write HH:MM,RATE or DAY-HH:MM,RATE (08:00,1M, Mon-08:00,1M)")
            };
            let (at, rate) = entry.split_once(',').ok_or_else(bad)?;
            let (day, minute) = entry_time(at).ok_or_else(bad)?;
            entries.push((day, minute, parse_rate(rate)?));
        }
        let weekly = entries.iter().any(|e| e.0.is_some());
        let mut table: Vec<(u32, u64)> = Vec::new();
        for (day, minute, rate) in entries {
            match (weekly, day) {
                (false, _) => table.push((minute, rate)),
                (true, Some(d)) => table.push((d * DAY + minute, rate)),
                (true, None) => table.extend((0..7).map(|d| (d * DAY + minute, rate))),
            }
        }
        table.sort_by_key(|e| e.0);
        if table.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(format!("{text:?} names a time twice"));
        }
        Ok(if weekly {
            Limit::Weekly(table)
        } else {
            Limit::Timetable(table)
        })
    }

    /// The rate at `minute` of the week (Monday 00:00 is 0); a day's
    /// timetable reads its minute of the day.
    pub fn at(&self, minute: u32) -> u64 {
        let find = |t: &[(u32, u64)], m: u32| t.iter().rev().find(|e| e.0 <= m).or(t.last()).map_or(0, |e| e.1);
        match self {
            Limit::Rate(r) => *r,
            Limit::Timetable(t) => find(t, minute % DAY),
            Limit::Weekly(t) => find(t, minute % WEEK),
        }
    }
}

/// The shared bucket for `limit` each way, to put in a config before it
/// opens anything; None for no limit. A timetable's bucket is kept to it
/// by a thread that looks at the clock every few seconds and ends with the
/// bucket.
pub fn limit(limit: &Limit) -> std::io::Result<Option<Arc<Pace>>> {
    let buckets = || Buckets::new(1).map(Arc::new);
    match limit {
        Limit::Rate(0) => Ok(None),
        Limit::Rate(rate) => Ok(Pace::new(
            &buckets()?,
            Rates {
                session: *rate,
                ..Rates::default()
            },
        )),
        Limit::Timetable(_) | Limit::Weekly(_) => {
            let pace = Pace::changeable(&buckets()?, limit.at(local_minute()));
            let (kept, table) = (Arc::downgrade(&pace), limit.clone());
            std::thread::Builder::new().name("bwlimit".into()).spawn(move || {
                while let Some(p) = kept.upgrade() {
                    p.set_session_rate(table.at(local_minute()));
                    drop(p);
                    std::thread::sleep(LOOK);
                }
            })?;
            Ok(Some(pace))
        }
    }
}

/// The minute of the week on the local clock (Monday 00:00 is 0; TZ, else
/// /etc/localtime, as date(1); UTC when neither can be read).
fn local_minute() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let offset = crate::local_zone::get()
        .and_then(|z| z.find_local_time_type(now).ok().map(|t| i64::from(t.ut_offset())))
        .unwrap_or(0);
    week_minute(now.saturating_add(offset))
}

/// The minute of the week of `secs` since the epoch (a Thursday).
fn week_minute(secs: i64) -> u32 {
    let days = secs.div_euclid(86_400);
    let weekday = (days + 3).rem_euclid(7) as u32;
    weekday * DAY + (secs.rem_euclid(86_400) / 60) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_rsync_reads_them() {
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("2m"), Ok(2 << 20));
        assert_eq!(parse_rate("100"), Ok(100 << 10));
        assert_eq!(parse_rate("1.5K"), Ok(1536));
        assert_eq!(parse_rate("1G"), Ok(1 << 30));
        assert_eq!(parse_rate("1MB"), Ok(1_000_000));
        assert_eq!(parse_rate("1MiB"), Ok(1 << 20));
        assert_eq!(parse_rate("4096B"), Ok(4096));
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate("off"), Ok(0));
        for bad in ["", "x", "2X", "-1", "1e9", "100b0", "1..2M"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert!(parse_rate("10B").unwrap_err().contains("least"));
    }

    #[test]
    fn no_limit_no_bucket() {
        assert!(limit(&Limit::Rate(0)).unwrap().is_none());
        assert!(limit(&Limit::Rate(1 << 20)).unwrap().is_some());
        let t = Limit::parse("00:00,1M 23:59,1M").unwrap();
        assert!(limit(&t).unwrap().is_some());
    }

    #[test]
    fn timetables_read_as_rclone_reads_them() {
        let t = Limit::parse("08:00,1M 19:00,off").unwrap();
        assert_eq!(t, Limit::Timetable(vec![(480, 1 << 20), (1140, 0)]));
        assert_eq!(t.at(480), 1 << 20);
        assert_eq!(t.at(1139), 1 << 20);
        assert_eq!(t.at(1140), 0);
        // before the first entry, the last one's still holds
        assert_eq!(t.at(60), 0);
        assert_eq!(
            Limit::parse(" 19:00,off  08:00,512 ").unwrap(),
            Limit::Timetable(vec![(480, 512 << 10), (1140, 0)])
        );
        assert_eq!(Limit::parse("2M").unwrap(), Limit::Rate(2 << 20));
        for bad in [
            "8:00,1M",
            "24:00,1M",
            "08:60,1M",
            "08:00,",
            "08:00;1M",
            "08:00,1M 08:00,2M",
            "08:00,2X",
        ] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
        assert!(local_minute() < WEEK);
    }

    #[test]
    fn weekdays_read_as_rclone_reads_them() {
        let t = Limit::parse("Mon-08:00,512K Fri-19:00,off").unwrap();
        let (mon8, fri19) = (8 * 60, 4 * DAY + 19 * 60);
        assert_eq!(t, Limit::Weekly(vec![(mon8, 512 << 10), (fri19, 0)]));
        assert_eq!(t.at(mon8), 512 << 10);
        assert_eq!(t.at(3 * DAY), 512 << 10, "Thursday, still Monday's");
        assert_eq!(t.at(fri19), 0);
        assert_eq!(t.at(6 * DAY), 0, "Sunday, still Friday's");
        assert_eq!(t.at(60), 0, "Monday before 08:00: the week's last entry");
        // an entry without a day holds on every day
        let t = Limit::parse("Mon-00:00,512 12:00,1M sunday-20:00,off").unwrap();
        assert_eq!(t.at(60), 512 << 10);
        assert_eq!(t.at(DAY + 13 * 60), 1 << 20, "Tuesday afternoon");
        assert_eq!(t.at(DAY + 60), 1 << 20, "Tuesday night: Monday noon's");
        assert_eq!(t.at(6 * DAY + 21 * 60), 0);
        for bad in [
            "Mo-08:00,1M",
            "Mondayé-08:00,1M",
            "éééé-08:00,1M",
            "Xyz-08:00,1M",
            "Mon-8:00,1M",
            "Mon08:00,1M",
            "Mon-08:00,1M Mon-08:00,2M",
            "Mon-12:00,1M 12:00,2M",
        ] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
        // 1970-01-05 was a Monday, 1970-01-01 a Thursday
        assert_eq!(week_minute(4 * 86_400 + 8 * 3600), mon8);
        assert_eq!(week_minute(0), 3 * DAY);
        assert_eq!(week_minute(-60), 3 * DAY - 1);
    }
}
