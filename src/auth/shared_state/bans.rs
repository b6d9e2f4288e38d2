//! The admin bans every node shares: `tfd ctl ban`/`unban` on any node write
//! them, every listener reads them (the control module's `SharedBanCache`).

use super::{decode_record, u64_at, Kind, Locked, StateDir, StateError, BAN_REC, BAN_SLOTS};
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;
use tfd_sys::OfdLock;

/// One admin ban as the file keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    /// The address (IPv4 addresses as such, never IPv4-mapped).
    pub ip: IpAddr,
    /// Unix seconds.
    pub until: u64,
}

/// What reading the bans found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BanList {
    /// Bans in force at the time given.
    pub bans: Vec<Ban>,
    /// Damaged records (whose address cannot be known); a damaged header or a
    /// wrong length (the file was rewritten, keeping the sound records) counts
    /// as one.
    pub damaged: usize,
}

/// The shared admin bans.
pub struct SharedBans {
    dir: Arc<StateDir>,
}

fn ban_words(ip: IpAddr, until: u64) -> [u64; 3] {
    let o = match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    [u64_at(&o, 0), u64_at(&o, 8), until]
}

fn words_ip(w: &[u64]) -> IpAddr {
    let mut o = [0u8; 16];
    o[..8].copy_from_slice(&w[0].to_le_bytes());
    o[8..].copy_from_slice(&w[1].to_le_bytes());
    IpAddr::V6(Ipv6Addr::from(o)).to_canonical()
}

impl SharedBans {
    /// The bans in `dir` (prepared by [`super::prepare`]).
    pub fn new(dir: Arc<StateDir>) -> SharedBans {
        SharedBans { dir }
    }

    /// The file's path, for messages.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join(super::BANS_FILE)
    }

    /// The file's (inode, size, mtime, mtime ns, ctime, ctime ns) as seen
    /// through the held directory; None when it is missing.
    pub fn signature(&self) -> Option<(u64, u64, i64, i64, i64, i64)> {
        let st = self.dir.stat(Kind::Bans.name())?;
        Some((
            st.st_ino,
            st.st_size as u64,
            st.st_mtime,
            st.st_mtime_nsec,
            st.st_ctime,
            st.st_ctime_nsec,
        ))
    }

    fn lock(&self, what: OfdLock, wait: Duration) -> Result<Locked, StateError> {
        Locked::open(&self.dir, Kind::Bans, what, wait, false)
    }

    /// Every record, decoded (None: damaged).
    fn records(l: &Locked) -> io::Result<Vec<Option<Vec<u64>>>> {
        let bytes = l.read_records(0, BAN_SLOTS)?;
        Ok(bytes
            .chunks(BAN_REC)
            .enumerate()
            .map(|(slot, rec)| decode_record(rec, 3, slot))
            .collect())
    }

    /// The bans in force at `now`, waiting at most `wait` for the lock.
    pub fn read(&self, now: u64, wait: Duration) -> Result<BanList, StateError> {
        let l = self.lock(OfdLock::Shared, wait)?;
        let mut out = BanList {
            damaged: l.repaired as usize,
            ..BanList::default()
        };
        for r in Self::records(&l)? {
            match r {
                None => out.damaged += 1,
                Some(w) if w[2] > now => out.bans.push(Ban {
                    ip: words_ip(&w),
                    until: w[2],
                }),
                Some(_) => {}
            }
        }
        l.finish()?;
        Ok(out)
    }

    /// Bans `ip` until `until` on every node; true when the file was full and
    /// the ban ending soonest made room.
    pub fn ban(&self, ip: IpAddr, until: u64, now: u64, wait: Duration) -> Result<bool, StateError> {
        let mut l = self.lock(OfdLock::Exclusive, wait)?;
        let recs = Self::records(&l)?;
        let want = ban_words(ip, 0);
        let same = |w: &Vec<u64>| w[..2] == want[..2] && w[2] != 0;
        let slot = recs
            .iter()
            .position(|r| r.as_ref().is_some_and(same))
            .or_else(|| recs.iter().position(|r| r.as_ref().map_or(true, |w| w[2] <= now)));
        let (slot, evicted) = match slot {
            Some(s) => (s, false),
            None => {
                let soonest = (0..recs.len())
                    .min_by_key(|&s| recs[s].as_ref().map_or(0, |w| w[2]))
                    .unwrap_or(0);
                (soonest, true)
            }
        };
        l.write_record(slot, &ban_words(ip, until))?;
        l.finish()?;
        Ok(evicted)
    }

    /// Lifts `ip`'s ban on every node; false when there was none in force.
    pub fn unban(&self, ip: IpAddr, now: u64, wait: Duration) -> Result<bool, StateError> {
        let mut l = self.lock(OfdLock::Exclusive, wait)?;
        let want = ban_words(ip, 0);
        let mut found = false;
        for (slot, r) in Self::records(&l)?.into_iter().enumerate() {
            if let Some(w) = r {
                if w[..2] == want[..2] && w[2] != 0 {
                    found |= w[2] > now;
                    l.write_record(slot, &[0, 0, 0])?;
                }
            }
        }
        l.finish()?;
        Ok(found)
    }
}
