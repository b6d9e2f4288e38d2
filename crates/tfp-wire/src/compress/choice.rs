//! What the user asked for: `-z`/`--compress[=LEVEL]`, `--no-compress`, or
//! nothing (measured), and `compress` in tf's config.

use super::MAX_LEVEL;

/// Whether a transfer compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    /// Decided by measurement: blocks that shrink, on a link slower than
    /// compressing them (the default).
    #[default]
    Auto,
    /// Never (`--no-compress`): today's bytes.
    Off,
    /// Always at this level when a block shrinks at all (`-z`, `-z=LEVEL`);
    /// `None` starts at the default level and adapts it.
    Force(Option<i32>),
}

impl Choice {
    /// Reads `auto`, `yes`, `no`, or a level 1..=19 (`compress` in tf's
    /// config, `--compress=LEVEL`).
    pub fn parse(s: &str) -> Option<Choice> {
        match s {
            "auto" => Some(Choice::Auto),
            "yes" | "on" => Some(Choice::Force(None)),
            "no" | "off" => Some(Choice::Off),
            n => n
                .parse::<i32>()
                .ok()
                .filter(|l| (1..=MAX_LEVEL).contains(l))
                .map(|l| Choice::Force(Some(l))),
        }
    }

    /// The spelling [`Choice::parse`] reads back: `auto`, `no`, `yes`, or
    /// the level.
    pub fn word(&self) -> String {
        match self {
            Choice::Auto => "auto".into(),
            Choice::Off => "no".into(),
            Choice::Force(None) => "yes".into(),
            Choice::Force(Some(l)) => l.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads() {
        assert_eq!(Choice::parse("auto"), Some(Choice::Auto));
        assert_eq!(Choice::parse("no"), Some(Choice::Off));
        assert_eq!(Choice::parse("yes"), Some(Choice::Force(None)));
        assert_eq!(Choice::parse("7"), Some(Choice::Force(Some(7))));
        for bad in ["0", "20", "-1", "", "fast"] {
            assert_eq!(Choice::parse(bad), None, "{bad}");
        }
        assert_eq!(Choice::default(), Choice::Auto);
        for c in [Choice::Auto, Choice::Off, Choice::Force(None), Choice::Force(Some(19))] {
            assert_eq!(Choice::parse(&c.word()), Some(c));
        }
    }
}
