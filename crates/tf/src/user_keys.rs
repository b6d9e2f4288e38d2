//! `tf copy-id [-i KEY]` (as ssh-copy-id) and `tf keys [del WHICH]`: a
//! user's own keys on a server with `user_keys yes` (doc/compatibility.md
//! "Users' own keys"). The password is proven once (TF_PASSWORD,
//! `--password-file` or the terminal, as a password login takes it), before
//! LOGIN, over the secure transport.

use crate::conn;
use crate::reply::fail;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tf::exit::Exit;
use tfp_client::{Client, ClientConfig};
use tfp_wire::keylogin::{self, line};
use tfp_wire::{Failed, Status};

/// A public key to add: its `authorized_keys` line (no options) and where it
/// came from.
struct PubKey {
    line: String,
    blob: Vec<u8>,
    from: String,
}

/// Why a key to copy could not be had: the file and why.
struct NoKey(String);

impl std::fmt::Display for NoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The keys of a `.pub` file (or `authorized_keys` lines), options dropped.
fn pub_file(path: &Path) -> Result<Vec<PubKey>, NoKey> {
    let text = std::fs::read_to_string(path).map_err(|e| NoKey(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (n, l) in text.lines().enumerate().take(1000) {
        match line::parse(l) {
            Ok(Some(k)) => out.push(PubKey {
                line: line::render("", &k.blob, &k.key, &k.comment),
                blob: k.blob,
                from: path.display().to_string(),
            }),
            Ok(None) => {}
            Err(e) => return Err(NoKey(format!("{}:{}: {e}", path.display(), n + 1))),
        }
    }
    Ok(out)
}

/// `-i KEY`: KEY itself when it ends in `.pub`, else `KEY.pub`, else the
/// public half of the private key file.
fn of_identity(key: &str) -> Result<Vec<PubKey>, NoKey> {
    let p = Path::new(key);
    if key.ends_with(".pub") {
        return pub_file(p);
    }
    let pubf = PathBuf::from(format!("{key}.pub"));
    if pubf.exists() {
        return pub_file(&pubf);
    }
    let id = tfp_client::auth::Identity::from_file(p).map_err(NoKey)?;
    let k = keylogin::PublicKey::parse(&id.blob).map_err(|e| NoKey(format!("{key}: {e}")))?;
    Ok(vec![PubKey {
        line: line::render("", &id.blob, &k, ""),
        blob: id.blob,
        from: key.to_string(),
    }])
}

/// The keys tf logs in with by default: ssh-agent's, then `~/.ssh`'s
/// `id_*.pub` beside the default key files.
fn defaults() -> Vec<PubKey> {
    let mut out = Vec::new();
    if let Some(sock) = tfp_client::auth::agent::socket() {
        for k in tfp_client::auth::agent::identities(&sock).unwrap_or_default() {
            if let Ok(key) = keylogin::PublicKey::parse(&k.blob) {
                let comment: String = k.comment.chars().filter(|c| !c.is_control()).collect();
                out.push(PubKey {
                    line: line::render("", &k.blob, &key, &comment),
                    blob: k.blob,
                    from: "ssh-agent".into(),
                });
            }
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for name in crate::identities::DEFAULTS {
        let Some(p) = home.as_ref().map(|h| h.join(".ssh").join(format!("{name}.pub"))) else {
            break;
        };
        if p.exists() {
            match pub_file(&p) {
                Ok(keys) => out.extend(keys),
                Err(e) => eprintln!("tf: not copying {e}"),
            }
        }
    }
    out
}

/// The session, its password proven: `Err` is the exit, said in one sentence.
fn proven(cfg: &ClientConfig, user: &str, password_file: Option<&str>) -> Result<Client, ExitCode> {
    let mut password = conn::password(user, password_file).map_err(fail)?;
    let mut c = Client::connect(cfg).map_err(|e| {
        crate::explain::connect_error(&e, cfg).print();
        ExitCode::from(Exit::Error)
    })?;
    let st = c.user_keys_prove(user, &password);
    password.fill(0);
    match st.map_err(|e| fail(format!("the connection failed: {e}")))? {
        Status::Ok(_) => Ok(c),
        st => Err(refused(&st, user)),
    }
}

/// A refusal, in one sentence.
fn refused(st: &Status, user: &str) -> ExitCode {
    match st {
        Status::Unknown => {
            fail("this server does not let users manage their own keys (it has no tf copy-id); ask its administrator (tfpasswd key add)")
        }
        Status::Failed(code, _) if *code == Failed::UserKeysOff as i32 => fail(
            "this server does not let users manage their own keys (user_keys no); ask its administrator (tfpasswd key add)",
        ),
        Status::Failed(code, text) if *code == Failed::LoginFailed as i32 => {
            fail(format!("login refused for {user}: {text}"))
        }
        Status::Failed(_, text) => fail(text),
        other => fail(format!("unexpected reply: {other:?}")),
    }
}

/// `tf copy-id [-i KEY]`.
fn copy_id(c: &mut Client, keys: Vec<PubKey>, user: &str, try_it: &str) -> ExitCode {
    let have = match c.user_keys_list() {
        Ok(Ok(v)) => v,
        Ok(Err(st)) => return refused(&st, user),
        Err(e) => return fail(format!("the connection failed: {e}")),
    };
    let mut added = 0;
    for k in keys {
        let fp = keylogin::fingerprint(&k.blob);
        if have.iter().any(|h| h.fingerprint == fp) {
            eprintln!("tf: {fp} ({}) is already there", k.from);
            continue;
        }
        match c.user_keys_add(&k.line) {
            Ok(Status::Ok(_)) => {
                eprintln!("tf: added {fp} ({})", k.from);
                added += 1;
            }
            Ok(st) => return refused(&st, user),
            Err(e) => return fail(format!("the connection failed: {e}")),
        }
    }
    println!("Number of key(s) added: {added}");
    println!("Now try logging in with: {try_it}");
    println!("and check that only the key(s) you wanted were added (tf ... keys).");
    ExitCode::SUCCESS
}

/// `tf keys` and `tf keys del WHICH`.
fn list_or_del(c: &mut Client, args: &[String], user: &str) -> ExitCode {
    match args {
        [] => match c.user_keys_list() {
            Ok(Ok(v)) => {
                for k in v {
                    println!("{} {} {} {}", k.fingerprint, k.type_name, k.bits, k.comment);
                }
                ExitCode::SUCCESS
            }
            Ok(Err(st)) => refused(&st, user),
            Err(e) => fail(format!("the connection failed: {e}")),
        },
        [del, which] if del == "del" => match c.user_keys_del(which) {
            Ok(Status::Ok(n)) => {
                eprintln!("tf: removed {} key(s)", String::from_utf8_lossy(&n));
                ExitCode::SUCCESS
            }
            Ok(st) => refused(&st, user),
            Err(e) => fail(format!("the connection failed: {e}")),
        },
        _ => fail("usage: tf ... keys [del FINGERPRINT|COMMENT]"),
    }
}

/// `copy-id` or `keys` (`cmd`) with their `args`, as `user` over `cfg`
/// (the secure transport is required here).
pub fn run(
    mut cfg: ClientConfig,
    user: Option<&str>,
    password_file: Option<&str>,
    identity: Option<&str>,
    cmd: &str,
    args: &[String],
    invoked: crate::ctx::Invoked,
) -> ExitCode {
    let Some(user) = user else {
        return fail(format!("{cmd} needs --user (or TF_USER, or user in the config file)"));
    };
    cfg.transport = tfp_client::Transport::Require;
    let mut identity = identity.map(str::to_string);
    let mut rest = args;
    // the key `copy-id -i KEY` names goes into the login it suggests
    let mut given = None;
    if cmd == "copy-id" {
        match args {
            [] => {}
            [i, key] if i == "-i" => {
                identity = Some(key.clone());
                given = Some(key.trim_end_matches(".pub").to_string());
                rest = &[];
            }
            _ => return fail("usage: tf ... copy-id [-i KEY]"),
        }
    }
    let keys = if cmd == "copy-id" {
        let keys = match identity.as_deref() {
            Some(k) => of_identity(k).map_err(fail),
            None => Ok(defaults()),
        };
        match keys {
            Ok(k) if k.is_empty() => {
                return fail("no key to copy: give -i KEY, or make one with ssh-keygen, or add one to ssh-agent")
            }
            Ok(k) => k,
            Err(code) => return code,
        }
    } else {
        Vec::new()
    };
    let mut c = match proven(&cfg, user, password_file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let code = if cmd == "copy-id" {
        let mut words: Vec<&str> = given.iter().flat_map(|k| ["-i", k.as_str()]).collect();
        words.push("ls");
        copy_id(&mut c, keys, user, &invoked.without_password().command(&words))
    } else {
        list_or_del(&mut c, rest, user)
    };
    let _ = c.end();
    code
}
