//! tfd's processes as /proc shows them: a process and its descendants, and
//! the memory figures of their `status` files, for the tests that bound
//! what a client can make tfd hold; and which of tfd's helpers a process
//! is, and the children of a tfd.

use std::fs;
use tfd::services::Helper;

/// `pid` and all its descendants (listed once, parents first).
pub fn tree(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        out.push(p);
        for task in fs::read_dir(format!("/proc/{p}/task")).into_iter().flatten().flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            todo.extend(children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()));
        }
    }
    out
}

/// A figure of `/proc/<pid>/status` given in kB (`VmRSS`, `VmHWM`), in
/// bytes; 0 for a process gone or a field it does not show.
pub fn status_bytes(pid: i32, field: &str) -> u64 {
    let Ok(st) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    let kib: u64 = st
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    kib << 10
}

/// The resident bytes of the process `pid` and all its descendants.
pub fn tree_rss(pid: i32) -> u64 {
    tree(pid).into_iter().map(|p| status_bytes(p, "VmRSS")).sum()
}

/// Which of tfd's helpers `pid` is, from the one list the daemon owns
/// ([`tfd::services::Helper`]: each names its worker threads after its kind).
pub fn helper_kind(pid: i32) -> Option<Helper> {
    u32::try_from(pid).ok().and_then(Helper::of_process)
}

/// True for one of tfd's helpers, as opposed to a session process.
pub fn is_helper(pid: i32) -> bool {
    helper_kind(pid).is_some()
}

/// True for tfd's UDP responder process.
pub fn is_udp_responder(pid: i32) -> bool {
    helper_kind(pid) == Some(Helper::Udp)
}

/// Asserts that every uid of `pid` (real, effective, saved, fs) is nobody's.
pub fn assert_runs_as_nobody(pid: i32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap().uid.as_raw();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line.split_whitespace().skip(1).all(|f| f == nobody.to_string()),
        "{uid_line}"
    );
}

/// True for tfd's key process.
pub fn is_key_process(pid: i32) -> bool {
    helper_kind(pid) == Some(Helper::Keys)
}

/// True for tfd's FAI issuer.
pub fn is_fai_issuer(pid: i32) -> bool {
    helper_kind(pid) == Some(Helper::Fai)
}

/// True for tfd's sweeper of upload temporaries.
pub fn is_sweeper(pid: i32) -> bool {
    helper_kind(pid) == Some(Helper::Sweeper)
}

/// The sweeper among tfd's children.
pub fn sweeper_of(ppid: i32) -> Option<i32> {
    all_children_of(ppid).0.into_iter().find(|&p| is_sweeper(p))
}

/// The key process among tfd's children.
pub fn key_process_of(ppid: i32) -> Option<i32> {
    all_children_of(ppid).0.into_iter().find(|&p| is_key_process(p))
}

/// The FAI issuer among tfd's children.
pub fn fai_issuer_of(ppid: i32) -> Option<i32> {
    all_children_of(ppid).0.into_iter().find(|&p| is_fai_issuer(p))
}

/// The UDP responder among tfd's children.
pub fn udp_responder_of(ppid: i32) -> Option<i32> {
    all_children_of(ppid).0.into_iter().find(|&p| is_udp_responder(p))
}

/// tfd's session processes (live, zombie), not counting its helpers
/// ([`tfd::services::Helper`]).
pub fn children_of(ppid: i32) -> (Vec<i32>, Vec<i32>) {
    let (live, zombies) = all_children_of(ppid);
    (live.into_iter().filter(|&p| !is_helper(p)).collect(), zombies)
}

/// Every child of `ppid` (live, zombie): sessions and helpers.
pub fn all_children_of(ppid: i32) -> (Vec<i32>, Vec<i32>) {
    let mut live = Vec::new();
    let mut zombies = Vec::new();
    for (pid, f) in proc_stats() {
        if f.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(ppid) {
            if f[0] == "Z" {
                zombies.push(pid);
            } else {
                live.push(pid);
            }
        }
    }
    (live, zombies)
}

/// The fields of /proc/PID/stat after the command name (0 the state, 1 the
/// parent, 2 the process group, …), None once the process is gone. The name
/// may hold spaces and parentheses: the fields start after the last ')'.
pub fn proc_stat(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    Some(rest.split_whitespace().map(String::from).collect())
}

/// Every process's pid with its [`proc_stat`] fields.
pub fn proc_stats() -> Vec<(i32, Vec<String>)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter_map(|pid| Some((pid, proc_stat(pid)?)))
        .collect()
}
