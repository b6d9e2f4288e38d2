//! Completion from tf's own tables: `tf completion bash|zsh|fish` prints a
//! script for that shell (the global options from the option table, each
//! command's options from the command option table, the 2.5.1 commands from
//! v251.rs's table, the 2.4.1 ones from [`BASE`]), and `tf shell`'s Tab
//! completes command names and remote names ([`words`], [`remote`]).

use super::v251::{self, Paths};
use tfp_client::options::{commands::COMMAND_OPTIONS, OPTIONS};
use tfp_client::tree::listing;
use tfp_client::Client;

/// The commands outside v251.rs's table, with a few words each (fish and zsh
/// show them beside the name).
pub const BASE: &[(&str, &str)] = &[
    ("ls", "list remote directories"),
    ("lsr", "list remote directories recursively"),
    ("put", "upload files or trees"),
    ("get", "download files or trees"),
    ("mirror", "make a directory a copy of another"),
    ("mkdir", "make a remote directory"),
    ("rmdir", "remove a remote directory"),
    ("del", "delete remote files"),
    ("rm", "delete remote files"),
    ("mv", "rename a remote file or directory"),
    ("renam", "rename a remote file or directory"),
    ("copy", "copy a remote file"),
    ("cpdir", "copy a remote directory"),
    ("touch", "create an empty remote file"),
    ("fstat", "type, size and times of a remote path"),
    ("fupd", "when a remote file last changed"),
    ("sha256", "SHA-256 of remote files, as sha256sum"),
    ("freesp", "free space on the server"),
    ("df", "space left to use: free disk space, quota used and limit"),
    ("fsize", "size of a remote file"),
    ("fsizels", "sizes of the files a remote list names"),
    ("sndfile", "upload with SNDFILE"),
    ("rcvfile", "download with RCVFILE"),
    ("sup", "upload with SUP"),
    ("sdown", "download with SDOWN"),
    ("xcopy", "copy a file into matching directories"),
    ("xcpdir", "copy a directory into matching directories"),
    ("xdel", "delete matching files below a directory"),
    ("xrmdir", "delete matching directories below a directory"),
    ("watch", "print files as the server notifies them"),
    ("lock", "the server's LOCK"),
    ("echo", "the server echoes the text"),
    ("date", "the server's time"),
    ("udate", "the server's time in microseconds"),
    ("ndate", "the server's time in nanoseconds"),
    ("datef", "the server's date and time"),
    ("dtof", "a timestamp as a date"),
    ("ftod", "a date as a timestamp"),
    ("raw", "send one command line as is"),
    ("probe", "one UDP probe"),
    ("prockey", "this session's probe key"),
    ("oob", "urgent bytes echoed"),
    ("keepalive", "TCP keepalive settings"),
    ("nigma", "replace the session key"),
    ("tlb", "the next load-balancer entry"),
    ("shell", "an interactive session"),
    ("completion", "print a bash, zsh or fish completion script"),
];

/// Words only `tf shell` knows.
pub const SHELL_ONLY: &[&str] = &["cd", "pwd", "lcd", "lpwd", "help", "quit", "exit", "bye"];

/// Options of a command beyond the command option table.
const EXTRA: &[(&str, &[&str])] = &[("--raw", &["sha256", "fstat", "freesp", "df"])];

/// Every command with its words, sorted by name.
pub fn commands() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = BASE.to_vec();
    v.extend(v251::TABLE.iter().map(|r| (r.name, r.summary)));
    v.sort();
    v.dedup_by_key(|c| c.0);
    v
}

/// The options `cmd` takes after its name.
fn options_of(cmd: &str) -> Vec<&'static str> {
    let mut v: Vec<&str> = COMMAND_OPTIONS
        .iter()
        .filter(|o| o.commands.contains(&cmd))
        .map(|o| o.name)
        .collect();
    v.extend(EXTRA.iter().filter(|(_, c)| c.contains(&cmd)).map(|(n, _)| *n));
    v.sort();
    v.dedup();
    v
}

/// Global options, and those of them that take a value.
fn globals() -> (Vec<&'static str>, Vec<&'static str>) {
    let documented = OPTIONS.iter().filter(|o| o.documented());
    let all = documented.clone().flat_map(|o| o.names.iter().copied()).collect();
    let valued = documented
        .filter(|o| !o.value.is_empty())
        .flat_map(|o| o.names.iter().copied())
        .collect();
    (all, valued)
}

