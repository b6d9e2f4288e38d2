//! What a session knows of tfd's own extensions (doc/compatibility.md
//! "Features"): one value on the [`crate::Client`], settled once, before
//! anything reads it, and read-only after.
//!
//! A session asks `TFDFEATURES` in the flight that ends its entry: behind
//! its LOGIN, its INJAIL or its key login's signature ([`entry_step`]), or,
//! where it has no such step (a single-user server's session, in as soon
//! as its hash is taken), behind the hash in the handshake's own flight
//! ([`in_flight`]); the answer comes right behind that step's and costs no
//! round trip of its own. An entry none of whose steps carried it (a Fast
//! Access entrance; a server that wanted the secure transport first) asks
//! it ahead of its next write ([`ask_ahead`]), and the first reading of the
//! caps reads the answer ([`settle`]), so nothing ever reads caps not
//! settled. tfd's answer
//! fills every row at once. A server without the
//! command (2.4.1, the reference, an older tfd) answers `UNKNOWN`: the
//! session then has none of the extensions and takes the protocol's own
//! routes, as does a session told not to ask ([`crate::ClientConfig::negotiate`]).
//! Nothing learns an extension later: an answer contradicting what the
//! server told (`UNKNOWN` to a command it said it takes) is an error
//! ([`contradicted`]).
use crate::{Client, Error};

/// tfd's own extensions a session knows of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ext {
    /// TFDPUTMANY, batch uploads ([`crate::engine::upload::many`]).
    PutMany,
    /// TFDGETMANY, batch downloads ([`crate::engine::download::batch`]).
    GetMany,
    /// TFDLIST, a tree's entries with their sizes, mtimes and modes
    /// ([`crate::remote::listing::list_stat`]).
    TfdList,
    /// TFDNAMES, a tree's names alone (a tree download's listing).
    TfdNames,
    /// TFDDELTAGET, delta downloads ([`crate::engine::delta::get`]).
    DeltaGet,
    /// TFDDELTASIGP, the delta upload's signatures that an early probe can
    /// stop (without it, TFDDELTASIG).
    SigProbe,
    /// TFDSTAGE, staged uploads ([`crate::engine::staged`]).
    Stage,
    /// TFDENTRIES, a tree's entries with all an archive copy keeps
    /// ([`crate::remote::entries`]); a server with it also takes archive
    /// batches (`TFDPUTMANY <n> a`, `TFDGETMANY ... a`).
    Entries,
    /// TFDZSTD, compressed data ([`crate::compress`]).
    Zstd,
    /// Archive entries that give an owner, which tfd takes only from a
    /// session it serves as root, unjailed (`owners=yes`).
    Owners,
    /// Framed batch uploads (`TFDPUTMANY <n> z f`): the whole exchange one
    /// zstd stream ([`crate::compress::framed`]).
    Framed,
    /// Delta downloads whose literals come compressed (`TFDDELTAGETZ`,
    /// [`crate::engine::delta::get`]); without them, `TFDDELTAGET`.
    DeltaGetZ,
    /// Framed batch downloads (`TFDGETMANY <n> <max> … z f`): everything the
    /// server sends one zstd stream ([`crate::compress::framed_get`]).
    GetFramed,
    /// Directories in plain batches (`D <path>` before the files,
    /// [`tfp_wire::batch::put::DIRS`]); without it a tree's directories go
    /// as MKDIRs.
    BatchDirs,
    /// Compressed listings (`TFDLISTZ`, [`crate::remote::zlisting`]);
    /// without them, the plain listings.
    ListZ,
    /// Batches whose files land with their attributes (`TFDPUTMANY <n> x`,
    /// an `X` frame before a file's header) and `TFDLANDXATTRS`.
    LandAttrs,
    /// The session's attribute scope is `all` (`trusted.` and `security.`
    /// too: a root session).
    AttrsAll,
    /// TFDSTATID and TFDDELIF, a file's identity and its removal only
    /// while it keeps it ([`crate::remote::same`]): a server without them
    /// is asked FSTAT and DEL.
    SameId,
    /// New files and directories in plain batches take the source's mode
    /// less the server's umask ([`tfp_wire::batch::put::MODES`]); without
    /// it they take the server's default mode.
    BatchModes,
    /// TFDMODE, an entry's mode, which FSTAT does not say: what a download
    /// gives a new file, less the umask ([`crate::engine::download`]).
    Mode,
    /// TFDDELTASIG, delta uploads ([`crate::engine::delta`]; with
    /// [`Ext::SigProbe`] the signatures an early probe can stop).
    DeltaSig,
}

