//! TFPSFS: another identity's refused attempts in a secure client's directory.

use super::content::hex;
use super::op::{verify, OpResult};
use super::worker::Worker;
use tfd_testkit::reply::SizeOrCode as _;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_wire::Status;

/// The TFPSFS mask of a secure client's owner entry: every right.
pub(crate) const OWNER_MASK: &str = "4095";

impl Worker {
    /// In a secure client's directory, another identity (or none: SETFSID with
    /// nothing clears it) tries one thing it has no right to; it must get the
    /// command's FAILED code, and then, as the owner again, nothing has changed:
    /// the target file's size and SHA-256, no new name, both masks.
    pub(crate) fn sec_refused(&mut self) -> OpResult {
        let Some(owner) = self.owner.clone() else {
            return Ok(());
        };
        let intruder = if self.rng.chance(3) {
            String::new()
        } else {
            format!("x{}", self.id)
        };
        let dir = self.dir.clone();
        let known = self.pick_known();
        let fresh = self.fresh("r");
        let fresh_path = self.path(&fresh);
        let known_path = known.as_ref().map(|k| self.path(&k.name));
        self.maybe.insert(fresh.clone());
        let what = self.rng.below(12);
        let c = self.client();
        let st = c.call("SETFSID", intruder.as_bytes())?;
        verify(st == Status::Ok(Vec::new()), || {
            format!("SETFSID {intruder:?} -> {st:?}")
        })?;
        let f1 = |st: &Status| st.failed_code() == Some(1);
        let (desc, refused) = match (what, &known_path) {
            (0, Some(p)) => {
                let mut sink = Vec::new();
                let st = c.rcvfile(p, false, &mut sink).status()?;
                (
                    format!("RCVFILE -> {st:?}, {} B", sink.len()),
                    f1(&st) && sink.is_empty(),
                )
            }
            (1, Some(p)) => {
                let st = c.sndfile(p, true, &mut &b"intruder"[..], &mut |_| {}).status()?;
                (format!("SNDFILE over a file -> {st:?}"), f1(&st))
            }
            (2, Some(p)) => {
                let st = c.call("DEL", p)?;
                (format!("DEL -> {st:?}"), f1(&st))
            }
            (3, Some(p)) => {
                let mut sink = Vec::new();
                let r = c.get(p, 0, 65536, &mut sink, &mut |_| {}).split()?;
                (
                    format!("GET -> {r:?}, {} B", sink.len()),
                    r.as_ref().err().is_some_and(f1) && sink.is_empty(),
                )
            }
            (4, Some(p)) => {
                let st = c.call("SHA256", p)?;
                (format!("SHA256 -> {st:?}"), f1(&st))
            }
            (5, Some(p)) => {
                let st = c.call("RENAM", &[&p[..], b" | ", &fresh_path].concat())?;
                (format!("RENAM -> {st:?}"), f1(&st))
            }
            (6, _) => {
                let r = c.list(false, dir.as_bytes()).split()?;
                (format!("LS -> {r:?}"), r.as_ref().err().is_some_and(f1))
            }
            (7, _) => {
                let st = c.call("TOUCH", &fresh_path)?;
                (format!("TOUCH -> {st:?}"), f1(&st))
            }
            (8, _) => {
                let st = c.call("MKDIR", &fresh_path)?;
                (format!("MKDIR -> {st:?}"), f1(&st))
            }
            (9, _) => {
                let r = c
                    .put(&fresh_path, 0, 65536, &mut &b"intruder"[..], &mut |_| {})
                    .split()?;
                (format!("PUT -> {r:?}"), r.as_ref().err().is_some_and(f1))
            }
            (10, _) => {
                let st = c.call("SETFSPERM", format!("{intruder}:4095 {dir}").as_bytes())?;
                (format!("SETFSPERM -> {st:?}"), st.failed_code() == Some(57))
            }
            _ => {
                let st = c.call("REMFSPERM", format!("{owner} {dir}").as_bytes())?;
                (format!("REMFSPERM the owner -> {st:?}"), st.failed_code() == Some(58))
            }
        };
        let st = c.call("SETFSID", owner.as_bytes())?;
        verify(st == Status::Ok(Vec::new()), || format!("SETFSID {owner} -> {st:?}"))?;
        verify(refused, || format!("{dir} as {intruder:?}: {desc}, not refused"))?;
        let st = c.call("GETFSPERM", format!("{owner} {dir}").as_bytes())?;
        verify(st == Status::Ok(OWNER_MASK.into()), || {
            format!("GETFSPERM {owner} after {desc} -> {st:?}")
        })?;
        let st = c.call("GETFSPERM", format!("{intruder} {dir}").as_bytes())?;
        verify(st == Status::Ok(b"0".to_vec()), || {
            format!("GETFSPERM {intruder:?} after {desc} -> {st:?}")
        })?;
        let st = c.call("FSTAT", &fresh_path)?;
        verify(st.failed_code() == Some(9), || {
            format!("FSTAT {fresh} after {desc} -> {st:?}")
        })?;
        if let (Some(k), Some(p)) = (&known, &known_path) {
            let n = c.fsize(p).size_or_code()?;
            let st = c.call("SHA256", p)?;
            let want = format!("0x{}", hex(&k.sha));
            verify(n == k.size as i64 && st == Status::Ok(want.into_bytes()), || {
                format!("{} after {desc}: FSIZE {n}, SHA256 {st:?}; was {} B", k.name, k.size)
            })?;
        }
        self.maybe.remove(&fresh);
        self.tally.sec_refused += 1;
        Ok(())
    }
}
