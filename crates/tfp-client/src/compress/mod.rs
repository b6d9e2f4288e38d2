//! Compression on the wire, the client's part (doc/compatibility.md
//! "Compression"): whether the server takes compressed blocks ([`offer`]),
//! PUT's data flow as blocks, and a single file's GET's (`TFDGETZ`). The
//! blocks, the zstd contexts and the judgement that packs them (`Choice`,
//! `Decider`, `Squeeze`) are `tfp_wire::compress`, shared with tfd's own
//! sending.

mod get;
mod receive;
pub(crate) mod send;
mod told;

pub(crate) use receive::Blocks;
pub use told::{framed, framed_get, offer};
