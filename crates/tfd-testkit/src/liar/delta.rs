//! The liar's delta downloads (tfd's TFDDELTAGET, doc/compatibility.md
//! "Delta transfers"): for a file given [`Script::delta`] frames it answers
//! as tfd does (`OK <size> <mtime> <mode>`, the size FSTAT claims), reads
//! the client's signatures to their `E` (or `A`), then sends the scripted
//! frames as they are: records that copy past the client's old copy, build
//! more than announced, a literal bigger than the file, a wrong hash; or,
//! after a first frame `AFTER <n>`, sends them as soon as `n` bytes of
//! signatures have come (an early answer). The signature bytes that came
//! are noted among the requests as `SIGNATURES <n>`. A file without them is
//! `UNKNOWN`, as on a server without the command.

use super::{bad, lock, norm, Conn, Io, Node, Script, Shared, MTIME};
use tfp_wire::{command, MAX_FRAME};

impl Script {
    /// TFDDELTAGET of the file `path` answers with these frames (the last
    /// one should be the end: `E<hash>` or a status) after the signatures.
    pub fn delta(mut self, path: &str, frames: Vec<Vec<u8>>) -> Script {
        self.deltas.insert(norm(path.as_bytes()), frames);
        self
    }
}

impl Conn {
    /// `TFDDELTAGET <size> <block> <strong> <path>`.
    pub(super) fn deltaget(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let path = command::split_space(arg)
            .and_then(|(_, r)| command::split_space(r))
            .and_then(|(_, r)| command::split_space(r))
            .map(|(_, p)| norm(p))
            .unwrap_or_default();
        let (frames, size) = {
            let sc = lock(&shared.script);
            let frames = sc.deltas.get(&path).cloned();
            let size = match sc.file_at(&path) {
                Some(Node::File(c)) => sc.claimed_size(&path, c.len()),
                _ => 0,
            };
            (frames, size)
        };
        let Some(frames) = frames else {
            return self.send_frame(b"UNKNOWN");
        };
        self.send_frame(format!("OK {size} {MTIME} 644").as_bytes())?;
        // `AFTER <n>` first: the rest go once n bytes of signatures have
        // come, before their end, as tfd's early probe answers
        let (after, frames) = match frames.split_first() {
            Some((f, rest)) if f.starts_with(b"AFTER ") => {
                let n = std::str::from_utf8(&f[6..]).ok().and_then(|t| t.parse::<u64>().ok());
                (n, rest.to_vec())
            }
            _ => (None, frames),
        };
        let (mut got, mut told) = (0u64, false);
        let ended = loop {
            let f = self.recv_frame(MAX_FRAME)?;
            match f.first() {
                Some(b'S') => {
                    got += f.len() as u64 - 1;
                    if !told && after.is_some_and(|n| got >= n) {
                        for f in &frames {
                            self.send_frame(f)?;
                        }
                        told = true;
                    }
                }
                Some(b'E') => break true,
                Some(b'A') => break false,
                _ => return Err(bad("TFDDELTAGET: not a signature frame")),
            }
        };
        // the signature bytes that came, among the requests
        lock(&shared.requests).push(format!("SIGNATURES {got}").into_bytes());
        if ended && !told {
            for f in &frames {
                self.send_frame(f)?;
            }
        }
        Ok(())
    }
}
