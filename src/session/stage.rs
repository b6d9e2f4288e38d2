//! Where a session stands in the protocol's gating (wire-notes §3.0), as
//! values whose shapes rule out what cannot happen: no identity waits for a
//! jail once the session is jailed, no session is chrooted before LOGIN, no
//! single-user session is ever before LOGIN. The transitions are pure: LOGIN
//! and INJAIL ask for the next stage, make the identity transition
//! ([`super::identity`]), and only then store it.

use crate::auth::privs::Identity;

/// Who names the session's user; fixed when the session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// LOGIN does (the user file).
    MultiUser,
    /// Nobody: `defusr`, or serving as the invoking user. Logged in from the
    /// start; before INJAIL nothing but INJAIL (and END).
    SingleUser,
}

/// How far the session has come through LOGIN and INJAIL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Multi-user, before LOGIN; `injail`: INJAIL will be owed after it.
    PreLogin {
        /// `injail` is configured.
        injail: bool,
    },
    /// Logged in, `injail` configured, INJAIL not done yet. The switch waits
    /// for the chroot, which needs root.
    AwaitingJail {
        /// The identity to take on right after the chroot (None: the process
        /// has nobody else to become).
        pending: Option<Identity>,
    },
    /// Logged in, not jailed: commands run.
    Active {
        /// The process's `/` is the session's root (LOCKSYS or FLYCONTEXT
        /// done as root), not only a descriptor.
        chrooted: bool,
    },
    /// Logged in and jailed (INJAIL, or a FAI token's jail): commands run.
    Jailed {
        /// The jail's path beneath `dbdir` (for a FAI token issued in it).
        jail: Vec<u8>,
        /// As in [`Stage::Active`].
        chrooted: bool,
    },
}

/// A confinement the configuration asks for before other commands
/// (LOCKSYS, FLYCONTEXT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Configured and not done yet: other commands are refused.
    Owed,
    /// Not configured, and not done.
    Free,
    /// Done (LOCKSYS may not be repeated; FLYCONTEXT may).
    Done,
}

impl Duty {
    /// The duty at the start of a session: owed when configured.
    pub fn configured(on: bool) -> Duty {
        if on {
            Duty::Owed
        } else {
            Duty::Free
        }
    }
}

/// The session's gating state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Who names the user.
    pub mode: Mode,
    /// LOGIN and INJAIL.
    pub stage: Stage,
    /// LOCKSYS.
    pub locksys: Duty,
    /// FLYCONTEXT.
    pub flycontext: Duty,
    /// A single-user server's `authorized_keys`: the key login every session
    /// owes before anything else (never owed in multi-user mode, where LOGIN
    /// or a key login is the way in).
    pub key: Duty,
}

impl State {
    /// A session after the handshake: in single-user mode it is logged in
    /// already (once it has logged in by key, with `keys`), and `pending` is
    /// the identity INJAIL will switch to (kept only while INJAIL is owed).
    /// `locksys`, `flycontext`, `keys`: configured.
    pub fn start(
        mode: Mode,
        injail: bool,
        pending: Option<Identity>,
        locksys: bool,
        flycontext: bool,
        keys: bool,
    ) -> State {
        let stage = match (mode, injail) {
            (Mode::MultiUser, _) => Stage::PreLogin { injail },
            (Mode::SingleUser, true) => Stage::AwaitingJail { pending },
            (Mode::SingleUser, false) => Stage::Active { chrooted: false },
        };
        State {
            mode,
            stage,
            locksys: Duty::configured(locksys),
            flycontext: Duty::configured(flycontext),
            key: Duty::configured(keys && mode == Mode::SingleUser),
        }
    }

    /// LOGIN succeeded, or single-user mode (and its key login, when owed).
    pub fn logged_in(&self) -> bool {
        !matches!(self.stage, Stage::PreLogin { .. }) && self.key != Duty::Owed
    }

    /// INJAIL is still owed.
    pub fn needs_jail(&self) -> bool {
        matches!(
            self.stage,
            Stage::PreLogin { injail: true } | Stage::AwaitingJail { .. }
        )
    }

    /// Single-user mode.
    pub fn single_user(&self) -> bool {
        self.mode == Mode::SingleUser
    }

    /// Logged in, INJAIL done or not owed: the pre-login deadline is over.
    pub fn serving(&self) -> bool {
        self.logged_in() && matches!(self.stage, Stage::Active { .. } | Stage::Jailed { .. })
    }

    /// The jail's path beneath `dbdir`, once jailed.
    pub fn jail(&self) -> Option<&[u8]> {
        match &self.stage {
            Stage::Jailed { jail, .. } => Some(jail),
            _ => None,
        }
    }

    /// The process's `/` is the session's root: RUNBASH runs scripts only
    /// then, since a child inherits a chroot but not a descriptor.
    pub fn chrooted(&self) -> bool {
        matches!(
            self.stage,
            Stage::Active { chrooted: true } | Stage::Jailed { chrooted: true, .. }
        )
    }

    /// The identity INJAIL is to switch to, while INJAIL is owed.
    pub fn pending(&self) -> Option<&Identity> {
        match &self.stage {
            Stage::AwaitingJail { pending } => pending.as_ref(),
            _ => None,
        }
    }
}

