//! What this test process started dies with it, however it dies: SIGKILL
//! included (doc/testing.md, "When a harness dies").
//!
//! [`crate::Server`]'s Drop stops its tfd and the process's exit removes the
//! [`crate::tempdir`]s, but neither runs when the test binary is SIGKILLed
//! (an OOM kill, a CI timeout): its tfds, each with its sessions, went on
//! listening, reparented to init, and their directories stayed. So the first
//! registration starts one watcher, a shell in a process group of its own,
//! reading a pipe whose only write end is this process's (close-on-exec: no
//! child keeps it). It is told each test directory as it is made, before
//! anything is started in it. When the pipe ends without the last line
//! `exit` (which this process writes as it exits normally), the process died:
//! the watcher SIGKILLs every process whose command line names a path in a
//! registered directory (`tfd -c DIR/tfd.conf`: the listener, its helpers and
//! the session processes it forked keep that command line; `tfd demo --dir
//! DIR/demo`; a `tf` writing into one), again until none is left, then
//! removes the directories, never crossing into a file system mounted inside
//! one.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// The watcher: reads every line until the pipe ends, then acts unless the
/// last one is `exit`. A bounded number of passes, each killing all it finds.
const WATCHER: &str = r#"trap '' INT TERM HUP PIPE
f=$(mktemp) || exit 1
cat >"$f"
if [ "$(tail -n 1 "$f")" != exit ]; then
    pass=0
    while [ "$pass" -lt 100 ]; do
        found=
        while IFS= read -r line; do
            case "$line" in
            "kill "*) pkill -KILL -f -- "${line#kill }" && found=1 ;;
            esac
        done <"$f"
        [ -n "$found" ] || break
        pass=$((pass + 1))
        sleep 0.1
    done
    while IFS= read -r line; do
        case "$line" in
        "dir "*) rm -rf --one-file-system -- "${line#dir }" ;;
        esac
    done <"$f"
fi
rm -f "$f"
"#;

/// The watcher, never waited for: it outlives this process by design (its
/// parent becomes init, which reaps it).
static WATCHER_CHILD: Mutex<Option<Child>> = Mutex::new(None);

fn send(line: &str) {
    assert!(!line.contains('\n'), "watchdog: a newline in {line:?}");
    let mut watcher = WATCHER_CHILD.lock().unwrap_or_else(|p| p.into_inner());
    if watcher.is_none() {
        use std::os::unix::process::CommandExt as _;
        let w = Command::new("sh")
            .args(["-c", WATCHER])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("the test watchdog needs sh");
        *watcher = Some(w);
        assert!(
            tfd_sys::at_exit(said_exit),
            "cannot register the watchdog's normal exit"
        );
    }
    if let Some(p) = watcher.as_mut().and_then(|w| w.stdin.as_mut()) {
        let _ = writeln!(p, "{line}");
    }
}

/// Registered by the first [`send`], after the tempdirs' clean-up, so it runs
/// just before that (exit handlers run last first): this is the process's
/// normal end, where Drop and that clean-up do the work and a directory left
/// for a mount inside it is named, not removed; the watcher stands down.
extern "C" fn said_exit() {
    let mut watcher = WATCHER_CHILD.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = watcher.as_mut().and_then(|w| w.stdin.as_mut()) {
        let _ = writeln!(p, "exit");
    }
}

/// Should this process die without its normal exit, every process whose
/// command line names `dir` or a path in it is killed and `dir` removed.
pub fn watch_dir(dir: &Path) {
    let name = dir.display().to_string();
    // the name itself, or followed by a path in it or the argument's end
    send(&format!("kill {}(/| |$)", literal(&name)));
    send(&format!("dir {name}"));
}

/// `name` as an extended regular expression matching it literally (what the
/// watcher hands pkill).
fn literal(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let quote = !(c.is_ascii_alphanumeric() || "-_/".contains(c));
            quote.then_some('\\').into_iter().chain([c])
        })
        .collect()
}
