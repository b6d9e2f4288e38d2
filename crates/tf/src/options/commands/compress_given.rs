//! What a command's compression options ask for, read from its [`Given`].

use super::{Given, ParseError};
use tfp_wire::compress::Choice;

impl Given {
    /// What `-z`, `--compress[=LEVEL]` and `--no-compress` ask for (none
    /// of them: None, the session's `--compression`).
    pub fn compress(&self) -> Result<Option<Choice>, ParseError> {
        let forced = match (self.num("--compress"), self.flag("-z")) {
            (Some(0), _) | (None, true) => Some(Choice::Force(None)),
            (Some(n), _) => Some(Choice::Force(Some(n as i32))),
            (None, false) => None,
        };
        match (forced, self.flag("--no-compress")) {
            (Some(_), true) => Err(ParseError::Bad(
                "--compress and --no-compress exclude each other".into(),
            )),
            (Some(c), false) => Ok(Some(c)),
            (None, true) => Ok(Some(Choice::Off)),
            (None, false) => Ok(None),
        }
    }
}
