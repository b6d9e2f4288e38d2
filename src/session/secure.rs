//! What the handshake leaves for a later TFDSECURE (doc/secure-transport.md):
//! the pre-shared key derived from the session key. Made by the handshake (or
//! the FAI entrance), used once by TFDSECURE.

use tfp_wire::noise;

/// What a session keeps for a later TFDSECURE: the pre-shared key derived from
/// its session key (only the holder of the server's RSA key could learn that).
#[derive(Default)]
pub struct SecureState {
    psk: Option<[u8; noise::LEN]>,
    /// The handshake hash once the upgrade is done: what a key login's
    /// signature is bound to (doc/secure-transport.md §10).
    binding: Option<[u8; noise::LEN]>,
}

impl Drop for SecureState {
    fn drop(&mut self) {
        self.forget();
    }
}

impl SecureState {
    /// Derives the pre-shared key from the key the session's cipher started
    /// from (the RSA step's, or a FAI token's), unless the upgrade is off.
    pub fn for_session(cfg: &crate::config::Config, key: &[u8]) -> SecureState {
        let offered = cfg.secure_transport != crate::config::SecureTransport::Off;
        SecureState {
            psk: offered.then(|| noise::psk_from_session_key(key).ok()).flatten(),
            binding: None,
        }
    }

    /// TFDSECURE: the pre-shared key, if the upgrade is offered and not yet used.
    pub fn psk(&self) -> Option<[u8; noise::LEN]> {
        self.psk
    }

    /// TFDSECURE: forgets the key once used (zeroed, then gone).
    pub fn forget(&mut self) {
        if let Some(p) = self.psk.as_mut() {
            p.fill(0);
        }
        self.psk = None;
    }

    /// TFDSECURE, done: keeps the handshake hash for key logins.
    pub fn bind(&mut self, h: [u8; noise::LEN]) {
        self.binding = Some(h);
    }

    /// The handshake hash of the secure transport, once it is on.
    pub fn binding(&self) -> Option<[u8; noise::LEN]> {
        self.binding
    }
}
