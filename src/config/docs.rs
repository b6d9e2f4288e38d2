//! tfd.conf(5)'s key section and conf/tfd.conf, generated from the key table
//! so that neither can drift from what the parser accepts. Both are committed;
//! tests/cli/docs.rs fails when they differ from what this generates, and
//! `TFD_BLESS=1 cargo test --test cli docs::` rewrites them.
use super::keys::{keys, Key, Section};
use super::Kind;

/// The line before tfd.conf(5)'s generated key section.
pub(crate) const MAN_BEGIN: &str =
    ".\\\" BEGIN KEYS: generated from the key table, src/config/keys (doc/architecture.md)";
/// The line after it.
pub(crate) const MAN_END: &str = ".\\\" END KEYS";

/// The `.TP` tag of a key's entry.
fn tag(key: &Key) -> String {
    match key.kind {
        Kind::Pem { .. } => format!(".BI \"{} {{\" \" {} \" }}", key.name, key.arg),
        _ if key.arg.is_empty() => format!(".B {}", key.name),
        _ => format!(".BI {} \" {}\"", key.name, key.arg),
    }
}

/// The default as tfd.conf(5) says it (roff), if it says one.
fn default_roff(key: &Key) -> Option<String> {
    let text = key.shown.or(key.default)?;
    let sep = if text.starts_with('\n') { "" } else { " " };
    // a closing macro line takes the full stop as its next (roman) argument
    let last = text.lines().last().unwrap_or_default();
    let stop = if last.starts_with('.') && !last.ends_with(')') {
        " ."
    } else {
        "."
    };
    Some(format!("Default:{sep}{text}{stop}\n"))
}

/// The key section of tfd.conf(5): one `.SS` per section, one `.TP` per key.
pub(crate) fn man_keys() -> String {
    let mut out = String::new();
    let mut section = None;
    for key in keys() {
        if section != Some(key.section) {
            section = Some(key.section);
            out.push_str(&format!(".SS {}\n{}", key.section.title(), key.section.intro()));
        }
        out.push_str(".TP\n");
        out.push_str(&tag(key));
        out.push('\n');
        out.push_str(key.doc);
        out.extend(default_roff(key));
    }
    out
}

/// `page` with the text between [`MAN_BEGIN`] and [`MAN_END`] replaced by
/// [`man_keys`]; an error when the markers are missing.
pub fn splice_man(page: &str) -> Result<String, String> {
    let begin = page
        .find(&format!("{MAN_BEGIN}\n"))
        .ok_or_else(|| format!("no line {MAN_BEGIN:?}"))?;
    let body = begin + MAN_BEGIN.len() + 1;
    let end = page
        .get(body..)
        .and_then(|rest| {
            rest.find(&format!("\n{MAN_END}\n"))
                .or_else(|| rest.starts_with(&format!("{MAN_END}\n")).then_some(0))
        })
        .ok_or_else(|| format!("no line {MAN_END:?} after the first marker"))?;
    let end = if end == 0 { body } else { body + end + 1 };
    Ok(format!("{}{}{}", &page[..body], man_keys(), &page[end..]))
}

/// Roff reduced to plain words: macro lines lose their macro and quotes (the
/// alternating-font ones their blanks), escapes their backslashes.
fn plain(roff: &str) -> String {
    let mut words = Vec::new();
    for line in roff.lines() {
        let Some(request) = line.strip_prefix('.') else {
            words.push(line.to_string());
            continue;
        };
        let (mac, args) = request.split_once(' ').unwrap_or((request, ""));
        let args = roff_args(args);
        match mac {
            "B" | "I" => words.push(args.join(" ")),
            "BR" | "RB" | "BI" | "IB" | "IR" | "RI" => words.push(args.concat()),
            _ => {}
        }
    }
    words
        .join(" ")
        .replace("\\-", "-")
        .replace("\\(lq", "\"")
        .replace("\\(rq", "\"")
        .replace("\\&", "")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
        .trim()
        .to_string()
}

