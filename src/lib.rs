//! tfd: a TF Protocol 2.4.1 server, its client library and tools.
//!
//! Layers, top to bottom: `server` (listener, processes, signals) → `session`
//! (handshake, gating, dispatch) → `commands` (one file per family) → `fsys`
//! (confined paths) and `auth` (users, privileges); `wire` is the pure protocol core
//! and `channel` its blocking I/O; `sys` is the only module with `unsafe`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod bandwidth;
pub mod channel;
pub mod client;
pub mod commands;
#[allow(missing_docs)]
pub mod config;
pub mod daemon;
pub mod fsys;
pub mod logging;
pub mod sandbox;
pub mod services;
pub mod session;
pub mod size;
pub mod sys;
pub mod wire;
pub mod xferlog;
