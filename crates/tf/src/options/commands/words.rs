//! How a command's words are read before its rows parse them, as GNU
//! tools read theirs: `--name=value` is two words, and a cluster of
//! single-letter flags is each of them.

use super::{all, Kind};

/// `args` with each `--name=value` before a `--` split in two, `--name`
/// and `value`, when `valued(--name)` (an option that takes a value);
/// anything else as it was.
pub fn joined_values(args: &[String], valued: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a.clone());
            out.extend(it.cloned());
            break;
        }
        match a.split_once('=') {
            Some((name, v)) if name.starts_with("--") && valued(name) => {
                out.push(name.to_string());
                out.push(v.to_string());
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

/// `-aHSX` as `-a -H -S -X`, as getopt reads a cluster of single-letter
/// flags (rsync's `-aHSXA` typed as it is): only where every letter is a
/// flag that some row gives `command`, and the word itself names no option.
pub fn short_cluster(command: &str, word: &str) -> Option<Vec<String>> {
    let letters = word.strip_prefix('-')?;
    if letters.len() < 2 || !letters.bytes().all(|b| b.is_ascii_alphabetic()) || all().any(|o| o.name == word) {
        return None;
    }
    let flag = |c: char| {
        all().any(|o| {
            o.commands.contains(&command)
                && matches!(o.kind, Kind::Flag)
                && o.name.strip_prefix('-') == Some(c.encode_utf8(&mut [0; 4]))
        })
    };
    letters
        .chars()
        .all(flag)
        .then(|| letters.chars().map(|c| format!("-{c}")).collect())
}
