//! RUNBASH (document 2.5.1): runs a bash script from the session's root, off
//! unless `runbash` is configured. The reference resolved the script on the
//! host and ran it unconfined; tfd runs it only where the script cannot reach
//! more than the session could:
//! - the session is a real chroot jail (INJAIL, or LOCKSYS/FLYCONTEXT done as
//!   root): the child inherits the chroot, while a descriptor-only confinement
//!   would bind tfd's path resolution and not the child;
//! - the session switched from root to its own user (LOGIN or `defusr`) and no
//!   id of the process is 0: the script runs with those ids and groups, never as
//!   root and never as the daemon's own user (who can read the private key);
//! - no byte quota is in force for the session (a script's writes would pass
//!   around tfd's quota ledger);
//! - the script resolves beneath the root like every path (no `..`, no symlink
//!   out, no TFPSFS metadata, TFPSFS rules for an untagged command), is a
//!   regular file of at most [`MAX_SCRIPT`] bytes, and is read by the session
//!   and handed to `bash -c`, so what runs is what was checked.
//!
//! The run itself is [`crate::sandbox::run`] (new session and process group,
//! resource limits, no inherited descriptors, a fixed environment, wall-clock
//! limit), done by the session's script host ([`crate::sandbox::Host`]): in a
//! PID namespace of its own, so a script cannot signal any process outside its
//! run, and every process it leaves is killed when it ends. The reply is `OK <ending>\n<output>` (see [`reply`]); each run is
//! logged with user, path, ending, duration and output size, never the output.

use super::{denied_or, CmdError, CmdResult, OrFailed, Reply};
use crate::config::RunBash;
use crate::fsys::{FsError, RelPath};
use crate::sandbox::{self, Limits, Outcome};
use crate::session::Session;
use log::{info, warn};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tfd_sys::ChildLimits;
use tfp_channel::ChannelError;
use tfp_wire::Failed;

/// Largest script: it travels as one argument of `bash -c`, and Linux caps a
/// single argument at 32 pages (MAX_ARG_STRLEN, 131072 bytes with its NUL).
pub(crate) const MAX_SCRIPT: u64 = 128 * 1024 - 1;

/// Where bash is looked for inside the jail, in order.
const BASH: &[&str] = &["/usr/bin/bash", "/bin/bash"];

/// The whole environment of a script: nothing of the daemon's is inherited.
const ENV: &[(&str, &str)] = &[("PATH", "/usr/bin:/bin"), ("HOME", "/")];

/// RLIMIT_NOFILE of a script.
const OPEN_FILES: u64 = 64;

/// A client path made safe for a log line.
fn shown(p: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(&p[..p.len().min(256)]))
}

/// Why the session may not run scripts now, if it may not.
fn refusal(s: &Session) -> Option<&'static str> {
    if s.ctx().serve_as_self {
        return Some("the session runs as the daemon's own user");
    }
    match (nix::unistd::getresuid(), nix::unistd::getresgid()) {
        (Ok(u), Ok(g)) => {
            if [u.real, u.effective, u.saved].iter().any(|id| id.is_root()) {
                return Some("the session still runs as root (no LOGIN or defusr switch)");
            }
            if [g.real, g.effective, g.saved].iter().any(|id| id.as_raw() == 0) {
                return Some("the session's group is root");
            }
            if nix::unistd::getgroups().map_or(true, |gs| gs.iter().any(|id| id.as_raw() == 0)) {
                return Some("the session's user is in the root group");
            }
        }
        _ => return Some("the session's ids cannot be read"),
    }
    if !s.state().chrooted() {
        return Some("the session is not in a chroot jail (INJAIL as root)");
    }
    if s.auth().quota.is_some() {
        return Some("a quota is in force, which a script's writes would bypass");
    }
    if !s.has_script_host() {
        return Some("the session has no script host (its start failed when the jail was entered; see above)");
    }
    None
}

/// Reads the script, checked as every path is; `FAILED 9` when it is not a
/// regular file.
fn read_script(s: &Session, p: &RelPath) -> Result<Vec<u8>, Failed> {
    let (file, st) = match s.open_file(p, libc::O_RDONLY, 0) {
        Ok(x) => x,
        Err(FsError::NotFound | FsError::NotDir | FsError::IsDir | FsError::NotRegular) => {
            return Err(Failed::NoSuchFile)
        }
        Err(e) => return Err(denied_or(e, Failed::RunBash)),
    };
    if st.st_size < 0 || st.st_size as u64 > MAX_SCRIPT {
        info!(
            "{} RUNBASH {}: larger than {MAX_SCRIPT} bytes",
            s.peer(),
            shown(&p.to_bytes())
        );
        return Err(Failed::RunBash);
    }
    let mut text = Vec::new();
    file.take(MAX_SCRIPT + 1)
        .read_to_end(&mut text)
        .or_failed(Failed::RunBash)?;
    if text.len() as u64 > MAX_SCRIPT || text.contains(&0) {
        info!(
            "{} RUNBASH {}: too large or holds a NUL byte",
            s.peer(),
            shown(&p.to_bytes())
        );
        return Err(Failed::RunBash);
    }
    Ok(text)
}

