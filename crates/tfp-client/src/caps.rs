//! What a session has learned of tfd's own extensions (doc/compatibility.md):
//! one value on the [`crate::Client`], so each extension is asked about at
//! most once per session and every transfer reads the same answer. A server
//! that answered `UNKNOWN` is never sent the command again on that session; a
//! batch command answered `OK` lets later batches leave without waiting for it.

/// tfd's own extensions a client learns about per session.
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
}

/// What a session knows of one extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Known {
    /// Not asked yet (or its answer told nothing).
    #[default]
    Unknown,
    /// The server answered the command `OK`.
    Yes,
    /// The server answered `UNKNOWN` (or the session was told to do without
    /// it): the command is not sent again.
    No,
}

/// A session's knowledge of every [`Ext`], all [`Known::Unknown`] when it
/// opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps([Known; Ext::COUNT], Option<tfp_wire::compress::Offer>);

impl Caps {
    /// What the session knows of `e`.
    pub fn get(&self, e: Ext) -> Known {
        self.0[e.row()]
    }

    /// What the server's `TFDZSTD` offered, once it answered `OK`
    /// ([`Ext::Zstd`]): asked once per session like the others.
    pub fn offer(&self) -> Option<tfp_wire::compress::Offer> {
        self.1.filter(|_| self.get(Ext::Zstd) == Known::Yes)
    }

    /// Records the server's answer to `TFDZSTD`: its offer, or none.
    pub fn learn_offer(&mut self, offer: Option<tfp_wire::compress::Offer>) {
        self.learn(Ext::Zstd, offer.is_some());
        self.1 = offer;
    }

    /// Records the server's answer about `e`: whether it has it. The latest
    /// answer stands.
    pub fn learn(&mut self, e: Ext, yes: bool) {
        self.0[e.row()] = if yes { Known::Yes } else { Known::No };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_extension_is_its_own_row() {
        let all = [
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
        let mut c = Caps::default();
        assert!(all.iter().all(|&e| c.get(e) == Known::Unknown));
        for (i, &e) in all.iter().enumerate() {
            c.learn(e, i % 2 == 0);
        }
        for (i, &e) in all.iter().enumerate() {
            assert_eq!(c.get(e), if i % 2 == 0 { Known::Yes } else { Known::No });
        }
        c.learn(Ext::PutMany, false);
        assert_eq!(c.get(Ext::PutMany), Known::No);
        assert_eq!(c.get(Ext::TfdList), Known::Yes);
    }

    #[test]
    fn the_offer_is_kept_with_its_answer() {
        let o = tfp_wire::compress::Offer {
            level_max: 9,
            window_log: 22,
        };
        let mut c = Caps::default();
        assert_eq!(c.offer(), None);
        c.learn_offer(Some(o));
        assert_eq!((c.get(Ext::Zstd), c.offer()), (Known::Yes, Some(o)));
        c.learn(Ext::Zstd, false);
        assert_eq!(c.offer(), None);
        c.learn_offer(None);
        assert_eq!((c.get(Ext::Zstd), c.offer()), (Known::No, None));
    }
}
