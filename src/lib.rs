//! tfd: the TF Protocol daemon (tfd, tfpasswd) as a library its two binaries call.
//!
//! Floors, top to bottom (doc/architecture.md): `daemon` (listener, processes,
//! signals) → `session`, `commands` (handshake, gating, dispatch; one file per
//! command family, using the session) → `dispatch` (the command vocabulary the
//! session dispatches with) → `services` (what sessions share) → `fsys`, `auth`, `sandbox` →
//! `config` → `logging`, `xferlog`. Below them, crates of their own: `tfp_channel`
//! (the byte stream), `tfp_wire` (the protocol, free of I/O) and `tfd_sys` (the only
//! crate allowed `unsafe`). The client library, `tfp_client`, is a sibling that no
//! module here imports.
//!
//! What only this crate uses is `pub(crate)`: `pub` is what the binaries, the
//! tests, the benches and the daemon's fuzz targets call, and `unreachable_pub`
//! keeps the private rooms (`dispatch`, `sandbox`, `session`, `xferlog`) from
//! claiming more.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod auth;
pub mod commands;
#[allow(missing_docs)]
pub mod config;
pub mod daemon;
mod dispatch;
pub mod fsys;
pub mod logging;
mod sandbox;
pub mod services;
mod session;
mod xferlog;
