//! The liar's download batches (tfd's TFDGETMANY, doc/compatibility.md
//! "Batch downloads"): given [`Script::getmany`] frames it answers the probe
//! (`TFDGETMANY 0`) `OK`, and a batch `OK`, reads the client's paths to
//! their `E`, then sends the scripted frames as they are: headers, data or
//! compressed blocks that lie about their sizes, trailers, the closing
//! `OK <n>`. Without them it is `UNKNOWN`, as on a server without batches;
//! a framed batch (`… z f`) it takes only when told ([`Script::getmany_framed`]).

use super::{bad, lock, Conn, Io, Script, Shared};
use tfp_wire::batch::{get::MAX_PATH, MAX_FILES};

impl Script {
    /// Every TFDGETMANY batch is answered with these frames after its paths.
    pub fn getmany(mut self, frames: Vec<Vec<u8>>) -> Script {
        self.getmany = Some(frames);
        self
    }

    /// [`Script::getmany`] for framed batches (`… z f`): the probe
    /// `TFDGETMANY 0 0 z f` is answered `OK` and each batch with these
    /// frames, which the test makes as a framed stream's (or lies in).
    pub fn getmany_framed(mut self, frames: Vec<Vec<u8>>) -> Script {
        self.getmany = Some(frames);
        self.getmany_framed = true;
        self
    }
}

impl Conn {
    /// `TFDGETMANY <n> ...`.
    pub(super) fn getmany(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(frames) = lock(&shared.script).getmany.clone() else {
            return self.send_frame(b"UNKNOWN");
        };
        let n = std::str::from_utf8(arg)
            .ok()
            .and_then(|a| a.split(' ').next())
            .and_then(|w| w.parse::<u64>().ok())
            .filter(|&n| n <= MAX_FILES)
            .ok_or_else(|| bad("TFDGETMANY: no count"))?;
        let framed = arg.split(|&b| b == b' ').next_back() == Some(b"f");
        if framed && !lock(&shared.script).getmany_framed {
            // a server from before framed batches knows no such word
            return self.send_frame(b"FAILED 3 : unknown word");
        }
        self.send_frame(b"OK")?;
        if n == 0 {
            return Ok(());
        }
        for _ in 0..n {
            self.recv_frame(MAX_PATH)?;
        }
        if self.recv_frame(16)? != b"E" {
            return Err(bad("TFDGETMANY: no end frame"));
        }
        for f in &frames {
            self.send_frame(f)?;
        }
        Ok(())
    }
}
