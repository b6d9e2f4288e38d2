//! `put --parents`: the remote directories a single upload makes for its
//! file, as `mkdir -p` would, and takes back when the upload fails.

use super::exit::Exit;
use super::explain::{self, Access};
use super::reply::report;
use std::process::ExitCode;
use tfp_client::replies::Split as _;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// `--parents`: MKDIR every missing ancestor of `remote`, like `mkdir -p`
/// (an existing directory is fine; anything else stops with its reason).
/// Returns the directories it created, outermost first.
pub fn make(c: &mut Client, cfg: &ClientConfig, remote: &str) -> Result<Vec<String>, ExitCode> {
    let comps: Vec<&str> = remote.split('/').filter(|p| !p.is_empty()).collect();
    let mut dir = String::new();
    let mut made = Vec::new();
    for comp in comps.iter().take(comps.len().saturating_sub(1)) {
        if !dir.is_empty() {
            dir.push('/');
        }
        dir.push_str(comp);
        match c.call("MKDIR", dir.as_bytes()) {
            Ok(Status::Ok(_)) => made.push(dir.clone()),
            Ok(Status::Failed(n, _)) if n == i32::from(tfp_wire::Failed::DirExists.code()) => {}
            Ok(st) => {
                undo(c, &made);
                return Err(report(c, "mkdir", &[(dir.as_str(), Access::Create)], &st));
            }
            Err(e) => {
                explain::session_error(&e, cfg).print();
                return Err(ExitCode::from(Exit::Error));
            }
        }
    }
    Ok(made)
}

/// After a failed upload: removes the directories `--parents` made for it,
/// innermost first, each only while its listing is empty (another client may
/// have put something there meanwhile).
pub fn undo(c: &mut Client, made: &[String]) {
    for dir in made.iter().rev() {
        match c.list(false, dir.as_bytes()).split() {
            Ok(Ok(text)) if text.is_empty() => {
                let _ = c.call("RMDIR", dir.as_bytes());
            }
            _ => return,
        }
    }
}
