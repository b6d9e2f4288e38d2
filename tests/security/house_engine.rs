//! One client engine (issue 60): the protocol route of every file that
//! moves is chosen in one module, `crates/tfp-client/src/engine/route.rs`,
//! and carried out by the engine's runners; the trees, tf and the Python
//! binding describe what moves and write no frame of their own.

use super::house::{occurrences, root};

/// The client engine: the chooser and the runners that carry its routes.
const ENGINE: &str = "crates/tfp-client/src/engine/";
/// The one module that chooses.
const ROUTE: &str = "crates/tfp-client/src/engine/route.rs";
/// Where the client's code lives: the library, tf, the Python binding.
const CLIENT: &[&str] = &["crates/tfp-client/src", "crates/tf/src", "python/src"];
/// What describes what moves and how it went, and must write no frame:
/// the trees and mirrors, tf, the Python binding.
const CALLERS: &[&str] = &["crates/tfp-client/src/tree", "crates/tf/src", "python/src"];

/// The Python binding's raw channel: `tfd_client.compat` speaks the 2.4.1
/// API of the third-party `tfprotocol-client` frame by frame, as that
/// client's users expect of a drop-in; it moves no file of the engine's.
const RAW: &[&str] = &["python/src/session.rs", "python/src/raw.rs"];

/// The occurrences of `needle` in `dirs` outside the files `allowed` (a
/// path prefix each).
fn outside(dirs: &[&str], needle: &str, allowed: &[&str]) -> Vec<String> {
    occurrences(dirs, needle, |_| true)
        .into_iter()
        .filter(|at| !allowed.iter().any(|a| at.starts_with(a)))
        .collect()
}

/// A route is named and chosen only in the engine: its values (`Route`,
/// `TreeRoute`, `DownRoute`), the sizes and link the choice turns on, and
/// the chooser's functions appear nowhere else in the client, so tf and
/// Python send the same commands for the same request, and a rule that
/// belongs to every route (what a file keeps, how it is compressed) has one
/// place to go.
#[test]
fn only_the_engine_names_a_route() {
    let mut found = Vec::new();
    for needle in [
        "Route::",
        "Route {",
        "STAGED_FROM",
        "ENGINE_FROM",
        "MIN_SIZE",
        "link_is_slow",
        "route::",
        "Link::of",
    ] {
        found.extend(
            outside(CLIENT, needle, &[ENGINE])
                .into_iter()
                .map(|at| format!("{at}: {needle}")),
        );
    }
    assert!(
        found.is_empty(),
        "a route named outside the client engine (describe the transfer and let \
         crates/tfp-client/src/engine/route.rs choose):\n{}",
        found.join("\n")
    );
    // the scanner sees what it must: the chooser names them
    let chooser = std::fs::read_to_string(root().join(ROUTE)).expect("read the chooser");
    for needle in ["Route::", "STAGED_FROM", "ENGINE_FROM", "MIN_SIZE", "link_is_slow"] {
        assert!(chooser.contains(needle), "{ROUTE} names no {needle}");
    }
}

/// Only the engine, and the listings and probes below it, write frames on a
/// session's channel: the trees, mirrors, tf and the Python binding hand
/// their plans to the engine and read what it tells.
#[test]
fn callers_write_no_frames() {
    let mut found = Vec::new();
    for needle in [
        "chan.tx",
        "chan.rx",
        "send_frame",
        "recv_frame",
        "send_units",
        "recv_unit",
    ] {
        found.extend(
            outside(CALLERS, needle, RAW)
                .into_iter()
                .map(|at| format!("{at}: {needle}")),
        );
    }
    assert!(
        found.is_empty(),
        "frames written outside the client engine and its listings:\n{}",
        found.join("\n")
    );
    // the scanner sees what it must: the engine writes frames
    assert!(!outside(&[ENGINE], "chan.tx", &[]).is_empty(), "no frame in {ENGINE}");
}

/// The extensions' transfer commands are spoken only by the engine (the
/// listings' TFDLIST and TFDNAMES, and the batch probes, by `remote/`; the
/// library's own single-command API in `lib.rs`, `transfer.rs` and
/// `space.rs`; tf's `raw`-like `shell`, which sends what the user typed;
/// `caps.rs` reads their names in the features answer and sends none).
#[test]
fn extension_transfers_are_spoken_only_by_the_engine() {
    let allowed = [ENGINE, "crates/tfp-client/src/remote/", "crates/tfp-client/src/caps.rs"];
    let mut found = Vec::new();
    for needle in ["TFDPUTMANY", "TFDGETMANY", "TFDSTAGE", "TFDDELTA", "PUTMANY", "GETMANY"] {
        found.extend(
            outside(CLIENT, needle, &allowed)
                .into_iter()
                .map(|at| format!("{at}: {needle}")),
        );
    }
    assert!(
        found.is_empty(),
        "an extension's transfer command outside the client engine:\n{}",
        found.join("\n")
    );
}
