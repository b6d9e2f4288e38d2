//! Who a session runs as: the privilege switch (and, later, the user file and
//! login throttling).
#![forbid(unsafe_code)]

pub mod privs;
pub mod throttle;
pub mod userdb;
