//! The documentation follows the code: every config key, command-line flag and
//! protocol command is documented in the man pages (and every key in the example
//! config), and the man pages render without a single groff warning.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::Command;

/// tf's exit statuses with their texts (tf's library) make tf(1)'s EXIT
/// STATUS and are checked in `tf --help`.
use tf::exit;

/// The lines around tf(1)'s EXIT STATUS entries, which [`exit::man_text`] makes.
const EXIT_BEGIN: &str =
    ".\\\" BEGIN EXIT STATUS: generated from tf's statuses, crates/tf/src/exit.rs (doc/architecture.md)";
const EXIT_END: &str = ".\\\" END EXIT STATUS";

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

/// tfd.conf(5)'s key section and conf/tfd.conf are generated from the key
/// table (src/config/keys) and committed; this fails when either differs from
/// what the table generates. `TFD_BLESS=1 cargo test --test cli docs::` rewrites
/// them (doc/architecture.md, "The config key table").
#[test]
fn generated_config_docs_are_current() {
    let bless = std::env::var_os("TFD_BLESS").is_some();
    let man = read("man/tfd.conf.5");
    let want_man = tfd::config::docs::splice_man(&man).unwrap_or_else(|e| panic!("man/tfd.conf.5: {e}"));
    let files = [
        ("man/tfd.conf.5", man, want_man),
        (
            "conf/tfd.conf",
            read("conf/tfd.conf"),
            tfd::config::docs::example_conf(),
        ),
    ];
    let mut stale = Vec::new();
    for (rel, have, want) in files {
        if have == want {
            continue;
        }
        if bless {
            fs::write(path(rel), want).unwrap_or_else(|e| panic!("cannot write {rel}: {e}"));
        } else {
            let line = have.lines().zip(want.lines()).position(|(a, b)| a != b);
            let line = line.unwrap_or_else(|| have.lines().count().min(want.lines().count())) + 1;
            stale.push(format!("{rel} (first difference on line {line})"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} not what the key table in src/config/keys generates: edit the table, not the file, \
         then run `TFD_BLESS=1 cargo test --test cli docs::` to rewrite them",
        stale.join(" and ")
    );
}

/// tf(1)'s OPTIONS entries and config-file keys are generated from tf's option
/// table (crates/tf/src/options), its COMMAND OPTIONS list from the command option
/// table (commands.rs), and committed, as is tfd.conf(5)'s key section;
/// this fails when they differ from what the table generates (and when
/// `tf --help` does not show the tables' options). `TFD_BLESS=1 cargo test
/// --test docs` rewrites them.
#[test]
fn generated_tf_docs_are_current() {
    let have = read("man/tf.1");
    let want = tf::options::docs::splice_man(&have)
        .and_then(|page| tf::options::docs::splice(&page, EXIT_BEGIN, EXIT_END, &exit::man_text()))
        .unwrap_or_else(|e| panic!("man/tf.1: {e}"));
    if have != want {
        if std::env::var_os("TFD_BLESS").is_some() {
            fs::write(path("man/tf.1"), want).unwrap_or_else(|e| panic!("cannot write man/tf.1: {e}"));
        } else {
            let line = have.lines().zip(want.lines()).position(|(a, b)| a != b);
            let line = line.unwrap_or_else(|| have.lines().count().min(want.lines().count())) + 1;
            panic!(
                "man/tf.1 (first difference on line {line}) is not what tf's option tables in \
                 crates/tf/src/options (table.rs, commands.rs) and its statuses \
                 (crates/tf/src/exit.rs) generate: edit those, not the page, then run `TFD_BLESS=1 cargo test --test cli docs::` to rewrite it"
            );
        }
    }
    let help = help_output(tfd_testkit::tf_bin());
    assert!(
        help.contains(&tf::options::docs::help_text()),
        "tf --help does not show the option table's entries:\n{help}"
    );
    assert!(
        help.contains(&tf::options::docs::command_help_text()),
        "tf --help does not show the command option table's entries:\n{help}"
    );
    assert!(
        help.contains(&exit::help_text()),
        "tf --help does not show the exit statuses of crates/tf/src/exit.rs:\n{help}"
    );
    // ENVIRONMENT is written by hand (TF_PASSWORD and the XDG variables have no
    // option): each option's variable must have its entry there
    let env = bold_tags(&section("man/tf.1", "ENVIRONMENT"));
    for opt in tf::options::OPTIONS {
        if let Some(var) = opt.env {
            assert!(
                env.iter().any(|t| t == var),
                "tf(1) ENVIRONMENT has no `.TP` + `.B {var}` entry"
            );
        }
    }
}

#[test]
fn every_config_key_in_man_page_and_example() {
    let tags = bold_tags(&read("man/tfd.conf.5"));
    let conf = read("conf/tfd.conf");
    let mut errors = Vec::new();
    for key in tfd::config::keys() {
        if !tags.iter().any(|t| t == key.name) {
            errors.push(format!("man/tfd.conf.5: no `.TP` + `.B {}` entry", key.name));
        }
        let as_setting = conf.lines().any(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            line.split(|c: char| c.is_whitespace() || c == '{').next() == Some(key.name)
        });
        if !as_setting {
            errors.push(format!("conf/tfd.conf: no `{} ...` line (commented or not)", key.name));
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
    check_flags_documented(tfd_testkit::tf_bin(), "man/tf.1");
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
    let missing: Vec<&str> = tfd::commands::table::TABLE
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

/// A macro argument ending in `""` renders a stray quote (`copy src dst"`,
/// issue 65): groff takes the doubled quote inside a quoted argument as a
/// literal one and warns of nothing.
#[test]
fn no_macro_argument_ends_in_a_stray_quote() {
    for page in MAN_PAGES {
        for (n, line) in read(page).lines().enumerate() {
            assert!(
                !(line.starts_with('.') && line.ends_with("\"\"")),
                "{page}:{}: {line}",
                n + 1
            );
        }
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

/// Every `-x` short flag in a text (a lone dash, one letter, then a non-word).
fn short_flags(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut flags = Vec::new();
    for (i, _) in text.match_indices('-') {
        let before = i.checked_sub(1).map(|j| b[j]);
        let letter = b.get(i + 1).copied();
        let after = b.get(i + 2).copied();
        if !before.is_some_and(|c| is_word_byte(c) || c == b'-')
            && letter.is_some_and(|c| c.is_ascii_alphabetic())
            && !after.is_some_and(is_word_byte)
        {
            let f = text[i..i + 2].to_string();
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
    }
    flags
}

fn all_flags(text: &str) -> std::collections::BTreeSet<String> {
    long_flags(text).into_iter().chain(short_flags(text)).collect()
}

/// A man page's section from `.SH NAME` to the next `.SH`, roff escapes undone.
fn section(page: &str, name: &str) -> String {
    let text = normalise(&read(page));
    let start = text
        .find(&format!(".SH {name}\n"))
        .unwrap_or_else(|| panic!("{page} has no {name} section"));
    let rest = &text[start + 4 + name.len()..];
    rest[..rest.find("\n.SH ").unwrap_or(rest.len())].to_string()
}

/// The tags of the `.TP` paragraphs of a section (every word of the tag line).
fn option_tags(sec: &str) -> String {
    let lines: Vec<&str> = sec.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim_end() == ".TP")
        .map(|w| w[1])
        .collect::<Vec<_>>()
        .join("\n")
}

fn diff(a: &std::collections::BTreeSet<String>, b: &std::collections::BTreeSet<String>) -> Vec<String> {
    a.difference(b).cloned().collect()
}

#[test]
fn tfd_help_and_tfd_8_agree() {
    let help = help_output(env!("CARGO_BIN_EXE_tfd"));
    let help_flags = all_flags(&help);
    let synopsis = section("man/tfd.8", "SYNOPSIS");
    let options = option_tags(&section("man/tfd.8", "OPTIONS"));
    let syn_flags = all_flags(&synopsis);
    let opt_flags = all_flags(&options);
    let mut errors = Vec::new();
    for (what, missing) in [
        ("in --help but not in tfd(8) SYNOPSIS", diff(&help_flags, &syn_flags)),
        ("in tfd(8) SYNOPSIS but not in --help", diff(&syn_flags, &help_flags)),
        ("in --help but not in tfd(8) OPTIONS", diff(&help_flags, &opt_flags)),
        ("in tfd(8) OPTIONS but not in --help", diff(&opt_flags, &help_flags)),
    ] {
        if !missing.is_empty() {
            errors.push(format!("{what}: {missing:?}"));
        }
    }
    // the subcommands, and each one's own flags on its usage line
    for sub in ["demo", "ctl"] {
        let usage = help
            .lines()
            .find(|l| l.contains(&format!("tfd {sub} ")))
            .unwrap_or_else(|| panic!("--help has no `tfd {sub}` usage line"));
        let man_form = synopsis
            .split(".SY tfd")
            .find(|form| form.trim_start().starts_with(&format!(".B {sub}")))
            .unwrap_or_else(|| panic!("tfd(8) SYNOPSIS has no `tfd {sub}` form"));
        let (u, m) = (all_flags(usage), all_flags(man_form));
        if u != m {
            errors.push(format!("tfd {sub}: --help has {u:?}, tfd(8) SYNOPSIS {m:?}"));
        }
        if !option_tags(&section("man/tfd.8", "OPTIONS")).contains(sub) {
            errors.push(format!("tfd(8) OPTIONS has no entry for {sub}"));
        }
    }
    // tfd.conf(5) names tfd's flags too: each must exist
    let conf_flags = all_flags(&normalise(&read("man/tfd.conf.5")));
    let unknown: Vec<String> = conf_flags
        .iter()
        .filter(|f| f.starts_with("--") && !help_flags.contains(*f))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        errors.push(format!("tfd.conf(5) names flags tfd does not have: {unknown:?}"));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn tf_help_and_tf_1_agree() {
    let help = help_output(tfd_testkit::tf_bin());
    // EXAMPLES also show other programs' flags (tfd demo --dir)
    let full = normalise(&read("man/tf.1"));
    let man = full[..full.find("\n.SH EXAMPLES").unwrap_or(full.len())].to_string();
    let (help_flags, man_flags) = (all_flags(&help), all_flags(&man));
    let mut errors = Vec::new();
    let only_man = diff(&man_flags, &help_flags);
    if !only_man.is_empty() {
        errors.push(format!("in tf(1) but not in tf --help: {only_man:?}"));
    }
    let only_help = diff(&help_flags, &man_flags);
    if !only_help.is_empty() {
        errors.push(format!("in tf --help but not in tf(1): {only_help:?}"));
    }
    // the connection options: the help's first usage line, the SYNOPSIS and OPTIONS
    let usage_line = all_flags(help.lines().next().unwrap_or_default());
    let connection: std::collections::BTreeSet<String> =
        help.split("Commands").next().map(all_flags).unwrap_or_default();
    let synopsis = all_flags(&section("man/tf.1", "SYNOPSIS"));
    let options = all_flags(&option_tags(&section("man/tf.1", "OPTIONS")));
    for (what, a, b) in [
        ("tf --help's options vs tf(1) SYNOPSIS", &connection, &synopsis),
        ("tf --help's options vs tf(1) OPTIONS", &connection, &options),
    ] {
        if a != b {
            errors.push(format!("{what}: {a:?} vs {b:?}"));
        }
    }
    for f in &usage_line {
        if !synopsis.contains(f) {
            errors.push(format!("{f} is on tf --help's usage line but not in tf(1) SYNOPSIS"));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn flag_extraction() {
    let f = all_flags("usage: tfd [-c FILE] [--check-config] a-b --x -V|--version -1");
    assert_eq!(
        f.into_iter().collect::<Vec<_>>(),
        ["--check-config", "--version", "--x", "-V", "-c"]
    );
}

/// The two tests above compare whole pages, so one doc string changed on one
/// side only must make them fail: here the committed text of one entry of each
/// table is changed (as editing the table alone would make it differ) and the
/// same generators must no longer reproduce the page.
#[test]
fn a_changed_doc_string_makes_a_generated_page_stale() {
    type Generate = fn(&str) -> Result<String, String>;
    let cases: [(&str, &str, Generate); 3] = [
        (
            "man/tfd.conf.5",
            "above the sessions, 0 to 19; 0 turns it off.",
            tfd::config::docs::splice_man,
        ),
        ("man/tf.1", "Any other value is a usage error.", |page| {
            tf::options::docs::splice_man(page).map_err(|e| e.to_string())
        }),
        ("conf/tfd.conf", "", |_| Ok(tfd::config::docs::example_conf())),
    ];
    for (rel, doc, generate) in cases {
        let page = read(rel);
        assert!(
            generate(&page).as_deref() == Ok(page.as_str()),
            "{rel} is stale already"
        );
        let changed = if doc.is_empty() {
            // conf/tfd.conf is all generated: change its first summary line
            let line = page
                .lines()
                .find(|l| l.starts_with("# ") && l.len() > 20)
                .expect("a summary line");
            page.replacen(line, &format!("{line} (changed)"), 1)
        } else {
            assert!(
                page.contains(doc),
                "{rel} no longer says {doc:?}: pick another doc string"
            );
            page.replacen(doc, &format!("{doc} (changed)"), 1)
        };
        assert!(changed != page, "{rel}: the doc string was not changed");
        assert!(
            generate(&changed).as_deref() != Ok(changed.as_str()),
            "{rel}: a changed doc string went unseen"
        );
    }
}

/// README says what `scripts/test` installs: every package `scripts/deps`
/// may install (its `need+=(...)` lines) is named in README's prerequisites
/// (issue 44: haproxy, glusterfs, openssh-server, zsh and fish came unsaid).
#[test]
fn readme_names_every_package_scripts_deps_installs() {
    let deps = read("scripts/deps");
    let readme = read("README.md");
    let prereq = readme
        .split("\n## Prerequisites\n")
        .nth(1)
        .and_then(|r| r.split("\n## ").next())
        .expect("README has a Prerequisites section");
    let mut packages = Vec::new();
    for line in deps.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("need+=(") {
            rest = &rest[i + "need+=(".len()..];
            let end = rest.find(')').expect("need+=( closes");
            packages.extend(rest[..end].split_whitespace().map(str::to_string));
            rest = &rest[end..];
        }
    }
    assert!(packages.len() >= 20, "scripts/deps names only {packages:?}");
    let unsaid: Vec<&String> = packages.iter().filter(|p| !has_word(prereq, p)).collect();
    assert!(
        unsaid.is_empty(),
        "README's prerequisites do not name what scripts/deps installs: {unsaid:?}"
    );
}

/// Every option of tf's tables, the global ones and each command's, is in
/// tf(1) and offered by the bash completion where it is typed: a global one
/// after `tf`, a command's after its command (issue 68: an option nobody can
/// find or complete is an option nobody uses).
#[test]
fn every_tf_option_is_in_tf_1_and_offered_by_the_completion() {
    let page = normalise(&read("man/tf.1"));
    let tf = tfd_testkit::tf_bin();
    let o = Command::new(tf).args(["completion", "bash"]).output().unwrap();
    assert!(o.status.success(), "tf completion bash: {o:?}");
    let dir = tfd_testkit::tempdir("docs-completion");
    let script = dir.join("tf.bash");
    fs::write(&script, &o.stdout).unwrap();
    // one bash asks every question: the words, then what a Tab offers
    let mut asks: Vec<(String, Vec<String>)> = Vec::new();
    // an option tf refuses with its reason (--password) is neither
    for opt in tf::options::OPTIONS
        .iter()
        .filter(|o| !matches!(o.store, tf::options::Store::Refuse(_)))
    {
        for name in opt.names.iter().filter(|n| n.starts_with("--")) {
            asks.push((name.to_string(), vec!["tf".into(), name.to_string()]));
        }
    }
    for o in tf::options::commands::all() {
        for name in std::iter::once(o.name).chain(tf::options::commands::long_name(o)) {
            for cmd in o.commands {
                asks.push((name.to_string(), vec!["tf".into(), cmd.to_string(), name.to_string()]));
            }
        }
    }
    let mut line = format!("source {}\n", script.display());
    for (_, words) in &asks {
        line.push_str(&format!(
            "COMP_WORDS=({}); COMP_CWORD={}; COMPREPLY=(); _tf; printf '%s\\n' \"${{COMPREPLY[*]}}\"\n",
            words.join(" "),
            words.len() - 1
        ));
    }
    let o = Command::new("bash")
        .args(["-c", &line])
        .output()
        .expect("bash is needed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let answers = String::from_utf8_lossy(&o.stdout);
    let answers: Vec<&str> = answers.lines().collect();
    assert_eq!(answers.len(), asks.len(), "one answer a question");
    let mut missing = Vec::new();
    for ((name, words), answer) in asks.iter().zip(&answers) {
        if !has_word(&page, name) {
            missing.push(format!("{name}: not in tf(1)"));
        }
        if !answer.split_whitespace().any(|w| w == name) {
            missing.push(format!("{name}: `{}<Tab>` offers {answer:?}", words.join(" ")));
        }
    }
    assert!(asks.len() > 60, "too few options found: {}", asks.len());
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
