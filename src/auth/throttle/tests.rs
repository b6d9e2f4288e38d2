//! The throttle's tests: counting, banning, eviction under a flood, sharing across fork, labels.
use super::*;

const L: Limits = Limits {
    max_failures: 3,
    window: 60,
    ban: 100,
};

const N: Counted = Counted {
    banned: None,
    evicted: false,
};

#[allow(non_snake_case)]
fn B(secs: u32) -> Counted {
    Counted {
        banned: Some(secs),
        evicted: false,
    }
}

fn words(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

#[test]
fn bans_after_max_then_expires() {
    let w = words(64);
    let t = Table::new(&w);
    assert_eq!(t.banned(7, 1000, L), None);
    assert_eq!(t.fail(7, 1000, L), N);
    assert_eq!(t.fail(7, 1010, L), N);
    assert_eq!(t.banned(7, 1010, L), None);
    assert_eq!(t.fail(7, 1020, L), B(100));
    assert_eq!(t.banned(7, 1020, L), Some(100));
    assert_eq!(t.banned(7, 1119, L), Some(1));
    // failures during a ban do not extend it
    assert_eq!(t.fail(7, 1050, L), N);
    assert_eq!(t.banned(7, 1119, L), Some(1));
    // after the ban: a clean slate
    assert_eq!(t.banned(7, 1120, L), None);
    assert_eq!(t.fail(7, 1120, L), N);
    assert_eq!(t.banned(7, 1121, L), None);
    // other keys are unaffected
    assert_eq!(t.banned(8, 1020, L), None);
}

#[test]
fn window_forgets_old_failures() {
    let w = words(64);
    let t = Table::new(&w);
    t.fail(1, 0, L);
    t.fail(1, 30, L);
    // the window started at 0: by 60 both are forgotten
    assert_eq!(t.fail(1, 60, L), N);
    assert_eq!(t.fail(1, 61, L), N);
    assert_eq!(t.fail(1, 62, L), B(100));
}

#[test]
fn clear_and_disabled() {
    let w = words(64);
    let t = Table::new(&w);
    t.fail(5, 0, L);
    t.fail(5, 1, L);
    t.clear(5);
    assert_eq!(t.fail(5, 3, L), N);
    let off = Limits { max_failures: 0, ..L };
    for i in 0..10 {
        assert_eq!(t.fail(9, i, off), N);
    }
    assert_eq!(t.banned(9, 10, off), None);
}

#[test]
fn full_table_evicts_the_weakest_and_keeps_counting() {
    let w = words(2 * PROBE);
    let t = Table::new(&w);
    // every slot holds a live entry; key 1 has two failures, the rest one
    for k in 1..=PROBE as u64 {
        assert_eq!(t.fail(k, 0, L), N);
    }
    assert_eq!(t.fail(1, 0, L), N);
    // a new key is still counted: it evicts a one-failure entry, never key 1
    let c = t.fail(1000, 1, L);
    assert!(c.evicted && c.banned.is_none(), "{c:?}");
    assert_eq!(t.fail(1000, 1, L), N);
    assert_eq!(t.fail(1000, 1, L).banned, Some(100));
    assert_eq!(t.banned(1000, 2, L), Some(99));
    // key 1 kept its count through the flood: one more failure bans it
    for k in 2000..2100u64 {
        t.fail(k, 2, L);
    }
    assert_eq!(t.fail(1, 2, L).banned, Some(100));
    // once the window is over, stale slots are taken without eviction
    assert!(!t.fail(5000, 200, L).evicted);
}

#[test]
fn a_table_full_of_bans_evicts_the_ban_that_ends_soonest() {
    let w = words(2 * PROBE);
    let t = Table::new(&w);
    for k in 1..=PROBE as u64 {
        for _ in 0..3 {
            t.fail(k, k as u32, L);
        }
    }
    // key 1's ban ends first (at 101): it makes room, the others stay banned
    let c = t.fail(1000, 50, L);
    assert!(c.evicted, "{c:?}");
    assert_eq!(t.banned(1, 50, L), None);
    for k in 2..=PROBE as u64 {
        assert!(t.banned(k, 50, L).is_some(), "key {k}");
    }
    assert_eq!(t.fail(1000, 50, L), N);
    assert_eq!(t.fail(1000, 50, L).banned, Some(100));
}

#[test]
fn flooded_daemon_tables_still_ban_and_log_eviction_once() {
    // the reproduction: one failure from each of 8000 addresses and
    // names fills both 4096-slot tables; 100 guesses from a fresh address and
    // a fresh name must still be throttled
    let th = Throttle::new(DEFAULT_SLOTS).unwrap();
    let p = Policy { ip: L, account: L };
    let mut firsts = Vec::new();
    for i in 0..8000u32 {
        let ip = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
        firsts.extend(th.failure(ip, format!("u{i}").as_bytes(), &p, 10).first_eviction);
    }
    // which table fills first depends on the random hash key
    firsts.sort_unstable();
    assert_eq!(firsts, ["address", "name"], "each table logs its first eviction once");
    let fresh: IpAddr = "198.51.100.9".parse().unwrap();
    for _ in 0..3 {
        th.failure(fresh, b"victim", &p, 11);
    }
    assert!(matches!(th.check(fresh, b"other", &p, 12), Err(Blocked::Ip(_))));
    assert!(matches!(
        th.check("198.51.100.10".parse().unwrap(), b"victim", &p, 12),
        Err(Blocked::Account(_))
    ));
    assert!(th.failure(fresh, b"victim", &p, 12).first_eviction.is_empty());
}

#[test]
fn concurrent_failures_all_count() {
    let w = words(64);
    let t = Table::new(&w);
    let big = Limits {
        max_failures: 1000,
        window: 1000,
        ban: 10,
    };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..249 {
                    t.fail(42, 5, big);
                }
            });
        }
    });
    assert_eq!(t.banned(42, 5, big), None);
    assert_eq!(t.fail(42, 5, big), N);
    assert_eq!(t.fail(42, 5, big), N);
    assert_eq!(t.fail(42, 5, big), N);
    assert_eq!(t.fail(42, 5, big), B(10));
}