/// Global options whose value is a local file.
const FILE_VALUED: &[&str] = &["--key", "--password-file", "-b", "--batch"];

/// `tf completion SHELL`.
pub fn script(shell: &str) -> Option<String> {
    match shell {
        "bash" => Some(bash()),
        "zsh" => Some(zsh()),
        "fish" => Some(fish()),
        _ => None,
    }
}

/// The case arms `CMD) opts="...";;` for every command with options.
fn option_arms(indent: &str, assign: &dyn Fn(&str) -> String) -> String {
    commands()
        .iter()
        .filter_map(|(c, _)| {
            let o = options_of(c);
            (!o.is_empty()).then(|| format!("{indent}{c}) {};;\n", assign(&o.join(" "))))
        })
        .collect()
}

fn bash() -> String {
    let (all, valued) = globals();
    let cmds: Vec<&str> = commands().iter().map(|c| c.0).collect();
    format!(
        r#"# bash completion for tf, generated by `tf completion bash` from tf's tables
_tf() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
    local i cmd="" opts=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
            {valued}) ((i++)) ;;
            -*) ;;
            *) cmd=${{COMP_WORDS[i]}}; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        case $prev in
            {files}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
            {valued}) return ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "{all}" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "{cmds}" -- "$cur"))
        fi
        return
    fi
    case $cmd in
        completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
{arms}    esac
    if [[ $cur == -* && -n $opts ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}}
complete -o filenames -F _tf tf
"#,
        valued = valued.join("|"),
        files = FILE_VALUED.join("|"),
        all = all.join(" "),
        cmds = cmds.join(" "),
        arms = option_arms("        ", &|o| format!("opts=\"{o}\"")),
    )
}

/// Text for a zsh or fish description: no quote or colon of its own.
fn plain(s: &str) -> String {
    s.replace(['\'', '"', ':'], " ")
}

fn zsh() -> String {
    let (all, valued) = globals();
    let cmds: Vec<String> = commands()
        .iter()
        .map(|(c, what)| format!("    '{c}:{}'", plain(what)))
        .collect();
    format!(
        r#"#compdef tf
# zsh completion for tf, generated by `tf completion zsh` from tf's tables
_tf() {{
  local -a cmds opts
  cmds=(
{cmds}
  )
  local i cmd=""
  for ((i = 2; i < CURRENT; i++)); do
    case ${{words[i]}} in
      {valued}) ((i++)) ;;
      -*) ;;
      *) cmd=${{words[i]}}; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    case ${{words[CURRENT-1]}} in
      {files}) _files; return ;;
      {valued}) return ;;
    esac
    if [[ ${{words[CURRENT]}} == -* ]]; then
      compadd -- {all}
    else
      _describe 'tf command' cmds
    fi
    return
  fi
  case $cmd in
    completion) compadd bash zsh fish; return ;;
{arms}  esac
  if [[ ${{words[CURRENT]}} == -* && ${{#opts}} -gt 0 ]]; then
    compadd -a opts
  else
    _files
  fi
}}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _tf "$@"
else
  compdef _tf tf
fi
"#,
        cmds = cmds.join("\n"),
        valued = valued.join("|"),
        files = FILE_VALUED.join("|"),
        all = all.join(" "),
        arms = option_arms("    ", &|o| format!("opts=({o})")),
    )
}

