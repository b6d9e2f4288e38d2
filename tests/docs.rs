//! The documentation follows the code: every config key, command-line flag and
//! protocol command is documented in the man pages (and every key in the example
//! config), and the man pages render without a single groff warning.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

const MAN_PAGES: [&str; 4] = ["man/tfd.8", "man/tfd.conf.5", "man/tf.1", "man/tfpasswd.8"];

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// roff source with the escapes that hide plain text undone: `\-` is a minus
/// sign (how options are written) and `\&` a zero-width break.
fn normalise(roff: &str) -> String {
    roff.replace("\\-", "-").replace("\\&", "")
}

/// The first word of the tag of every tagged paragraph set in bold: the line
/// after `.TP` when it is `.B word`, `.BI word ...` or `.BR word ...` (quotes
/// dropped, so `.BI "privkey {" ...` yields `privkey`).
fn bold_tags(roff: &str) -> Vec<String> {
    let lines: Vec<&str> = roff.lines().collect();
    let mut tags = Vec::new();
    for pair in lines.windows(2) {
        if pair[0].trim_end() != ".TP" {
            continue;
        }
        let Some((mac, rest)) = pair[1].split_once(' ') else {
            continue;
        };
        if !matches!(mac, ".B" | ".BI" | ".BR") {
            continue;
        }
        if let Some(word) = rest.trim_start().trim_start_matches('"').split_whitespace().next() {
            tags.push(word.trim_end_matches('"').to_string());
        }
    }
    tags
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// True if `needle` occurs in `hay` not glued to a longer word on either side.
fn has_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay.as_bytes().get(i.wrapping_sub(1)).copied();
        let after = hay.as_bytes().get(i + needle.len()).copied();
        !before.is_some_and(is_word_byte) && !after.is_some_and(is_word_byte)
    })
}

/// Every `--flag` in a text.
fn long_flags(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for (i, _) in text.match_indices("--") {
        let rest = &text[i + 2..];
        let len = rest.bytes().take_while(|&b| is_word_byte(b)).count();
        let flag = format!("--{}", &rest[..len]);
        if len > 0 && rest.as_bytes()[0].is_ascii_alphabetic() && !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    flags
}

fn help_output(bin: &str) -> String {
    let out = Command::new(bin)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    assert!(out.status.success(), "{bin} --help failed: {:?}", out.status);
    String::from_utf8(out.stdout).expect("help text is UTF-8")
}

fn check_flags_documented(bin: &str, page: &str) {
    let help = help_output(bin);
    let flags = long_flags(&help);
    assert!(flags.len() >= 3, "found too few flags in {bin} --help: {flags:?}");
    let man = normalise(&read(page));
    let missing: Vec<&String> = flags.iter().filter(|f| !has_word(&man, f)).collect();
    assert!(
        missing.is_empty(),
        "{page} does not document {missing:?} from {bin} --help"
    );
}

#[test]
fn every_config_key_in_man_page_and_example() {
    let man = read("man/tfd.conf.5");
    let tags = bold_tags(&man);
    let conf = read("conf/tfd.conf");
    let mut errors = Vec::new();
    for &(key, what) in tfd::config::KEYS {
        if !tags.iter().any(|t| t == key) {
            errors.push(format!("man/tfd.conf.5: no `.TP` + `.B {key}` entry"));
        }
        if !has_word(&conf, key) {
            errors.push(format!("conf/tfd.conf: {key} is not mentioned"));
        }
        // Keys tfd uses are shown as a (possibly commented) setting line; the
        // ignored reference keys may just be listed.
        let as_setting = conf.lines().any(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            let word = line.split(|c: char| c.is_whitespace() || c == '{').next();
            word == Some(key)
        });
        if !what.contains("ignored") && !as_setting {
            errors.push(format!("conf/tfd.conf: no `{key} ...` line (commented or not)"));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn every_tfd_flag_in_tfd_8() {
    check_flags_documented(env!("CARGO_BIN_EXE_tfd"), "man/tfd.8");
}

#[test]
fn every_tf_flag_in_tf_1() {
    check_flags_documented(env!("CARGO_BIN_EXE_tf"), "man/tf.1");
}

#[test]
fn every_tfpasswd_flag_and_command_in_tfpasswd_8() {
    check_flags_documented(env!("CARGO_BIN_EXE_tfpasswd"), "man/tfpasswd.8");
    let tags = bold_tags(&read("man/tfpasswd.8"));
    for cmd in [
        "add", "passwd", "mod", "del", "lock", "unlock", "list", "import", "check",
    ] {
        assert!(
            tags.iter().any(|t| t == cmd),
            "man/tfpasswd.8 has no `.TP` + `.B {cmd}` entry"
        );
    }
}

#[test]
fn every_command_in_tfd_8() {
    let tags = bold_tags(&read("man/tfd.8"));
    let missing: Vec<&str> = tfd::commands::TABLE
        .iter()
        .map(|spec| spec.name)
        .filter(|name| !tags.iter().any(|t| t == name))
        .collect();
    assert!(
        missing.is_empty(),
        "man/tfd.8 has no `.TP` + `.B NAME` entry for {missing:?}"
    );
}

#[test]
fn man_pages_render_without_warnings() {
    for page in MAN_PAGES {
        let out = match Command::new("groff")
            .args(["-ww", "-z", "-man"])
            .arg(path(page))
            .output()
        {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("groff is not installed: install it (e.g. `apt-get install groff`) to check the man pages")
            }
            Err(e) => panic!("cannot run groff: {e}"),
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "groff -ww -z -man {page}: {:?}\n{stderr}",
            out.status
        );
    }
}

#[test]
fn helpers() {
    assert!(has_word("a --dir b", "--dir"));
    assert!(!has_word("a --dirs b", "--dir"));
    assert!(!has_word("max_sessions_per_ip", "max_sessions"));
    assert_eq!(
        long_flags("-c, --config FILE  --check-config --"),
        ["--config", "--check-config"]
    );
    assert_eq!(normalise("\\-\\-port \\&."), "--port .");
    let tags = bold_tags(".TP\n.B proto\n.TP\n.BI \"privkey {\" \" PEM \" }\n.TP\n.I file\n.PP\n.B hash\n");
    assert_eq!(tags, ["proto", "privkey"]);
}