#[test]
fn shared_across_fork() {
    let th = Throttle::new(64).unwrap();
    let p = Policy { ip: L, account: L };
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    th.failure(ip, b"x", &p, 10);
    th.failure(ip, b"y", &p, 10);
    // a forked child's failure lands in the same table
    match tfd_sys::fork().unwrap() {
        tfd_sys::Fork::Child => {
            th.failure(ip, b"z", &p, 10);
            tfd_sys::exit_now(0);
        }
        tfd_sys::Fork::Parent(pid) => {
            nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
        }
    }
    assert_eq!(th.check(ip, b"q", &p, 11), Err(Blocked::Ip(99)));
    // IPv4-mapped IPv6 is the same address; other addresses are free
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
    assert_eq!(th.check(mapped, b"q", &p, 11), Err(Blocked::Ip(99)));
    assert_eq!(th.check("192.0.2.8".parse().unwrap(), b"q", &p, 11), Ok(()));
}

#[test]
fn accounts_and_ipv6_prefixes() {
    let th = Throttle::new(64).unwrap();
    let p = Policy { ip: L, account: L };
    for i in 0..3u8 {
        let ip: IpAddr = format!("2001:db8::{i}").parse().unwrap();
        let e = th.failure(ip, format!("n{i}").as_bytes(), &p, 0);
        assert_eq!(e.ip_banned, if i == 2 { Some(100) } else { None });
    }
    // the whole /64 is banned
    assert!(matches!(
        th.check("2001:db8::ffff".parse().unwrap(), b"n", &p, 1),
        Err(Blocked::Ip(_))
    ));
    assert_eq!(th.check("2001:db8:0:1::1".parse().unwrap(), b"n", &p, 1), Ok(()));
    // a name locked from several addresses
    let mut e = FailureEffect::default();
    for i in 1..=3u8 {
        e = th.failure(IpAddr::from([10, 0, 0, i]), b"alice", &p, 5);
    }
    assert_eq!(e.account_locked, Some(100));
    assert_eq!(
        th.check(IpAddr::from([10, 9, 9, 9]), b"alice", &p, 6),
        Err(Blocked::Account(99))
    );
    // success clears the name's count
    th.failure(IpAddr::from([10, 1, 1, 1]), b"bob", &p, 5);
    th.failure(IpAddr::from([10, 1, 1, 2]), b"bob", &p, 5);
    th.success(b"bob");
    th.failure(IpAddr::from([10, 1, 1, 3]), b"bob", &p, 5);
    assert_eq!(th.check(IpAddr::from([10, 9, 9, 9]), b"bob", &p, 6), Ok(()));
}

#[test]
fn labels_name_what_is_held_and_unban_lifts_it() {
    assert_eq!(label_text(&label_words(b"alice")), "alice");
    assert_eq!(label_text(&label_words(b"a\x1b]0;x\x07")), "a\\u{1b}]0;x\\u{7}");
    assert_eq!(label_text(&label_words("\u{200b}al ice".as_bytes())), "\\u{200b}al?ice");
    let long = [b'n'; 80];
    let t = label_text(&label_words(&long));
    assert!(t.ends_with('…') && t.chars().count() == LABEL_BYTES + 1, "{t}");
    assert_eq!(label_text(&[0; LABEL_WORDS]), "?");
    assert_eq!(ip_label("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    assert_eq!(ip_label("2001:db8:1:2:3::4".parse().unwrap()), "2001:db8:1:2::/64");

    let t = Throttle::new(64).unwrap();
    let p = Policy { ip: L, account: L };
    let ip: IpAddr = "192.0.2.9".parse().unwrap();
    for name in [&b"x"[..], b"bob", b"bob"] {
        t.failure(ip, name, &p, 10);
    }
    t.failure("192.0.2.10".parse().unwrap(), b"bob", &p, 10);
    let mut held = t.held(&p, 11);
    held.sort_by(|a, b| a.label.cmp(&b.label));
    assert_eq!(
        held,
        vec![
            Held {
                kind: HeldKind::Address,
                label: "192.0.2.9".into(),
                left: 99
            },
            Held {
                kind: HeldKind::Name,
                label: "bob".into(),
                left: 99
            },
        ]
    );
    // the mapped form is the same address
    assert!(t.lift_ip("::ffff:192.0.2.9".parse().unwrap(), &p, 11));
    assert!(!t.lift_ip(ip, &p, 11));
    assert!(t.lift_name(b"bob", &p, 11));
    assert!(t.held(&p, 11).is_empty());
    assert_eq!(t.check(ip, b"bob", &p, 11), Ok(()));
}
