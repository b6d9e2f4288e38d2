//! rsync's wildcards (its wildmatch), for the filter rules: `*` matches
//! any bytes but `/`, `**` any bytes `/` included, `?` one byte but `/`,
//! `[...]` one byte of a class (`!` or `^` negates, `a-z` ranges, `[:alpha:]`
//! and the other POSIX names; never `/`), a backslash makes the next byte
//! literal. Unlike a shell's, `*` matches a leading `.`, and a byte is a
//! byte (`?` does not match a two-byte UTF-8 character), as in rsync.
//!
//! The pattern is compiled once into tokens and matched by walking the set
//! of text offsets each token can reach: time linear in the pattern times
//! the text, whatever the stars (no backtracking to blow up).

/// One token of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// This byte.
    Lit(u8),
    /// `?`: one byte but `/`.
    One,
    /// A class: the bytes it takes (a `/` never).
    Class(Box<[bool; 256]>),
    /// `*`: any bytes but `/`.
    Star,
    /// `**` (or more stars): any bytes.
    Stars,
    /// An unclosed `[`: rsync's wildmatch matches nothing at all.
    Never,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    toks: Vec<Tok>,
}

/// Whether `p` holds one of rsync's wildcard bytes (`*`, `?`, `[`): only
/// then is a backslash an escape (rsync: a pattern without wildcards is
/// matched literally, backslashes and all).
pub fn is_wild(p: &[u8]) -> bool {
    p.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

impl Pattern {
    /// Compiles `p`; with `wild` false every byte is literal.
    pub fn new(p: &[u8], wild: bool) -> Pattern {
        if !wild {
            return Pattern {
                toks: p.iter().map(|&b| Tok::Lit(b)).collect(),
            };
        }
        let mut toks = Vec::with_capacity(p.len());
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                b'*' => {
                    let mut n = 0;
                    while p.get(i) == Some(&b'*') {
                        n += 1;
                        i += 1;
                    }
                    toks.push(if n > 1 { Tok::Stars } else { Tok::Star });
                    continue;
                }
                b'?' => toks.push(Tok::One),
                b'[' => match class(p, i) {
                    Some((set, next)) => {
                        toks.push(Tok::Class(set));
                        i = next;
                        continue;
                    }
                    None => {
                        toks.push(Tok::Never);
                        break;
                    }
                },
                b'\\' if i + 1 < p.len() => {
                    toks.push(Tok::Lit(p[i + 1]));
                    i += 1;
                }
                b => toks.push(Tok::Lit(b)),
            }
            i += 1;
        }
        Pattern { toks }
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &[u8]) -> bool {
        // at[j]: the first k tokens can match text[..j]
        let mut at = vec![false; text.len() + 1];
        at[0] = true;
        for t in &self.toks {
            let mut next = vec![false; text.len() + 1];
            match t {
                Tok::Never => return false,
                Tok::Star | Tok::Stars => {
                    let mut run = false;
                    for j in 0..=text.len() {
                        run |= at[j];
                        next[j] = run;
                        // a single star stops at a '/'
                        if *t == Tok::Star && text.get(j) == Some(&b'/') {
                            run = false;
                        }
                    }
                }
                _ => {
                    for j in 0..text.len() {
                        if at[j] && takes(t, text[j]) {
                            next[j + 1] = true;
                        }
                    }
                }
            }
            at = next;
        }
        at[text.len()]
    }
}

/// Whether the one-byte token `t` takes `b`.
fn takes(t: &Tok, b: u8) -> bool {
    match t {
        Tok::Lit(c) => *c == b,
        Tok::One => b != b'/',
        Tok::Class(set) => set[usize::from(b)],
        _ => false,
    }
}

/// The class opening at `p[at]`: its bytes and the index after its `]`;
/// `None` when it is not closed.
fn class(p: &[u8], at: usize) -> Option<(Box<[bool; 256]>, usize)> {
    let mut set = Box::new([false; 256]);
    let mut i = at + 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut first = true;
    let mut prev: Option<u8> = None;
    loop {
        let b = *p.get(i)?;
        if b == b']' && !first {
            break;
        }
        first = false;
        if b == b'\\' {
            i += 1;
            let c = *p.get(i)?;
            set[usize::from(c)] = true;
            prev = Some(c);
        } else if b == b'-' && prev.is_some() && p.get(i + 1).is_some_and(|&h| h != b']') {
            i += 1;
            let mut hi = p[i];
            if hi == b'\\' {
                i += 1;
                hi = *p.get(i)?;
            }
            let lo = prev.unwrap_or(hi);
            for c in lo..=hi {
                set[usize::from(c)] = true;
            }
            prev = None;
        } else if b == b'[' && p.get(i + 1) == Some(&b':') {
            let end = p[i + 2..].windows(2).position(|w| w == b":]")? + i + 2;
            named(&p[i + 2..end], &mut set)?;
            i = end + 1;
            prev = None;
        } else {
            set[usize::from(b)] = true;
            prev = Some(b);
        }
        i += 1;
    }
    if negate {
        for v in set.iter_mut() {
            *v = !*v;
        }
    }
    set[usize::from(b'/')] = false;
    Some((set, i + 1))
}

/// Adds the bytes of the POSIX class `name` (`alpha` of `[:alpha:]`, in
/// the C locale as rsync); `None` for a name there is not.
fn named(name: &[u8], set: &mut [bool; 256]) -> Option<()> {
    let test: fn(u8) -> bool = match name {
        b"alnum" => |c| c.is_ascii_alphanumeric(),
        b"alpha" => |c| c.is_ascii_alphabetic(),
        b"blank" => |c| c == b' ' || c == b'\t',
        b"cntrl" => |c| c.is_ascii_control(),
        b"digit" => |c| c.is_ascii_digit(),
        b"graph" => |c| c.is_ascii_graphic(),
        b"lower" => |c| c.is_ascii_lowercase(),
        b"print" => |c| c.is_ascii_graphic() || c == b' ',
        b"punct" => |c| c.is_ascii_punctuation(),
        b"space" => |c| c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => |c| c.is_ascii_uppercase(),
        b"xdigit" => |c| c.is_ascii_hexdigit(),
        _ => return None,
    };
    for c in 0..=255u8 {
        set[usize::from(c)] |= test(c);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p.as_bytes(), is_wild(p.as_bytes())).matches(t.as_bytes())
    }

    #[test]
    fn stars_classes_and_escapes_as_rsync_matches_them() {
        let yes = [
            ("*", ".hidden"),
            ("*.txt", "a.txt"),
            ("a/**/z.txt", "a/b/c/z.txt"),
            ("**", "a/b"),
            ("a?c", "abc"),
            ("[!a-c]*", "d"),
            ("[^a]", "b"),
            ("[]a]*", "]x"),
            ("[[:alpha:]]?.txt", "a1.txt"),
            ("star\\*", "star*"),
            ("a\\b", "a\\b"),
            ("a/***", "a/"),
        ];
        for (p, t) in yes {
            assert!(m(p, t), "{p} {t}");
        }
        let no = [
            ("*", "a/b"),
            ("a/**/z.txt", "a/z.txt"),
            ("?.txt", "é.txt"),
            ("a?b", "a/b"),
            ("a[/]b", "a/b"),
            ("[a-", "a"),
            ("[a-", "[a-"),
            ("st\\*", "stx"),
            ("[[:alpha:]]", "1"),
        ];
        for (p, t) in no {
            assert!(!m(p, t), "{p} {t}");
        }
    }

    #[test]
    fn many_stars_stay_linear() {
        let p = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let t = "a".repeat(4000);
        assert!(!m(p, &t));
    }
}
