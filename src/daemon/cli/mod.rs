//! tfd's command line: the server's start (`-c`, `--check-config`,
//! `--init-secrets`, `--daemon`), `tfd demo` and `tfd ctl`.

mod ctl;

use super::{checks, demo, RunOptions};
use crate::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: tfd [-c FILE] [--check-config] [--daemon [--pidfile PATH]]
       tfd check-config [-c FILE]
       tfd [-c FILE] --init-secrets
       tfd [-c FILE] --print-fingerprint
       tfd demo [--dir DIR] [--port PORT] [--check-config]
       tfd ctl [-c FILE] [--socket PATH] REQUEST
       tfd -h | --help
       tfd -V | --version

  -c, --config FILE   configuration file (default /etc/tfd/tfd.conf)
      --check-config  validate the configuration (and key) and exit
  check-config        the same, as a subcommand like demo and ctl
      --init-secrets  make what the configuration lacks, then exit: a random hash in
                      place of the example's placeholder, the key at privkey_file and
                      pub.pem beside it; nothing that exists is changed (the systemd
                      unit runs it before every start, so a package carries no secret)
      --print-fingerprint
                      print the server key's fingerprint (SHA256:..., as ssh-keygen -lf
                      prints it) for users to compare with what tf shows on first
                      contact, then exit (with demo: the demo's key)
      --daemon        detach (double fork, setsid, stdio on /dev/null) and write a pidfile;
                      for init systems without supervision (systemd: run in the foreground)
      --pidfile PATH  with --daemon (default /run/tfd.pid)
  demo                run a ready-to-use server on 127.0.0.1 as the invoking user (creates
                      DIR on first run; its admin socket is DIR/ctl-PORT.sock)
      --dir DIR       demo folder (default ./tfd-demo)
      --port PORT     demo port (default 10345)
  ctl                 send one admin request to a running tfd's control socket
                      (sessions, kick, ban, unban, reload, stats, metrics; tfd ctl help
                      lists them with their arguments)
      --socket PATH   the control socket (default: control_socket of the config,
                      else /run/tfd/ctl.sock; without -c or --socket, ctl names on
                      stderr the socket it asks)
  -h, --help          this help
  -V, --version       print the version";

/// Logs to stderr at info (or by RUST_LOG) until the config says otherwise:
/// problems in the config itself must be reported somewhere.
fn init_logging() {
    crate::logging::init(crate::logging::LogTarget::Stderr, None);
}

pub(super) fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tfd: {msg}");
    ExitCode::from(1)
}

/// What the command line asked of the server's start.
struct Flags {
    config: PathBuf,
    check: bool,
    init_secrets: bool,
    fingerprint: bool,
    demo_mode: bool,
    daemon: bool,
    pidfile: PathBuf,
    demo_dir: PathBuf,
    demo_port: u16,
}

/// Reads the flags; `Err` is the exit (help, version or a wrong argument).
fn parse(args: &[String]) -> Result<Flags, ExitCode> {
    let mut f = Flags {
        config: PathBuf::from("/etc/tfd/tfd.conf"),
        check: false,
        init_secrets: false,
        fingerprint: false,
        demo_mode: false,
        daemon: false,
        pidfile: PathBuf::from(crate::config::DEFAULT_PIDFILE),
        demo_dir: PathBuf::from(demo::DEFAULT_DIR),
        demo_port: demo::DEFAULT_PORT,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--config" => match it.next() {
                Some(v) => f.config = PathBuf::from(v),
                None => return Err(fail("-c needs a file")),
            },
            "--check-config" => f.check = true,
            // as a subcommand, as `demo` and `ctl` are
            "check-config" => f.check = true,
            "--init-secrets" => f.init_secrets = true,
            "--print-fingerprint" => f.fingerprint = true,
            "--daemon" => f.daemon = true,
            "--pidfile" => match it.next() {
                Some(v) => f.pidfile = PathBuf::from(v),
                None => return Err(fail("--pidfile needs a path")),
            },
            "demo" => f.demo_mode = true,
            "--dir" if f.demo_mode => match it.next() {
                Some(v) => f.demo_dir = PathBuf::from(v),
                None => return Err(fail("--dir needs a directory")),
            },
            "--port" if f.demo_mode => match it.next().and_then(|v| v.parse().ok()) {
                Some(p) => f.demo_port = p,
                None => return Err(fail("--port needs a number 1..65535")),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return Err(ExitCode::SUCCESS);
            }
            "-V" | "--version" => {
                println!("tfd {}", env!("CARGO_PKG_VERSION"));
                return Err(ExitCode::SUCCESS);
            }
            other => return Err(fail(format!("unknown argument {other:?}\n{USAGE}"))),
        }
    }
    Ok(f)
}

