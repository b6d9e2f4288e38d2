//! Compression on the wire, the sender's side (doc/compatibility.md
//! "Compression"): what the user asked for ([`Choice`]) and the decider that
//! turns it, block by block, into raw or zstd at some level ([`Decider`]).
//! The frames and the zstd contexts are `tfp_wire::compress`; this module is
//! the judgement alone, pure logic fed with measurements, so it is tested
//! without a network.

mod choice;
mod decide;
mod probe;
mod send;

pub use choice::Choice;
pub use decide::{Decider, Plan};
pub use probe::offer;
pub use send::Squeeze;