impl Ext {
    /// The number of extensions, the size of [`Caps`]' table.
    const COUNT: usize = 21;

    /// This extension's row in [`Caps`]' table.
    fn row(self) -> usize {
        match self {
            Ext::PutMany => 0,
            Ext::GetMany => 1,
            Ext::TfdList => 2,
            Ext::TfdNames => 3,
            Ext::DeltaGet => 4,
            Ext::SigProbe => 5,
            Ext::Stage => 6,
            Ext::Entries => 7,
            Ext::Zstd => 8,
            Ext::Owners => 9,
            Ext::Framed => 10,
            Ext::DeltaGetZ => 11,
            Ext::GetFramed => 12,
            Ext::BatchDirs => 13,
            Ext::ListZ => 14,
            Ext::LandAttrs => 15,
            Ext::AttrsAll => 16,
            Ext::SameId => 17,
            Ext::BatchModes => 18,
            Ext::Mode => 19,
            Ext::DeltaSig => 20,
        }
    }

    /// Whether `f`, a server's features answer, says the session has it.
    fn told(self, f: &tfp_wire::features::Features) -> bool {
        use tfp_wire::{batch, compress, entry};
        match self {
            Ext::PutMany => f.has(batch::PUTMANY),
            Ext::GetMany => f.has(batch::GETMANY),
            Ext::TfdList => f.has("TFDLIST"),
            Ext::TfdNames => f.has("TFDNAMES"),
            Ext::DeltaGet => f.has("TFDDELTAGET"),
            Ext::SigProbe => f.has("TFDDELTASIGP"),
            Ext::Stage => f.has("TFDSTAGE"),
            Ext::Entries => f.has(entry::ENTRIES) && f.putmany.archive && f.has(batch::PUTMANY),
            Ext::Zstd => f.has(compress::PROBE) && f.offer.is_some(),
            Ext::Owners => f.owners && f.putmany.archive && f.has(batch::PUTMANY),
            Ext::Framed => f.putmany.framed && f.has(batch::PUTMANY),
            Ext::DeltaGetZ => f.has(tfp_wire::delta::GET_PACKED),
            Ext::GetFramed => f.getmany.framed && f.has(batch::GETMANY),
            Ext::BatchDirs => f.putmany.dirs && f.has(batch::PUTMANY),
            Ext::ListZ => f.has(compress::listing::LISTZ),
            Ext::LandAttrs => f.putmany.attrs && f.has(batch::PUTMANY) && f.has(tfp_wire::xattr::LAND),
            Ext::AttrsAll => f.scope == Some(tfp_wire::xattr::Scope::All),
            Ext::SameId => f.has(tfp_wire::same::STAT) && f.has(tfp_wire::same::DEL_IF),
            Ext::BatchModes => f.putmany.modes && f.has(batch::PUTMANY),
            Ext::Mode => f.has("TFDMODE"),
            Ext::DeltaSig => f.has("TFDDELTASIG"),
        }
    }