/// A macro line's arguments: blank-separated, `"..."` keeping blanks.
fn roff_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let (arg, after) = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        args.push(arg.to_string());
        rest = after.trim_start();
    }
    args
}

/// `text` as `# ` comment lines of at most 78 columns.
fn comment(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > 78 && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

const CONF_HEADER: &str = "\
# tfd example configuration (generated from tfd's key table, as the key
# section of tfd.conf(5) is; every key is described there in full)
#
# Format: one \"key value\" per line. The key is the first word; the value is the
# rest of the line with surrounding blanks removed. Lines whose first non-blank
# character is \"#\" are comments (a \"#\" later in a line is part of the value).
# Unknown keys and keys given twice are errors, reported as file:line.
# The reference server's config files are accepted.
";

/// A key's setting lines: given as they stand for the required keys,
/// commented out (with the default, or an example) for the others.
fn setting(key: &Key) -> String {
    let mark = if key.section == Section::Required { "" } else { "#" };
    match key.kind {
        Kind::Pem { private } => {
            let what = if private { "PRIVATE" } else { "PUBLIC" };
            format!(
                "#{} {{\n#-----BEGIN {what} KEY-----\n#...\n#-----END {what} KEY-----\n#}}\n",
                key.name
            )
        }
        Kind::Flag | Kind::Ignored => format!("#{}\n", key.name),
        _ => {
            let value = if key.example.is_empty() {
                key.default.unwrap_or_default()
            } else {
                key.example
            };
            value.lines().map(|v| format!("{mark}{} {v}\n", key.name)).collect()
        }
    }
}

/// conf/tfd.conf: a header, then each key's summary, values and default,
/// and its setting.
pub fn example_conf() -> String {
    let mut out = String::from(CONF_HEADER);
    let mut section = None;
    for key in keys() {
        if section != Some(key.section) {
            section = Some(key.section);
            let title = format!("# --- {} ", key.section.title());
            out.push_str(&format!("\n{title:-<78}\n"));
            let intro = plain(key.section.intro());
            if !intro.is_empty() {
                out.push_str(&comment(&intro));
            }
        }
        let mut text = key.summary.to_string();
        let range = key.kind.doc_range();
        if !range.is_empty() {
            text.push_str(&format!(" Values: {range}."));
        }
        if let Some(default) = key.shown.map(plain).or(key.default.map(str::to_string)) {
            text.push_str(&format!(" Default: {default}."));
        }
        out.push('\n');
        out.push_str(&comment(&text));
        out.push_str(&setting(key));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_of_roff() {
        assert_eq!(plain("none (level\n.BR info )"), "none (level info)");
        assert_eq!(
            plain("\n.I /run/tfd/ctl.sock\nwhen\n.B tfd\nstarts"),
            "/run/tfd/ctl.sock when tfd starts"
        );
        assert_eq!(plain(".RB ( \"FAI issuer ready\" )"), "(FAI issuer ready)");
        assert_eq!(plain("SHA\\-256"), "SHA-256");
    }

    #[test]
    fn comments_wrap() {
        let text = "word ".repeat(40);
        let c = comment(&text);
        assert!(c.lines().all(|l| l.len() <= 78 && l.starts_with("# ")), "{c}");
        assert_eq!(c.split_whitespace().filter(|w| *w == "word").count(), 40);
    }

    #[test]
    fn splice_keeps_the_rest() {
        let page = format!("head\n{MAN_BEGIN}\nold\n{MAN_END}\ntail\n");
        let new = splice_man(&page).unwrap();
        assert!(new.starts_with(&format!("head\n{MAN_BEGIN}\n.SS Required\n")), "{new}");
        assert!(new.ends_with(&format!("{MAN_END}\ntail\n")), "{new}");
        assert_eq!(splice_man(&new).unwrap(), new);
        assert!(splice_man("no markers").is_err());
    }
}
