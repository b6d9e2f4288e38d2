//! NETLOCK: holders of the shared locks, and waits on the keeper's lock that
//! their clients abandon.

use super::op::{is_ok, verify, Fail, OpResult};
use super::run::{KEEP_LOCK, LOCK_DIR};
use super::worker::Worker;
use std::io;
use std::thread;
use std::time::Duration;
use tfp_client::replies::AsStatus as _;

/// An abandoned wait's NETLOCK timeout: the session must end when its client
/// leaves, not this much later.
pub(crate) const ABANDON_WAIT_SECS: u64 = 3600;
/// A holder's NETLOCK timeout (how long it waits for another holder).
pub(crate) const HOLD_WAIT_SECS: u64 = 60;

impl Worker {
    /// Takes one of the shared locks (waiting for other holders), writes a marker
    /// of its own under it, reads it back after a pause: a second holder at the
    /// same time would have replaced it. Then NETUNLOCK, or now and then END or
    /// a dropped connection while holding (the lock must come free all the same:
    /// the next holder's wait, and the check at the end, would see it stuck).
    pub(crate) fn lock_hold(&mut self) -> OpResult {
        let n = self.shared.lock_files as u64;
        let i = self.rng.below(n);
        let lock = format!("{LOCK_DIR}/l{i}");
        let marker = format!("{LOCK_DIR}/m{i}");
        let hold = self.fresh("");
        let token = format!("client {} hold {hold}", self.id);
        let pause = Duration::from_millis(self.rng.below(150));
        let leave = self.rng.below(10);
        let c = self.client();
        let r = c.raw(format!("NETLOCK {HOLD_WAIT_SECS} {lock}").as_bytes())?;
        if r.starts_with(b"FAILED 54 ") {
            self.tally.lock_timeouts += 1;
            return Ok(());
        }
        let slot = r
            .strip_prefix(b"OK ")
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<usize>().ok());
        let Some(slot) = slot else {
            return Err(Fail::Verify(format!(
                "NETLOCK {lock} -> {:?}",
                String::from_utf8_lossy(&r)
            )));
        };
        let st = c
            .sndfile(marker.as_bytes(), true, &mut token.as_bytes(), &mut |_| {})
            .status()?;
        verify(is_ok(&st), || format!("SNDFILE {marker} under the lock -> {st:?}"))?;
        thread::sleep(pause);
        let mut got = Vec::new();
        let st = c.rcvfile(marker.as_bytes(), false, &mut got).status()?;
        verify(is_ok(&st) && got == token.as_bytes(), || {
            format!(
                "{lock} held by two sessions at once: wrote {token:?} under it, read back {:?} ({st:?})",
                String::from_utf8_lossy(&got)
            )
        })?;
        self.tally.lock_holds += 1;
        match leave {
            0 => {
                self.tally.lock_holders_left += 1;
                let reset = self.rng.chance(2);
                self.drop_connection(reset);
            }
            1 => {
                self.tally.lock_holders_left += 1;
                if let Some((c, _, _)) = self.conn.take() {
                    c.end()?;
                }
            }
            _ => {
                let r = self.client().raw(format!("NETUNLOCK {slot}").as_bytes())?;
                verify(r == b"OK", || {
                    format!("NETUNLOCK {slot} -> {:?}", String::from_utf8_lossy(&r))
                })?;
            }
        }
        Ok(())
    }

    /// `NETLOCK 3600` on the keeper's lock, then the client leaves mid-wait (FIN
    /// or RST) after up to 3 s; the controller SIGKILLs some waiters too. No
    /// answer may have come meanwhile (the keeper holds the lock); the session
    /// must end with its client, which the leftover check at the end verifies.
    pub(crate) fn lock_abandon(&mut self) -> OpResult {
        let wait = Duration::from_millis(100 + self.rng.below(2900));
        let reset = self.rng.chance(2);
        let c = self.client();
        c.chan
            .tx
            .send_frame(format!("NETLOCK {ABANDON_WAIT_SECS} {KEEP_LOCK}").as_bytes())?;
        thread::sleep(wait);
        let s = c.chan.stream();
        s.set_nonblocking(true).map_err(|e| Fail::Io(e.to_string()))?;
        let peeked = s.peek(&mut [0u8; 1]);
        s.set_nonblocking(false).map_err(|e| Fail::Io(e.to_string()))?;
        match peeked {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(0) => {
                return Err(Fail::Io(
                    "the session closed the connection during a NETLOCK wait".into(),
                ))
            }
            Ok(_) => {
                return Err(Fail::Verify(format!(
                    "NETLOCK {ABANDON_WAIT_SECS} {KEEP_LOCK} answered while the keeper holds it"
                )))
            }
            Err(e) => return Err(Fail::Io(format!("during a NETLOCK wait: {e}"))),
        }
        self.tally.lock_waits_abandoned += 1;
        self.drop_connection(reset);
        Ok(())
    }
}
