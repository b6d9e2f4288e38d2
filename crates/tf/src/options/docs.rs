//! The options part of `tf --help`, and tf(1)'s OPTIONS entries and
//! config-file key list, generated from the option table so that none can
//! drift from what tf parses. tf(1) is committed; tests/docs.rs fails when its
//! generated parts differ from what this makes, and
//! `TFD_BLESS=1 cargo test --test docs` rewrites them.
use super::commands::{self, CmdOpt, Family};
use super::{Opt, OPTIONS};

/// The line before tf(1)'s generated OPTIONS entries.
pub const OPTIONS_BEGIN: &str =
    ".\\\" BEGIN OPTIONS: generated from tf's option table, crates/tf/src/options (doc/architecture.md)";
/// The line after them.
pub const OPTIONS_END: &str = ".\\\" END OPTIONS";
/// The line before tf(1)'s generated config-file keys.
pub const KEYS_BEGIN: &str =
    ".\\\" BEGIN KEYS: generated from tf's option table, crates/tf/src/options (doc/architecture.md)";
/// The line after them.
pub const KEYS_END: &str = ".\\\" END KEYS";

/// The line before tf(1)'s generated command options.
pub const COMMAND_OPTIONS_BEGIN: &str =
    ".\\\" BEGIN COMMAND OPTIONS: generated from tf's command option table, crates/tf/src/options/commands.rs";
/// The line after them.
pub const COMMAND_OPTIONS_END: &str = ".\\\" END COMMAND OPTIONS";

/// Where `tf --help` starts an option's text.
const HELP_COLUMN: usize = 23;

fn documented() -> impl Iterator<Item = &'static Opt> {
    OPTIONS.iter().filter(|o| o.documented())
}

/// `words` filled into lines of at most `width` columns.
fn wrap(words: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in words.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + w.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    out.push_str(&line);
    out
}

/// The options part of `tf --help`: a heading naming the environment
/// variables, then one entry per option, its text from column 23.
pub fn help_text() -> String {
    let vars: Vec<&str> = documented().filter_map(|o| o.env).collect();
    let mut out = wrap(
        &format!(
            "Connection (or the environment variables {}); one session serves the whole invocation:",
            vars.join(", ")
        ),
        79,
    );
    out.push('\n');
    for o in documented() {
        let mut tag = o.names.join(", ");
        if !o.value.is_empty() {
            tag = format!("{tag} {}", o.value);
        }
        help_entry(&mut out, &tag, o.help);
    }
    out.pop();
    out
}

/// One `tf --help` entry: `tag`, then `help` from column 23 (under the tag
/// when it is too long).
fn help_entry(out: &mut String, tag: &str, help: &str) {
    let mut lines = help.lines();
    let first = lines.next().unwrap_or_default();
    if tag.len() + 3 > HELP_COLUMN {
        out.push_str(&format!("  {tag}\n{:HELP_COLUMN$}{first}\n", ""));
    } else {
        out.push_str(&format!("  {tag:<w$}{first}\n", w = HELP_COLUMN - 2));
    }
    for l in lines {
        out.push_str(&format!("{:HELP_COLUMN$}{l}\n", ""));
    }
}

const FAMILIES: [Family; 8] = [
    Family::Transfer,
    Family::Tree,
    Family::Mirror,
    Family::List,
    Family::Rmdir,
    Family::Watch,
    Family::Stages,
    Family::Backup,
];

/// `o`'s tag as `tf --help` writes it.
fn cmd_help_tag(o: &CmdOpt) -> String {
    match o.value {
        "" => commands::long_name(o).map_or(o.name.to_string(), |l| format!("{}, {l}", o.name)),
        v if v.starts_with('[') => format!("{}{v}", o.name),
        v => format!("{} {v}", o.name),
    }
}

/// The command options part of `tf --help`: per family, one entry per
/// option, its commands in parentheses.
pub fn command_help_text() -> String {
    let mut out = String::from("Command options (after the command's name, among its arguments):\n");
    for f in FAMILIES {
        out.push_str(&format!(" {}:\n", f.title()));
        for o in commands::of(f) {
            let text = format!("{} ({})", o.help, o.commands.join(", "));
            help_entry(&mut out, &cmd_help_tag(o), &wrap(&text, 79 - HELP_COLUMN));
        }
    }
    out.pop();
    out
}

/// The options `cmd` takes after its name, as `tf help CMD` lists them:
/// per family that has some, its title, then one entry per option.
pub fn command_options_of(cmd: &str) -> String {
    let mut out = String::new();
    for f in FAMILIES {
        let mut rows = commands::of(f).filter(|o| o.commands.contains(&cmd)).peekable();
        if rows.peek().is_none() {
            continue;
        }
        out.push_str(&format!(" {}:\n", f.title()));
        for o in rows {
            help_entry(&mut out, &cmd_help_tag(o), &wrap(o.help, 79 - HELP_COLUMN));
        }
    }
    out.pop();
    out
}

/// tf(1)'s command options: per family a paragraph, then one `.TP` per
/// option ending with the commands that take it.
pub fn man_command_options() -> String {
    let mut out = String::new();
    for f in FAMILIES {
        out.push_str(&format!(".PP\n{}:\n", f.title()));
        for o in commands::of(f) {
            let tag = match o.value {
                "" => match commands::long_name(o) {
                    Some(l) => format!(".B \"{}, {}\"", roff(o.name), roff(l)),
                    None => format!(".B {}", roff(o.name)),
                },
                v if v.starts_with('[') => format!(".BI {} {}", roff(o.name), v.to_lowercase()),
                v => format!(".BI {} \" {}\"", roff(o.name), v.to_lowercase()),
            };
            let last = o.commands.len().saturating_sub(1);
            let cmds: Vec<String> = (o.commands.iter().enumerate())
                .map(|(i, c)| format!(".BR {c} {}", if i == last { "." } else { "," }))
                .collect();
            out.push_str(&format!(".TP\n{tag}\n{}Taken by\n{}\n", o.doc, cmds.join("\n")));
        }
    }
    out
}

