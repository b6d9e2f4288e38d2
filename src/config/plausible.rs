//! Whether a config file's first word may be quoted back in an error. tfd,
//! `tfd --check-config` and `--init-secrets` may be pointed (through sudo,
//! by mistake) at a file holding a secret — the private key, a password file,
//! /etc/shadow — and an "unknown key" message that quotes the line's first
//! word would print the secret. So a word is quoted only when it reads as a
//! mistyped key (close to one tfd knows); anything else is named by its line
//! number alone.

/// Longest word quoted: no key is longer than this.
const MAX_LEN: usize = 32;

/// Whether `word`, the first word of a line whose key tfd does not know,
/// looks like a key name a person mistyped among `known`.
pub(super) fn plausible_key<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> bool {
    let shaped = !word.is_empty()
        && word.len() <= MAX_LEN
        && word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    shaped
        && known
            .into_iter()
            .any(|k| distance(&word.to_ascii_lowercase(), k) <= (k.len() / 3).max(2))
}

/// Levenshtein distance (both are at most a few dozen bytes).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let next = (diag + usize::from(x != y)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::plausible_key;

    const KNOWN: [&str; 3] = ["port", "privkey_file", "hash"];

    #[test]
    fn typos_are_quoted_secrets_are_not() {
        assert!(plausible_key("prot", KNOWN));
        assert!(plausible_key("privkey_fil", KNOWN));
        assert!(plausible_key("Hash", KNOWN));
        assert!(!plausible_key("root:$6$salt$hash:19000:0:99999:7:::", KNOWN));
        assert!(!plausible_key("-----BEGIN", KNOWN));
        assert!(!plausible_key(
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ",
            KNOWN
        ));
        assert!(!plausible_key("hunter2", KNOWN));
        assert!(!plausible_key("correct-horse-battery", KNOWN));
        assert!(!plausible_key("", KNOWN));
    }
}
