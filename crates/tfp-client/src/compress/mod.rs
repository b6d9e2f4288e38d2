//! Compression on the wire, the client's part (doc/compatibility.md
//! "Compression"): whether the server takes compressed blocks ([`offer`])
//! and PUT's data flow as blocks. The blocks, the zstd contexts and the
//! judgement that packs them (`Choice`, `Decider`, `Squeeze`) are
//! `tfp_wire::compress`, shared with tfd's own sending.

mod probe;
mod receive;
mod send;

pub use probe::offer;
pub(crate) use receive::Blocks;
