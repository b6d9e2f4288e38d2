//! tfpasswd: manages tfd's LOGIN user file (tfpasswd(8)). Its command line is
//! `tfd::auth::userdb::admin`, beside the file format it edits.

fn main() -> std::process::ExitCode {
    tfd::auth::userdb::admin::main(std::env::args().skip(1).collect())
}