    /// Every extension, in row order.
    const ALL: [Ext; Ext::COUNT] = [
        Ext::PutMany,
        Ext::GetMany,
        Ext::TfdList,
        Ext::TfdNames,
        Ext::DeltaGet,
        Ext::SigProbe,
        Ext::Stage,
        Ext::Entries,
        Ext::Zstd,
        Ext::Owners,
        Ext::Framed,
        Ext::DeltaGetZ,
        Ext::GetFramed,
        Ext::BatchDirs,
        Ext::ListZ,
        Ext::LandAttrs,
        Ext::AttrsAll,
        Ext::SameId,
        Ext::BatchModes,
        Ext::Mode,
        Ext::DeltaSig,
    ];
}

/// What a session knows of one extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Known {
    /// The server told it has it.
    Yes,
    /// The server has it not (told so, or told nothing), or the session was
    /// told to do without it: the command is not sent.
    #[default]
    No,
}

/// A session's knowledge of every [`Ext`]: none until the server tells
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    rows: [bool; Ext::COUNT],
    offer: Option<tfp_wire::compress::Offer>,
    /// What the session was told to do without ([`Caps::without`]),
    /// whatever the server says.
    without: [bool; Ext::COUNT],
    /// The server told its features.
    told: bool,
    /// `TFDFEATURES` was asked.
    asked: bool,
    /// Asked ahead ([`ask_ahead`]), its answer not read yet.
    pending: bool,
    /// The session asks at all ([`crate::ClientConfig::negotiate`]).
    negotiate: bool,
    /// An INJAIL ends the entry: the login's last step is not its last.
    jail_follows: bool,
}

impl Caps {
    /// What the session knows of `e`.
    pub fn get(&self, e: Ext) -> Known {
        match self.rows[e.row()] && !self.without[e.row()] {
            true => Known::Yes,
            false => Known::No,
        }
    }

    /// Whether the session has `e`.
    pub fn has(&self, e: Ext) -> bool {
        self.get(e) == Known::Yes
    }

    /// What the server offered for compressed data ([`Ext::Zstd`]).
    pub fn offer(&self) -> Option<tfp_wire::compress::Offer> {
        self.offer.filter(|_| self.has(Ext::Zstd))
    }

    /// Whether the server told its features.
    pub fn told(&self) -> bool {
        self.told
    }

    /// A session's caps before its entry: nothing known, and how the
    /// question is to be asked (`negotiate`: at all; `jail_follows`: behind
    /// the INJAIL, not the login).
    pub(crate) fn entering(negotiate: bool, jail_follows: bool) -> Caps {
        Caps {
            negotiate,
            jail_follows,
            ..Caps::default()
        }
    }

    /// Whether the login's last step ends the entry (no INJAIL follows).
    pub(crate) fn login_ends_entry(&self) -> bool {
        !self.jail_follows
    }

    /// The caps a features answer tells.
    fn from_features(f: &tfp_wire::features::Features, without: [bool; Ext::COUNT]) -> Caps {
        let mut rows = [false; Ext::COUNT];
        for e in Ext::ALL {
            rows[e.row()] = e.told(f);
        }
        Caps {
            rows,
            offer: f.offer,
            without,
            told: true,
            asked: true,
            pending: false,
            negotiate: true,
            jail_follows: false,
        }
    }

    /// The session does without `e`, whatever the server says (a user's
    /// choice: [`crate::Client::without_batches`]).
    pub(crate) fn without(&mut self, e: Ext) {
        self.without[e.row()] = true;
    }

    /// A pool session takes the caller's caps: the same server, the same
    /// user, told the same (what it asked itself is read and dropped).
    pub(crate) fn adopt(&mut self, from: &Caps) {
        if from.told() {
            *self = *from;
        }
    }

    /// Fills the caps from a features answer: tfd's fills every row; any
    /// other (`UNKNOWN`, a gate's `FAILED`) leaves the session without any.
    fn settle_from(&mut self, answer: &[u8]) {
        let told = match tfp_wire::Status::parse(answer) {
            tfp_wire::Status::Ok(text) => tfp_wire::features::Features::parse(&text),
            _ => None,
        };
        *self = match told {
            Some(f) => Caps::from_features(&f, self.without),
            None => Caps {
                without: self.without,
                asked: true,
                ..Caps::default()
            },
        };
    }
}

