//! `tfd ctl metrics` through the real daemon: counters that the Python interop
//! test (tests/interop/test_metrics.py, parsed with prometheus_client) does not
//! reach: helper-process restarts, listener refusals, HPF bytes to the byte.

use tfp_client::replies::Split as _;

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// `name{labels}` → value, from `tfd ctl metrics`; checks every line is a
/// comment or a sample.
fn scrape(sock: &std::path::Path) -> HashMap<String, f64> {
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["ctl", "--socket"])
        .arg(sock)
        .arg("metrics")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let text = String::from_utf8(o.stdout).unwrap();
    let mut m = HashMap::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        m.insert(key.to_string(), value.parse::<f64>().unwrap());
    }
    m
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn restarts_refusals_and_hpf_bytes_are_counted() {
    let dir = tempdir("metrics");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\nmax_sessions_per_ip 1\n", sock.display()));
    let m0 = scrape(&sock);
    assert_eq!(m0["tfd_restarts_total{process=\"key\"}"], 0.0);
    assert_eq!(m0["tfd_restarts_total{process=\"udp\"}"], 0.0);

    // the helpers die and are restarted: each restart counted once
    let key = key_process_of(srv.pid()).expect("key process");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(key), nix::sys::signal::SIGKILL).unwrap();
    wait_for("key process restarted", || {
        scrape(&sock)["tfd_restarts_total{process=\"key\"}"] == 1.0
    });
    let udp = udp_responder_of(srv.pid()).expect("udp responder");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(udp), nix::sys::signal::SIGKILL).unwrap();
    wait_for("udp responder restarted", || {
        scrape(&sock)["tfd_restarts_total{process=\"udp\"}"] == 1.0
    });

    // a PUT and a GET of known size: payload plus 8 bytes per chunk header, the
    // command frame and the codes
    let data = pattern(3 << 20, 5);
    let mut c = srv.client();
    let before = scrape(&sock);
    assert_eq!(before["tfd_sessions{state=\"active\"}"], 1.0);
    c.put(b"f", 0, 1 << 20, &mut &data[..], &mut |_| {})
        .split()
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    c.get(b"f", 0, 1 << 20, &mut out, &mut |_| {}).split().unwrap().unwrap();
    assert_eq!(out, data);
    let m = scrape(&sock);
    let delta = |k: &str| m[k] - before[k];
    let put_in = delta("tfd_bytes_total{command=\"PUT\",direction=\"in\"}");
    let get_out = delta("tfd_bytes_total{command=\"GET\",direction=\"out\"}");
    for (what, n) in [("PUT in", put_in), ("GET out", get_out)] {
        assert!(n >= data.len() as f64 && n <= data.len() as f64 + 200.0, "{what}: {n}");
    }
    assert_eq!(delta("tfd_transfer_duration_seconds_count{command=\"PUT\"}"), 1.0);
    assert_eq!(delta("tfd_transfer_duration_seconds_count{command=\"GET\"}"), 1.0);

    // a second connection from the same address is over max_sessions_per_ip
    let mut second = std::net::TcpStream::connect(srv.addr()).unwrap();
    let _ = read_to_close(&mut second);
    wait_for("per-address refusal counted", || {
        scrape(&sock)["tfd_refusals_total{reason=\"max_sessions_per_ip\"}"] == 1.0
    });
    drop(c);
}
