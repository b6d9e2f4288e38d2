//! A fresh download of one stream in as few round trips as the protocol
//! allows: FSTAT and a GET from the file's start leave together, and the
//! questions asked once the data is in (did the file hold still while it
//! was read; the mode a new file takes) ride behind the GET's FIN, whose
//! round trip is paid anyway. A fresh `get` of a file thus costs the round
//! trips it cost before those checks existed.

use crate::caps::Ext;
use crate::parallel::Riders;
use crate::remote::listing;
use crate::remote::same::{self, State};
use crate::{Client, Error};
use tfp_wire::Status;

/// FSTAT's answer, the file's state and the GET's grant (or refusal), read
/// together.
pub(super) type StatAndGet = (Result<listing::Stat, Error>, Option<State>, Result<(), Error>);

/// A GET sent ahead of the download's decisions and the commands that ride
/// behind its FIN.
#[derive(Debug, Default)]
pub(super) struct Ahead {
    /// The GET's grant while its data is unread.
    pub grant: Option<i64>,
    /// The commands behind the FIN.
    pub riders: Riders,
    /// The verb of the state check among the riders.
    check: Option<&'static str>,
    /// Whether TFDMODE is among the riders.
    mode: bool,
    /// The check's answer, once read.
    checked: Option<Status>,
    /// TFDMODE's answer, once read.
    moded: Option<Status>,
}

impl Ahead {
    /// Sends FSTAT and a GET from the file's start back to back and reads
    /// both answers: a fresh download of one stream needs nothing of
    /// FSTAT's answer to ask for its data, so the first byte comes a round
    /// trip after the commands instead of two (20 ms of a 3 s download of
    /// 64 MiB at 200 Mbit/s, 20 ms). Returns FSTAT's answer and state; the
    /// grant, when the GET was granted, is kept for the data (or a drain),
    /// a refusal returned as the third. Any server takes both commands.
    pub fn stat_and_get(&mut self, c: &mut Client, remote: &[u8], bufsz: i64) -> Result<StatAndGet, Error> {
        let want = bufsz.max(1);
        let get = crate::parallel::get_command(remote, 0, want);
        let (st, state) = same::fstat_with_state(c, remote, &[&get])?;
        let f = c.chan.rx.recv_frame()?;
        let get =
            crate::parallel::granted(&f, want).and_then(|g| g.ok_or_else(|| Error::refused("GET", Status::parse(&f))));
        Ok((st, state, get.map(|grant| self.grant = Some(grant))))
    }

    /// Puts the after-data questions behind the GET's FIN: the file's state
    /// asked as its first state was (TFDSTATID is known by now), and
    /// TFDMODE where the target is new and the server may have it.
    pub fn ride(&mut self, c: &mut Client, remote: &[u8], new: bool) {
        if self.grant.is_none() || self.riders.sent {
            return;
        }
        let verb = same::verb(c);
        self.riders.lines = vec![same::line(verb, remote)];
        self.check = Some(verb);
        self.mode = new && c.caps().has(Ext::Mode);
        if self.mode {
            self.riders.lines.push(same::line(tfp_wire::mode::MODE, remote));
        }
    }

    /// Follows the GET to its end where its data went unread (the riders
    /// leave with its FIN), then reads the riders' answers: the session
    /// takes commands again.
    pub fn settle(&mut self, c: &mut Client) -> Result<(), Error> {
        if let Some(grant) = self.grant.take() {
            crate::parallel::drain_get(c, grant, &mut self.riders)?;
        }
        if !std::mem::take(&mut self.riders.sent) {
            return Ok(());
        }
        self.riders.lines.clear();
        if self.check.is_some() {
            self.checked = Some(Status::parse(&c.chan.rx.recv_frame()?));
        }
        if self.mode {
            self.moded = Some(Status::parse(&c.chan.rx.recv_frame()?));
        }
        Ok(())
    }

    /// The file's state after the data as the riders told it, where it
    /// compares with `was` (asked the same way; a server without the verb,
    /// `UNKNOWN`, tells nothing).
    pub fn state_after(&mut self, was: &State) -> Option<Option<State>> {
        let verb = self.check?;
        let st = self.checked.take()?;
        let alike = matches!(
            (verb == tfp_wire::same::STAT, was),
            (true, State::Id(_)) | (false, State::Coarse { .. })
        );
        (alike && !matches!(st, Status::Unknown)).then(|| same::parse(verb, &st))
    }

    /// TFDMODE's answer, where it rode.
    pub fn mode_answer(&mut self) -> Option<Status> {
        self.moded.take()
    }
}
