//! The liar's compressed listings (tfd's TFDLISTZ, doc/compatibility.md
//! "Compressed listings"): given [`Script::listz`] chunks it answers every
//! TFDLISTZ with them as they are (frames that lie, cut short or expand
//! past any bound), each followed by the client's word, then `OK`. Without
//! them it is `UNKNOWN`, as a server without the command.

use super::{lock, Conn, Io, Script, Shared};

impl Script {
    /// Every TFDLISTZ is answered with these chunks' data.
    pub fn listz(mut self, chunks: Vec<Vec<u8>>) -> Script {
        self.listz = Some(chunks);
        self
    }
}

impl Conn {
    /// `TFDLISTZ <choice> <form> <dir>`.
    pub(super) fn listz(&mut self, shared: &Shared) -> Io<()> {
        let Some(chunks) = lock(&shared.script).listz.clone() else {
            return self.send_frame(b"UNKNOWN");
        };
        for c in chunks {
            self.send_frame(&[&b"CONT "[..], &c].concat())?;
            if self.recv_frame(16)? != b"CONT" {
                break;
            }
        }
        self.send_frame(b"OK")
    }
}
