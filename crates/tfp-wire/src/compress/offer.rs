//! How a client learns that the server takes compressed blocks: `TFDZSTD`,
//! answered `OK <level_max> <window_log>` by a tfd with `compression yes`
//! and `UNKNOWN` by any other server (or `compression no`), which then gets
//! today's bytes.

/// The probe.
pub const PROBE: &str = "TFDZSTD";
/// `TFDSTAGEPUT` whose data chunks are each one block ([`super::Block`]).
pub const STAGE_PUT: &str = "TFDSTAGEPUTZ";

/// What the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The highest level the server compresses at (and wishes a client to).
    pub level_max: i32,
    /// The window, 2^n bytes, the server's decoder keeps: a sender's stream
    /// must not ask for more.
    pub window_log: u32,
}

impl Offer {
    /// The answer's text after `OK `.
    pub fn encode(&self) -> Vec<u8> {
        format!("{} {}", self.level_max, self.window_log).into_bytes()
    }

    /// Reads the answer's text; both numbers within zstd's and tfd's limits.
    pub fn parse(b: &[u8]) -> Option<Offer> {
        let s = std::str::from_utf8(b).ok()?;
        let mut w = s.split(' ');
        let level_max: i32 = w.next()?.parse().ok()?;
        let window_log: u32 = w.next()?.parse().ok()?;
        let ok = w.next().is_none()
            && (1..=super::MAX_LEVEL).contains(&level_max)
            && (super::MIN_WINDOW_LOG..=super::MAX_WINDOW_LOG).contains(&window_log);
        ok.then_some(Offer { level_max, window_log })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_round_trip_within_bounds() {
        let o = Offer {
            level_max: 9,
            window_log: 22,
        };
        assert_eq!(Offer::parse(&o.encode()), Some(o));
        for bad in [
            &b""[..],
            b"9",
            b"0 22",
            b"20 22",
            b"9 9",
            b"9 28",
            b"9 22 1",
            b"9  22",
            b"x 22",
        ] {
            assert_eq!(Offer::parse(bad), None, "{bad:?}");
        }
    }
}