/// Sends `TFDFEATURES` in the handshake's flight, behind the hash, where
/// the session will have no entry step to carry it: no LOGIN, no INJAIL,
/// no key login of its own (a single-user server's session, in as soon as
/// the hash is taken). Its answer comes before the upgrade's
/// ([`flight_answer`]): settled in the handshake's round trip. A server
/// that wants a key login, a LOGIN or the secure transport first refuses
/// it, and the step that follows asks again.
pub(crate) fn in_flight(chan: &mut tfp_channel::Channel, cfg: &crate::ClientConfig) -> Result<bool, Error> {
    let own_keys = cfg.keys.as_deref().is_some_and(|k| !k.when_asked);
    let ask = cfg.negotiate && cfg.login.is_none() && cfg.jail.is_none() && !own_keys;
    if ask {
        chan.tx.send_frame(tfp_wire::features::COMMAND.as_bytes())?;
    }
    Ok(ask)
}

/// Reads the answer to the question [`in_flight`] sent: tfd's settles the
/// caps, and so does an `UNKNOWN` (a server without the command: none); a
/// refusal (a LOGIN, a key login or the secure transport wanted first)
/// leaves the question to the entry.
pub(crate) fn flight_answer(c: &mut Client) -> Result<(), Error> {
    let answer = c.chan.rx.recv_frame()?;
    if matches!(
        tfp_wire::Status::parse(&answer),
        tfp_wire::Status::Ok(_) | tfp_wire::Status::Unknown
    ) {
        c.caps.settle_from(&answer);
    }
    Ok(())
}

/// Sends `frame`, a step of the session's entry (LOGIN, INJAIL, a key
/// login's signature), and reads its answer. Where the step is the entry's
/// last (`last`) and the session negotiates, `TFDFEATURES` leaves in the
/// same write behind it and its answer, right behind the step's, settles
/// the caps; a step refused (a key the server did not take) makes that
/// answer a refusal too, and it is dropped.
pub(crate) fn entry_step(c: &mut Client, frame: &[u8], last: bool) -> Result<Vec<u8>, Error> {
    if !last || !c.caps.negotiate || c.caps.asked {
        return c.raw(frame);
    }
    c.chan.tx.hold();
    c.chan.tx.send_frame(frame)?;
    c.chan.tx.send_frame(tfp_wire::features::COMMAND.as_bytes())?;
    c.chan.tx.release()?;
    let reply = c.chan.rx.recv_frame()?;
    if matches!(tfp_wire::Status::parse(&reply), tfp_wire::Status::Ok(_)) {
        let answer = c.chan.rx.recv_frame()?;
        c.caps.settle_from(&answer);
        c.caps.asked = true;
    } else {
        // the refusal is the step's to tell, whether the server answers
        // the question (a key it did not take: the next may be) or hangs up
        let _ = c.chan.rx.recv_frame();
    }
    Ok(reply)
}

/// Asks `TFDFEATURES` with the session's next write, where the entry had no
/// step it could ride behind (a single-user server's session, logged in by
/// the handshake; a Fast Access entrance) and nothing asked it yet: its
/// answer is read ahead of the next reply ([`tfp_channel::RxHalf::owe_frame`]),
/// or as soon as the caps are read ([`settle`]).
pub(crate) fn ask_ahead(c: &mut Client) -> Result<(), Error> {
    if !c.caps.negotiate || c.caps.asked {
        return Ok(());
    }
    c.chan.tx.send_frame_ahead(tfp_wire::features::COMMAND.as_bytes())?;
    c.chan.rx.owe_frame();
    c.caps.asked = true;
    c.caps.pending = true;
    Ok(())
}

