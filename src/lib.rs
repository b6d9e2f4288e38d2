//! tfd: a TF Protocol 2.4.1 server, its client library and tools.
//!
//! Floors, top to bottom (doc/architecture.md; tests/security/house.rs keeps them): `daemon`
//! (listener, processes, signals) → `session` ⇄ `commands` (handshake, gating,
//! dispatch; one file per command family) → `services` (what sessions share) →
//! `client` → `fsys`, `auth`, `channel`, `sandbox` → `config` → `bandwidth`,
//! `logging`, `xferlog` → `wire` (the pure protocol core) and `size` → `sys`, the
//! only module with `unsafe`.
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
