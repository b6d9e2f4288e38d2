//! The server's public key as a client pins it: asked of the server before
//! any handshake (`TFDHOSTKEY`, tfp_wire::hostkey) when none is known, shown
//! by its fingerprint, and kept in the known servers file
//! ([`crate::known_servers`]). Nothing but the request is sent on the
//! connection that asks: no session key, no hash, no login.

use crate::{Client, ClientConfig, Error};
use openssl::bn::BigNum;
use openssl::rsa::Rsa;
use tfp_wire::hostkey;
use tfp_wire::keylogin::PublicKey;

/// A server's RSA key: its OpenSSH key blob (what is pinned and
/// fingerprinted) and the PEM the handshake encrypts to.
#[derive(Clone, PartialEq, Eq)]
pub struct HostKey {
    blob: Vec<u8>,
    pem: Vec<u8>,
}

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

/// Why a server's key could not be had.
#[derive(Debug)]
pub enum FetchError {
    /// The connection failed or timed out.
    Connect(Error),
    /// The server does not send its key (not tfd, or older): its answer,
    /// escaped.
    NotOffered(String),
    /// The server sent something that is no key the handshake takes (a
    /// frame over the bound, a malformed blob, another type or size).
    Refused(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Connect(e) => write!(f, "{e}"),
            FetchError::NotOffered(r) => write!(f, "it does not send its public key (it answered {r})"),
            FetchError::Refused(why) => write!(f, "{why}"),
        }
    }
}

impl HostKey {
    /// The key of an OpenSSH `ssh-rsa` blob of 2048 bits (the only size the
    /// handshake takes); the error says why not.
    pub fn from_blob(blob: &[u8]) -> Result<HostKey, String> {
        match PublicKey::parse(blob).map_err(|e| e.to_string())? {
            PublicKey::Rsa { e, n } => {
                let rsa = BigNum::from_slice(&n)
                    .and_then(|n| Ok((n, BigNum::from_slice(&e)?)))
                    .and_then(|(n, e)| Rsa::from_public_components(n, e))
                    .map_err(|e| e.to_string())?;
                if rsa.size() as usize * 8 != hostkey::RSA_BITS {
                    return Err(format!(
                        "an RSA key of {} bits, where the protocol takes {}",
                        rsa.size() * 8,
                        hostkey::RSA_BITS
                    ));
                }
                let pem = rsa.public_key_to_pem().map_err(|e| e.to_string())?;
                Ok(HostKey {
                    blob: blob.to_vec(),
                    pem,
                })
            }
            other => Err(format!("a {} key, where the protocol takes RSA", other.type_name())),
        }
    }

    /// The key of a PEM public key (`--key`'s file), to compare with a pin.
    pub fn from_pem(pem: &[u8]) -> Result<HostKey, String> {
        let rsa = Rsa::public_key_from_pem(pem)
            .or_else(|_| Rsa::public_key_from_pem_pkcs1(pem))
            .map_err(|e| e.to_string())?;
        HostKey::from_blob(&hostkey::rsa_blob(&rsa.e().to_vec(), &rsa.n().to_vec()))
    }

    /// The OpenSSH key blob.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The PEM ([`ClientConfig::pubkey_pem`]).
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// `SHA256:…`, as `ssh-keygen -lf` prints it for the same key.
    pub fn fingerprint(&self) -> String {
        hostkey::fingerprint(&self.blob)
    }
}

/// Asks `cfg.server` for its public key on a connection of its own (with
/// `cfg`'s timeout and source address), reading at most
/// [`hostkey::MAX_REPLY`] bytes of the answer.
pub fn fetch(cfg: &ClientConfig) -> Result<HostKey, FetchError> {
    let mut chan = Client::open(cfg).map_err(FetchError::Connect)?;
    chan.tx
        .send_frame(hostkey::REQUEST)
        .map_err(|e| FetchError::Connect(e.into()))?;
    let frame = match chan.rx.recv_frame_max(hostkey::MAX_REPLY) {
        Ok(f) => f,
        Err(tfp_channel::ChannelError::Frame(e)) => {
            return Err(FetchError::Refused(format!("its answer breaks the framing ({e})")))
        }
        Err(e) => return Err(FetchError::Connect(e.into())),
    };
    let blob = hostkey::parse_reply(&frame).map_err(|e| match e {
        hostkey::ReplyError::NotOffered(r) => FetchError::NotOffered(r),
        e => FetchError::Refused(e.to_string()),
    })?;
    HostKey::from_blob(&blob).map_err(FetchError::Refused)
}
