//! The liar's `TFDFEATURES`: it tells the tfd commands its [`Script`]
//! serves (deltas, batches, compressed downloads and listings, and every
//! canned `TFD…` answer that is an `OK`: a canned `TFDZSTD` answer is its
//! offer; a canned refusal withdraws the command), so a client takes the
//! routes the script was written for. A
//! script that serves none of them answers `UNKNOWN`, as a server from
//! before tfd's extensions; a canned `TFDFEATURES` answer wins over both.

use super::Script;
use tfp_wire::features::{Batch, Features};

impl Script {
    /// The answer to `TFDFEATURES` (a canned one aside).
    pub(super) fn features(&self) -> Vec<u8> {
        let mut commands: Vec<String> = Vec::new();
        let mut served = |on: bool, names: &[&str]| {
            if on {
                commands.extend(names.iter().map(|n| n.to_string()));
            }
        };
        served(!self.deltas.is_empty(), &["TFDDELTAGET", "TFDDELTAGETZ"]);
        served(self.getmany.is_some(), &["TFDGETMANY"]);
        served(self.getz.is_some(), &["TFDGETZ"]);
        served(self.getcanz.is_some(), &["TFDGETCANZ"]);
        // a compressed listing stands for the plain ones, which a client
        // then never asks plain of a session that compresses
        served(self.listz.is_some(), &["TFDLISTZ", "TFDLIST", "TFDNAMES"]);
        let mut offer = None;
        for (name, frame) in &self.answers {
            let Some(text) = frame.strip_prefix(b"OK").map(|t| t.strip_prefix(b" ").unwrap_or(t)) else {
                // a canned refusal: a server without the command
                commands.retain(|c| c != name);
                continue;
            };
            if !name.starts_with("TFD") || commands.contains(name) {
                continue;
            }
            if name == tfp_wire::compress::PROBE {
                offer = tfp_wire::compress::Offer::parse(text);
            }
            commands.push(name.clone());
        }
        if commands.is_empty() {
            return b"UNKNOWN".to_vec();
        }
        let f = Features {
            commands,
            scope: None,
            owners: false,
            offer,
            putmany: Batch::default(),
            getmany: Batch {
                framed: self.getmany_framed,
                ..Batch::default()
            },
        };
        [&b"OK "[..], &f.encode()].concat()
    }
}