impl Stage {
    /// The stage after LOGIN as `id`: waiting for INJAIL (which then switches
    /// to `id`), or serving (the caller switches now). None: not before LOGIN.
    pub fn after_login(&self, id: Identity) -> Option<Stage> {
        match self {
            Stage::PreLogin { injail: true } => Some(Stage::AwaitingJail { pending: Some(id) }),
            Stage::PreLogin { injail: false } => Some(Stage::Active { chrooted: false }),
            _ => None,
        }
    }

    /// The stage after INJAIL into `jail`. None: no INJAIL is owed (not
    /// logged in yet, or jailed already).
    pub fn after_injail(&self, jail: Vec<u8>, chrooted: bool) -> Option<Stage> {
        match self {
            Stage::AwaitingJail { .. } => Some(Stage::Jailed { jail, chrooted }),
            _ => None,
        }
    }

    /// The stage after LOCKSYS or FLYCONTEXT made the session's root a
    /// directory beneath it (a real chroot or a descriptor). None: the
    /// session is not serving yet.
    pub fn after_confining(&self, now_chrooted: bool) -> Option<Stage> {
        match self {
            Stage::Active { .. } => Some(Stage::Active { chrooted: now_chrooted }),
            Stage::Jailed { jail, .. } => Some(Stage::Jailed {
                jail: jail.clone(),
                chrooted: now_chrooted,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::{Gid, Uid};

    fn user() -> Identity {
        Identity {
            name: "u".into(),
            uid: Uid::from_raw(1000),
            gid: Gid::from_raw(1000),
            groups: vec![Gid::from_raw(1000)],
        }
    }

    fn state(mode: Mode, stage: Stage) -> State {
        State {
            mode,
            stage,
            locksys: Duty::Free,
            flycontext: Duty::Free,
            key: Duty::Free,
        }
    }

    #[test]
    fn single_user_sessions_start_logged_in() {
        let s = State::start(Mode::SingleUser, false, None, false, false, false);
        assert!(s.logged_in() && s.serving() && !s.needs_jail() && !s.chrooted());
        let s = State::start(Mode::SingleUser, true, Some(user()), false, false, false);
        assert!(s.logged_in() && !s.serving() && s.needs_jail());
        assert_eq!(s.pending(), Some(&user()));
    }

    #[test]
    fn multi_user_sessions_start_before_login() {
        for injail in [false, true] {
            let s = State::start(Mode::MultiUser, injail, Some(user()), true, false, true);
            assert!(!s.logged_in() && !s.serving());
            assert_eq!(s.needs_jail(), injail);
            assert_eq!(s.pending(), None, "nobody is pending before LOGIN");
            assert_eq!((s.locksys, s.flycontext), (Duty::Owed, Duty::Free));
            assert_eq!(s.key, Duty::Free, "authorized_keys is single-user mode's");
        }
    }

    #[test]
    fn single_user_sessions_with_keys_start_before_the_key_login() {
        for injail in [false, true] {
            let mut s = State::start(Mode::SingleUser, injail, Some(user()), false, false, true);
            assert!(!s.logged_in() && !s.serving() && s.key == Duty::Owed);
            s.key = Duty::Done;
            assert!(s.logged_in());
            assert_eq!(s.serving(), !injail);
        }
    }

    #[test]
    fn login_then_injail() {
        let pre = Stage::PreLogin { injail: true };
        let waiting = pre.after_login(user()).unwrap();
        assert_eq!(waiting, Stage::AwaitingJail { pending: Some(user()) });
        assert_eq!(waiting.after_login(user()), None, "a second LOGIN");
        let jailed = waiting.after_injail(b"j".to_vec(), true).unwrap();
        let s = state(Mode::MultiUser, jailed.clone());
        assert!(s.serving() && !s.needs_jail() && s.chrooted());
        assert_eq!(s.jail(), Some(&b"j"[..]));
        assert_eq!(s.pending(), None, "the identity was taken on");
        assert_eq!(jailed.after_injail(b"k".to_vec(), true), None, "a second INJAIL");
        assert_eq!(jailed.after_login(user()), None);
    }

    #[test]
    fn login_without_injail() {
        let active = Stage::PreLogin { injail: false }.after_login(user()).unwrap();
        assert_eq!(active, Stage::Active { chrooted: false });
        assert_eq!(active.after_injail(b"j".to_vec(), false), None);
    }

    #[test]
    fn injail_needs_login_first() {
        assert_eq!(Stage::PreLogin { injail: true }.after_injail(b"j".to_vec(), true), None);
    }

    #[test]
    fn confining_keeps_the_jail_and_needs_a_serving_session() {
        let jailed = Stage::Jailed {
            jail: b"j".to_vec(),
            chrooted: false,
        };
        assert_eq!(
            jailed.after_confining(true),
            Some(Stage::Jailed {
                jail: b"j".to_vec(),
                chrooted: true
            })
        );
        assert_eq!(
            Stage::Active { chrooted: true }.after_confining(false),
            Some(Stage::Active { chrooted: false })
        );
        assert_eq!(Stage::PreLogin { injail: false }.after_confining(true), None);
        assert_eq!(Stage::AwaitingJail { pending: None }.after_confining(true), None);
    }
}
