//! The 2.5.1 session clock and identifiers: GETTZ, SETTZ, LOCALTIME, DATEFTZ
//! (a zone per session, which only these commands use: the DATE family stays
//! UTC), GENUUID and FAIMQ. A zone name goes to the end of the line, so one
//! holding a line break is [`Error::Usage`] here.
//!
//! ```no_run
//! let mut c = tfp_client::Client::builder("127.0.0.1:10345")
//!     .key_file("public.pem")
//!     .hash("app-hash")
//!     .connect()?;
//! c.settz("Asia/Tokyo")?;
//! let t = c.localtime()?;
//! println!("{} in {} ({})", t.date, t.zone, c.gettz()?);
//! println!("{}", c.dateftz("EST+5EDT,M3.2.0/2,M11.1.0/2")?);
//! println!("{}", c.genuuid()?);
//! # Ok::<(), tfp_client::Error>(())
//! ```

use crate::session::{number, run, text};
use crate::{Client, Error};

/// LOCALTIME's and DATEFTZ's answer: a wall-clock time and its zone's
/// abbreviation, as `2023-06-07 09:47:07 EST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonedTime {
    /// `YYYY-MM-DD HH:MM:SS`, the clock in that zone.
    pub date: String,
    /// The zone's abbreviation then (`EST`, `JST`, `+0530`).
    pub zone: String,
}

impl ZonedTime {
    /// Reads `YYYY-MM-DD HH:MM:SS ZONE`.
    ///
    /// ```
    /// let t = tfp_client::tz::ZonedTime::parse("2023-06-07 09:47:07 EST").unwrap();
    /// assert_eq!((t.date.as_str(), t.zone.as_str()), ("2023-06-07 09:47:07", "EST"));
    /// assert_eq!(t.wall_seconds(), 1686131227);
    /// assert_eq!(t.to_string(), "2023-06-07 09:47:07 EST");
    /// assert!(tfp_client::tz::ZonedTime::parse("yesterday").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<ZonedTime> {
        let (day, rest) = text.split_once(' ')?;
        let (time, zone) = rest.split_once(' ')?;
        let date = format!("{day} {time}");
        if zone.is_empty() || zone.contains(' ') || tfp_wire::date::parse_utc(&date).is_none() {
            return None;
        }
        Some(ZonedTime {
            date,
            zone: zone.to_string(),
        })
    }

    /// The wall clock read as if it were UTC, in seconds since the epoch
    /// (minus the true time: the zone's offset then).
    pub fn wall_seconds(&self) -> i64 {
        tfp_wire::date::parse_utc(&self.date).unwrap_or_default()
    }
}

/// As the server sent it.
impl std::fmt::Display for ZonedTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.date, self.zone)
    }
}

fn zoned(command: &str, d: Vec<u8>) -> Result<ZonedTime, Error> {
    ZonedTime::parse(&text(d.clone()))
        .ok_or_else(|| Error::Protocol(format!("{command} answered {:?}", crate::escape::shown(&d))))
}

fn check_zone(command: &str, zone: &str) -> Result<(), Error> {
    if zone.contains(['\n', '\r', '\0']) {
        return Err(Error::Usage(format!("{command}: zone {zone:?}: no line breaks or NUL")));
    }
    Ok(())
}

impl Client {
    /// `GETTZ`: the session's zone as it was set (`UTC` until SETTZ).
    pub fn gettz(&mut self) -> Result<String, Error> {
        run(self, "GETTZ", b"").map(text)
    }

    /// `SETTZ zone`: a zone name (`America/New_York`) or a POSIX rule
    /// (`EST+5EDT,M3.2.0/2,M11.1.0/2`) for this session's LOCALTIME. A zone
    /// the server cannot read is [`tfp_wire::Failed::DateNotRepresentable`].
    pub fn settz(&mut self, zone: &str) -> Result<(), Error> {
        check_zone("SETTZ", zone)?;
        run(self, "SETTZ", zone.as_bytes()).map(drop)
    }

    /// `LOCALTIME`: the server's clock in the session's zone.
    pub fn localtime(&mut self) -> Result<ZonedTime, Error> {
        let d = run(self, "LOCALTIME", b"")?;
        zoned("LOCALTIME", d)
    }

    /// `DATEFTZ zone`: the server's clock in `zone`, leaving the session's
    /// zone as it is.
    pub fn dateftz(&mut self, zone: &str) -> Result<ZonedTime, Error> {
        check_zone("DATEFTZ", zone)?;
        let d = run(self, "DATEFTZ", zone.as_bytes())?;
        zoned("DATEFTZ", d)
    }

    /// `GENUUID`: a fresh UUID in its 36-character text form.
    pub fn genuuid(&mut self) -> Result<String, Error> {
        let d = run(self, "GENUUID", b"")?;
        let ok = d.len() == tfp_wire::uuid::TEXT_LEN && d.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-');
        if !ok {
            return Err(Error::Protocol(format!(
                "GENUUID answered {:?}",
                crate::escape::shown(&d)
            )));
        }
        Ok(text(d))
    }

    /// `FAIMQ`: the longest lifetime, in minutes, the server grants a FAI
    /// token ([`Client::faitok`] asks for one).
    pub fn faimq(&mut self) -> Result<u32, Error> {
        let d = run(self, "FAIMQ", b"")?;
        number("FAIMQ", &d)
    }
}
