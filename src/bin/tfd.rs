//! tfd: the TF Protocol server daemon.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tfd::config::Config;
use tfd::server::{self, demo, RunOptions};

const USAGE: &str = "\
usage: tfd [-c FILE] [--check-config]
       tfd demo [--dir DIR] [--port PORT]

  -c, --config FILE   configuration file (default /etc/tfd/tfd.conf)
      --check-config  validate the configuration (and key) and exit
  demo                run a ready-to-use server on 127.0.0.1 (creates DIR on first run)
      --dir DIR       demo folder (default ./tfd-demo)
      --port PORT     demo port (default 10345)
  -h, --help          this help
  -V, --version       print the version";

/// Logs to stderr at info (or by RUST_LOG) until the config says otherwise:
/// problems in the config itself must be reported somewhere.
fn init_logging() {
    tfd::logging::init(tfd::logging::LogTarget::Stderr, None);
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tfd: {msg}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = PathBuf::from("/etc/tfd/tfd.conf");
    let mut check = false;
    let mut demo_mode = false;
    let mut demo_dir = PathBuf::from(demo::DEFAULT_DIR);
    let mut demo_port = demo::DEFAULT_PORT;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--config" => match it.next() {
                Some(v) => config = PathBuf::from(v),
                None => return fail("-c needs a file"),
            },
            "--check-config" => check = true,
            "demo" => demo_mode = true,
            "--dir" if demo_mode => match it.next() {
                Some(v) => demo_dir = PathBuf::from(v),
                None => return fail("--dir needs a directory"),
            },
            "--port" if demo_mode => match it.next().and_then(|v| v.parse().ok()) {
                Some(p) => demo_port = p,
                None => return fail("--port needs a number 1..65535"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("tfd {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => return fail(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    init_logging();
    if demo_mode {
        config = match demo::prepare(&demo_dir, demo_port) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
    }
    let mut cfg = match Config::load(&config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if demo_mode {
        // the flag wins over the port recorded in an existing demo config
        cfg.port = demo_port;
        cfg.listen = vec![std::net::SocketAddr::from(([127, 0, 0, 1], demo_port))];
    }
    if let Err(e) = cfg.validate() {
        return fail(e);
    }
    // --check-config answers on the terminal, whatever log_target says
    let target = if check {
        tfd::logging::LogTarget::Stderr
    } else {
        cfg.log_target
    };
    tfd::logging::init(target, cfg.log_level.as_deref().and_then(|l| l.parse().ok()));
    let multi_user = tfd::sys::geteuid() == 0 && !demo_mode && cfg.defusr.is_none();
    if multi_user {
        match &cfg.userdb {
            Some(p) => match tfd::auth::userdb::startup_check(p) {
                Ok(warnings) => warnings.iter().for_each(|w| log::warn!("{w}")),
                Err(e) => return fail(format!("userdb: {e}")),
            },
            None => log::warn!("multi-user mode without userdb: every LOGIN will answer FAILED 40"),
        }
    }
    if cfg.injail && (tfd::sys::geteuid() != 0 || demo_mode) {
        log::warn!("injail: not running as root, so INJAIL cannot chroot; sessions are confined to their jail by descriptor only");
    }
    if let Err(e) = server::load_key(&cfg) {
        return fail(e);
    }
    let is_root = tfd::sys::geteuid() == 0;
    if let Some(u) = &cfg.defusr {
        if let Err(e) = tfd::auth::privs::lookup(u) {
            return fail(format!("defusr: {e}"));
        }
    }
    if check {
        println!("tfd: configuration {} is valid", config.display());
        return ExitCode::SUCCESS;
    }
    let serve_as_self = demo_mode || !is_root;
    if serve_as_self {
        log::info!(
            "serving as the invoking user {} (single-user mode{})",
            tfd::auth::privs::current_user_name(),
            if demo_mode { ", demo" } else { ": not started as root" }
        );
    } else if cfg.defusr.is_none() {
        log::warn!("no defusr configured: clients must LOGIN before other commands");
    }
    if demo_mode {
        demo::print_instructions(&demo_dir, &cfg);
    }
    let opts = RunOptions {
        config_path: Some(config),
        serve_as_self,
        grace: Duration::from_secs(10),
    };
    match server::run(cfg, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
