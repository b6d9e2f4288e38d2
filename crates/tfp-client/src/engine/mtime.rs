//! Modification times to the nanosecond, between the wire's [`Mtime`] and
//! this machine's: what every landing and every header reads and writes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tfp_wire::entry::Mtime;

/// The time `t` names.
pub fn system_time(t: Mtime) -> SystemTime {
    let whole = if t.sec >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.sec as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(t.sec.unsigned_abs())
    };
    whole + Duration::from_nanos(u64::from(t.nsec))
}

/// A local entry's mtime, from lstat's fields.
pub fn mtime_of(m: &std::fs::Metadata) -> Mtime {
    use std::os::unix::fs::MetadataExt;
    Mtime::of(m.mtime(), m.mtime_nsec()).unwrap_or(Mtime::secs(m.mtime()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_their_nanoseconds_both_sides_of_the_epoch() {
        let t = Mtime {
            sec: 1_700_000_000,
            nsec: 123_456_789,
        };
        let d = system_time(t).duration_since(UNIX_EPOCH).unwrap();
        assert_eq!((d.as_secs(), d.subsec_nanos()), (1_700_000_000, 123_456_789));
        let before = Mtime {
            sec: -2,
            nsec: 500_000_000,
        };
        let d = UNIX_EPOCH.duration_since(system_time(before)).unwrap();
        assert_eq!(d, Duration::from_millis(1500));
    }
}
