//! Negotiate once (issue 83): a session's features are settled by one
//! answer (`TFDFEATURES`, asked with the last step of its entry) in one
//! module, `crates/tfp-client/src/caps.rs`; nothing in the client learns an
//! extension later, probes one, or asks the question elsewhere.

use super::house::occurrences;

/// The one negotiation site.
const CAPS: &str = "crates/tfp-client/src/caps.rs";
/// Where the client's code lives: the library, tf, the Python binding.
const CLIENT: &[&str] = &["crates/tfp-client/src", "crates/tf/src", "python/src"];

/// Nothing learns an extension from a command's answer (the lazy lesson of
/// a server that told nothing is gone: such a server has none), and no
/// probe of an extension is sent: the batch probes' parsers are not called
/// and no probe line (`TFDPUTMANY 0`, `TFDGETMANY 0`) is written.
#[test]
fn nothing_learns_or_probes() {
    let call = |rest: &str| rest.starts_with('(');
    let mut found: Vec<String> = Vec::new();
    for needle in [
        "learn",
        "answered",
        "probe_dirs",
        "probe_modes",
        "probe_scope",
        "probe_owners",
    ] {
        found.extend(
            occurrences(CLIENT, needle, call)
                .into_iter()
                .map(|at| format!("{needle}: {at}")),
        );
    }
    for needle in [
        "\"TFDPUTMANY 0",
        "\"TFDGETMANY 0",
        "b\"0 a\"",
        "b\"0 x\"",
        "PutMany::new(0",
    ] {
        found.extend(
            occurrences(CLIENT, needle, |_| true)
                .into_iter()
                .map(|at| format!("{needle}: {at}")),
        );
    }
    assert!(
        found.is_empty(),
        "an extension learned or probed (read `c.caps().has(..)`; an UNKNOWN to a told command is `caps::contradicted`):\n{}",
        found.join("\n")
    );
}

/// The features question is asked from caps.rs alone (once per session,
/// with its entry), and its answer read there.
#[test]
fn one_file_asks_the_features() {
    for needle in ["features::COMMAND", "Features::parse"] {
        let found: Vec<String> = occurrences(CLIENT, needle, |_| true)
            .into_iter()
            .filter(|at| !at.starts_with(CAPS))
            .collect();
        assert!(found.is_empty(), "{needle} outside {CAPS}:\n{}", found.join("\n"));
        let in_caps = |at: &String| at.starts_with(CAPS);
        assert!(
            occurrences(CLIENT, needle, |_| true).iter().any(in_caps),
            "{CAPS} has no {needle}"
        );
    }
}
