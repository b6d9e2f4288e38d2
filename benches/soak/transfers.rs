//! LS, uploads and downloads, each verified.

use super::content::{hex, pick_size, Content, Sink};
use super::op::{is_ok, verify, Fail, Op, OpResult};
use super::tally::Known;
use super::worker::{Worker, KEEP_FILES};
use sha2::Digest;
use std::collections::HashSet;
use tfd_testkit::reply::{Answer as _, SizeOrCode as _};
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_wire::Status;

impl Worker {
    /// LS of the client's directory: every known file listed with its name, and
    /// nothing that is neither known nor of uncertain state.
    pub(crate) fn ls(&mut self) -> OpResult {
        let dir = self.dir.clone();
        let listing = match self.client().list(false, dir.as_bytes()).split()? {
            Ok(l) => l,
            Err(st) => return Err(Fail::Verify(format!("LS {dir} -> {st:?}"))),
        };
        let text = String::from_utf8_lossy(&listing);
        let mut files = HashSet::new();
        for line in text.lines() {
            let (kind, name) = line.split_once(": ").unwrap_or(("?", line));
            let name = name.trim_end_matches('/');
            if kind == "F" {
                files.insert(name.to_string());
            }
            verify(
                self.known.iter().any(|k| k.name == name) || self.maybe.contains(name),
                || format!("LS {dir} lists {line:?}, which should not exist"),
            )?;
        }
        for k in &self.known {
            verify(files.contains(&k.name), || format!("LS {dir} misses {}", k.name))?;
        }
        Ok(())
    }

    /// Uploads fresh content (SNDFILE sometimes over a known file), then checks
    /// the server's FSIZE and SHA256 of it.
    pub(crate) fn upload(&mut self, op: Op) -> OpResult {
        let overwrite = op == Op::Sndfile && !self.known.is_empty() && self.rng.chance(4);
        let name = if overwrite {
            let i = self.rng.below(self.known.len() as u64) as usize;
            self.known.remove(i).name
        } else {
            let prefix = match op {
                Op::Put => "p",
                Op::Sup => "s",
                _ => "f",
            };
            self.fresh(prefix)
        };
        self.maybe.insert(name.clone());
        let size = pick_size(&mut self.rng, self.max_size);
        let mut content = Content::new(self.rng.next(), size);
        let path = self.path(&name);
        let bufsz = [64i64 << 10, 256 << 10, 1 << 20, 4 << 20][self.rng.below(4) as usize];
        let c = self.client();
        match op {
            Op::Put => {
                let r = c.put(&path, 0, bufsz, &mut content, &mut |_| {}).split()?;
                verify(r == Ok(()), || format!("PUT {name} ({size} B) -> {r:?}"))?;
            }
            Op::Sup => {
                let r = c.sup(&path, &mut content).answer()?;
                verify(r == 0, || format!("SUP {name} ({size} B) -> {r}"))?;
            }
            _ => {
                let st = c.sndfile(&path, overwrite, &mut content, &mut |_| {}).status()?;
                verify(is_ok(&st), || format!("SNDFILE {name} ({size} B) -> {st:?}"))?;
            }
        }
        let sha: [u8; 32] = content.hash.finalize().into();
        let n = c.fsize(&path).size_or_code()?;
        verify(n == size as i64, || format!("FSIZE {name} -> {n}, uploaded {size}"))?;
        let st = c.call("SHA256", &path)?;
        let want = format!("0x{}", hex(&sha));
        verify(st == Status::Ok(want.clone().into_bytes()), || {
            format!("SHA256 {name} -> {st:?}, uploaded {want}")
        })?;
        self.tally.bytes_up += size;
        self.known.push(Known {
            name: name.clone(),
            size,
            sha,
        });
        self.maybe.remove(&name);
        if self.known.len() > KEEP_FILES {
            let old = self.known.remove(0);
            self.maybe.insert(old.name.clone());
            let p = self.path(&old.name);
            let st = self.client().call("DEL", &p)?;
            verify(is_ok(&st), || format!("DEL {} -> {st:?}", old.name))?;
            self.maybe.remove(&old.name);
        }
        Ok(())
    }

    /// Downloads a known file and checks its length and SHA-256.
    pub(crate) fn download(&mut self, op: Op, k: &Known) -> OpResult {
        let path = self.path(&k.name);
        let bufsz = [64i64 << 10, 1 << 20, 4 << 20][self.rng.below(3) as usize];
        let mut sink = Sink::default();
        let c = self.client();
        match op {
            Op::Get => {
                let r = c.get(&path, 0, bufsz, &mut sink, &mut |_| {}).split()?;
                verify(r == Ok(k.size), || format!("GET {} -> {r:?}, size {}", k.name, k.size))?;
            }
            Op::Sdown => {
                let r = c.sdown(&path, &mut sink).done()?;
                verify(r, || format!("SDOWN {} -> -1", k.name))?;
            }
            _ => {
                let st = c.rcvfile(&path, false, &mut sink).status()?;
                verify(is_ok(&st), || format!("RCVFILE {} -> {st:?}", k.name))?;
            }
        }
        let got: [u8; 32] = sink.hash.finalize().into();
        verify(sink.len == k.size && got == k.sha, || {
            format!(
                "{} {}: got {} B sha {}, want {} B sha {}",
                op.name(),
                k.name,
                sink.len,
                hex(&got),
                k.size,
                hex(&k.sha)
            )
        })?;
        self.tally.bytes_down += k.size;
        Ok(())
    }
}
