//! The house's rule for tfd's own extensions' frames (issue 60): each
//! grammar is typed once in tfp-wire (its `delta/` the model: "both sides
//! parse with these, so neither can read them differently"), and no other
//! file writes or parses them by hand.

use super::house::{crate_sources, occurrences, root, rust_files};
use std::fs;
use std::path::Path;

/// The batches' frames (TFDPUTMANY, TFDGETMANY) are parsed and written only
/// through tfp-wire's `batch` module, so neither side can read them
/// differently (issue 60): no source file outside tfp-wire formats their
/// command lines or frames, and the files that run batches spell none of
/// their keywords.
#[test]
fn batch_frames_are_written_only_in_tfp_wire() {
    const FORMATS: &[&str] = &[
        "\"TFDPUTMANY {",
        "\"TFDGETMANY {",
        "\"F {",
        "\"f {",
        "\"S {",
        "\"X {",
        "\"B {",
    ];
    const KEYWORDS: &[&str] = &[
        "b\"F ", "b\"f ", "b\"S ", "b\"X ", "b\"B ", "b\"A\"", "b\"E\"", "\"OK {", "b\"OK ",
    ];
    const RUNNERS: &[&str] = &[
        "src/commands/putmany.rs",
        "src/commands/getmany.rs",
        "crates/tfp-client/src/engine/upload/batch.rs",
        "crates/tfp-client/src/engine/upload/many.rs",
        "crates/tfp-client/src/engine/download/batch.rs",
    ];
    let hits = |file: &Path, needles: &[&str]| -> Vec<String> {
        let text = fs::read_to_string(file).expect("read source");
        let code = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with("//"));
        let rel = file.strip_prefix(root()).expect("in the tree").display().to_string();
        code.flat_map(|(n, l)| needles.iter().filter(|k| l.contains(*k)).map(move |k| (n, k)))
            .map(|(n, k)| format!("{rel}:{}: {k}", n + 1))
            .collect()
    };
    let mut found = Vec::new();
    for file in crate_sources() {
        let rel = file.strip_prefix(root()).expect("in the tree").display().to_string();
        if !rel.starts_with("crates/tfp-wire/") {
            found.extend(hits(&file, FORMATS));
        }
        if RUNNERS.contains(&rel.as_str()) {
            found.extend(hits(&file, KEYWORDS));
        }
    }
    assert!(
        found.is_empty(),
        "batch frames written by hand (use tfp_wire::batch):\n{}",
        found.join("\n")
    );
    // the scanner sees what it must: the runners are there, and the needles
    // are how the frames are spelled
    assert!(RUNNERS.iter().all(|r| root().join(r).is_file()), "{RUNNERS:?}");
    let mut wire = Vec::new();
    rust_files(&root().join("crates/tfp-wire/src/batch"), &mut wire);
    let spelled: usize = wire
        .iter()
        .map(|f| hits(f, FORMATS).len() + hits(f, KEYWORDS).len())
        .sum();
    assert!(spelled > 8, "the scanner found only {spelled} batch frames in tfp-wire");
}

/// The staged uploads' frames are written and parsed only in tfp-wire
/// (`crates/tfp-wire/src/stage/`, issue 60): no command word of theirs
/// followed by its argument in a literal (`b"TFDSTAGE "`, `"TFDSTAGES {}"`)
/// outside it, and the files that speak them split or format no argument
/// by hand (`split_space`, `split_once`, `format!(" {a}-{b}")`).
#[test]
fn stage_frames_only_in_the_wire_crate() {
    let frame = |rest: &str| {
        let rest = ["PUT", "DONE", "S", "DROP"]
            .iter()
            .find_map(|s| rest.strip_prefix(s))
            .unwrap_or(rest);
        rest.starts_with(" \"") || rest.starts_with(" {")
    };
    let mut found = occurrences(
        &["src", "crates/tfp-client/src", "crates/tf/src", "python/src"],
        "\"TFDSTAGE",
        frame,
    );
    let speakers = [
        "src/commands/stage.rs:",
        "crates/tfp-client/src/engine/staged/",
        "crates/tf/src/stages.rs:",
    ];
    for needle in ["split_space(", "split_once(", ".split(' ')", "format!(\" {"] {
        let all = occurrences(
            &["src/commands", "crates/tfp-client/src/engine/staged", "crates/tf/src"],
            needle,
            |_| true,
        );
        found.extend(all.into_iter().filter(|f| speakers.iter().any(|s| f.starts_with(s))));
    }
    assert!(
        found.is_empty(),
        "stage frames written or parsed by hand (use tfp_wire::stage):\n{}",
        found.join("\n")
    );
    // the scanner sees what it must
    assert!(frame(" \"[..]") && frame("S {} ") && frame("DONE \"") && !frame(" hash: {e}"));
}
