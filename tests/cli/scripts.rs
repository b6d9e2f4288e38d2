//! `scripts/test`'s own stage handling, with planted stages in place of the
//! real ones (issue 44: one failing cargo test stopped the script, so the
//! soak, interop and Python stages never ran, and no summary said what had
//! failed). The script runs in its test mode (`TFD_TEST_STAGES=none`: no real
//! stage), with a `cargo` on PATH that fails at once, so a script that ignored
//! the mode would stop at its first real stage rather than run the suite.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

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

/// The cargo stage's leak check counts its own run's test directories only
/// (issue 44): another run of the suite beside it, or a test started by hand,
/// makes `tfd-test-*` directories of its own meanwhile, and the check took
/// them for this run's leaks. Here a stub cargo "runs" one passing test while
/// another run's directory and one of a test started by hand appear: the
/// stage passes; then it also leaves one of this run's: the stage fails,
/// naming that one only.
#[test]
fn scripts_test_counts_only_its_own_runs_directories() {
    let dir = tempdir("scripts-leak");
    let tmp = dir.join("tmp");
    let stub = dir.join("bin");
    fs::create_dir_all(&tmp).unwrap();
    fs::create_dir_all(&stub).unwrap();
    fs::write(
        stub.join("cargo"),
        "#!/bin/sh\n\
         echo '     Running tests/stub.rs (target/release/deps/stub-0)'\n\
         case \" $* \" in\n\
         *' --list '*) echo '1 test, 0 benchmarks' ;;\n\
         *) mkdir -p \"$TMPDIR/tfd-test-r1_2-theirs-7-0\" \"$TMPDIR/tfd-test-byhand-8-0\"\n\
            [ -z \"$LEAK\" ] || mkdir -p \"$TMPDIR/tfd-test-$TFD_TEST_RUN-mine-9-0\"\n\
            echo 'test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out' ;;\n\
         esac\n",
    )
    .unwrap();
    fs::set_permissions(stub.join("cargo"), fs::Permissions::from_mode(0o755)).unwrap();
    let run = |leak: bool| {
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).unwrap();
        let mut c = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test"));
        c.env("TFD_TEST_STAGES", "cargo")
            .env_remove("TFD_TEST_RUN")
            .env("TMPDIR", &tmp)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env(
                "PATH",
                format!("{}:{}", stub.display(), std::env::var("PATH").unwrap_or_default()),
            )
            .stdin(std::process::Stdio::null());
        if leak {
            c.env("LEAK", "1");
        }
        let o = c.output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        (o.status.code(), out)
    };
    let (code, out) = run(false);
    assert_eq!(code, Some(0), "other runs' directories counted as this run's:\n{out}");
    assert!(out.contains("  cargo          ok"), "{out}");
    let (code, out) = run(true);
    assert_eq!(code, Some(1), "this run's directory left behind passed:\n{out}");
    assert!(
        out.contains("the tests left 1 directories behind") && out.contains("-mine-9-0"),
        "{out}"
    );
    assert!(!out.contains("theirs") && !out.contains("byhand"), "{out}");
    let _ = fs::remove_dir_all(&dir);
}
