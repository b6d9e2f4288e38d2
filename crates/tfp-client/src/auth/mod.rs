//! Key login, the client's side (doc/compatibility.md "Key login"): the
//! identities a user has (keys of a running ssh-agent, OpenSSH key files),
//! offered in order over the secure transport; the first the server accepts
//! signs the value [`tfp_wire::keylogin::signed_data`] binds to this session.

pub mod agent;
pub mod keyfile;
pub mod offered;
pub mod user_keys;

use openssl::pkey::{PKey, Private};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tfp_wire::keylogin::{self, Challenge, Offer, PublicKey, SigAlg};
use tfp_wire::Status;

/// Asks for a key file's passphrase (None: none given, the key is passed over).
pub type AskPassphrase = dyn Fn(&Path) -> Option<Vec<u8>> + Send + Sync;

/// A key file unlocked (or why it could not be): OpenSSL's key and its algorithm.
type Unlocked = Result<(PKey<Private>, SigAlg), String>;

/// Where an identity signs.
enum Signer {
    /// ssh-agent, at this socket.
    Agent(PathBuf),
    /// A key file, unlocked at its first signature (its passphrase asked then).
    File(Box<FileSigner>),
}

/// A key file and what unlocking it gave.
struct FileSigner {
    path: PathBuf,
    file: keyfile::KeyFile,
    unlocked: Mutex<Option<Unlocked>>,
}

/// One key a client may log in with.
pub struct Identity {
    /// How people know it: the file, or the agent's comment.
    pub name: String,
    /// Its public key blob.
    pub blob: Vec<u8>,
    signer: Signer,
}

impl Identity {
    /// The keys of the agent at `sock` tfd takes, in the agent's order.
    pub fn from_agent(sock: &Path) -> std::io::Result<Vec<Identity>> {
        Ok(agent::identities(sock)?
            .into_iter()
            .filter(|k| PublicKey::parse(&k.blob).is_ok())
            .map(|k| Identity {
                name: format!("agent key {} {}", keylogin::fingerprint(&k.blob), k.comment),
                blob: k.blob,
                signer: Signer::Agent(sock.to_path_buf()),
            })
            .collect())
    }

    /// The key file at `path` (read now; its passphrase is asked at its
    /// first signature, once the server has accepted the key).
    pub fn from_file(path: &Path) -> Result<Identity, String> {
        let file = keyfile::KeyFile::read(path)?;
        let blob = file.public_blob().map_err(|e| keyfile::err(path, e))?;
        PublicKey::parse(&blob).map_err(|e| keyfile::err(path, e))?;
        Ok(Identity {
            name: path.display().to_string(),
            blob,
            signer: Signer::File(Box::new(FileSigner {
                path: path.to_path_buf(),
                file,
                unlocked: Mutex::new(None),
            })),
        })
    }

    /// The signature blob of `data`.
    fn sign(&self, data: &[u8], ask: &AskPassphrase) -> Result<Vec<u8>, String> {
        match &self.signer {
            Signer::Agent(sock) => {
                let rsa = PublicKey::parse(&self.blob).is_ok_and(|k| matches!(k, PublicKey::Rsa { .. }));
                let flags = if rsa { agent::RSA_SHA2_512 } else { 0 };
                agent::sign(sock, &self.blob, data, flags).map_err(|e| format!("ssh-agent: {e}"))
            }
            Signer::File(f) => {
                let FileSigner { path, file, unlocked } = &**f;
                let mut slot = unlocked.lock().unwrap_or_else(|p| p.into_inner());
                if slot.is_none() {
                    let mut pass = if file.encrypted() { ask(path) } else { None };
                    let r = file.unlock(pass.as_deref()).map_err(|e| keyfile::err(path, e));
                    if let Some(p) = pass.as_mut() {
                        p.fill(0);
                    }
                    *slot = Some(r);
                }
                match slot.as_ref() {
                    Some(Ok((key, alg))) => keyfile::sign(key, *alg, data).map_err(|e| e.to_string()),
                    Some(Err(e)) => Err(e.clone()),
                    None => Err("no key".into()),
                }
            }
        }
    }
}

/// Finds the keys to offer, when they are first needed.
pub type LoadIdentities = dyn Fn() -> Vec<Identity> + Send + Sync;

/// The name a key login to a single-user server sends: tfd checks only the
/// key there (it serves one account), and the name is signed as any other.
pub const SINGLE_USER_NAME: &str = "-";

/// A key login's settings: the name, the identities in the order tried, the
/// passphrase prompt. Shared by every connection of a config: the key that
/// logged in once is offered first afterwards, and a file's passphrase is
/// asked once.
pub struct KeyLogin {
    /// The login name.
    pub user: String,
    /// Offered only when a single-user server asks for a key login in its
    /// answer to the hash (its `authorized_keys`), never before a LOGIN.
    pub when_asked: bool,
    identities: std::sync::OnceLock<Vec<Identity>>,
    load: Option<Box<LoadIdentities>>,
    ask: Box<AskPassphrase>,
    accepted: Mutex<Option<usize>>,
}

