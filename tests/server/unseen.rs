//! Tests that cannot pass unseen (doc/reliability.md): a test that cannot run
//! fails in CI naming what is missing and is recorded locally
//! (crates/tfd-testkit/src/need.rs), and the helpers every process count leaves out are
//! the daemon's own list (`tfd::services::Helper`), not a copy.

use std::collections::BTreeSet;
use tfd::services::Helper;
use tfd_testkit::need::cannot_run;
use tfd_testkit::*;

/// In CI (strict) a test that cannot run fails, and the failure names the
/// test and what is missing; it is recorded all the same.
#[test]
fn in_ci_a_test_that_cannot_run_fails_naming_what_is_missing() {
    let dir = tempdir("unseen-ci");
    let file = dir.join("not-run.txt");
    let r =
        std::panic::catch_unwind(|| cannot_run(true, Some(&file), "probe::t", "no frobnicator (apt-get install frob)"));
    let msg = r.expect_err("a strict run must fail the test");
    let msg = msg
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| msg.downcast_ref::<&str>().unwrap().to_string());
    assert!(
        msg.contains("probe::t cannot run: no frobnicator (apt-get install frob)"),
        "{msg}"
    );
    assert!(!msg.to_lowercase().contains("skip"), "{msg}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "probe::t\tno frobnicator (apt-get install frob)\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Locally the test returns (false) and leaves one line per test in the
/// file scripts/test sums up, appended by each.
#[test]
fn locally_a_test_that_cannot_run_is_recorded_for_the_summary() {
    let dir = tempdir("unseen-local");
    let file = dir.join("not-run.txt");
    assert!(!cannot_run(false, Some(&file), "a::one", "needs root (x)"));
    assert!(!cannot_run(false, Some(&file), "b::two", "no\ttab\nhere"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a::one\tneeds root (x)\nb::two\tno tab here\n"
    );
    // and what is there never asks
    assert!(require(true, "nothing"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every child of an idle listener is a helper of the daemon's list, each
/// kind of the list is there once (key process, UDP responder, FAI issuer,
/// sweeper), and a session process is none of them: the soak and the tests
/// count sessions with this list (the soak's own copy once missed the sweeper
/// and counted it as a session left behind).
#[test]
fn the_listeners_helpers_are_the_daemons_one_list() {
    let srv = Server::start();
    srv.wait_sessions(0, "the probe session gone");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let kinds = loop {
        let (live, _) = all_children_of(srv.pid());
        let kinds: Vec<Option<Helper>> = live.iter().map(|&p| helper_kind(p)).collect();
        if kinds.len() == Helper::ALL.len() || std::time::Instant::now() > deadline {
            break kinds;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        kinds.iter().all(Option::is_some),
        "a child of the idle listener is no known helper: {kinds:?}"
    );
    let have: BTreeSet<&str> = kinds.iter().flatten().map(|h| h.thread()).collect();
    let all: BTreeSet<&str> = Helper::ALL.iter().map(|h| h.thread()).collect();
    assert_eq!(have, all);
    assert_eq!(kinds.len(), Helper::ALL.len(), "one of each: {kinds:?}");
    // a session is not a helper
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    let session = srv.session_pid();
    assert_eq!(helper_kind(session), None);
    assert!(!is_helper(session));
}
