//! tfd: the TF Protocol server daemon.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use tfd::config::Config;
use tfd::daemon::{self, demo, RunOptions};

const USAGE: &str = "\
usage: tfd [-c FILE] [--check-config] [--daemon [--pidfile PATH]]
       tfd [-c FILE] --init-secrets
       tfd demo [--dir DIR] [--port PORT] [--check-config]
       tfd ctl [-c FILE] [--socket PATH] REQUEST
       tfd -h | --help
       tfd -V | --version

  -c, --config FILE   configuration file (default /etc/tfd/tfd.conf)
      --check-config  validate the configuration (and key) and exit
      --init-secrets  make what the configuration lacks, then exit: a random hash in
                      place of the example's placeholder, the key at privkey_file and
                      pub.pem beside it; nothing that exists is changed (the systemd
                      unit runs it before every start, so a package carries no secret)
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
    let mut init_secrets = false;
    let mut demo_mode = false;
    let mut daemon = false;
    let mut pidfile = PathBuf::from(tfd::config::DEFAULT_PIDFILE);
    let mut demo_dir = PathBuf::from(demo::DEFAULT_DIR);
    let mut demo_port = demo::DEFAULT_PORT;
    if args.first().map(String::as_str) == Some("ctl") {
        return ctl(&args[1..]);
    }
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--config" => match it.next() {
                Some(v) => config = PathBuf::from(v),
                None => return fail("-c needs a file"),
            },
            "--check-config" => check = true,
            "--init-secrets" => init_secrets = true,
            "--daemon" => daemon = true,
            "--pidfile" => match it.next() {
                Some(v) => pidfile = PathBuf::from(v),
                None => return fail("--pidfile needs a path"),
            },
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
    if init_secrets {
        return match tfd::daemon::secrets::init(&config) {
            Ok(done) if done.is_empty() => {
                println!("tfd: {}: hash and key already in place", config.display());
                ExitCode::SUCCESS
            }
            Ok(done) => {
                done.iter().for_each(|d| println!("tfd: {d}"));
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("--init-secrets: {e}")),
        };
    }
    init_logging();
    if demo_mode {
        if let Err(e) = demo::check_port(demo_port) {
            return fail(e);
        }
        if tfd_sys::geteuid() == 0 {
            eprintln!(
                "{}",
                demo::root_warning(&std::path::absolute(&demo_dir).unwrap_or(demo_dir.clone()))
            );
        }
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
        // its own admin socket, so `tfd ctl` reaches this demo and no other tfd
        if cfg.control_socket.is_none() {
            cfg.control_socket = Some(demo::control_socket(&demo_dir, demo_port));
        }
    }
    if let Err(e) = cfg.validate() {
        return fail(e);
    }
    // --check-config answers on the terminal, whatever log_target says
    // (and --daemon puts stderr on /dev/null: its logs go to syslog then)
    let target = if check {
        tfd::logging::LogTarget::Stderr
    } else if daemon && cfg.log_target == tfd::logging::LogTarget::Stderr {
        tfd::logging::LogTarget::Syslog
    } else {
        cfg.log_target
    };
    tfd::logging::init(target, cfg.log_level.as_deref().and_then(|l| l.parse().ok()));
    // one list of checks for --check-config and for the start: what one calls
    // an error stops the other too, and a warning reads the same in both
    let is_root = tfd_sys::geteuid() == 0;
    let findings = daemon::checks::run(
        &cfg,
        &daemon::checks::Setting {
            is_root,
            demo: demo_mode,
        },
    );
    let mut warnings = 0;
    for f in &findings {
        match f {
            daemon::checks::Finding::Warning(w) => {
                warnings += 1;
                log::warn!("{w}");
            }
            daemon::checks::Finding::Error(e) if !check => log::error!("{e}"),
            daemon::checks::Finding::Error(_) => {}
        }
    }
    if let Some(errors) = daemon::checks::verdict(&findings) {
        return fail(if check {
            errors
        } else {
            format!("not starting: {}", errors.replace('\n', "\n  "))
        });
    }
    if check {
        if warnings > 0 {
            println!(
                "tfd: configuration {} is valid, with {warnings} warning(s) (see above)",
                config.display()
            );
        } else {
            println!("tfd: configuration {} is valid", config.display());
        }
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
        log::info!("multi-user mode (no defusr): clients must LOGIN before other commands");
    }
    let banner = demo_mode.then(|| demo::instructions(&demo_dir, &cfg));
    let opts = RunOptions {
        config_path: Some(config),
        serve_as_self,
        daemon_pidfile: if daemon {
            Some(std::path::absolute(&pidfile).unwrap_or(pidfile))
        } else {
            None
        },
        banner,
    };
    match daemon::run(cfg, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if demo_mode && e.contains("in use") => fail(demo::port_message(&e, demo_port)),
        Err(e) => fail(e),
    }
}

/// `tfd ctl`: one request to the control socket of a running tfd.
fn ctl(args: &[String]) -> ExitCode {
    let mut config: Option<PathBuf> = None;
    let mut socket: Option<PathBuf> = None;
    let mut words: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--config" => config = it.next().map(PathBuf::from),
            "--socket" => socket = it.next().map(PathBuf::from),
            w => words.push(w),
        }
    }
    if words.is_empty() {
        return fail(format!("ctl needs a request\n{}", tfd::daemon::control::help_text()));
    }
    // the list is the table this tfd was built with: no socket needed
    if matches!(words.as_slice(), ["help"] | ["--help"] | ["-h"]) {
        print!("{}", tfd::daemon::control::help_text());
        return ExitCode::SUCCESS;
    }
    // Which tfd answers is not obvious without -c or --socket (the system's
    // /run/tfd/ctl.sock, not the demo in this terminal): say it on stderr.
    let explicit = socket.is_some() || config.is_some();
    let (path, source) = match socket {
        Some(s) => (s, "--socket".to_string()),
        None => {
            let conf = config.unwrap_or_else(|| PathBuf::from("/etc/tfd/tfd.conf"));
            match Config::load(&conf).ok().and_then(|c| c.control_socket) {
                Some(p) => (p, format!("control_socket of {}", conf.display())),
                None => (
                    PathBuf::from(tfd::config::DEFAULT_CONTROL_SOCKET),
                    "the default".to_string(),
                ),
            }
        }
    };
    if !explicit {
        eprintln!(
            "tfd ctl: asking the tfd at {} ({source}); -c FILE or --socket PATH picks another",
            path.display()
        );
    }
    match tfd::daemon::control::call(&path, &words.join(" ")) {
        Ok(text) => {
            print!("{text}");
            if text.starts_with("error") {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let demos = demo_sockets();
            let hint = if demos.is_empty() || explicit {
                String::new()
            } else {
                format!(
                    "\nhint: a tfd demo here answers on {}",
                    demos
                        .iter()
                        .map(|p| format!("--socket {}", p.display()))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            fail(format!("control socket {} ({source}): {e}{hint}", path.display()))
        }
    }
}

/// The admin sockets of demos run from this directory (`tfd demo` names them
/// `tfd-demo/ctl-PORT.sock`).
fn demo_sockets() -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(demo::DEFAULT_DIR) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("ctl-") && name.ends_with(".sock") && std::os::unix::net::UnixStream::connect(p).is_ok()
        })
        .collect();
    v.sort();
    v
}
