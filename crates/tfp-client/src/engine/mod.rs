//! The transfer engine's local side: what makes a transfer land whole or not
//! at all on this machine, in one place for every command that moves a file
//! here (`get`, `get --streams`, `get --resume`, `get -r`, `mirror`,
//! `rcvfile`, `sdown`, `intread`, and the library's users).
//!
//! - [`journal`]: a transfer's record of its source's identity and of the byte
//!   ranges that landed, each with the SHA-256 of its bytes: what a resume may
//!   trust. Direction-free: uploads can journal their local source with it.
//! - [`partial`]: the resumable partial and its journal beside a local target,
//!   locked while in use, committed by rename.
//! - [`download`]: one remote file into a local target over one or several
//!   sessions, resumed only as far as the journal proves, checked end to end
//!   against the server's SHA256 when resumed, parallel or asked, committed
//!   only when complete; what one download is (its request, the journal as
//!   its range writers share it, the writers) in `job`, its streams in
//!   `streams`.
//! - [`lanes`]: how the streams of one download share its ranges so that
//!   they end together, and the whole-file hash that follows them in order.
//! - [`fetch`]: one file down whoever asks (`tf get`, Python's `get`): the
//!   one place its route is chosen, a delta onto the local copy or
//!   [`download`].
//! - [`upload`]: one file up whoever asks (`tf put`/`sndfile`/`sup`, a
//!   tree's file no batch carries, Python's `put`): the request, the one
//!   place its route is chosen (`upload::route`, which also routes a tree's
//!   files between batches, deltas and stages) and the runners.
//!
//! - [`beside`]: the target's directory, held open, and its name: where
//!   everything above is created and committed, one name at a time with no
//!   symlink followed, whether the user named the target or a tree's landing
//!   (`engine::landing`, whose target may hold links planted by others) did.
//! - [`memory`]: bytes in memory up as one file, by the route a file of
//!   their size takes (Python's `pipe_file`).
//! - [`scratch`]: a temporary for what cannot be resumed (`rcvfile`, `sdown`,
//!   `intread`), committed the same way.
//! - [`digest`]: a local file's SHA-256 as the server writes one, for every
//!   comparison with the server's.
//!
//! Every one keeps the rule: a target is the old file or the new one, never
//! a mix.

pub mod backup;
pub mod beside;
pub mod capped;
pub mod delta;
pub mod digest;
pub mod download;
pub mod events;
pub(crate) mod fanout;
pub mod fetch;
pub mod item;
mod job;
pub mod journal;
pub mod keep;
pub mod land_attrs;
pub mod landing;
pub mod lanes;
pub mod memory;
pub mod mtime;
pub mod opening;
pub mod partial;
pub mod pool;
pub mod route;
pub mod scratch;
pub mod staged;
mod streams;
pub mod upload;
pub mod zpays;

pub(crate) use route::compressed_listing;