impl KeyLogin {
    /// A key login as `user` with `identities`, asking passphrases with `ask`.
    pub fn new(user: &str, identities: Vec<Identity>, ask: Box<AskPassphrase>) -> Arc<KeyLogin> {
        Arc::new(KeyLogin {
            user: user.to_string(),
            when_asked: false,
            identities: identities.into(),
            load: None,
            ask,
            accepted: Mutex::new(None),
        })
    }

    /// A key login for single-user servers that ask for one: its keys found
    /// by `load` only then (an agent asked, key files read), so a server that
    /// lets the hash alone in costs nothing.
    pub fn when_asked(load: Box<LoadIdentities>, ask: Box<AskPassphrase>) -> Arc<KeyLogin> {
        Arc::new(KeyLogin {
            user: SINGLE_USER_NAME.to_string(),
            when_asked: true,
            identities: std::sync::OnceLock::new(),
            load: Some(load),
            ask,
            accepted: Mutex::new(None),
        })
    }

    /// The keys, in the order offered (found now at the first call of a
    /// [`KeyLogin::when_asked`]).
    pub fn identities(&self) -> &[Identity] {
        self.identities
            .get_or_init(|| self.load.as_ref().map_or_else(Vec::new, |load| load()))
    }

    /// The order to offer the keys in: the one that logged in before first.
    fn order(&self) -> Vec<usize> {
        let first = *self.accepted.lock().unwrap_or_else(|p| p.into_inner());
        let n = self.identities().len().min(keylogin::MAX_OFFERS as usize);
        first.into_iter().chain((0..n).filter(|i| Some(*i) != first)).collect()
    }
}

/// How a key login ended.
#[derive(Debug)]
pub enum Outcome {
    /// Logged in with this identity (its index and name).
    In(usize, String),
    /// No key was accepted (what was refused, for `-v`).
    Refused(Vec<String>),
    /// The server does not know key login (an older server, or no secure transport).
    Unsupported,
}

impl crate::Client {
    /// Offers `kl`'s keys in order until one logs in. Needs the secure
    /// transport (the signature is bound to its handshake hash).
    pub fn key_login(&mut self, kl: &KeyLogin) -> Result<Outcome, crate::Error> {
        let Some(binding) = self.binding else {
            return Ok(Outcome::Unsupported);
        };
        let mut refused = Vec::new();
        for i in kl.order() {
            let id = &kl.identities()[i];
            let reply = self.raw(&Offer::frame(&kl.user, &id.blob))?;
            let Some(ch) = Challenge::parse(&reply) else {
                match Status::parse(&reply) {
                    Status::Unknown => return Ok(Outcome::Unsupported),
                    _ => {
                        refused.push(format!("{}: {}", id.name, String::from_utf8_lossy(&reply)));
                        continue;
                    }
                }
            };
            let data = keylogin::signed_data(&binding, kl.user.as_bytes(), &ch.nonce, &id.blob);
            let sig = match id.sign(&data, &*kl.ask) {
                Ok(s) => s,
                Err(e) => {
                    // the next offer drops this one on the server
                    refused.push(e);
                    continue;
                }
            };
            let last = self.caps.login_ends_entry();
            let reply = crate::caps::entry_step(self, &keylogin::signature_frame(&sig), last)?;
            match Status::parse(&reply) {
                Status::Ok(_) => {
                    *kl.accepted.lock().unwrap_or_else(|p| p.into_inner()) = Some(i);
                    self.key_name = Some(id.name.clone());
                    return Ok(Outcome::In(i, id.name.clone()));
                }
                _ => refused.push(format!("{}: {}", id.name, String::from_utf8_lossy(&reply))),
            }
        }
        Ok(Outcome::Refused(refused))
    }

    /// The key login a single-user server asked for in its answer to the
    /// hash: none accepted (or none to offer) is `Error::Handshake("key
    /// login", ..)`, its text naming what was refused. (A config without a
    /// key login goes on without one, and the server refuses its commands.)
    pub(crate) fn keys_only_login(&mut self, kl: &KeyLogin) -> Result<(), crate::Error> {
        let refused = |why: String| {
            crate::Error::Handshake(
                "key login",
                Status::Failed(i32::from(tfp_wire::Failed::LoginFailed.code()), why),
            )
        };
        if kl.identities().is_empty() {
            return Err(refused(
                "no key was found to offer (-i FILE, ssh-agent, ~/.ssh/id_*)".into(),
            ));
        }
        match self.key_login(kl)? {
            Outcome::In(..) => Ok(()),
            Outcome::Refused(tried) => Err(refused(format!("no key was accepted ({})", tried.join("; ")))),
            Outcome::Unsupported => Err(crate::Error::Protocol(
                "the server takes only key logins, which need the secure transport (not --legacy)".into(),
            )),
        }
    }

    /// The key that logged this session in, if one did.
    pub fn key_name(&self) -> Option<&str> {
        self.key_name.as_deref()
    }
}

impl crate::Client {
    /// The secure transport's handshake hash, once it is on: what a key
    /// login's signature is bound to (tests and other clients' tools).
    pub fn binding(&self) -> Option<[u8; tfp_wire::noise::LEN]> {
        self.binding
    }
}
