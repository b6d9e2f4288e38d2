//! How tfd's own listings of a tree end (TFDLIST, TFDNAMES, TFDENTRIES,
//! TFDDIRENTRIES, and TFDLISTZ of each): `OK` when the listing is whole,
//! else `OK partial <cut> <unread>` and the first unread directories'
//! names, each ` <length> <name>` (the name raw, relative to the listed
//! directory, empty for the listed directory itself), as many as
//! [`MAX_NAMED`] bytes of names hold.
//!
//! `cut` is 1 when the walk stopped short (the server's entry budget, its
//! depth bound, or no descriptor to open a directory with): entries are
//! missing that no name says. `unread` counts the directories the session
//! may not read, listed without their contents. A client that reads a
//! listing's `OK` as its end and ignores what follows it (every tf before
//! this) still reads the listing; one that reads this knows that what the
//! listing lacks may still exist, so it removes nothing for its absence.

/// The word after `OK ` of a listing that is not whole.
pub const PARTIAL: &str = "partial";

/// Most bytes of directory names one end carries; the rest are counted.
pub const MAX_NAMED: usize = 64 << 10;

/// The directories a listing left out for want of the right to read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unread {
    /// How many.
    pub count: u64,
    /// The first of them, relative to the listed directory.
    pub named: Vec<Vec<u8>>,
}

impl Unread {
    /// Counts one more, and keeps its name while the names fit.
    pub fn note(&mut self, rel: &[u8]) {
        self.count += 1;
        let held: usize = self.named.iter().map(|n| n.len() + 12).sum();
        if held + rel.len() + 12 <= MAX_NAMED {
            self.named.push(rel.to_vec());
        }
    }
}

/// What a listing's end says of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partial {
    /// The walk stopped short: entries are missing that no name says.
    pub cut: bool,
    /// Directories listed without their contents.
    pub unread: Unread,
}

impl Partial {
    /// Whether the listing holds everything below the listed directory.
    pub fn is_whole(&self) -> bool {
        !self.cut && self.unread.count == 0
    }

    /// The data of the listing's `OK`: none when it is whole.
    pub fn encode(&self) -> Option<Vec<u8>> {
        if self.is_whole() {
            return None;
        }
        let mut out = format!("{PARTIAL} {} {}", u8::from(self.cut), self.unread.count).into_bytes();
        for n in &self.unread.named {
            out.extend_from_slice(format!(" {} ", n.len()).as_bytes());
            out.extend_from_slice(n);
        }
        Some(out)
    }

    /// What the data of a listing's `OK` says: nothing, whole; what this
    /// client cannot read is taken as a listing cut short, never as whole.
    pub fn of_ok(data: &[u8]) -> Partial {
        if data.is_empty() {
            return Partial::default();
        }
        parse(data).unwrap_or(Partial {
            cut: true,
            unread: Unread::default(),
        })
    }
}

/// The next ` <number>` of `text`, and what follows it.
fn number(text: &[u8]) -> Option<(u64, &[u8])> {
    let text = text.strip_prefix(b" ")?;
    let end = text.iter().position(|b| !b.is_ascii_digit()).unwrap_or(text.len());
    if end == 0 || end > 19 {
        return None;
    }
    let n = std::str::from_utf8(&text[..end]).ok()?.parse().ok()?;
    Some((n, &text[end..]))
}

fn parse(data: &[u8]) -> Option<Partial> {
    let rest = data.strip_prefix(PARTIAL.as_bytes())?;
    let (cut, rest) = number(rest)?;
    let (count, mut rest) = number(rest)?;
    let mut p = Partial {
        cut: match cut {
            0 => false,
            1 => true,
            _ => return None,
        },
        unread: Unread {
            count,
            named: Vec::new(),
        },
    };
    while !rest.is_empty() {
        let (len, after) = number(rest)?;
        let after = after.strip_prefix(b" ")?;
        let len = usize::try_from(len).ok().filter(|&l| l <= after.len())?;
        p.unread.named.push(after[..len].to_vec());
        rest = &after[len..];
    }
    // more names than counted is no answer of tfd's
    (p.unread.named.len() as u64 <= p.unread.count).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_says_what_was_left_out_and_reads_back() {
        assert_eq!(Partial::default().encode(), None);
        assert!(Partial::of_ok(b"").is_whole());
        let mut p = Partial::default();
        for n in [&b"a b"[..], b"", b"x\ny", b"7 8"] {
            p.unread.note(n);
        }
        let data = p.encode().unwrap();
        assert_eq!(data, b"partial 0 4 3 a b 0  3 x\ny 3 7 8");
        assert_eq!(Partial::of_ok(&data), p);
        let cut = Partial {
            cut: true,
            unread: Unread::default(),
        };
        assert_eq!(cut.encode().unwrap(), b"partial 1 0");
        assert_eq!(Partial::of_ok(b"partial 1 0"), cut);
        // what cannot be read is a listing cut short, never whole
        for odd in [
            &b"whatever"[..],
            b"partial",
            b"partial 2 0",
            b"partial 0 1 9 short",
            b"partial 0 0 1 x",
        ] {
            assert_eq!(Partial::of_ok(odd), cut, "{odd:?}");
        }
    }

    #[test]
    fn names_stop_at_the_bound_and_the_rest_are_counted() {
        let mut u = Unread::default();
        let name = vec![b'n'; 4000];
        for _ in 0..100 {
            u.note(&name);
        }
        assert_eq!(u.count, 100);
        assert!(u.named.len() < 100 && !u.named.is_empty());
        let p = Partial { cut: false, unread: u };
        let data = p.encode().unwrap();
        assert!(data.len() <= MAX_NAMED + 32);
        assert_eq!(Partial::of_ok(&data), p);
    }
}
