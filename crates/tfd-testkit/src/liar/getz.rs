//! The liar's compressed single-file download (tfd's TFDGETZ,
//! doc/compatibility.md "Compression"): given [`Script::getz`] units it
//! grants a request, sends the scripted units as they are (blocks that lie
//! about their sizes), the end code, and follows the FIN exchange. Without
//! them it is `UNKNOWN`, as a server without the command. Its ranged form
//! (TFDGETCANZ, a `get --streams` lane) likewise with [`Script::getcanz`].

use super::{bad, lock, Conn, Io, Script, Shared, MAX_GRANT};
use tfp_wire::compress::get;
use tfp_wire::hpf::code;

impl Script {
    /// Every TFDGETZ request is answered with these units.
    pub fn getz(mut self, units: Vec<Vec<u8>>) -> Script {
        self.getz = Some(units);
        self
    }

    /// Every TFDGETCANZ request is answered with these units, each followed
    /// by the client's word (a stop ends the lane), then the end code.
    pub fn getcanz(mut self, units: Vec<Vec<u8>>) -> Script {
        self.getcanz = Some(units);
        self
    }
}

impl Conn {
    /// `TFDGETZ <choice> <path> <hpfile>`.
    pub(super) fn getz(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(units) = lock(&shared.script).getz.clone() else {
            return self.send_frame(b"UNKNOWN");
        };
        let (_, req) = get::parse(arg).ok_or_else(|| bad("TFDGETZ: no request"))?;
        let grant = req.bufsz.clamp(1, MAX_GRANT);
        self.send_frame(&[&b"OK "[..], &grant.to_be_bytes()].concat())?;
        for u in &units {
            self.send_unit(&(u.len() as i64).to_be_bytes())?;
            self.send_unit(u)?;
        }
        self.send_unit(&code::END.to_be_bytes())?;
        while self.recv_i64()? != code::FIN {}
        self.send_unit(&code::FIN.to_be_bytes())
    }

    /// `TFDGETCANZ <choice> <path> <hpfilecan>`, one unit a window.
    pub(super) fn getcanz(&mut self, shared: &Shared, arg: &[u8]) -> Io<()> {
        let Some(units) = lock(&shared.script).getcanz.clone() else {
            return self.send_frame(b"UNKNOWN");
        };
        let (_, req) = get::parse_can(arg).ok_or_else(|| bad("TFDGETCANZ: no request"))?;
        let grant = req.bufsz.clamp(1, MAX_GRANT);
        self.send_frame(&[&b"OK "[..], &grant.to_be_bytes()].concat())?;
        for u in &units {
            self.send_unit(&(u.len() as i64).to_be_bytes())?;
            self.send_unit(u)?;
            self.flush()?;
            if self.recv_i64()? != code::CONT {
                return Ok(());
            }
        }
        self.send_unit(&code::END.to_be_bytes())
    }
}
