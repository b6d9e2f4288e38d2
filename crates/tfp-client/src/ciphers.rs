//! The session layer after the handshake, as the protocol has it: what the
//! stream is enciphered with (NIGMA's server-chosen key, GOAES's AES-256-CBC
//! and TFPCRYPTO back to the stream cipher) and the identity token CIAON
//! puts before every unit. Each changes both halves of the channel at the
//! point of the stream where the server does.

use crate::{error, Client, Error};
use std::io;
use tfp_wire::Status;

impl Client {
    /// `NIGMA n`: swaps to a server-chosen key of n bytes.
    pub fn nigma(&mut self, n: u32) -> Result<(), Error> {
        let reply = self.raw(format!("NIGMA {n}").as_bytes())?;
        if reply != b"OK" {
            return Err(Error::refused("NIGMA", Status::parse(&reply)));
        }
        let len = self.chan.rx.recv_i32()?;
        if len < 8 || len as usize > 1 << 20 {
            return Err(Error::Protocol(format!("NIGMA key length {len}")));
        }
        let mut key = vec![0u8; len as usize];
        self.chan.rx.recv_unit(&mut key)?;
        self.chan.tx.set_cipher(tfp_wire::Cipher::new(&key));
        self.chan.rx.set_cipher(tfp_wire::Cipher::new(&key));
        Ok(())
    }

    /// `GOAES` with a fresh random key and IV: from the reply on, both
    /// directions run AES-256-CBC. A refusal leaves the stream cipher on (an
    /// older server answers UNKNOWN).
    pub fn goaes(&mut self) -> Result<(), Error> {
        let mut key = [0u8; tfp_wire::aes::KEY_LEN];
        let mut iv = [0u8; tfp_wire::aes::IV_LEN];
        getrandom::getrandom(&mut key).map_err(|e| Error::Local(io::Error::other(e.to_string())))?;
        getrandom::getrandom(&mut iv).map_err(|e| Error::Local(io::Error::other(e.to_string())))?;
        self.goaes_with(key, iv)
    }

    /// `GOAES` with the given key and IV.
    pub fn goaes_with(
        &mut self,
        key: [u8; tfp_wire::aes::KEY_LEN],
        iv: [u8; tfp_wire::aes::IV_LEN],
    ) -> Result<(), Error> {
        self.chan.tx.send_frame(b"GOAES")?;
        self.chan.tx.send_units(&[&key, &iv])?;
        let reply = self.chan.rx.recv_frame()?;
        if reply != b"OK" {
            return Err(Error::refused("GOAES", Status::parse(&reply)));
        }
        let k = tfp_wire::aes::AesKey::new(key, iv);
        self.chan.tx.set_aes(Some(&k))?;
        self.chan.rx.set_aes(Some(&k))?;
        Ok(())
    }

    /// `TFPCRYPTO`: back to the stream cipher (the reply still comes in AES).
    pub fn tfpcrypto(&mut self) -> Result<(), Error> {
        let reply = self.raw(b"TFPCRYPTO")?;
        match Status::parse(&reply) {
            Status::Ok(d) if d.is_empty() => {
                self.chan.tx.set_aes(None)?;
                self.chan.rx.set_aes(None)?;
                Ok(())
            }
            st => Err(Error::refused("TFPCRYPTO", st)),
        }
    }

    /// `CIAON`: the server's identity token goes before every unit from now on.
    /// Returns the token.
    pub fn ciaon(&mut self) -> Result<String, Error> {
        let token = error::ok("CIAON", Status::parse(&self.raw(b"CIAON")?))?;
        let t: [u8; tfp_wire::uuid::TEXT_LEN] = token
            .as_slice()
            .try_into()
            .map_err(|_| Error::Protocol(format!("CIAON token of {} bytes", token.len())))?;
        self.chan.tx.set_ident(Some(t));
        Ok(String::from_utf8_lossy(&t).into_owned())
    }

    /// `CIAOFF`: no more identity token (this command still carries it).
    pub fn ciaoff(&mut self) -> Result<(), Error> {
        match Status::parse(&self.raw(b"CIAOFF")?) {
            Status::Ok(d) if d.is_empty() => {
                self.chan.tx.set_ident(None);
                Ok(())
            }
            st => Err(Error::refused("CIAOFF", st)),
        }
    }
}
