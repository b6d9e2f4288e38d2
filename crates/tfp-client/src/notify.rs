//! Notification mode (ADDNTFY, STARTNTFY): the session stops taking commands
//! and the server sends, pass after pass, the first file of each watched
//! directory whose name starts with its token, waiting for an answer to each
//! (keep it, delete it, or end the session). There is no way back to command
//! mode, so [`Notifications::start`] takes the session (owned, or borrowed
//! for as long as the notifications are read) for good.

use crate::{Client, Error};
use std::borrow::BorrowMut;
use tfp_wire::Status;

/// One notification: which registration found it (ADDNTFY's order, from 0)
/// and the file's bare name in that directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The ADDNTFY registration, counted from 0 in the order they were made.
    pub index: u32,
    /// The file's name, without its directory.
    pub name: Vec<u8>,
}

/// The answer to a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `OK`: keep the file; it is found again in a later pass.
    Keep,
    /// `DEL`: the server removes the file; the next match comes next.
    Delete,
    /// `END`: the server ends the session.
    End,
}

impl Answer {
    fn word(self) -> &'static [u8] {
        match self {
            Answer::Keep => b"OK",
            Answer::Delete => b"DEL",
            Answer::End => b"END",
        }
    }
}

/// A session in notification mode: [`Notifications::wait`] waits for the
/// next notification, [`Notifications::answer`] answers it. A notification
/// left unanswered is kept (`OK`) when the next one is asked for, since the
/// server waits for an answer before it goes on. `C` is the session, owned
/// ([`Client`]) or borrowed (`&mut Client`).
pub struct Notifications<C: BorrowMut<Client> = Client> {
    c: C,
    unanswered: bool,
    ended: bool,
}

impl Client {
    /// `ADDNTFY token dir`: watch `dir` for files whose names start with
    /// `token` (at most 7 bytes, no `/`; empty: every file) once notification
    /// mode starts.
    pub fn addntfy(&mut self, token: impl AsRef<[u8]>, dir: impl AsRef<[u8]>) -> Result<(), Error> {
        let line = [b"ADDNTFY ", token.as_ref(), b" ", dir.as_ref()].concat();
        crate::error::ok("ADDNTFY", self.command(&line)?).map(drop)
    }
}

impl<C: BorrowMut<Client>> Notifications<C> {
    /// `STARTNTFY interval`: notification mode, for good. `interval` is the
    /// pause between the server's passes in seconds, as the document writes
    /// it (`"0.5"`, `"1e-3"`; empty: the server's default). The server
    /// answers nothing until it has a notification, so a refusal (no ADDNTFY
    /// made: FAILED 6) comes from the first [`Notifications::wait`], and
    /// reads wait without a time limit from here on.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), tfp_client::Error> {
    /// use tfp_client::notify::Answer;
    /// let mut c = tfp_client::Client::builder("127.0.0.1:10345")
    ///     .key_file("pub.pem")
    ///     .hash("app-hash")
    ///     .proto("2.5.1")
    ///     .connect()?;
    /// c.addntfy("job_", "inbox")?;
    /// let mut n = tfp_client::notify::Notifications::start(c, "0.2")?;
    /// loop {
    ///     let job = n.wait()?;
    ///     println!("{}", String::from_utf8_lossy(&job.name));
    ///     n.answer(Answer::Delete)?;
    /// }
    /// # }
    /// ```
    pub fn start(mut c: C, interval: &str) -> Result<Notifications<C>, Error> {
        let s = c.borrow_mut();
        s.chan.stream().set_read_timeout(None)?;
        s.chan.tx.send_frame(format!("STARTNTFY {interval}").as_bytes())?;
        Ok(Notifications {
            c,
            unanswered: false,
            ended: false,
        })
    }

    /// Waits for the next notification (keeping an unanswered one first).
    /// The server's refusal of STARTNTFY is [`Error::Refused`]; a frame that
    /// is not `<index> <name>` is [`Error::Protocol`]; after an
    /// [`Answer::End`] there is nothing more.
    pub fn wait(&mut self) -> Result<Notification, Error> {
        if self.ended {
            return Err(Error::Protocol("the notification session has ended".into()));
        }
        if self.unanswered {
            self.answer(Answer::Keep)?;
        }
        let frame = self.c.borrow_mut().chan.rx.recv_frame()?;
        if frame.starts_with(b"FAILED ") || frame == b"UNKNOWN" {
            self.ended = true;
            return Err(Error::refused("STARTNTFY", Status::parse(&frame)));
        }
        let n = parse(&frame).ok_or_else(|| {
            Error::Protocol(format!(
                "STARTNTFY: {} is not a notification",
                crate::escape::shown(&frame[..frame.len().min(80)])
            ))
        })?;
        self.unanswered = true;
        Ok(n)
    }

    /// Answers the notification [`Notifications::wait`] gave last.
    pub fn answer(&mut self, a: Answer) -> Result<(), Error> {
        if !self.unanswered {
            return Err(Error::Protocol("no notification waits for an answer".into()));
        }
        self.c.borrow_mut().chan.tx.send_frame(a.word())?;
        self.unanswered = false;
        self.ended = a == Answer::End;
        Ok(())
    }

    /// The session underneath (its transport, say).
    pub fn client(&self) -> &Client {
        self.c.borrow()
    }

    /// The session underneath, for what the typed calls do not cover (a
    /// frame of one's own). It stays in notification mode.
    pub fn client_mut(&mut self) -> &mut Client {
        self.c.borrow_mut()
    }
}

/// `<index> <name>`: a decimal index, one space, a name that is not empty.
fn parse(frame: &[u8]) -> Option<Notification> {
    let sp = frame.iter().position(|&b| b == b' ')?;
    let index = std::str::from_utf8(&frame[..sp]).ok()?.parse().ok()?;
    let name = frame[sp + 1..].to_vec();
    (!name.is_empty()).then_some(Notification { index, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_as_the_server_sends_them() {
        assert_eq!(
            parse(b"0 msg_1"),
            Some(Notification {
                index: 0,
                name: b"msg_1".to_vec()
            })
        );
        // a name keeps its spaces and bytes as they came
        assert_eq!(
            parse(b"12 a b\xff").map(|n| (n.index, n.name)),
            Some((12, b"a b\xff".to_vec()))
        );
        for bad in [&b""[..], b"msg", b"x msg", b"-1 msg", b"1 ", b" msg"] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
