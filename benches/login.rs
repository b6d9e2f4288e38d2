//! What a login by key costs against a login by password (issue 63: at most
//! 1.2×), from the connect to the first command's answer, on one multi-user
//! server of the release `tfd`, over the secure transport both ways (a key
//! login needs its handshake hash). Keys are made by the real `ssh-keygen`
//! (Ed25519 and RSA 3072, the two users choose most); the password is
//! hashed by the real `tfpasswd` at its default cost, what a user file holds.
//! Rounds interleave the three logins so that the machine's drift falls on
//! each alike; medians of the rounds are compared.
//!
//! Run it with `scripts/bench login` (as root: the server maps its LOGIN user
//! to a system user it makes, removed when the bench exits). Missing the
//! target is reported, never a failure.
//!
//! Options (after `--`): `--quick` (5 rounds), `--rounds N` (default 20).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;
use support::{cli, met};
use tfd_testkit::users::{ensure_system_user, tfpasswd};
use tfd_testkit::{is_root, tempdir, Opts, Server};
use tfp_client::auth::{Identity, KeyLogin};
use tfp_client::{Client, ClientConfig, Credentials, Transport};

/// Target: a key login's median at most this many times a password login's.
const TARGET_RATIO: f64 = 1.2;
/// The password of the bench's user.
const PASSWORD: &str = "correct horse battery staple";
/// The system user the bench's LOGIN user runs as.
const SYSTEM_USER: &str = "tfdbench1";

struct Options {
    rounds: usize,
}

const USAGE: &str = "usage: login [--quick] [--rounds N]";

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options { rounds: 20 };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.rounds = 5,
                "--rounds" => o.rounds = args.number("--rounds", |n: &usize| (1..=1000).contains(n), "1 to 1000")?,
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(o)
    }
}

/// A key pair made by ssh-keygen in `dir`: the private key's path.
fn keygen(dir: &Path, kind: &[&str], name: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(kind)
        .args(["-q", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("ssh-keygen (apt-get install openssh-client): {e}"))?;
    if !st.success() {
        return Err(format!("ssh-keygen {kind:?} failed: {st}"));
    }
    Ok(path)
}

/// The multi-user server: alice, with the password and both keys.
fn server(dir: &Path, keys: &[&Path]) -> Result<Server, String> {
    ensure_system_user(SYSTEM_USER, &[]);
    let db = dir.join("userdb");
    let db = db.to_str().ok_or("a temporary path that is not UTF-8")?;
    let out = tfpasswd(
        &["-f", db, "add", "alice", "--system-user", SYSTEM_USER, "--stdin"],
        &format!("{PASSWORD}\n"),
    );
    if !out.status.success() {
        return Err(format!("tfpasswd add: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let authorized = dir.join("authorized");
    fs::create_dir(&authorized).map_err(|e| e.to_string())?;
    let mut lines = String::new();
    for k in keys {
        let public = k.with_extension("pub");
        lines.push_str(&fs::read_to_string(&public).map_err(|e| format!("{}: {e}", public.display()))?);
    }
    fs::write(authorized.join("alice"), lines).map_err(|e| e.to_string())?;
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\nauthorized_keys_dir {}\n", authorized.display()),
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(srv.path("alice")).map_err(|e| e.to_string())?;
    Ok(srv)
}

/// Seconds from the connect to the first command's answer.
fn login_once(cfg: &ClientConfig) -> Result<f64, String> {
    let t = Instant::now();
    let mut c = Client::connect(cfg).map_err(|e| format!("login: {e}"))?;
    if c.raw(b"ECHO in").map_err(|e| e.to_string())? != b"in" {
        return Err("the first command's answer is not its echo".into());
    }
    let took = t.elapsed().as_secs_f64();
    let _ = c.end();
    Ok(took)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(o: &Options) -> Result<(), String> {
    if !is_root() {
        return Err("needs root: the server maps its LOGIN user to a system user it makes".into());
    }
    let dir = tempdir("bench-login");
    let ed = keygen(&dir, &["-t", "ed25519"], "id_ed25519")?;
    let rsa = keygen(&dir, &["-t", "rsa", "-b", "3072"], "id_rsa")?;
    let srv = server(&dir, &[&ed, &rsa])?;
    let base = {
        let mut c = srv.client_config();
        c.transport = Transport::Require;
        c
    };
    let mut by_password = base.clone();
    by_password.login = Some(Credentials {
        user: "alice".into(),
        password: PASSWORD.as_bytes().to_vec(),
    });
    let by_key = |key: &Path| -> Result<ClientConfig, String> {
        let mut c = base.clone();
        c.keys = Some(KeyLogin::new(
            "alice",
            vec![Identity::from_file(key)?],
            Box::new(|_: &Path| None),
        ));
        Ok(c)
    };
    let cfgs: [(&str, ClientConfig); 3] = [
        ("password", by_password),
        ("ed25519", by_key(&ed)?),
        ("rsa3072", by_key(&rsa)?),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cfgs.len()];
    // one of each first, unmeasured: the server's and the keys' first use
    for (_, cfg) in &cfgs {
        login_once(cfg)?;
    }
    for _ in 0..o.rounds {
        for (i, (_, cfg)) in cfgs.iter().enumerate() {
            times[i].push(login_once(cfg)?);
        }
    }
    let medians: Vec<f64> = times.into_iter().map(median).collect();
    let pw = medians[0];
    println!(
        "login: connect to the first answer, median of {} rounds, same server:",
        o.rounds
    );
    println!("  password (tfpasswd's default cost)  {:8.2} ms", pw * 1e3);
    let mut fields = vec![format!("password_ms={:.3}", pw * 1e3)];
    let mut worst: f64 = 0.0;
    for ((name, _), m) in cfgs.iter().zip(&medians).skip(1) {
        let ratio = m / pw;
        worst = worst.max(ratio);
        println!("  key {name:<31} {:8.2} ms  {ratio:.2}× the password", m * 1e3);
        fields.push(format!("{name}_ms={:.3} {name}_ratio={ratio:.3}", m * 1e3));
    }
    println!(
        "  target: a key login ≤ {TARGET_RATIO}× a password login: {}",
        met(worst <= TARGET_RATIO)
    );
    if let Some(p) = srv.log().lines().find(|l| l.contains("ERROR")) {
        println!("  server log: {p}");
    }
    println!("BENCH login rounds={} {}", o.rounds, fields.join(" "));
    Ok(())
}

fn main() -> ExitCode {
    cli::main("login", USAGE, Options::parse, run)
}
