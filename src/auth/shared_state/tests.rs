//! The shared state's tests: counts over handles, repair of damage, bounded lock waits, bans, the directory's mode.
use super::*;
use crate::auth::throttle::Limits;

use std::path::PathBuf;

fn dir(tag: &str) -> (PathBuf, Arc<StateDir>) {
    let d = std::env::temp_dir().join(format!("tfd-shared-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let held = prepare(&d).unwrap();
    (d, held)
}

const L: Limits = Limits {
    max_failures: 3,
    window: 60,
    ban: 100,
};

#[test]
fn counts_add_up_over_handles_and_damage_is_repaired() {
    let (d, held) = dir("count");
    let p = Policy { ip: L, account: L };
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let now = 1_700_000_000;
    // two "nodes": two handles, each opening its own description
    let (a, b) = (SharedThrottle::new(held.clone()), SharedThrottle::new(held.clone()));
    assert_eq!(a.failure(ip, b"x", &p, now).unwrap().ip.banned, None);
    assert_eq!(b.failure(ip, b"y", &p, now).unwrap().ip.banned, None);
    assert_eq!(a.check(ip, b"z", &p, now).unwrap(), None);
    assert_eq!(b.failure(ip, b"z", &p, now + 1).unwrap().ip.banned, Some(100));
    assert_eq!(a.check(ip, b"q", &p, now + 2).unwrap(), Some(Blocked::Ip(99)));
    // the mapped form is the same address; the name rule too
    let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(b.check(mapped, b"q", &p, now + 2).unwrap(), Some(Blocked::Ip(99)));
    for _ in 0..3 {
        a.failure("192.0.2.9".parse().unwrap(), b"alice", &p, now).unwrap();
    }
    assert!(matches!(
        b.check("198.51.100.1".parse().unwrap(), b"alice", &p, now).unwrap(),
        Some(Blocked::Account(_))
    ));
    b.success(b"alice").unwrap();
    assert_eq!(
        b.check("198.51.100.1".parse().unwrap(), b"alice", &p, now).unwrap(),
        None
    );

    // scribble over every record: all read as empty (never as a ban of
    // somebody else), and the first write repairs what it touches
    let f = d.join(THROTTLE_FILE);
    let mut bytes = std::fs::read(&f).unwrap();
    for b in &mut bytes[HEADER..] {
        *b ^= 0x5a;
    }
    std::fs::write(&f, &bytes).unwrap();
    assert_eq!(a.check(ip, b"q", &p, now + 2).unwrap(), None);
    let c = a.failure(ip, b"q", &p, now + 2).unwrap();
    assert!(c.damaged > 0, "{c:?}");
    assert_eq!(a.failure(ip, b"q", &p, now + 2).unwrap().damaged, 0);

    // a truncated file (or a damaged header) is rewritten whole
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(10)
        .unwrap();
    assert_eq!(a.check(ip, b"q", &p, now + 2).unwrap(), None);
    assert_eq!(std::fs::metadata(&f).unwrap().len(), Kind::Throttle.len());
    for _ in 0..3 {
        b.failure(ip, b"q", &p, now + 3).unwrap();
    }
    assert!(a.check(ip, b"q", &p, now + 3).unwrap().is_some());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_held_lock_makes_a_bounded_wait_fail() {
    let (d, dirfd) = dir("busy");
    let held = Locked::open(&dirfd, Kind::Throttle, OfdLock::Exclusive, LOGIN_LOCK_WAIT, false).unwrap();
    let t = SharedThrottle {
        dir: dirfd.clone(),
        wait: Duration::from_millis(50),
    };
    let p = Policy { ip: L, account: L };
    let start = Instant::now();
    let r = t.check("192.0.2.1".parse().unwrap(), b"n", &p, 5);
    assert!(matches!(r, Err(StateError::Busy(_))), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    held.finish().unwrap();
    assert_eq!(t.check("192.0.2.1".parse().unwrap(), b"n", &p, 5).unwrap(), None);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bans_round_trip_expire_evict_and_survive_damage_elsewhere() {
    let (d, held) = dir("bans");
    let b = SharedBans::new(held);
    let w = Duration::from_secs(1);
    let v4: IpAddr = "203.0.113.5".parse().unwrap();
    let v6: IpAddr = "2001:db8::5".parse().unwrap();
    assert!(!b.ban(v4, 200, 100, w).unwrap());
    assert!(!b.ban(v6, 150, 100, w).unwrap());
    let got = b.read(100, w).unwrap();
    assert_eq!(got.bans.len(), 2);
    assert!(got.bans.contains(&Ban { ip: v4, until: 200 }));
    assert_eq!(b.read(160, w).unwrap().bans, vec![Ban { ip: v4, until: 200 }]);
    // a re-ban replaces, an unban lifts
    b.ban(v4, 300, 100, w).unwrap();
    assert_eq!(b.read(250, w).unwrap().bans.len(), 1);
    assert!(b.unban(v4, 100, w).unwrap());
    assert!(!b.unban(v4, 100, w).unwrap());
    // full: the ban ending soonest goes
    for i in 0..BAN_SLOTS as u64 {
        b.ban(
            IpAddr::from((0x0a00_0000u32 + i as u32).to_be_bytes()),
            1000 + i,
            100,
            w,
        )
        .unwrap();
    }
    assert!(b.ban(v4, 5000, 100, w).unwrap());
    let got = b.read(100, w).unwrap();
    assert_eq!(got.bans.len(), BAN_SLOTS);
    assert!(got.bans.iter().all(|x| x.until != 1000) && got.bans.contains(&Ban { ip: v4, until: 5000 }));
    // one damaged record: the others keep holding, the damage is counted,
    // and a damaged header is rewritten keeping the sound records
    let f = d.join(BANS_FILE);
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[HEADER + 5 * BAN_REC + 3] ^= 1;
    bytes[5] ^= 1;
    std::fs::write(&f, &bytes).unwrap();
    let got = b.read(100, w).unwrap();
    assert_eq!((got.bans.len(), got.damaged), (BAN_SLOTS - 1, 1), "repaired on read");
    assert_eq!(b.read(100, w).unwrap().damaged, 0);
    assert!(got.bans.contains(&Ban { ip: v4, until: 5000 }));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn prepare_refuses_a_directory_others_may_write() {
    let d = std::env::temp_dir().join(format!("tfd-shared-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let e = prepare(&d).unwrap_err().to_string();
    assert!(e.contains("closed to everyone else"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
