//! What the security tests read from a finished `tf`: its stdout and stderr
//! as one text, for the failure messages of tests that run it as a user.

use std::process::Output;

/// stdout then stderr: tf reports on either, and a failure message wants both.
pub fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}
