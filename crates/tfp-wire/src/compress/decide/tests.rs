use super::*;

const MIB: usize = 1 << 20;

/// A socket's word at a window's end: its rate and whether the sender
/// limited it, no chronograph.
fn socket(rate: u64, app_limited: bool) -> Delivered {
    Delivered {
        rate,
        app_limited,
        ..Delivered::default()
    }
}

/// A link of `mbit` Mbit/s, measured over a few windows.
fn on_link(d: &mut Decider, mbit: f64) {
    for _ in 0..4 {
        d.sent(MIB, Duration::from_secs_f64(MIB as f64 * 8.0 / (mbit * 1e6)));
    }
}

/// zstd at `mbps` MB/s for a block that compresses to `ratio`.
fn compress(d: &mut Decider, mbps: f64, ratio: f64) {
    let n = 448 * 1024;
    d.compressed(
        n,
        (n as f64 * ratio) as usize,
        Duration::from_secs_f64(n as f64 / (mbps * 1e6)),
    );
}

#[test]
fn a_block_that_does_not_shrink_goes_raw_whatever_was_asked() {
    for choice in [Choice::Auto, Choice::Force(None), Choice::Force(Some(9))] {
        let mut d = Decider::new(choice, MAX_LEVEL);
        on_link(&mut d, 10.0);
        assert_eq!(d.plan(|| 0.95), Plan::Raw, "{choice:?}");
        assert_eq!(d.plan(|| f64::NAN), Plan::Raw, "{choice:?}");
        assert!(matches!(d.plan(|| 0.2), Plan::Compress { .. }), "{choice:?}");
    }
    let mut off = Decider::new(Choice::Off, MAX_LEVEL);
    on_link(&mut off, 10.0);
    assert_eq!(off.plan(|| 0.01), Plan::Raw);
}

#[test]
fn auto_compresses_its_first_window_then_follows_the_link() {
    // asked only over a WAN's round trip: the first window compresses
    // (it went raw to measure, a megabyte per batch where it pays most)
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    assert_eq!(d.plan(|| 0.2), Plan::Compress { level: DEFAULT_LEVEL });
    assert_eq!(d.plan(|| 0.95), Plan::Raw);
    d.sent(MIB / 2, Duration::from_micros(50));
    assert_eq!(d.plan(|| 0.2), Plan::Compress { level: DEFAULT_LEVEL });
    // the window measured fast (10 GB/s): raw from then on
    d.sent(MIB / 2, Duration::from_micros(50));
    assert_eq!(d.plan(|| unreachable!("no sample where it cannot pay")), Plan::Raw);
    // Forced, it compresses from the first block.
    assert_eq!(
        Decider::new(Choice::Force(None), MAX_LEVEL).plan(|| 0.2),
        Plan::Compress { level: DEFAULT_LEVEL }
    );
}

#[test]
fn loopback_and_a_fast_lan_stay_raw() {
    // 10 GB/s (loopback) and 10 Gbit/s: faster than zstd at level 1 can pay.
    for mbit in [80_000.0, 10_000.0] {
        let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
        on_link(&mut d, mbit);
        for _ in 0..1000 {
            assert_eq!(
                d.plan(|| unreachable!("no sample where it cannot pay")),
                Plan::Raw,
                "{mbit} Mbit/s"
            );
        }
    }
}

#[test]
fn a_slow_link_raises_the_level_and_a_busy_cpu_lowers_it() {
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut d, 100.0);
    assert_eq!(d.plan(|| 0.25), Plan::Compress { level: 3 });
    // The socket is the bottleneck: zstd at 200 MB/s, 12.5 MB/s of link.
    compress(&mut d, 200.0, 0.25);
    assert_eq!(d.level(), 4);
    for _ in 0..3 {
        compress(&mut d, 200.0, 0.25);
    }
    assert_eq!(d.level(), 7);
    // Now the CPU is (another process took the core): down, to level 1
    // while it stays so.
    for _ in 0..12 {
        compress(&mut d, 30.0, 0.25);
    }
    assert_eq!(d.level(), 1);
}

