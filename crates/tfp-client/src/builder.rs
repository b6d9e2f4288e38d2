//! [`Builder`]: a session's parameters given one by one, then
//! [`Builder::connect`].

use crate::{Client, ClientConfig, Credentials, Error, FaiToken, Transport};
use std::path::PathBuf;
use std::time::Duration;

/// Builds a session: `Client::builder("host:port")`, the server's key, the
/// application hash and what else applies, then [`Builder::connect`].
///
/// ```no_run
/// use tfp_client::{Client, Transport};
/// use std::time::Duration;
///
/// let mut c = Client::builder("127.0.0.1:10345")
///     .key_file("/etc/tfd/public.pem")
///     .hash("app-hash")
///     .login("alice", "secret")
///     .transport(Transport::Require)
///     .timeout(Some(Duration::from_secs(10)))
///     .connect()?;
/// c.mkdir("reports")?;
/// # Ok::<(), tfp_client::Error>(())
/// ```
#[must_use = "a builder does nothing until connect()"]
pub struct Builder {
    cfg: ClientConfig,
    key_file: Option<PathBuf>,
    fai: Option<FaiToken>,
}

impl Client {
    /// A builder for a session with `server` (`host:port`), with
    /// [`ClientConfig::new`]'s defaults: protocol 2.4.1, a 32-byte session
    /// key, 30 s timeouts, the secure transport when offered.
    pub fn builder(server: &str) -> Builder {
        Builder::from_config(ClientConfig::new(server, Vec::new(), ""))
    }

    /// A builder starting from `cfg` (everything it says, changed by the
    /// builder's calls).
    pub fn builder_from(cfg: ClientConfig) -> Builder {
        Builder::from_config(cfg)
    }
}

impl Builder {
    fn from_config(cfg: ClientConfig) -> Builder {
        Builder {
            cfg,
            key_file: None,
            fai: None,
        }
    }

    /// The server's RSA public key, PEM.
    pub fn key_pem(mut self, pem: impl Into<Vec<u8>>) -> Builder {
        self.cfg.pubkey_pem = pem.into();
        self.key_file = None;
        self
    }

    /// The server's RSA public key, read from a PEM file at connect time (an
    /// unreadable file is [`Error::Local`]).
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.key_file = Some(path.into());
        self
    }

    /// The application hash the server expects.
    pub fn hash(mut self, hash: &str) -> Builder {
        self.cfg.hash = hash.to_string();
        self
    }

    /// LOGIN right after the handshake (a multi-user server). A refusal is
    /// [`Error::Handshake`] with the step `"login"`.
    pub fn login(mut self, user: &str, password: impl Into<Vec<u8>>) -> Builder {
        self.cfg.login = Some(Credentials {
            user: user.to_string(),
            password: password.into(),
        });
        self
    }

    /// INJAIL `token | dir` after the LOGIN (or the handshake). A refusal is
    /// [`Error::Handshake`] with the step `"injail"`.
    pub fn jail(mut self, token: &str, dir: &str) -> Builder {
        self.cfg.jail = Some((token.to_string(), dir.to_string()));
        self
    }

    /// Which transport to ask for after the handshake.
    pub fn transport(mut self, t: Transport) -> Builder {
        self.cfg.transport = t;
        self
    }

    /// Switch to AES-256-CBC (GOAES) right after the handshake.
    pub fn aes(mut self, on: bool) -> Builder {
        self.cfg.aes = on;
        self
    }

    /// Connect and I/O timeout (None: block for ever).
    pub fn timeout(mut self, t: Option<Duration>) -> Builder {
        self.cfg.timeout = t;
        self
    }

    /// The protocol version string sent first (`2.4.1`, `2.5.1`).
    pub fn proto(mut self, version: &str) -> Builder {
        self.cfg.proto = version.to_string();
        self
    }

    /// Enter through the Fast Access Interface with `token` instead of RSA
    /// and the hash; the token's next key is then
    /// [`Client::next_fai_token`].
    pub fn fai(mut self, token: &FaiToken) -> Builder {
        self.fai = Some(token.clone());
        self
    }

    /// The configuration as built so far (the key file not yet read).
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Connects and runs the handshake (and LOGIN, INJAIL, GOAES as asked).
    pub fn connect(mut self) -> Result<Client, Error> {
        if let Some(p) = self.key_file.take() {
            self.cfg.pubkey_pem = std::fs::read(&p).map_err(Error::Local)?;
        }
        match self.fai {
            Some(fai) => {
                let (mut c, next) = Client::connect_fai(&self.cfg, &fai)?;
                c.next_fai = Some(next);
                Ok(c)
            }
            None => Client::connect(&self.cfg),
        }
    }
}
