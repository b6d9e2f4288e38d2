//! The runs of a single-stream transfer, each beside the cipher's rate measured
//! right before it.

use super::cipher::cipher_rate_threads;
use super::measure::Figure;
use super::options::ADJACENT_MIB;
use crate::support::Server;
use tfp_client::ClientConfig;

/// One run of a single-stream transfer and the cipher's rate measured right
/// before it.
pub(crate) struct Run {
    pub(crate) f: Figure,
    pub(crate) baseline: f64,
}

impl Run {
    pub(crate) fn ratio(&self) -> f64 {
        self.f.mbps() / self.baseline
    }
}

/// Runs `phase` `reps` times, each right after the cipher alone on two threads
/// (the client's and the server's cipher, as in the transfer); the baseline is
/// the rate per thread.
pub(crate) fn repeated(reps: usize, mut phase: impl FnMut() -> Result<Figure, String>) -> Result<Vec<Run>, String> {
    let mut runs = Vec::new();
    for _ in 0..reps {
        let baseline = cipher_rate_threads(ADJACENT_MIB, 2) / 2.0;
        runs.push(Run { f: phase()?, baseline });
    }
    runs.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    Ok(runs)
}

/// An upload phase: it writes the file its download phase reads.
pub(crate) type Upload = fn(&Server, &ClientConfig, &[u8], u64) -> Result<Figure, String>;
/// A download phase.
pub(crate) type Download = fn(&Server, &ClientConfig, u64) -> Result<Figure, String>;

/// Per single-stream phase: its name and runs, sorted by ratio (None when run
/// only to create the file a later phase reads).
pub(crate) type Singles = Vec<(&'static str, Option<Vec<Run>>)>;
