//! The local time zone, as date(1) finds it: what `TZ` names (a database
//! name, a file after `:`, or a POSIX rule; empty is UTC), else
//! /etc/localtime. Read once: tf's listings show times in it and a
//! `--bwlimit` timetable follows its clock.

/// The zone, or None when neither `TZ` nor /etc/localtime can be read
/// (callers then use UTC).
pub fn get() -> Option<&'static tz::TimeZone> {
    static ZONE: std::sync::OnceLock<Option<tz::TimeZone>> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| match std::env::var("TZ") {
        Ok(v) if v.is_empty() => Some(tz::TimeZone::utc()),
        Ok(v) => tz::TimeZone::from_posix_tz(&v).ok(),
        Err(_) => tz::TimeZone::local().ok(),
    })
    .as_ref()
}
