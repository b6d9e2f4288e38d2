//! ECHO.

use super::{CmdResult, Reply};
use crate::session::Session;

/// `ECHO <text>` → the text alone (what clients rely on; decisions.md).
pub fn echo(_s: &mut Session, arg: &[u8]) -> CmdResult {
    Ok(Reply::Frame(arg.to_vec()))
}