/// Reads the answer [`ask_ahead`] asked into the caps, before anything
/// reads them: put aside already where the session read a reply since,
/// else sent now (if it still waits for a write) and read. A session that
/// cannot read it (a cut connection) is left without extensions, and its
/// next command meets the cause.
pub(crate) fn settle(c: &mut Client) {
    if !c.caps.pending {
        return;
    }
    c.caps.pending = false;
    let answer = c
        .chan
        .tx
        .send_ahead()
        .ok()
        .and_then(|()| c.chan.rx.recv_owed().ok().flatten());
    c.caps.settle_from(answer.as_deref().unwrap_or_default());
}

/// The error of an answer saying the server has not `e`, which it told it
/// has (or which the session never sends without being told).
pub(crate) fn contradicted(e: Ext) -> Error {
    Error::Protocol(format!(
        "the server told it takes {e:?} but answered as a server without it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::features::{Batch, Features};

    #[test]
    fn each_extension_is_its_own_row_and_nothing_is_had_untold() {
        let c = Caps::default();
        assert!(!c.told());
        assert!(Ext::ALL.iter().all(|&e| c.get(e) == Known::No));
        for (i, &e) in Ext::ALL.iter().enumerate() {
            assert_eq!(e.row(), i);
        }
        // an UNKNOWN answer, or a gate's FAILED, tells nothing: no row
        // had, and the question not asked again
        for answer in [&b"UNKNOWN"[..], b"FAILED 1 : no"] {
            let mut c = Caps::entering(true, false);
            c.settle_from(answer);
            assert!(!c.told() && c.asked);
            assert!(Ext::ALL.iter().all(|&e| c.get(e) == Known::No));
        }
    }

    fn tfd() -> Features {
        Features {
            commands: [
                "TFDPUTMANY",
                "TFDGETMANY",
                "TFDLIST",
                "TFDZSTD",
                "TFDSTATID",
                "TFDDELIF",
                "TFDENTRIES",
            ]
            .map(String::from)
            .to_vec(),
            scope: Some(tfp_wire::xattr::Scope::User),
            owners: false,
            offer: Some(tfp_wire::compress::Offer {
                level_max: 9,
                window_log: 22,
            }),
            putmany: Batch {
                dirs: true,
                archive: true,
                ..Batch::default()
            },
            getmany: Batch::default(),
        }
    }

    #[test]
    fn a_told_answer_settles_every_row_and_nothing_changes_it() {
        let mut c = Caps::default();
        c.without(Ext::GetMany);
        let c = Caps::from_features(&tfd(), c.without);
        assert!(c.told());
        for e in [
            Ext::PutMany,
            Ext::TfdList,
            Ext::Zstd,
            Ext::SameId,
            Ext::Entries,
            Ext::BatchDirs,
        ] {
            assert_eq!(c.get(e), Known::Yes, "{e:?}");
        }
        // told without, what the user chose without, and what needs a
        // command not told
        for e in [
            Ext::GetMany,
            Ext::TfdNames,
            Ext::Owners,
            Ext::AttrsAll,
            Ext::LandAttrs,
            Ext::BatchModes,
        ] {
            assert_eq!(c.get(e), Known::No, "{e:?}");
        }
        assert_eq!(c.offer(), tfd().offer);
        // the answer on the wire settles the same
        let mut wire = b"OK ".to_vec();
        wire.extend_from_slice(&tfd().encode());
        let mut again = Caps::default();
        again.without(Ext::GetMany);
        again.settle_from(&wire);
        assert_eq!(again, c);
    }

    #[test]
    fn a_pool_session_adopts_told_caps_only() {
        let told = Caps::from_features(&tfd(), [false; Ext::COUNT]);
        let mut pool = Caps::default();
        pool.adopt(&Caps::default());
        assert_eq!(pool, Caps::default());
        pool.adopt(&told);
        assert_eq!(pool, told);
    }
}