#[test]
fn the_servers_cap_and_a_forced_level_hold() {
    let mut d = Decider::new(Choice::Auto, 5);
    on_link(&mut d, 1.0);
    for _ in 0..20 {
        d.plan(|| 0.1);
        compress(&mut d, 500.0, 0.1);
    }
    assert_eq!(d.level(), 5);
    let mut f = Decider::new(Choice::Force(Some(12)), 19);
    on_link(&mut f, 1.0);
    compress(&mut f, 1.0, 0.9);
    assert_eq!(f.plan(|| 0.5), Plan::Compress { level: 12 });
    assert_eq!(Decider::new(Choice::Force(Some(12)), 6).level(), 6);
}

#[test]
fn compression_that_cannot_beat_the_link_turns_off_and_probes_when_close() {
    // 1 Gbit/s (125 MB/s) and data that shrinks to 0.8: level 1 at 400 MB/s
    // costs 2.5 ns + 6.4 ns a byte against 8 ns raw: off.
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut d, 1000.0);
    let plans: Vec<Plan> = (0..PROBE_EVERY * 2).map(|_| d.plan(|| 0.8)).collect();
    let probes = plans.iter().filter(|p| **p != Plan::Raw).count();
    assert_eq!(probes, 2, "one probe in {PROBE_EVERY}");
    // The same data at 100 Mbit/s pays, at the highest level that does.
    let mut slow = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut slow, 100.0);
    assert_eq!(slow.plan(|| 0.8), Plan::Compress { level: 3 });
}

#[test]
fn the_link_estimate_forgets_the_socket_buffers_first_burst() {
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    // 4 MiB into the socket buffer at once, then a 100 Mbit/s link.
    for _ in 0..4 {
        d.sent(MIB, Duration::from_micros(200));
    }
    assert!(d.link_rate().unwrap() > 1e9);
    on_link(&mut d, 100.0);
    on_link(&mut d, 100.0);
    let rate = d.link_rate().unwrap();
    assert!((12e6..14e6).contains(&rate), "{rate}");
}

#[test]
fn a_small_block_slowed_by_a_preemption_does_not_turn_compression_off() {
    // 100 Mbit/s shared by four sessions; small files' blocks of 4 KiB, one
    // of which took 20 ms (the core was taken): before, such a block set its
    // level's estimate to 200 KB/s; one at each of levels 3, 2 and 1 and
    // the session sent raw from then on.
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut d, 25.0);
    for i in 0..100 {
        assert!(matches!(d.plan(|| 0.25), Plan::Compress { .. }), "block {i}: {d:?}");
        // the first few at each level it tries were slowed
        let took = if i < 4 {
            Duration::from_millis(20)
        } else {
            Duration::from_micros(40)
        };
        d.compressed(4096, 1024, took);
    }
}

#[test]
fn compression_turned_off_on_a_bad_moment_is_measured_again() {
    // Whole blocks at 0.2 MB/s (another process had both cores) turn it
    // off on a 100 Mbit/s link; a probe comes within PROBE_HOPELESS blocks
    // and, zstd fast again, compression comes back.
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut d, 100.0);
    d.plan(|| 0.25);
    for _ in 0..8 {
        compress(&mut d, 0.2, 0.25);
    }
    assert_eq!(d.plan(|| 0.25), Plan::Raw);
    let mut back = false;
    for _ in 0..PROBE_HOPELESS * 8 {
        if let Plan::Compress { .. } = d.plan(|| 0.25) {
            compress(&mut d, 300.0, 0.25);
            back = d.plan(|| 0.25) != Plan::Raw;
            if back {
                break;
            }
        }
    }
    assert!(back, "{d:?}");
}

