//! `scripts/test`'s own stage handling, with planted stages in place of the
//! real ones (issue 44: one failing cargo test stopped the script, so the
//! soak, interop and Python stages never ran, and no summary said what had
//! failed). The script runs in its test mode (`TFD_TEST_STAGES=none`: no real
//! stage), with a `cargo` on PATH that fails at once, so a script that ignored
//! the mode would stop at its first real stage rather than run the suite.

use crate::common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Runs scripts/test with the planted stages `stages` ("NAME: COMMAND" lines)
/// and nothing else: exit status and stdout.
fn run_script(dir: &Path, stages: &str) -> (Option<i32>, String) {
    let planted = dir.join("stages");
    fs::write(&planted, stages).unwrap();
    let stub = dir.join("bin");
    fs::create_dir_all(&stub).unwrap();
    fs::write(
        stub.join("cargo"),
        "#!/bin/sh\necho 'stub cargo: scripts/test ran a real stage in its test mode' >&2\nexit 97\n",
    )
    .unwrap();
    fs::set_permissions(stub.join("cargo"), fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test"))
        .env("TFD_TEST_STAGES", "none")
        .env("TFD_TEST_PLANTED", &planted)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env(
            "PATH",
            format!("{}:{}", stub.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("stub cargo") && !out.contains("stub cargo"), "{out}{err}");
    (o.status.code(), out + &err)
}

#[test]
fn scripts_test_runs_every_stage_and_lists_every_failure() {
    let dir = tempdir("scripts-test");
    let late = dir.join("late-ran");
    let (code, out) = run_script(
        &dir,
        &format!(
            "early: printf 'test a::one ... ok\\ntest a::two ... FAILED\\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\\n'; exit 101\n\
             crash: echo 'the soak saw a leak' >&2; exit 3\n\
             pyish: printf 'FAILED tests/test_x.py::test_y - AssertionError\\n1 failed, 4 passed in 0.50s\\n'; exit 1\n\
             late: printf 'test result: ok. 3 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out\\n'; touch {}\n",
            late.display()
        ),
    );
    assert_eq!(code, Some(1), "{out}");
    // the stage after three failing ones ran
    assert!(
        late.exists(),
        "the last stage did not run after the failing ones:\n{out}"
    );
    let summary = out
        .split("=== summary\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary:\n{out}"));
    for want in [
        "  early          FAILED  exit 101; 1 passed, 1 failed, 0 ignored/skipped\n",
        "  crash          FAILED  exit 3\n",
        "  pyish          FAILED  exit 1; 4 passed, 1 failed, 0 ignored/skipped\n",
        "  late           ok      3 passed, 0 failed, 2 ignored/skipped\n",
        "failures (3):\n  early: a::two\n  crash: the stage itself (exit 3; see ",
        "  pyish: tests/test_x.py::test_y\n",
        "scripts/test: 3 of 4 stage(s) failed\n",
    ] {
        assert!(summary.contains(want), "the summary lacks {want:?}:\n{summary}");
    }
    assert!(!summary.contains("every test ran"), "{summary}");

    // every stage passing: exit 0, and the closing lines say so
    let (code, out) = run_script(&dir, "one: true\ntwo: echo '2 passed in 0.10s'\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.ends_with("  one            ok\n  two            ok      2 passed, 0 failed, 0 ignored/skipped\nscripts/test: every stage passed\nevery test ran\n"),
        "{out}"
    );
    let _ = fs::remove_dir_all(&dir);
}
