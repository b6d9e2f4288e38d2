//! tfd's processes as /proc shows them: a process and its descendants, and
//! the memory figures of their `status` files, for the tests that bound
//! what a client can make tfd hold.

use std::fs;

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
