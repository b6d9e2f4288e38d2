//! RUNBASH's sandbox, in three rooms: [`run`] runs one program confined and
//! bounded (its own process group, rlimits, a wall-clock limit, output
//! bounded); [`host`] is the session's script host, process 1 of a PID
//! namespace of its own, and the messages between it and its session;
//! [`cgroup`] bounds a whole script's memory and processes and sweeps the
//! groups ended sessions left.

mod cgroup;
mod host;
mod run;

pub(crate) use cgroup::{remove_stale_cgroups, GroupLimits};
pub(crate) use host::Host;
pub(crate) use run::{Ending, Limits, Outcome};
