//! tf's exit statuses, each named with why it is given, and turned into an
//! [`ExitCode`] here only: a command says `Exit::Refused`, never a number, so a
//! status means the same in every file. Each status carries the texts that
//! tell users about it: `tf --help`'s "Exit status:" sentence is made from
//! them ([`help_text`]), and so is tf(1)'s EXIT STATUS between its BEGIN and
//! END lines ([`man_text`]; tests/cli/docs.rs checks the page and rewrites it
//! with `TFD_BLESS=1`). A new status is one entry of [`statuses!`] below, and
//! its line in README's "Exit statuses".

use std::process::ExitCode;

/// What the users are told of one status: its part of `tf --help`'s "Exit
/// status:" sentence and its tf(1) entry (roff, after `.TP` and `.B N`);
/// empty where it is not told. (`code` and `man` are read by tf(1)'s
/// generator only, tests/cli/docs.rs, through tf's library.)
#[allow(dead_code)]
pub struct Told {
    /// The status.
    pub code: u8,
    /// Its part of the `tf --help` sentence.
    pub help: &'static str,
    /// Its tf(1) EXIT STATUS entry.
    pub man: &'static str,
}

/// 0 is `ExitCode::SUCCESS`, no [`Exit`]: everything asked was done.
const OK: Told = Told {
    code: 0,
    help: "0 on OK",
    man: MAN0,
};

/// [`Exit`] and [`STATUSES`] from one list, so a status cannot be added
/// without its texts. `tf --help` names the statuses in the list's order
/// (0 first); tf(1) by number.
macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $code:literal, help: $help:expr, man: $man:expr;)*) => {
        /// Why tf ends as it does. 0 is `ExitCode::SUCCESS`: everything asked
        /// was done (the server answered OK, the transfer succeeded and was
        /// verified).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Exit {
            $($(#[$doc])* $name = $code,)*
        }

        /// Every status with what users are told of it, 0 first.
        pub const STATUSES: &[Told] = &[OK, $(Told { code: $code, help: $help, man: $man },)*];
    };
}

statuses! {
    /// 2: the server refused (FAILED or UNKNOWN), a transfer failed, `rmdir`
    /// found the directory not empty, `fsize` printed a negative value, or a
    /// tree command or mirror skipped something the server refused or sent.
    Refused = 2,
    help: "2 on a FAILED or UNKNOWN reply (or rmdir of a non-empty directory\nwithout -r; for put/get of trees and mirror: a file or name the server refused)",
    man: MAN2;
    /// 3: `--verify` found the SHA-256 digests of the local and the remote
    /// file differ.
    Mismatch = 3,
    help: "3 when --verify finds\na SHA-256 mismatch",
    man: MAN3;
    /// 1: tf's own side failed — a usage error, no connection (refused, timed
    /// out, a handshake with the wrong version, key or hash), a refused login
    /// or jail, a protocol error, a local file or directory that could not be
    /// read or written. It wins over [`Exit::Refused`] when a tree meets both.
    Error = 1,
    help: "1 on a connection, handshake or usage error, or a local file that\ncannot be read or written (it wins over 2 when a tree meets both)",
    man: MAN1;
    /// 130 (128 + SIGINT, as a shell reports it): `tf shell`'s last command was
    /// interrupted with Ctrl-C and the shell went on in a new session.
    Interrupted = 130,
    help: "",
    man: "";
}

/// tf(1)'s entries (roff), too long to stand in the list.
const MAN0: &str = r#"The server answered
.B OK
(or, for
.B echo
and
.BR raw ,
any reply other than
.B FAILED
and
.BR UNKNOWN ),
or the transfer succeeded (and was verified, with
.BR \-\-verify ).
"#;
const MAN1: &str = r#"A usage error (missing connection parameters, no or unknown command, wrong
number of arguments, bad
.BR \-\-keylen ,
a configuration file that cannot be read, no password to be had),
a refused login or jail,
an unreadable key file or one that is not an RSA\-2048 public key, a
.B \-\-server
without a port, or a connection, handshake (wrong version, key or hash),
timeout or protocol error, or a local file or directory that could not be
read or written.
"#;
const MAN2: &str = r#"The server answered
.B FAILED
or
.BR UNKNOWN ,
a transfer failed,
.B rmdir
without
.B \-r
found the directory not empty,
.B fsize
printed a negative value, or, for trees, many files and
.BR mirror ,
the server refused a file or a directory, sent a name that was refused, sent a
file of another size than it announced, or a pattern matched nothing on the
server (when local errors happened too, the status is 1).
.PP
.B tf shell
exits with the status of its last command,
.B tf \-b
with that of the command that stopped the batch (0 when none did).
"#;
const MAN3: &str = r#".B \-\-verify
found that the SHA\-256 digests of the local and the remote file differ.
"#;

/// `tf --help`'s sentence on the statuses.
pub fn help_text() -> String {
    let told: Vec<&str> = STATUSES.iter().map(|s| s.help).filter(|h| !h.is_empty()).collect();
    format!("Exit status: {}.", told.join(", "))
}

/// tf(1)'s EXIT STATUS entries, by number (for tests/cli/docs.rs).
#[allow(dead_code)]
pub fn man_text() -> String {
    let mut told: Vec<&Told> = STATUSES.iter().filter(|s| !s.man.is_empty()).collect();
    told.sort_by_key(|s| s.code);
    told.iter().map(|s| format!(".TP\n.B {}\n{}", s.code, s.man)).collect()
}

impl From<Exit> for ExitCode {
    /// The one place a status becomes the process's exit code.
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The status of tf ended by signal `sig` (SIGINT, SIGTERM, SIGHUP) after it
/// cleaned up: 128 + the signal's number, as a shell reports a process the
/// signal killed, so a script sees an interruption, not a failure of tf's.
pub fn by_signal(sig: i32) -> i32 {
    128 + sig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_told_once_by_number() {
        let codes: Vec<u8> = STATUSES.iter().map(|s| s.code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len(), "{codes:?}");
        assert!(codes.contains(&(Exit::Interrupted as u8)) && codes[0] == 0);
        assert!(man_text().starts_with(".TP\n.B 0\nThe server answered\n"));
        assert!(man_text().contains(".TP\n.B 1\nA usage error"));
        assert!(help_text().starts_with("Exit status: 0 on OK, 2 on "));
    }
}
