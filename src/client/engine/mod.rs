//! The transfer engine's local side: what makes a transfer land whole or not
//! at all on this machine, in one place for every command that moves a file
//! here (`get`, `get --streams`, `get --resume`, `rcvfile`, and the library's
//! users).
//!
//! - [`journal`]: a transfer's record of its source's identity and of the byte
//!   ranges that landed, each with the SHA-256 of its bytes: what a resume may
//!   trust. Direction-free: uploads can journal their local source with it.
//! - [`partial`]: the resumable partial and its journal beside a local target,
//!   locked while in use, committed by rename.
//! - [`download`]: one remote file into a local target over one or several
//!   sessions, resumed only as far as the journal proves, checked end to end
//!   against the server's SHA256 when resumed, parallel or asked, committed
//!   only when complete.
//!
//! Trees (`get -r`, `mirror`) land through `tree::landing` instead, one
//! descriptor-confined scratch temporary per file, since a tree's target may
//! hold links planted by others; they share this module's rule: a target is
//! the old file or the new one, never a mix.

pub mod download;
pub mod journal;
pub mod partial;
