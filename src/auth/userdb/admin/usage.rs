//! `tfpasswd list`'s USED column: what each user with a quota holds now,
//! counted as tfd counts it when that user uploads (the regular files its
//! system user owns beneath its root: the served root, or its jail there), so
//! an operator sees the use beside the limit without logging in as the user.
//! The served root and `quota_default` come from tfd.conf.

use super::Error;
use crate::auth::privs;
use crate::auth::userdb::{Entry, QuotaSpec};
use crate::config::Config;
use crate::fsys::{quota, RelPath, Root};
use std::path::Path;

/// The default tfd.conf, read when `-c` is not given and it exists.
const DEFAULT_CONFIG: &str = "/etc/tfd/tfd.conf";

/// What measuring needs from tfd.conf.
pub(super) struct Measure {
    root: Root,
    quota_default: Option<u64>,
    walk_limit: u64,
}

impl Measure {
    /// From `given` (`-c FILE`: an error when it cannot be read), else from
    /// the default tfd.conf when there is one; None without one, or when the
    /// default cannot be read (said on standard error): the column shows `?`.
    pub(super) fn from_config(given: Option<&Path>) -> Result<Option<Measure>, Error> {
        match given {
            Some(p) => Self::read(p).map(Some),
            None if Path::new(DEFAULT_CONFIG).exists() => match Self::read(Path::new(DEFAULT_CONFIG)) {
                Ok(m) => Ok(Some(m)),
                Err(Error::Failed(why) | Error::Usage(why)) => {
                    eprintln!("tfpasswd: USED is not measured: {why}");
                    Ok(None)
                }
            },
            None => Ok(None),
        }
    }

    fn read(path: &Path) -> Result<Measure, Error> {
        let cfg = match Config::load(path) {
            Ok(c) => c,
            Err(e) => return Err(Error::Failed(format!("{}: {e}", path.display()))),
        };
        let root = match Root::open_root(&cfg.dbdir) {
            Ok(r) => r,
            Err(e) => return Err(Error::Failed(format!("the served root {}: {e}", cfg.dbdir.display()))),
        };
        Ok(Measure {
            root,
            quota_default: cfg.quota_default,
            walk_limit: cfg.walk_limit,
        })
    }

    /// The USED column for `e`: its use, `-` without a quota, `?` where it
    /// could not be measured (no system user, a jail that does not open),
    /// `>` before a count the walk limit cut short.
    pub(super) fn used(&self, e: &Entry) -> String {
        let limited = match e.quota {
            QuotaSpec::Unlimited => false,
            QuotaSpec::Bytes(_) => true,
            QuotaSpec::Default => self.quota_default.is_some(),
        };
        if !limited {
            return "-".into();
        }
        let Ok(id) = privs::resolve(e.system_user()) else {
            return "?".into();
        };
        let u = match &e.jail {
            None => quota::usage(self.root.fd(), id.uid.as_raw(), self.walk_limit),
            Some(jail) => {
                // beneath the root, no link leading out (LOGIN's own judgement
                // of the jail is --check-config's)
                let opened = RelPath::parse(jail.as_bytes())
                    .ok()
                    .and_then(|p| self.root.open(&p, libc::O_RDONLY | libc::O_DIRECTORY, 0).ok());
                match opened {
                    Some(fd) => quota::usage(std::os::fd::AsFd::as_fd(&fd), id.uid.as_raw(), self.walk_limit),
                    None => return "?".into(),
                }
            }
        };
        let n = shown(u.bytes);
        if u.truncated {
            format!(">{n}")
        } else {
            n
        }
    }
}

/// A use as people read it beside a limit: one decimal in the largest unit
/// it reaches (`3.5M`), bytes below 1K.
fn shown(n: u64) -> String {
    for (suffix, unit) in [("T", 1u64 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)] {
        if n >= unit {
            return format!("{:.1}{suffix}", n as f64 / unit as f64);
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uses_read_as_people_read_them() {
        assert_eq!(super::shown(0), "0");
        assert_eq!(super::shown(1023), "1023");
        assert_eq!(super::shown(3 << 20 | 1 << 19), "3.5M");
        assert_eq!(super::shown(10 << 30), "10.0G");
    }
}
