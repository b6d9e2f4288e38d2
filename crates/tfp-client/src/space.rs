//! `tf df`'s question: the space a session may still use, and why. tfd answers
//! TFDSPACE with the disk's free space and the quota beside FREESP's one
//! number; another server only has FREESP, which is then all there is to show.

use super::{Client, Error};
use tfp_wire::Status;

/// What the server says about space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// What the session may still store (FREESP's answer).
    pub usable: u64,
    /// The file system's free space (None: the server only answers FREESP).
    pub disk: Option<u64>,
    /// Quota used and limit, when one applies.
    pub quota: Option<(u64, u64)>,
}

impl Client {
    /// `TFDSPACE`, falling back to `FREESP` on a server that does not know it
    /// (answers UNKNOWN). A refusal is [`Error::Refused`]; an answer that is
    /// not numbers is [`Error::Protocol`], its message the sentence `tf df`
    /// prints.
    pub fn space(&mut self) -> Result<Space, Error> {
        match self.command(b"TFDSPACE")? {
            Status::Ok(d) => parse(&d).ok_or_else(|| unreadable(Status::Ok(d))),
            Status::Unknown => match self.command(b"FREESP")? {
                Status::Ok(d) => match std::str::from_utf8(&d).ok().and_then(|t| t.trim().parse().ok()) {
                    Some(usable) => Ok(Space {
                        usable,
                        disk: None,
                        quota: None,
                    }),
                    None => Err(unreadable(Status::Ok(d))),
                },
                other => Err(Error::refused("FREESP", other)),
            },
            other => Err(Error::refused("TFDSPACE", other)),
        }
    }
}

/// An `OK` whose data is no space answer.
fn unreadable(st: Status) -> Error {
    Error::Protocol(format!(
        "the server did not say how much space is left (it answered {:?})",
        crate::escape::status_text(&st)
    ))
}

/// `<usable> <disk>` or `<usable> <disk> <used> <limit>`.
fn parse(d: &[u8]) -> Option<Space> {
    let text = std::str::from_utf8(d).ok()?;
    let n: Vec<u64> = text.split(' ').map(|w| w.parse().ok()).collect::<Option<_>>()?;
    match n[..] {
        [usable, disk] => Some(Space {
            usable,
            disk: Some(disk),
            quota: None,
        }),
        [usable, disk, used, limit] => Some(Space {
            usable,
            disk: Some(disk),
            quota: Some((used, limit)),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert_eq!(
            parse(b"5 9"),
            Some(Space {
                usable: 5,
                disk: Some(9),
                quota: None
            })
        );
        assert_eq!(parse(b"5 9 45 50").unwrap().quota, Some((45, 50)));
        for bad in [&b""[..], b"5", b"5 9 1", b"x 9", b"5  9", b"-1 9", b"1 2 3 4 5"] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