/// The limits of a run from the configuration.
fn limits(rb: &RunBash) -> Limits {
    Limits {
        timeout: rb.timeout,
        output_max: rb.output_max as usize,
        child: ChildLimits {
            cpu_seconds: rb.cpu_seconds,
            memory: rb.memory,
            nproc: rb.nproc,
            file_max: rb.file_max,
            open_files: OPEN_FILES,
        },
    }
}

/// `<ending>[ truncated]\n<output>`: the ending is `exit <status>`,
/// `signal <number>` or `timeout`; `truncated` says output beyond
/// `runbash_output_max` was dropped; the output is stdout and stderr as written.
pub fn reply(o: &Outcome) -> Vec<u8> {
    let mut r = o.ending.to_string().into_bytes();
    if o.truncated {
        r.extend_from_slice(b" truncated");
    }
    r.push(b'\n');
    r.extend_from_slice(&o.output);
    r
}

/// `RUNBASH <script>`: `FAILED 64` when not enabled or not allowed for this
/// session (logged with the reason), `FAILED 1` for a path that leaves the root
/// or TFPSFS refuses, `FAILED 9` when the script is not a regular file;
/// otherwise the script runs to its end and the reply carries how it ended and
/// its output.
pub fn runbash(s: &mut Session, arg: &[u8]) -> CmdResult {
    let Some(rb) = s.ctx().cfg.runbash else {
        info!(
            "{} RUNBASH {} refused: not enabled user={}",
            s.peer(),
            shown(arg),
            s.user()
        );
        return Err(Failed::RunBash.into());
    };
    if let Some(why) = refusal(s) {
        warn!("{} RUNBASH {} refused: {why} user={}", s.peer(), shown(arg), s.user());
        return Err(Failed::RunBash.into());
    }
    let p = s.path(arg)?;
    let script = read_script(s, &p)?;
    let Some(bash) = BASH.iter().map(Path::new).find(|b| b.is_file()) else {
        warn!(
            "{} RUNBASH refused: no bash in the jail ({})",
            s.peer(),
            BASH.join(", ")
        );
        return Err(Failed::RunBash.into());
    };
    let mut name = b"/".to_vec();
    name.extend_from_slice(&p.to_bytes());
    let args = [
        OsStr::new("--noprofile"),
        OsStr::new("--norc"),
        OsStr::new("-c"),
        OsStr::from_bytes(&script),
        OsStr::from_bytes(&name),
    ];
    let uid = nix::unistd::getuid();
    info!(
        "{} RUNBASH {} user={} uid={uid} started",
        s.peer(),
        shown(&name),
        s.user()
    );
    // the host's namespace dies with the session (and the host with it), so
    // the listener has no process group to kill for this run; the wait also
    // watches the client, whose leaving ends the run and the session
    let Some((host, client)) = s.script_host_and_client() else {
        return Err(Failed::RunBash.into());
    };
    let ran = host.run(bash, &args, ENV, Path::new("/"), &limits(&rb), Some(client));
    if ran.as_ref().map_or(true, |o| o.ending == sandbox::Ending::Abandoned) {
        // a host that failed, or was killed with the run, is not used again
        s.set_script_host(None);
    }
    match ran {
        Ok(o) => {
            info!(
                "{} RUNBASH {} user={} uid={uid} {} duration={:.3}s output_bytes={}{}",
                s.peer(),
                shown(&name),
                s.user(),
                o.ending,
                o.elapsed.as_secs_f64(),
                o.output_bytes,
                if o.truncated { " truncated" } else { "" }
            );
            if o.ending == sandbox::Ending::Abandoned {
                // the client left: the session ends with its script
                return Err(CmdError::Channel(ChannelError::Closed));
            }
            Ok(Reply::Data(reply(&o)))
        }
        Err(e) => {
            warn!(
                "{} RUNBASH {} user={} uid={uid} did not run: {e}",
                s.peer(),
                shown(&name),
                s.user()
            );
            Err(Failed::RunBash.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Ending;
    use std::time::Duration;

    #[test]
    fn reply_says_how_it_ended_then_the_output() {
        let o = |ending, output: &[u8], truncated| Outcome {
            ending,
            output: output.to_vec(),
            output_bytes: output.len() as u64,
            truncated,
            elapsed: Duration::ZERO,
        };
        assert_eq!(reply(&o(Ending::Exit(0), b"hi\n", false)), b"exit 0\nhi\n");
        assert_eq!(reply(&o(Ending::Exit(3), b"", false)), b"exit 3\n");
        assert_eq!(reply(&o(Ending::Signal(24), b"x", true)), b"signal 24 truncated\nx");
        assert_eq!(reply(&o(Ending::Timeout, b"", false)), b"timeout\n");
    }
}
