//! What a session knows of tfd's own extensions (doc/compatibility.md
//! "Features"): one value on the [`crate::Client`], settled once and read
//! by every transfer.
//!
//! A session asks `TFDFEATURES` in its first flight after login ([`ask`]:
//! the question leaves with whatever that flight sends, its answer is read
//! before any other, [`settle`]); tfd's answer fills every row at once,
//! and nothing changes them after. A server without the command (2.4.1,
//! the reference, an older tfd) answers `UNKNOWN`: its extensions are then
//! learned one by one at their first use, as before, through [`learn`], the
//! one place a session's caps change after it opened. Where the server told
//! its features, an answer contradicting them (`UNKNOWN` to a command it
//! said it takes) is an error, not a lesson.
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
    /// TFDSTAGE, staged uploads ([`crate::engine::staged`]): a tree asked it once
    /// per file of 32 MiB and more.
    Stage,
    /// TFDENTRIES, a tree's entries with all an archive copy keeps
    /// ([`crate::remote::entries`]); a server with it also takes archive
    /// batches (`TFDPUTMANY <n> a`, `TFDGETMANY ... a`).
    Entries,
    /// TFDZSTD, compressed data ([`crate::compress`]).
    Zstd,
    /// Archive entries that give an owner, which tfd takes only from a
    /// session it serves as root, unjailed: asked once per session with one
    /// probe entry (a tree run asks where owners or devices are kept).
    Owners,
    /// Framed batch uploads (`TFDPUTMANY <n> z f`): the whole exchange one
    /// zstd stream, asked with the probe `TFDPUTMANY 0 z f` once per session
    /// ([`crate::compress::framed`]).
    Framed,
    /// Delta downloads whose literals come compressed (`TFDDELTAGETZ`,
    /// [`crate::engine::delta::get`]): a server from before them answers
    /// `UNKNOWN`, and is asked `TFDDELTAGET` from then on.
    DeltaGetZ,
    /// Framed batch downloads (`TFDGETMANY <n> <max> … z f`): everything the
    /// server sends one zstd stream, asked with the probe `TFDGETMANY 0 0 z
    /// f` once per session ([`crate::compress::framed_get`]).
    GetFramed,
    /// Directories in plain batches (`D <path>` before the files): the
    /// plain probe's `OK dirs` ([`tfp_wire::batch::put::DIRS`]); without
    /// it a tree's directories go as MKDIRs.
    BatchDirs,
    /// Compressed listings (`TFDLISTZ`, [`crate::remote::zlisting`]): a
    /// server without them answers `UNKNOWN`, and is asked the plain
    /// listings from then on.
    ListZ,
    /// Batches whose files land with their attributes (`TFDPUTMANY <n> x`,
    /// an `X` frame before a file's header) and `TFDLANDXATTRS`: the probe
    /// `TFDPUTMANY 0 x`, asked once per session by a run with `-X` or `-A`.
    LandAttrs,
    /// What that probe said of the session's attribute scope: `Yes` for
    /// `all` (`trusted.` and `security.` too: a root session).
    AttrsAll,
    /// TFDSTATID and TFDDELIF, a file's identity and its removal only
    /// while it keeps it ([`crate::remote::same`]): a server without them
    /// is asked FSTAT and DEL.
    SameId,
    /// New files and directories in plain batches take the source's mode
    /// less the server's umask: the plain probe's `OK dirs modes`
    /// ([`tfp_wire::batch::put::MODES`]); without it they take the
    /// server's default mode.
    BatchModes,
    /// TFDMODE, an entry's mode, which FSTAT does not say: what a download
    /// gives a new file, less the umask ([`crate::engine::download`]).
    Mode,
}

impl Ext {
    /// The number of extensions, the size of [`Caps`]' table.
    const COUNT: usize = 20;

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
    ];
}

/// What a session knows of one extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Known {
    /// Not told, not asked yet (or its answer told nothing).
    #[default]
    Unknown,
    /// The server has it (told, or answered the command `OK`).
    Yes,
    /// The server has it not (told so, or answered `UNKNOWN`), or the
    /// session was told to do without it: the command is not sent.
    No,
}

/// Where a session's knowledge comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Source {
    /// Nothing asked (a session opened without [`ask`]): learned at each
    /// extension's first use.
    #[default]
    Unasked,
    /// `TFDFEATURES` asked, its answer not read yet.
    Asked,
    /// The server told its features: every row is settled.
    Told,
    /// The server does not tell them: learned at each first use.
    Probed,
}

/// A session's knowledge of every [`Ext`], all [`Known::Unknown`] until
/// the server tells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    rows: [Known; Ext::COUNT],
    offer: Option<tfp_wire::compress::Offer>,
    /// What the session was told to do without ([`Caps::without`]),
    /// whatever the server says.
    without: [bool; Ext::COUNT],
    source: Source,
}

impl Caps {
    /// What the session knows of `e`.
    pub fn get(&self, e: Ext) -> Known {
        match self.without[e.row()] {
            true => Known::No,
            false => self.rows[e.row()],
        }
    }

