//! A session's byte counts for the program that runs it: to show progress
//! as bytes move, or to tell whether a call whose connection broke had any
//! of its answer.

use crate::Client;
use std::sync::Arc;
use tfp_channel::Meter;

impl Client {
    /// Bytes received on the connection so far, the handshake's included:
    /// unchanged across a call whose connection broke, nothing of its
    /// answer came.
    pub fn received(&self) -> u64 {
        self.chan.rx.bytes
    }

    /// Shows both halves' running byte counts on `meter` from now on, each
    /// 256 KiB a half moves ([`crate::ClientConfig::meter`] does it for
    /// every connection a config opens).
    pub fn set_meter(&mut self, meter: Arc<dyn Meter>) {
        self.chan.rx.set_meter(meter.clone());
        self.chan.tx.set_meter(meter);
    }
}
