//! The admin socket (`tfd ctl`), and the controller that SIGKILLs sessions
//! through the run.

use super::content::Rng;
use super::tally::Shared;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

/// `tfd ctl --socket SOCK <words>`: the response text.
pub(crate) fn ctl(bin: &Path, sock: &Path, words: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("ctl")
        .arg("--socket")
        .arg(sock)
        .args(words)
        .output()
        .map_err(|e| format!("tfd ctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tfd ctl {words:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rows of `tfd ctl sessions`: (pid, peer port, command).
pub(crate) fn ctl_sessions(bin: &Path, sock: &Path) -> Result<Vec<(i32, u16, String)>, String> {
    let text = ctl(bin, sock, &["sessions"])?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let pid = f.first()?.parse().ok()?;
            let port = f.get(1)?.rsplit(':').next()?.parse().ok()?;
            // COMMAND is the last column
            Some((pid, port, f.last().unwrap_or(&"-").to_string()))
        })
        .collect())
}

/// SIGKILLs `kills` session processes spread over the run, preferring ones in a
/// transfer or (every other kill) waiting in NETLOCK; never the keeper; records each victim's peer port first. Returns how many it killed.
pub(crate) fn controller(
    bin: &Path,
    sock: &Path,
    shared: &Shared,
    started: Instant,
    secs: u64,
    kills: usize,
    seed: u64,
) -> usize {
    let mut rng = Rng(seed ^ 0x6b69_6c6c);
    let mut done = 0;
    for i in 0..kills {
        let frac = if kills == 1 {
            0.5
        } else {
            0.1 + 0.8 * i as f64 / (kills - 1) as f64
        };
        let at = started + Duration::from_secs_f64(secs as f64 * frac);
        while Instant::now() < at {
            thread::sleep(Duration::from_millis(100));
        }
        if Instant::now() >= shared.deadline {
            break;
        }
        // every other kill prefers a session waiting in NETLOCK (looking for one
        // for up to 5 s), the others one in a transfer
        let (wanted, look): (&[&str], _) = if i % 2 == 1 {
            (&["NETLOCK"], Duration::from_secs(5))
        } else {
            (&["SNDFILE", "RCVFILE", "PUT", "GET", "SUP", "SDOWN"], Duration::ZERO)
        };
        let give_up = (Instant::now() + look).min(shared.deadline);
        let pool = loop {
            let rows: Vec<_> = match ctl_sessions(bin, sock) {
                Ok(r) => r.into_iter().filter(|r| r.1 != shared.keeper_port).collect(),
                Err(e) => {
                    eprintln!("controller: {e}");
                    Vec::new()
                }
            };
            let busy: Vec<_> = rows
                .iter()
                .filter(|r| wanted.contains(&r.2.as_str()))
                .cloned()
                .collect();
            if !busy.is_empty() {
                break busy;
            }
            if Instant::now() >= give_up {
                break rows;
            }
            thread::sleep(Duration::from_millis(200));
        };
        if pool.is_empty() {
            continue;
        }
        let (pid, port, cmd) = pool[rng.below(pool.len() as u64) as usize].clone();
        if let Ok(mut m) = shared.killed.lock() {
            m.insert(port, Instant::now());
        }
        if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
            done += 1;
            if cmd == "NETLOCK" {
                shared.netlock_kills.fetch_add(1, Ordering::Relaxed);
            }
            println!(
                "  [{:>4.0}s] SIGKILL session {pid} (peer port {port}, last command {cmd})",
                started.elapsed().as_secs_f64()
            );
        }
    }
    done
}