    /// What the server's `TFDZSTD` offered, once it answered `OK`
    /// ([`Ext::Zstd`]).
    pub fn offer(&self) -> Option<tfp_wire::compress::Offer> {
        self.offer.filter(|_| self.get(Ext::Zstd) == Known::Yes)
    }

    /// Whether the server told its features (every row is settled).
    pub fn told(&self) -> bool {
        self.source == Source::Told
    }

    /// The caps a features answer tells.
    fn from_features(f: &tfp_wire::features::Features, without: [bool; Ext::COUNT]) -> Caps {
        let mut rows = [Known::No; Ext::COUNT];
        for e in Ext::ALL {
            if e.told(f) {
                rows[e.row()] = Known::Yes;
            }
        }
        Caps {
            rows,
            offer: f.offer,
            without,
            source: Source::Told,
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
}

/// Asks `TFDFEATURES` with the session's next write (whatever its first
/// flight after login sends; no round trip of its own): its answer is read
/// ahead of any other ([`tfp_channel::RxHalf::owe_frame`]) and settles the
/// caps at their next reading ([`settle`]).
pub(crate) fn ask(c: &mut Client) -> Result<(), Error> {
    c.chan.tx.send_frame_ahead(tfp_wire::features::COMMAND.as_bytes())?;
    c.chan.rx.owe_frame();
    c.caps.source = Source::Asked;
    Ok(())
}

/// Reads the features answer into the caps once it has come (with the
/// first reply the session read): tfd's fills every row; any other
/// (`UNKNOWN`, a gate's `FAILED`) leaves them to be learned at each
/// extension's first use.
pub(crate) fn settle(c: &mut Client) {
    if c.caps.source != Source::Asked {
        return;
    }
    let Some(answer) = c.chan.rx.take_early() else {
        return;
    };
    let told = match tfp_wire::Status::parse(&answer) {
        tfp_wire::Status::Ok(text) => tfp_wire::features::Features::parse(&text),
        _ => None,
    };
    c.caps = match told {
        Some(f) => Caps::from_features(&f, c.caps.without),
        None => Caps {
            source: Source::Probed,
            ..c.caps
        },
    };
}

/// What the server's answer to a command (or probe) of `e` said: whether
/// it has it. Where the server told its features this is a check (nothing
/// changes; an answer saying it has not what it told it has is an error);
/// where it did not, the answer is the lesson ([`Caps::learn`], the latest
/// stands).
pub(crate) fn answered(c: &mut Client, e: Ext, yes: bool) -> Result<(), Error> {
    settle(c);
    c.caps.learn(e, yes)
}

/// [`answered`] of the server's answer to `TFDZSTD`: its offer, or none.
pub(crate) fn answered_offer(c: &mut Client, offer: Option<tfp_wire::compress::Offer>) -> Result<(), Error> {
    settle(c);
    c.caps.learn(Ext::Zstd, offer.is_some())?;
    if !c.caps.told() {
        c.caps.offer = offer;
    }
    Ok(())
}

impl Caps {
    /// The one place a session's caps change after they were settled or
    /// asked ([`answered`]): a lesson for a server that did not tell its
    /// features, a check for one that did.
    fn learn(&mut self, e: Ext, yes: bool) -> Result<(), Error> {
        if self.told() {
            if !yes && self.rows[e.row()] == Known::Yes {
                return Err(Error::Protocol(format!(
                    "the server told it takes {e:?} but answered as a server without it"
                )));
            }
            return Ok(());
        }
        self.rows[e.row()] = if yes { Known::Yes } else { Known::No };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::features::{Batch, Features};

    #[test]
    fn each_extension_is_its_own_row() {
        let mut c = Caps::default();
        assert!(Ext::ALL.iter().all(|&e| c.get(e) == Known::Unknown));
        for (i, &e) in Ext::ALL.iter().enumerate() {
            assert_eq!(e.row(), i);
            c.learn(e, i % 2 == 0).unwrap();
        }
        for (i, &e) in Ext::ALL.iter().enumerate() {
            assert_eq!(c.get(e), if i % 2 == 0 { Known::Yes } else { Known::No });
        }
        // a server that told nothing: the latest answer stands
        c.learn(Ext::PutMany, false).unwrap();
        assert_eq!(c.get(Ext::PutMany), Known::No);
        assert_eq!(c.get(Ext::TfdList), Known::Yes);
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
        let mut c = Caps::from_features(&tfd(), c.without);
        assert!(c.told());
        assert!(Ext::ALL.iter().all(|&e| c.get(e) != Known::Unknown));
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
        let before = c;
        // an answer agreeing, or saying yes to what was told no, teaches nothing
        c.learn(Ext::PutMany, true).unwrap();
        c.learn(Ext::TfdNames, true).unwrap();
        assert_eq!(c, before);
        // UNKNOWN to what the server told it has is an error
        assert!(matches!(c.learn(Ext::TfdList, false), Err(Error::Protocol(_))));
        assert_eq!(c, before);
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