/// `--init-secrets`: makes what the configuration lacks and says what it made.
fn init_secrets(config: &std::path::Path) -> ExitCode {
    match crate::daemon::secrets::init(config) {
        Ok(done) if done.is_empty() => {
            println!("tfd: {}: hash and key already in place", config.display());
            ExitCode::SUCCESS
        }
        Ok(done) => {
            done.iter().for_each(|d| println!("tfd: {d}"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("--init-secrets: {e}")),
    }
}

/// The configuration to run with, validated: the file's, or the demo's (made on
/// its first run, its port and control socket from the flags).
fn load_config(f: &mut Flags) -> Result<Config, ExitCode> {
    if f.demo_mode {
        if let Err(e) = demo::check_port(f.demo_port) {
            return Err(fail(e));
        }
        if tfd_sys::geteuid() == 0 {
            eprintln!(
                "{}",
                demo::root_warning(&std::path::absolute(&f.demo_dir).unwrap_or(f.demo_dir.clone()))
            );
        }
        f.config = match demo::prepare(&f.demo_dir, f.demo_port) {
            Ok(c) => c,
            Err(e) => return Err(fail(e)),
        };
    }
    let mut cfg = match Config::load(&f.config) {
        Ok(c) => c,
        Err(e) => return Err(fail(e)),
    };
    if f.demo_mode {
        // the flag wins over the port recorded in an existing demo config
        cfg.port = f.demo_port;
        cfg.listen = vec![std::net::SocketAddr::from(([127, 0, 0, 1], f.demo_port))];
        // its own admin socket, so `tfd ctl` reaches this demo and no other tfd
        if cfg.control_socket.is_none() {
            cfg.control_socket = Some(demo::control_socket(&f.demo_dir, f.demo_port));
        }
    }
    match cfg.validate() {
        Ok(()) => Ok(cfg),
        Err(e) => Err(fail(e)),
    }
}

/// Runs the checks shared by `--check-config` and the start, logging what they
/// find; `Err` is the exit: an error found, or `--check-config`'s verdict.
fn check_config(f: &Flags, cfg: &Config, is_root: bool) -> Result<(), ExitCode> {
    // one list of checks for --check-config and for the start: what one calls
    // an error stops the other too, and a warning reads the same in both
    let findings = checks::run(
        cfg,
        &checks::Setting {
            is_root,
            demo: f.demo_mode,
            pidfile: f
                .daemon
                .then(|| std::path::absolute(&f.pidfile).unwrap_or_else(|_| f.pidfile.clone())),
            config: Some(f.config.clone()),
        },
    );
    let mut warnings = 0;
    for finding in &findings {
        match finding {
            checks::Finding::Warning(w) => {
                warnings += 1;
                log::warn!("{w}");
            }
            checks::Finding::Error(e) if !f.check => log::error!("{e}"),
            checks::Finding::Error(_) => {}
        }
    }
    if let Some(errors) = checks::verdict(&findings) {
        return Err(fail(if f.check {
            errors
        } else {
            format!("not starting: {}", errors.replace('\n', "\n  "))
        }));
    }
    if f.check {
        if warnings > 0 {
            println!(
                "tfd: configuration {} is valid, with {warnings} warning(s) (see above)",
                f.config.display()
            );
        } else {
            println!("tfd: configuration {} is valid", f.config.display());
        }
        return Err(ExitCode::SUCCESS);
    }
    Ok(())
}

/// tfd's command line: `args` without the program name. The binary is this
/// call, so everything the daemon's start decides is in the library, where
/// the tests and the house's floors see it.
pub fn main(args: Vec<String>) -> ExitCode {
    if args.first().map(String::as_str) == Some("ctl") {
        return ctl::main(&args[1..]);
    }
    let mut f = match parse(&args) {
        Ok(f) => f,
        Err(code) => return code,
    };
    if f.init_secrets {
        return init_secrets(&f.config);
    }
    init_logging();
    let cfg = match load_config(&mut f) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if f.fingerprint {
        return match crate::daemon::load_key(&cfg) {
            Ok(rsa) => {
                println!("{}", crate::daemon::fingerprint(&rsa));
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("--print-fingerprint: {}: {e}", f.config.display())),
        };
    }
    // --check-config answers on the terminal, whatever log_target says
    // (and --daemon puts stderr on /dev/null: its logs go to syslog then)
    let target = if f.check {
        crate::logging::LogTarget::Stderr
    } else if let Some(path) = &cfg.log_file {
        match crate::logging::open_append(path).and_then(crate::logging::to_file) {
            Ok(()) => crate::logging::LogTarget::File,
            Err(e) => return fail(format!("log_file {}: {e}", path.display())),
        }
    } else if f.daemon && cfg.log_target == crate::logging::LogTarget::Stderr {
        crate::logging::LogTarget::Syslog
    } else {
        cfg.log_target
    };
    crate::logging::init(target, cfg.log_level.as_deref().and_then(|l| l.parse().ok()));
    let is_root = tfd_sys::geteuid() == 0;
    if let Err(code) = check_config(&f, &cfg, is_root) {
        return code;
    }
    let demo_mode = f.demo_mode;
    let serve_as_self = demo_mode || !is_root;
    if serve_as_self {
        log::info!(
            "serving as the invoking user {} (single-user mode{})",
            crate::auth::privs::current_user_name(),
            if demo_mode { ", demo" } else { ": not started as root" }
        );
    } else if cfg.defusr.is_none() {
        log::info!("multi-user mode (no defusr): clients must LOGIN before other commands");
    }
    let banner = demo_mode.then(|| demo::instructions(&f.demo_dir, &cfg));
    let opts = RunOptions {
        config_path: Some(f.config),
        serve_as_self,
        daemon_pidfile: if f.daemon {
            Some(std::path::absolute(&f.pidfile).unwrap_or(f.pidfile))
        } else {
            None
        },
        banner,
    };
    match super::run(cfg, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e = e.to_string();
            if demo_mode && e.contains("in use") {
                fail(demo::port_message(&e, f.demo_port))
            } else {
                fail(e)
            }
        }
    }
}