fn fish() -> String {
    let mut out = String::from(
        "# fish completion for tf, generated by `tf completion fish` from tf's tables\ncomplete -c tf -f\n",
    );
    let (_, valued) = globals();
    for o in OPTIONS.iter().filter(|o| o.documented()) {
        let mut line = String::from("complete -c tf -n __fish_use_subcommand");
        for n in o.names {
            match n.strip_prefix("--") {
                Some(long) => line.push_str(&format!(" -l {long}")),
                None => line.push_str(&format!(" -s {}", n.trim_start_matches('-'))),
            }
        }
        if o.names.iter().any(|n| FILE_VALUED.contains(n)) {
            line.push_str(" -r -F");
        } else if o.names.iter().any(|n| valued.contains(n)) {
            line.push_str(" -r");
        }
        let help = o.help.lines().next().unwrap_or("");
        line.push_str(&format!(" -d '{}'\n", plain(help)));
        out.push_str(&line);
    }
    for (c, what) in commands() {
        out.push_str(&format!(
            "complete -c tf -n __fish_use_subcommand -a {c} -d '{}'\n",
            plain(what)
        ));
        for o in options_of(c) {
            let flag = match o.strip_prefix("--") {
                Some(long) => format!("-l {long}"),
                None => format!("-s {}", o.trim_start_matches('-')),
            };
            out.push_str(&format!("complete -c tf -n '__fish_seen_subcommand_from {c}' {flag}\n"));
        }
    }
    out.push_str("complete -c tf -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n");
    let with_files: Vec<&str> = commands().iter().map(|c| c.0).filter(|c| *c != "completion").collect();
    out.push_str(&format!(
        "complete -c tf -n '__fish_seen_subcommand_from {}' -F\n",
        with_files.join(" ")
    ));
    out
}

/// The words Tab may complete `word` (the word before the cursor) to in
/// `tf shell`: a command name when it is the line's first word, else remote
/// names of the directory it is in (relative to `cwd`, as cd made it); each
/// directory ends with `/`.
pub fn candidates(c: &mut Client, cwd: &str, index: usize, cmd: &str, word: &str) -> Vec<String> {
    if index == 0 {
        let mut v: Vec<String> = commands()
            .iter()
            .map(|c| c.0)
            .chain(SHELL_ONLY.iter().copied())
            .filter(|n| n.starts_with(word) && *n != "completion")
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        return v;
    }
    if local(cmd, index) {
        return local_names(word);
    }
    if !remote(cmd) {
        return Vec::new();
    }
    let (dir, prefix) = match word.rfind('/') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    };
    let listed = super::shell::join(cwd, dir);
    let Ok(l) = listing::list(c, listed.as_bytes(), false) else {
        return Vec::new();
    };
    let mut v: Vec<String> = l
        .entries
        .iter()
        .filter(|e| e.rel.starts_with(prefix.as_bytes()))
        .filter(|e| !e.rel.starts_with(b".") || prefix.starts_with('.'))
        .filter_map(|e| {
            let name = std::str::from_utf8(&e.rel).ok()?;
            // a name the line could not hold as one word, or that would reach
            // the terminal other than as itself (tfp-client escape.rs), is
            // not offered
            if name.contains(' ') || tfp_client::escape::shown_str(name) != name {
                return None;
            }
            let slash = if e.kind == listing::Kind::Dir { "/" } else { "" };
            Some(format!("{dir}{name}{slash}"))
        })
        .collect();
    v.sort();
    v
}

/// Whether the `index`th word of `cmd` (1: the first argument) is a local
/// name: put's sources, get's destination, lcd's directory.
fn local(cmd: &str, index: usize) -> bool {
    match cmd {
        "lcd" | "sndfile" | "sup" | "intwrite" => index == 1,
        "put" => index == 1,
        "get" | "rcvfile" | "sdown" | "intread" => index == 2,
        _ => false,
    }
}

/// Local names starting with `word` (directories end with `/`).
fn local_names(word: &str) -> Vec<String> {
    let (dir, prefix) = match word.rfind('/') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    };
    let Ok(rd) = std::fs::read_dir(if dir.is_empty() { "." } else { dir }) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with(prefix) || (name.starts_with('.') && !prefix.starts_with('.')) || name.contains(' ') {
                return None;
            }
            let slash = if e.path().is_dir() { "/" } else { "" };
            Some(format!("{dir}{name}{slash}"))
        })
        .collect();
    v.sort();
    v
}

/// Whether `cmd`'s arguments are (some of them) remote names in the shell.
fn remote(cmd: &str) -> bool {
    if let Some(r) = v251::row(cmd) {
        return r.paths != Paths::No;
    }
    !matches!(
        cmd,
        "lcd" | "lpwd" | "pwd" | "help" | "echo" | "dtof" | "ftod" | "raw" | "probe" | "completion"
    )
}

/// The longest prefix all of `v` share.
pub fn common_prefix(v: &[String]) -> String {
    let Some(first) = v.first() else {
        return String::new();
    };
    let mut n = first.len();
    for s in &v[1..] {
        n = n.min(first.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    first[..n].to_string()
}
