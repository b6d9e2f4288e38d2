//! Negotiate once (issue 83): a session's features are settled by one
//! answer (`TFDFEATURES`, asked in its first flight) in one module,
//! `crates/tfp-client/src/caps.rs`; nothing else in the client learns an
//! extension or asks the question.

use super::house::occurrences;

/// The one negotiation site.
const CAPS: &str = "crates/tfp-client/src/caps.rs";
/// Where the client's code lives: the library, tf, the Python binding.
const CLIENT: &[&str] = &["crates/tfp-client/src", "crates/tf/src", "python/src"];

/// `learn` (a call or its definition) is written in caps.rs alone: the sites
/// that send an extension's command report its answer (`caps::answered`),
/// which checks it against what the server told or, for a server that told
/// nothing, is the lesson; none changes the caps itself.
#[test]
fn one_file_learns() {
    let word = |rest: &str| rest.starts_with('(') || rest.starts_with("_offer(");
    let found: Vec<String> = occurrences(CLIENT, "learn", word)
        .into_iter()
        .filter(|at| !at.starts_with(CAPS))
        .collect();
    assert!(
        found.is_empty(),
        "`learn` outside {CAPS} (read `c.caps()`, report an answer with `caps::answered`):\n{}",
        found.join("\n")
    );
    // the scanner sees what it must: caps.rs learns
    let in_caps = |at: &String| at.starts_with(CAPS);
    assert!(
        occurrences(CLIENT, "learn", word).iter().any(in_caps),
        "{CAPS} learns nothing"
    );
}

/// The features question is asked from caps.rs alone (once per session,
/// ahead of its first flight), and its answer read there.
#[test]
fn one_file_asks_the_features() {
    for needle in ["features::COMMAND", "Features::parse", "send_frame_ahead", "take_early"] {
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
