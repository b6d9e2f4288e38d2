//! The operations of the mix, and how one goes wrong.

use super::content::Rng;
use tfp_wire::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Connect,
    Echo,
    MkdirRmdir,
    TouchDel,
    Ls,
    Sndfile,
    Rcvfile,
    Put,
    Get,
    Sup,
    Sdown,
    LockHold,
    LockAbandon,
    SecRefused,
}

pub(crate) const OPS: [Op; 14] = [
    Op::Connect,
    Op::Echo,
    Op::MkdirRmdir,
    Op::TouchDel,
    Op::Ls,
    Op::Sndfile,
    Op::Rcvfile,
    Op::Put,
    Op::Get,
    Op::Sup,
    Op::Sdown,
    Op::LockHold,
    Op::LockAbandon,
    Op::SecRefused,
];

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Connect => "connect",
            Op::Echo => "echo",
            Op::MkdirRmdir => "mkdir_rmdir",
            Op::TouchDel => "touch_del",
            Op::Ls => "ls",
            Op::Sndfile => "sndfile",
            Op::Rcvfile => "rcvfile",
            Op::Put => "put",
            Op::Get => "get",
            Op::Sup => "sup",
            Op::Sdown => "sdown",
            Op::LockHold => "netlock_hold",
            Op::LockAbandon => "netlock_abandon",
            Op::SecRefused => "tfpsfs_refused",
        }
    }

    pub(crate) fn index(self) -> usize {
        OPS.iter().position(|&o| o == self).unwrap_or(0)
    }

    /// The weighted mix of the command loop.
    pub(crate) fn pick(rng: &mut Rng) -> Op {
        match rng.below(100) {
            0..=13 => Op::Echo,
            14..=15 => Op::LockHold,
            16..=17 => Op::LockAbandon,
            18..=19 => Op::SecRefused,
            20..=27 => Op::MkdirRmdir,
            28..=35 => Op::TouchDel,
            36..=43 => Op::Ls,
            44..=55 => Op::Sndfile,
            56..=65 => Op::Rcvfile,
            66..=77 => Op::Put,
            78..=87 => Op::Get,
            88..=93 => Op::Sup,
            _ => Op::Sdown,
        }
    }
}

/// How an operation went wrong.
pub(crate) enum Fail {
    /// The connection failed (a kill explains it, or it is an error).
    Io(String),
    /// The server answered, but not what it must have.
    Verify(String),
}

impl From<tfp_client::Error> for Fail {
    fn from(e: tfp_client::Error) -> Self {
        Fail::Io(e.to_string())
    }
}

impl From<tfp_channel::ChannelError> for Fail {
    fn from(e: tfp_channel::ChannelError) -> Self {
        Fail::Io(e.to_string())
    }
}

pub(crate) type OpResult = Result<(), Fail>;

pub(crate) fn verify(ok: bool, what: impl FnOnce() -> String) -> OpResult {
    if ok {
        Ok(())
    } else {
        Err(Fail::Verify(what()))
    }
}

pub(crate) fn is_ok(st: &Status) -> bool {
    matches!(st, Status::Ok(_))
}
