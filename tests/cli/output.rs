//! What the CLI tests read from a finished `tf`: its stdout and stderr as
//! text, both at once, and a run that must have succeeded.

use std::process::Output;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout then stderr: tf reports on either, and a failure message wants both.
pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[track_caller]
pub fn ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", text(o));
}
