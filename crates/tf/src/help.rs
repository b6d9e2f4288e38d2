//! `tf help [COMMAND]`: the usage, or one command's line and options, from
//! the tables alone: no server is asked (nor needed).

use super::reply::fail;
use super::table;
use std::process::ExitCode;

/// Prints the help `words` (after `help`) ask: all of it (`usage`) or
/// one command's.
pub fn run(words: &[String], usage: &str) -> ExitCode {
    let Some(cmd) = words.first().map(|w| w.to_ascii_lowercase()) else {
        println!("{usage}");
        return ExitCode::SUCCESS;
    };
    if words.len() > 1 {
        return fail("usage: tf help [COMMAND]");
    }
    if table::SHELL_ONLY.contains(&cmd.as_str()) {
        println!("{cmd}: a command of tf shell and tf -b (tf ... shell, then help)");
        return ExitCode::SUCCESS;
    }
    let Some(r) = table::find(&cmd) else {
        return fail(format!("unknown command {cmd:?} (tf help lists them)"));
    };
    println!("usage: tf ... {} {}", r.name, r.args);
    for l in r.summary.lines() {
        println!("  {}", l.trim_start());
    }
    let opts = tf::options::docs::command_options_of(r.name);
    if !opts.is_empty() {
        println!("\nOptions (after the command's name, among its arguments):\n{opts}");
    }
    ExitCode::SUCCESS
}
