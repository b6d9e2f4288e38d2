//! The filter against a table of rsync 3.5's own verdicts: each row's
//! rules were given to `rsync -r RULES src/ dst/` over [`TREE`], and the
//! paths it copied are the row's (scripted, not typed).

use super::*;
use crate::tree::listed::Listed;

/// The tree every row was run over: (path, is a directory).
const TREE: &[(&str, bool)] = &[
    (".hidden", false),
    ("a", true),
    ("a/b", true),
    ("a/b/c", true),
    ("a/b/c/z.txt", false),
    ("a/b/z.txt", false),
    ("a/x", true),
    ("a/x/y.txt", false),
    ("a/z.txt", false),
    ("a1.txt", false),
    ("ab.txt", false),
    ("b", true),
    ("b/z.txt", false),
    ("d", true),
    ("d/.h", false),
    ("d/z.txt", false),
    ("other", true),
    ("other/src", true),
    ("other/src/gen", true),
    ("other/src/gen/a.rs", false),
    ("src", true),
    ("src/a.rs", false),
    ("src/gen", true),
    ("src/gen/a.rs", false),
    ("star*", false),
    ("stx", false),
    ("z.txt", false),
    ("é.txt", false),
];

/// (rules as `(is --include, word)`, what rsync copied).
#[rustfmt::skip]
const ROWS: &[(&[(bool, &str)], &str)] = &[
        (&[(false, "a/**/z.txt")], ".hidden a a/b a/b/c a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "src/gen/*.rs")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen src src/a.rs src/gen star* stx z.txt é.txt"),
        (&[(false, "*")], ""),
        (&[(false, ".*")], "a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "?.txt")], ".hidden a a/b a/b/c a/x a1.txt ab.txt b d d/.h other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx é.txt"),
        (&[(false, "a/***")], ".hidden a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(true, "a/***"), (false, "*")], "a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt"),
        (&[(false, "b/*")], ".hidden a a/b a/x a/x/y.txt a/z.txt a1.txt ab.txt b d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "/z.txt"), (false, "/a/z.txt")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx é.txt"),
        (&[(false, "a*")], ".hidden b b/z.txt d d/.h d/z.txt other other/src other/src/gen src src/gen star* stx z.txt é.txt"),
        (&[(false, "**/z.txt")], ".hidden a a/b a/b/c a/x a/x/y.txt a1.txt ab.txt b d d/.h other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx é.txt"),
        (&[(false, "a/**")], ".hidden a a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "st\\*")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "star\\*")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs stx z.txt é.txt"),
        (&[(false, "a[0-9].txt")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "[[:alpha:]]?.txt")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "a[/]b")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "/a/b/")], ".hidden a a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "a/*/z.txt")], ".hidden a a/b a/b/c a/b/c/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "**z.txt")], ".hidden a a/b a/b/c a/x a/x/y.txt a1.txt ab.txt b d d/.h other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx é.txt"),
        (&[(false, "b/**/z.txt")], ".hidden a a/b a/b/c a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "a/b")], ".hidden a a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "z.t*"), (true, "a/z.txt")], ".hidden a a/b a/b/c a/x a/x/y.txt a1.txt ab.txt b d d/.h other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx é.txt"),
        (&[(true, "*/"), (true, "*.rs"), (false, "*")], "a a/b a/b/c a/x b d other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs"),
        (&[(false, "[!a-c]*")], "a a/b a/b/c a1.txt ab.txt b"),
        (&[(false, "src/")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other star* stx z.txt é.txt"),
        (&[(false, "/src/")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "**/b/z.txt")], ".hidden a a/b a/b/c a/b/c/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "*/z.txt")], ".hidden a a/b a/b/c a/x a/x/y.txt a1.txt ab.txt b d d/.h other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "/**/z.txt")], ".hidden a a/b a/b/c a/x a/x/y.txt a1.txt ab.txt b d d/.h other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "a/**/c")], ".hidden a a/b a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "+ a1.txt"), (false, "*")], "a1.txt"),
        (&[(false, "[]a]*")], ".hidden b b/z.txt d d/.h d/z.txt other other/src other/src/gen src src/gen star* stx z.txt é.txt"),
        (&[(false, "[a-")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "- *.txt"), (false, "!"), (false, "a")], ".hidden a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(true, "*.txt"), (false, "*")], "a1.txt ab.txt z.txt é.txt"),
        (&[(false, "d/")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt other other/src other/src/gen other/src/gen/a.rs src src/a.rs src/gen src/gen/a.rs star* stx z.txt é.txt"),
        (&[(false, "gen/a.rs")], ".hidden a a/b a/b/c a/b/c/z.txt a/b/z.txt a/x a/x/y.txt a/z.txt a1.txt ab.txt b b/z.txt d d/.h d/z.txt other other/src other/src/gen src src/a.rs src/gen star* stx z.txt é.txt"),
];

#[test]
fn every_row_keeps_what_rsync_kept() {
    for (rules, want) in ROWS {
        let f = Filter::new(rules.iter().copied());
        let kept: Vec<&str> = TREE
            .iter()
            .filter(|(p, dir)| !f.excludes(p.as_bytes(), *dir))
            .map(|(p, _)| *p)
            .collect();
        let want: Vec<&str> = want.split(' ').filter(|w| !w.is_empty()).collect();
        assert_eq!(kept, want, "{rules:?}");
    }
}

#[test]
fn filter_rules_and_files_read_as_rsync_reads_them() {
    let mut f = Filter::default();
    f.push_rule("+ a1.txt").unwrap();
    f.push_rule("exclude *.txt").unwrap();
    assert!(!f.excludes(b"a1.txt", false));
    assert!(f.excludes(b"ab.txt", false));
    f.push_rule("!").unwrap();
    assert!(!f.excludes(b"ab.txt", false));
    assert!(f.push_rule("merge x").unwrap_err().contains("tf takes"));
    assert!(f.push_rule("-").unwrap_err().contains("no pattern"));
    let mut f = Filter::default();
    f.push_file(b"# comment\n; comment\n\n+ a1.txt\n*.txt\n", false, false, "ex")
        .unwrap();
    assert!(!f.excludes(b"a1.txt", false));
    assert!(f.excludes(b"d/z.txt", false));
    let big = vec![b'x'; MAX_RULE_FILE + 1];
    assert!(f
        .push_file(&big, false, false, "big")
        .unwrap_err()
        .starts_with("big: more than"));
    let many = "x\n".repeat(MAX_RULES + 1);
    assert!(Filter::default()
        .push_file(many.as_bytes(), false, false, "many")
        .unwrap_err()
        .contains("filter rules"));
}

#[test]
fn a_list_narrows_the_rules() {
    let mut f = Filter::new([(false, "*.log")]);
    f.set_listed(Listed::parse(b"d/\n", false, "l").unwrap());
    assert!(!f.excludes(b"d", true));
    assert!(!f.excludes(b"d/a", false));
    assert!(f.excludes(b"d/a.log", false));
    assert!(f.excludes(b"e", true));
}