/// An option's name as roff writes it.
fn roff(name: &str) -> String {
    name.replace('-', "\\-")
}

/// The `.TP` tag of an option's entry: its names in bold, its value in
/// italics (a `:` inside it roman).
fn tag(o: &Opt) -> String {
    let names: Vec<String> = o.names.iter().map(|n| roff(n)).collect();
    let value = o.value.to_lowercase();
    match (names.as_slice(), value.split_once(':')) {
        ([one], _) if value.is_empty() => format!(".B {one}"),
        (many, _) if value.is_empty() => format!(".BR {}", many.join(" \", \" ")),
        ([one], Some((a, b))) => format!(".BI {one} \" {a}\" : {b}"),
        ([one], None) => format!(".BI {one} \" {value}\""),
        (many, _) => format!(".BR {} \" \\fI{value}\\fP\"", many.join(" \", \" ")),
    }
}

/// tf(1)'s OPTIONS entries: one `.TP` per option.
pub fn man_options() -> String {
    documented().map(|o| format!(".TP\n{}\n{}", tag(o), o.doc)).collect()
}

/// tf(1)'s config-file keys: one `.TP` per option with a key, then
/// `options` with the options it may hold.
pub fn man_keys() -> String {
    let mut out: String = documented()
        .filter_map(|o| o.file)
        .map(|f| format!(".TP\n.B {}\n{}", f.name, f.doc))
        .collect();
    out.push_str(".TP\n.B options\nOther connection options, as on the command line, separated by blanks:\n");
    let allowed: Vec<&Opt> = documented().filter(|o| o.in_options_line()).collect();
    for (i, o) in allowed.iter().enumerate() {
        let stop = if i + 1 == allowed.len() { "." } else { "," };
        out.push_str(&format!(".BR {} {stop}\n", roff(o.names[0])));
    }
    out
}

/// `page` with the lines between `begin` and `end` replaced by `body`; an
/// error when the markers are missing (tests/cli/docs.rs splices tf's exit
/// statuses with it too).
pub fn splice(page: &str, begin: &str, end: &str, body: &str) -> Result<String, MissingMarkers> {
    let at = page
        .find(&format!("{begin}\n"))
        .ok_or_else(|| MissingMarkers(format!("no line {begin:?}")))?;
    let from = at + begin.len() + 1;
    let rest = &page[from..];
    let line = format!("{end}\n");
    let to = if rest.starts_with(&line) {
        Some(0)
    } else {
        rest.find(&format!("\n{line}")).map(|i| i + 1)
    }
    .ok_or_else(|| MissingMarkers(format!("no line {end:?} after {begin:?}")))?;
    Ok(format!("{}{body}{}", &page[..from], &page[from + to..]))
}

/// tf(1) with its OPTIONS entries and config-file keys as the table makes them.
pub fn splice_man(page: &str) -> Result<String, MissingMarkers> {
    let page = splice(page, OPTIONS_BEGIN, OPTIONS_END, &man_options())?;
    let page = splice(&page, KEYS_BEGIN, KEYS_END, &man_keys())?;
    splice(
        &page,
        COMMAND_OPTIONS_BEGIN,
        COMMAND_OPTIONS_END,
        &man_command_options(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        let find = |n| super::super::find(n).unwrap();
        assert_eq!(tag(find("--server")), ".BI \\-\\-server \" host\" : port");
        assert_eq!(tag(find("--key")), ".BI \\-\\-key \" file\"");
        assert_eq!(tag(find("--aes")), ".B \\-\\-aes");
        assert_eq!(tag(find("-v")), ".BR \\-v \", \" \\-\\-verbose");
        assert_eq!(tag(find("-s")), ".BR \\-s \", \" \\-\\-named \" \\fIname\\fP\"");
    }

    #[test]
    fn splice_keeps_the_rest() {
        let page = format!(
            "a\n{OPTIONS_BEGIN}\nold\n{OPTIONS_END}\nb\n{KEYS_BEGIN}\n{KEYS_END}\nc\n{COMMAND_OPTIONS_BEGIN}\n{COMMAND_OPTIONS_END}\n"
        );
        let new = splice_man(&page).unwrap();
        assert!(
            new.starts_with(&format!("a\n{OPTIONS_BEGIN}\n.TP\n.BI \\-\\-server")),
            "{new}"
        );
        assert!(
            new.contains(&format!("{OPTIONS_END}\nb\n{KEYS_BEGIN}\n.TP\n.B server\n")),
            "{new}"
        );
        assert!(new.contains(&format!(".BR \\-6 .\n{KEYS_END}\nc\n")), "{new}");
        assert!(
            new.contains(&format!("{COMMAND_OPTIONS_BEGIN}\n.PP\nTransfers")),
            "{new}"
        );
        assert_eq!(splice_man(&new).unwrap(), new);
        assert!(splice_man("no markers").is_err());
    }

    #[test]
    fn help_entries() {
        let help = help_text();
        assert!(help.contains("\n  --server HOST:PORT   the tfd server\n"), "{help}");
        assert!(!help.contains("--password "), "{help}");
    }
}

/// A page without the markers a generated part goes between: which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingMarkers(pub String);

impl std::fmt::Display for MissingMarkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
