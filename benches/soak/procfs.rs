//! Figures from /proc: the listener's and the sessions' memory and descriptors,
//! sampled while the clients run.

use crate::support::is_helper;
use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

pub(crate) fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn pss_kib(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// `fd -> target` of every open descriptor, for the report when counts differ.
pub(crate) fn fd_list(pid: u32) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let t = fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!("{}->{t}", e.file_name().to_string_lossy())
        })
        .collect();
    v.sort();
    v
}

pub(crate) fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|l| l.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// The session processes of the listener (live or zombie).
/// The UDP responder and the key process are children too, not sessions.
pub(crate) fn sessions(listener: u32) -> Vec<u32> {
    children(listener).into_iter().filter(|&p| !is_helper(p)).collect()
}

#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct ListenerSample {
    pub(crate) rss_kib: u64,
    pub(crate) fds: usize,
}

pub(crate) fn listener_sample(pid: u32) -> ListenerSample {
    ListenerSample {
        rss_kib: status_kib(pid, "VmRSS:").unwrap_or(0),
        fds: fd_count(pid),
    }
}

#[derive(Default)]
pub(crate) struct Monitor {
    pub(crate) warm: Option<ListenerSample>,
    pub(crate) middle: Option<ListenerSample>,
    pub(crate) listener_rss_max: u64,
    pub(crate) listener_fds_max: usize,
    pub(crate) session_hwm_max_kib: u64,
    pub(crate) session_pss_max_kib: u64,
    pub(crate) session_rss_sum_kib: u64,
    pub(crate) session_rss_samples: u64,
    pub(crate) sessions_max: usize,
}

pub(crate) fn monitor(listener: u32, started: Instant, secs: u64, stop: &AtomicBool, m: &Mutex<Monitor>) {
    let warm_at = Duration::from_secs((secs / 10).clamp(5, 60));
    let mid_at = Duration::from_secs(secs / 2);
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let l = listener_sample(listener);
        let procs = sessions(listener);
        let mut hwm = 0;
        let mut rss_sum = 0;
        let mut pss = 0;
        for &p in &procs {
            hwm = hwm.max(status_kib(p, "VmHWM:").unwrap_or(0));
            rss_sum += status_kib(p, "VmRSS:").unwrap_or(0);
            if tick % 5 == 0 {
                pss = pss.max(pss_kib(p).unwrap_or(0));
            }
        }
        if let Ok(mut m) = m.lock() {
            let el = started.elapsed();
            if m.warm.is_none() && el >= warm_at {
                m.warm = Some(l);
            }
            if m.middle.is_none() && el >= mid_at {
                m.middle = Some(l);
            }
            m.listener_rss_max = m.listener_rss_max.max(l.rss_kib);
            m.listener_fds_max = m.listener_fds_max.max(l.fds);
            m.session_hwm_max_kib = m.session_hwm_max_kib.max(hwm);
            m.session_pss_max_kib = m.session_pss_max_kib.max(pss);
            m.session_rss_sum_kib += rss_sum;
            m.session_rss_samples += procs.len() as u64;
            m.sessions_max = m.sessions_max.max(procs.len());
        }
        tick += 1;
        thread::sleep(Duration::from_secs(1));
    }
}
