//! The server as an operator runs it: install, start, reload and stop, processes and
//! priorities, liveness, logging, metrics, bandwidth, the proxy and scaling.
//!
//! One test binary per area (doc/testing.md): the files share one process, so a
//! test must not touch process-wide state (environment, working directory, umask).

#[path = "../common/mod.rs"]
mod common;

mod bandwidth;
mod bans;
mod ctl_outcome;
mod install;
mod lifecycle;
mod liveness;
mod logging;
mod metrics;
mod ops;
mod package;
mod polish;
mod priority;
mod process;
mod proxy;
mod scaling;
mod secrets;
mod unseen;
mod watchdog;
