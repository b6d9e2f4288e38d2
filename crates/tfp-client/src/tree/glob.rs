//! Shell-style patterns for tf's own globbing (where no shell expands them: a
//! remote path, or a line of `tf shell`): `*`, `?`, `[...]` (`[!...]` or
//! `[^...]` negates, `a-z` ranges) within one path component; a backslash
//! makes the next character literal. As in a shell, a wildcard does not match
//! a leading `.`.

/// Whether `p` holds an unescaped wildcard.
pub fn has_magic(p: &[u8]) -> bool {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// `p` with its escapes removed (a literal path).
pub fn unescape(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    let mut it = p.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' {
            if let Some(&n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Splits a pattern into components at unescaped-or-not `/` (a backslash
/// cannot escape a `/`: names never hold one).
pub fn components(p: &[u8]) -> Vec<&[u8]> {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect()
}

/// Whether `name` (one component) matches the pattern component `pat`.
pub fn matches(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') && !pat.starts_with(b"\\.") {
        return false;
    }
    match_from(pat, name)
}

fn match_from(pat: &[u8], name: &[u8]) -> bool {
    // iterative with one backtrack point for the last '*': linear enough for names
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    // one character, not one byte, of a UTF-8 name
                    n += utf8_len(name[n]) - 1;
                    Some(p + 1)
                }
                b'[' => class(pat, p, name[n]),
                b'\\' if p + 1 < pat.len() => (pat[p + 1] == name[n]).then_some(p + 2),
                c => (c == name[n]).then_some(p + 1),
            }
        } else {
            None
        };
        match step {
            Some(next) => {
                p = next;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// The length of the UTF-8 sequence `lead` starts (1 for anything else).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// Matches `c` against the class opening at `pat[at]`; the index after the
/// class when it matches. An unclosed `[` is a literal `[`.
fn class(pat: &[u8], at: usize, c: u8) -> Option<usize> {
    let mut i = at + 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let Some(&b) = pat.get(i) else {
            // no closing ']': the '[' stands for itself
            return (c == b'[').then_some(at + 1);
        };
        if b == b']' && !first {
            break;
        }
        first = false;
        let lo = if b == b'\\' && i + 1 < pat.len() {
            i += 1;
            pat[i]
        } else {
            b
        };
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = pat[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    (hit != negate).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_in_a_shell() {
        let yes: [(&str, &str); 12] = [
            ("*.log", "a.log"),
            ("*", "x"),
            ("a*b*c", "aXXbYYc"),
            ("?", "é"),
            ("a?c", "abc"),
            ("[abc]x", "bx"),
            ("[a-c]", "c"),
            ("[!a-c]", "d"),
            ("[^a]", "b"),
            ("[]]", "]"),
            ("a\\*", "a*"),
            (".*", ".hidden"),
        ];
        for (p, n) in yes {
            assert!(matches(p.as_bytes(), n.as_bytes()), "{p} {n}");
        }
        let no: [(&str, &str); 8] = [
            ("*.log", "a.txt"),
            ("*", ".hidden"),
            ("a?c", "ac"),
            ("[abc]", "d"),
            ("[!a-c]", "b"),
            ("a\\*", "ab"),
            ("a*b", "a"),
            ("x", "xx"),
        ];
        for (p, n) in no {
            assert!(!matches(p.as_bytes(), n.as_bytes()), "{p} {n}");
        }
        assert!(matches(b"[ab", b"[ab"));
    }

    #[test]
    fn escapes_make_wildcards_literal() {
        assert!(has_magic(b"logs/*.log"));
        assert!(has_magic(b"a[1]"));
        assert!(!has_magic(b"a\\*b"));
        assert!(!has_magic(b"plain name"));
        assert_eq!(unescape(b"a\\*b\\\\c"), b"a*b\\c");
    }
}