#[test]
fn the_kernels_rate_tells_the_link_where_timed_writes_do_not() {
    // Compressing held the sender back: its writes returned at once (a
    // megabyte in 200 us), yet the socket delivered 3 MB/s (100 Mbit/s
    // shared by four sessions). The kernel's rate wins; compression stays.
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    let took = Duration::from_micros(200);
    d.sent_on(MIB, took, || Some(socket(3_000_000, false)));
    assert_eq!(d.link_rate(), Some(3e6));
    assert!(matches!(d.plan(|| 0.25), Plan::Compress { .. }));
    // An app-limited sample (the sender's own rate) never makes it slower...
    d.sent_on(MIB, took, || Some(socket(1_000_000, true)));
    assert_eq!(d.link_rate(), Some(3e6));
    // ...but says when it is faster than thought, and so does a full one.
    d.sent_on(MIB, took, || Some(socket(9_000_000, true)));
    let faster = d.link_rate().unwrap();
    assert!(faster > 3e6, "{faster}");
    d.sent_on(MIB, took, || Some(socket(1_000_000, false)));
    assert!(d.link_rate().unwrap() < faster);
    // a socket that cannot tell: the writes' time, as before
    let mut t = Decider::new(Choice::Auto, MAX_LEVEL);
    t.sent_on(MIB, Duration::from_millis(100), || None);
    let rate = t.link_rate().unwrap();
    assert!((10e6..11e6).contains(&rate), "{rate}");
    // a transfer on a connection that carried data starts knowing it
    let mut s = Decider::new(Choice::Auto, MAX_LEVEL);
    s.seed_link(2_000_000_000);
    assert_eq!(s.plan(|| unreachable!("loopback: no sample")), Plan::Raw);
    s.seed_link(1);
    assert!(s.link_rate().unwrap() > 1e9, "a seed does not replace a measure");
}

#[test]
fn a_window_the_receivers_window_paced_never_makes_the_link_slower() {
    // 12 MB/s measured; then a download of small files waits on tf landing
    // them: the socket delivers 0.5 MB/s, its busy time mostly limited by
    // tf's receive window. That is the receiver's pace: the link stays,
    // and the level does not climb for a link that is not the bottleneck.
    let took = Duration::from_micros(200);
    let at = |busy_us, rwnd_us, rate| Delivered {
        rate,
        app_limited: false,
        busy_us,
        rwnd_limited_us: rwnd_us,
    };
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    d.sent_on(MIB, took, || Some(at(1_000_000, 0, 12_000_000)));
    assert_eq!(d.link_rate(), Some(12e6));
    d.sent_on(MIB, took, || Some(at(3_000_000, 1_800_000, 500_000)));
    assert_eq!(d.link_rate(), Some(12e6), "a receiver-paced window");
    // a window the network paced (little of it receiver-limited) tells
    d.sent_on(MIB, took, || Some(at(5_000_000, 1_900_000, 3_000_000)));
    assert!(d.link_rate().unwrap() < 12e6);
    // a kernel without the chronograph: every window tells, as before
    let mut old = Decider::new(Choice::Auto, MAX_LEVEL);
    old.sent_on(MIB, took, || Some(socket(12_000_000, false)));
    old.sent_on(MIB, took, || Some(socket(500_000, false)));
    assert!(old.link_rate().unwrap() < 12e6);
}

#[test]
fn waiting_for_a_core_counts_as_compressings_cost() {
    // 1 Gbit/s: zstd's CPU time alone pays (5 ns + 0.25 x 8 ns < 8 ns a byte at
    // level 3); waiting five times as long for a core as it computes, it does
    // not, while one preempted block among a second of others barely counts
    let mut d = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut d, 1000.0);
    assert_eq!(d.plan(|| 0.25), Plan::Compress { level: 3 });
    d.waited(Duration::from_millis(900), Duration::from_millis(900));
    d.waited(Duration::from_micros(100), Duration::from_millis(20));
    assert_eq!(d.plan(|| 0.25), Plan::Compress { level: 3 });
    let mut busy = Decider::new(Choice::Auto, MAX_LEVEL);
    on_link(&mut busy, 1000.0);
    busy.waited(Duration::from_millis(100), Duration::from_millis(500));
    assert_eq!(busy.plan(|| 0.25), Plan::Raw);
}
