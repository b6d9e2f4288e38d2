//! The command vocabulary, below the session and the command families: what a
//! handler is ([`Handler`]), returns ([`Reply`]) and fails with ([`CmdError`]),
//! where the gate lets a command in ([`Gate`]), one row of a command table
//! ([`Spec`]), how a command meets TFPSFS ([`Tfpsfs`], [`SecfsState`]) and the
//! state a command family keeps for the session's life ([`Families`]). The
//! session dispatches through these alone, with the table its `Context` hands
//! it; the families (the `commands` room) fill the table and use the session, so
//! the session never names a family (rustls keeps its common state under the
//! client and server connections the same way, `ConnectionCommon<Data>`).

mod failure;
mod tfpsfs;

pub(crate) use failure::no_room;
pub use failure::{denied_or, ArgOr, CmdError, DeniedOr, OrFailed};
pub use tfpsfs::Tfpsfs;
pub(crate) use tfpsfs::{Held, SecfsState};

use std::any::Any;

/// What a handler produced when it did not fail.
#[derive(Debug)]
pub enum Reply {
    /// `OK`.
    Ok,
    /// `OK <data>`.
    Data(Vec<u8>),
    /// A frame sent verbatim (ECHO).
    Frame(Vec<u8>),
    /// `UNKNOWN`.
    Unknown,
    /// The handler already sent everything.
    Sent,
    /// End the session without a reply.
    Close,
}

/// A handler's result.
pub type CmdResult = Result<Reply, CmdError>;

/// A command handler, given the session `S` it runs in (generic, so this room
/// need not name the session above it).
pub(crate) type Handler<S> = fn(&mut S, &[u8]) -> CmdResult;

/// Where in the gating sequence a command is allowed (document, "Security
/// enhancement" and "In-jail").
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// Allowed before LOGIN (END, LOGIN, KEEPALIVE, PROCKEY).
    pub before_login: bool,
    /// Allowed before INJAIL in multi-user mode (INJAIL, LOGIN, KEEPALIVE, PROCKEY);
    /// in single-user mode only the [`Gate::single_user_jail`] ones are.
    pub before_jail: bool,
    /// Allowed before INJAIL in single-user mode (INJAIL, and the upgrade that
    /// protects its token).
    pub single_user_jail: bool,
    /// Allowed under `secure_transport require` before the upgrade (TFDSECURE,
    /// KEEPALIVE, PROCKEY).
    pub before_secure: bool,
    /// LOCKSYS itself: allowed while `locksys` waits for it, and while
    /// `flycontext` waits (the document's order: LOCKSYS, then FLYCONTEXT).
    pub locksys: bool,
    /// FLYCONTEXT itself: allowed while `flycontext` waits for it.
    pub flycontext: bool,
    /// Allowed while a single-user server's `authorized_keys` waits for the
    /// session's key login (the upgrade it is bound to, and the login itself).
    pub before_key: bool,
}

/// One row of a command table: every per-command fact the dispatcher, the
/// gate, TFPSFS and the metrics need, so adding a command is one row, its
/// handler and its tests.
pub struct Spec<S: 'static> {
    /// Upper-case name as on the wire.
    pub name: &'static str,
    /// The handler.
    pub handler: Handler<S>,
    /// Gating.
    pub gate: Gate,
    /// TFPSFS: whether the command is tagged and which permission bits it needs.
    pub tfpsfs: Tfpsfs,
    /// Answered from memory at once, so it needs no OOB thread running (see
    /// `Session::ensure_oob_thread`): the session is back to waiting for
    /// input, where its reader answers urgent bytes, within microseconds.
    pub at_once: bool,
    /// The raw units a client sends right after the command, before any reply
    /// (GOAES: the key, then the IV). A command refused at the gate still has
    /// them read, so the stream stays in step with the client.
    pub trailing: &'static [usize],
    /// A transfer: its duration goes into the metrics' histogram.
    pub transfer: bool,
    /// Part of a connection's set-up (the secure upgrade): `priority_boost`
    /// lasts through it.
    pub setup: bool,
    /// Whether the command is there for the session as the server is
    /// configured (TFDZSTD and the compressed commands: only with
    /// `compression yes`; the handler answers as a server without it
    /// otherwise): what the features answer (`TFDFEATURES`) advertises.
    pub offered: fn(&S) -> bool,
}

/// A row's [`Spec::offered`] unless it says otherwise: always there.
fn always<S>(_: &S) -> bool {
    true
}

/// A row with the common facts: none of the flags.
pub(crate) const fn row<S>(name: &'static str, handler: Handler<S>, gate: Gate, tfpsfs: Tfpsfs) -> Spec<S> {
    Spec {
        name,
        handler,
        gate,
        tfpsfs,
        at_once: false,
        trailing: &[],
        transfer: false,
        setup: false,
        offered: always::<S>,
    }
}

impl<S> Spec<S> {
    pub(crate) const fn at_once(self) -> Spec<S> {
        Spec { at_once: true, ..self }
    }

    pub(crate) const fn transfer(self) -> Spec<S> {
        Spec { transfer: true, ..self }
    }

    pub(crate) const fn trailing(self, units: &'static [usize]) -> Spec<S> {
        Spec {
            trailing: units,
            ..self
        }
    }

    pub(crate) const fn setup(self) -> Spec<S> {
        Spec { setup: true, ..self }
    }

    /// The row is there only where `when` says ([`Spec::offered`]).
    pub(crate) const fn offered_if(self, when: fn(&S) -> bool) -> Spec<S> {
        Spec { offered: when, ..self }
    }
}

/// Finds a command by its upper-case name in `table`.
pub(crate) fn lookup<S>(table: &'static [Spec<S>], name: &str) -> Option<&'static Spec<S>> {
    table.iter().find(|s| s.name == name)
}

/// The state single command families keep for the session's life, one value
/// of each family's own type (the time zone of SETTZ, ADDNTFY's registrations,
/// the NETLOCK slots, TFDSTAGEPUT's hash), made at the family's first use and
/// dropped with the session. The session holds them without knowing their
/// types, so a family's state lives in its family's file and no other family
/// can reach it by a field's name.
#[derive(Default)]
pub(crate) struct Families(Vec<Box<dyn Any>>);

impl Families {
    /// The family state of type `T`, if the family made it yet.
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.0.iter().find_map(|b| b.downcast_ref::<T>())
    }

    /// The family state of type `T`, made (as its default) at first use.
    pub(crate) fn get_mut<T: Default + 'static>(&mut self) -> &mut T {
        let at = match self.0.iter().position(|b| b.is::<T>()) {
            Some(i) => i,
            None => {
                self.0.push(Box::new(T::default()));
                self.0.len() - 1
            }
        };
        match self.0[at].downcast_mut::<T>() {
            Some(t) => t,
            None => unreachable!("the slot was found or made holding a T"),
        }
    }
}
