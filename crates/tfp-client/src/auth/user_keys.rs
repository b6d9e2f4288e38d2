//! A user's own keys, the client's side (doc/compatibility.md "Users' own
//! keys", [`tfp_wire::keylogin::user_keys`]): the password proven once
//! before LOGIN, then the user's keys listed, added and removed. Over the
//! secure transport only, as the server requires.

use crate::{Client, Error};
use tfp_wire::keylogin::user_keys as uk;
use tfp_wire::Status;

impl Client {
    /// `TFDUSERKEYS`: proves `user`'s password (the frame is wiped after).
    pub fn user_keys_prove(&mut self, user: &str, password: &[u8]) -> Result<Status, Error> {
        let mut frame = uk::prove_frame(user, password);
        let st = self.command(&frame);
        frame.fill(0);
        st
    }

    /// `TFDUSERKEYLIST`: the proven user's keys, or the refusal.
    pub fn user_keys_list(&mut self) -> Result<Result<Vec<uk::Listed>, Status>, Error> {
        let reply = self.raw(uk::LIST.as_bytes())?;
        Ok(uk::parse_list(&reply).ok_or_else(|| Status::parse(&reply)))
    }

    /// `TFDUSERKEYADD <line>`: `OK` (added), `OK present`, or the refusal.
    pub fn user_keys_add(&mut self, line: &str) -> Result<Status, Error> {
        self.command(&uk::add_frame(line))
    }

    /// `TFDUSERKEYDEL <fingerprint|comment>`: `OK <n>` or the refusal.
    pub fn user_keys_del(&mut self, which: &str) -> Result<Status, Error> {
        self.command(&uk::del_frame(which))
    }
}
