//! How tf shows what a run changes (the library's items,
//! [`tfp_client::engine::item::Item`]): rsync's `-i` lines, or `--json`'s
//! objects (one a line, the schema in doc/json-output.md), on stdout.

use tf::options::commands::Given;
use tfp_client::engine::item::Item;

/// What a run prints of its items.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Show {
    /// Nothing: the summary line alone.
    #[default]
    Quiet,
    /// rsync's `-i` lines.
    Itemize,
    /// JSON objects.
    Json,
}

impl Show {
    /// What the words `g` ask: `--json` over `-i`; a dry run of put or
    /// get (`dry_items`) says what would move as `-i` does.
    pub fn of(g: &Given, dry_items: bool) -> Show {
        if g.flag("--json") {
            Show::Json
        } else if g.flag("-i") || (dry_items && g.flag("-n")) {
            Show::Itemize
        } else {
            Show::Quiet
        }
    }

    /// Prints `i` as asked.
    pub fn item(self, i: &Item) {
        match self {
            Show::Quiet => {}
            Show::Itemize => println!("{}", i.line()),
            Show::Json => println!("{}", json_item(i)),
        }
    }

    /// A failure, as an object of its own with `--json` (its text is on
    /// stderr whatever is shown).
    pub fn failed(self, text: &str) {
        if self == Show::Json {
            println!("{{\"type\":\"error\",\"error\":{}}}", string(text));
        }
    }
}

/// `i` as `--json` prints it.
pub fn json_item(i: &Item) -> String {
    let path = tfp_client::escape::shown(&i.path);
    let changes: Vec<String> = i.changes.names().iter().map(|n| string(n)).collect();
    let target = match &i.target {
        Some(t) => format!(",\"target\":{}", string(&tfp_client::escape::shown(t))),
        None => String::new(),
    };
    format!(
        "{{\"type\":\"item\",\"action\":{},\"path\":{},\"kind\":{},\"size\":{},\"changes\":[{}],\"itemized\":{}{target}}}",
        string(i.action.name()),
        string(if path.is_empty() { "." } else { &path }),
        string(i.kind.name()),
        i.size,
        changes.join(","),
        string(&i.code()),
    )
}

/// The summary object: the command, whether it was a dry run, and the
/// counts (name, number) in order.
pub fn json_summary(cmd: &str, dry_run: bool, counts: &[(&str, u64)], seconds: f64) -> String {
    let mut s = format!(
        "{{\"type\":\"summary\",\"command\":{},\"dry_run\":{dry_run}",
        string(cmd)
    );
    for (name, n) in counts {
        s.push_str(&format!(",{}:{n}", string(name)));
    }
    s.push_str(&format!(",\"seconds\":{seconds:.3}}}"));
    s
}

/// `s` as a JSON string.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_client::engine::item::{Action, Changes, ItemKind};

    #[test]
    fn objects_are_json() {
        assert_eq!(string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        let i = Item {
            action: Action::Receive,
            kind: ItemKind::File,
            path: b"d/a".to_vec(),
            size: 3,
            changes: Changes {
                size: true,
                ..Changes::default()
            },
            target: None,
        };
        assert_eq!(
            json_item(&i),
            "{\"type\":\"item\",\"action\":\"receive\",\"path\":\"d/a\",\"kind\":\"file\",\"size\":3,\"changes\":[\"size\"],\"itemized\":\">f.s.......\"}"
        );
        assert_eq!(
            json_summary("get", true, &[("transferred", 1)], 0.5),
            "{\"type\":\"summary\",\"command\":\"get\",\"dry_run\":true,\"transferred\":1,\"seconds\":0.500}"
        );
    }
}
