//! tfd: the TF Protocol server daemon. Its command line is
//! `tfd::daemon::cli`, in the library with everything else it decides.

fn main() -> std::process::ExitCode {
    tfd::daemon::cli::main(std::env::args().skip(1).collect())
}
