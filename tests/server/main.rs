//! The server as an operator runs it: install, start, reload and stop, processes and
//! priorities, liveness, logging, metrics, bandwidth, the proxy and scaling.
//!
//! One test binary per area (doc/testing.md): the files share one process, so a
//! test must not touch process-wide state (environment, working directory, umask).

mod bandwidth;
mod bans;
mod config_words;
mod ctl;
mod ctl_outcome;
mod ctl_socket;
mod demo;
mod install;
mod lifecycle;
mod liveness;
mod logging;
mod metrics;
mod ops;
mod package;
mod priority;
mod process;
mod proxy;
mod scaling;
mod scaling_bans;
mod scaling_gluster;
mod secrets;
mod unseen;
mod watchdog;
