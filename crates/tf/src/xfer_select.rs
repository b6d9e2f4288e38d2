//! A single file's `put`/`get` given rsync's selection options
//! (`--max-size`, `--min-size`, `--update`, `--ignore-existing`,
//! `--existing`): the file is judged against the destination before
//! anything moves, and one left as it is says so in one line (exit 0, as
//! rsync's skip is no error).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfp_client::remote::listing::{self, Kind};
use tfp_client::tree::select::{why_kept, Select};
use tfp_client::Client;

/// Why `put LOCAL REMOTE` (`upload`) or `get REMOTE LOCAL` leaves its file
/// as it is, if it does: the line to tell. Asks the server only for what the
/// options need (an FSTAT of the remote file).
pub fn skip(c: &mut Client, s: &Select, upload: bool, (from, to): (&str, &str)) -> Option<String> {
    if *s == Select::default() || from == "-" || to == "-" {
        return None;
    }
    let needs_dest = s.update || s.ignore_existing || s.existing;
    let remote_fact = |c: &mut Client, p: &str| {
        listing::fstat(c, p.as_bytes())
            .ok()
            .filter(|st| st.kind != Kind::Dir)
            .map(|st| (st.size, st.mtime))
    };
    let local_fact = |p: &str| {
        let p = Path::new(p);
        let named = p.file_name().map(|n| n.to_owned());
        let meta = std::fs::metadata(p).ok()?;
        let meta = if meta.is_dir() {
            std::fs::metadata(p.join(named?)).ok()?
        } else {
            meta
        };
        Some((meta.len(), meta.mtime()))
    };
    let (source, dest) = if upload {
        let source = local_fact(from)?;
        let dest = if needs_dest { remote_fact(c, to) } else { None };
        (source, dest)
    } else {
        let source = remote_fact(c, from)?;
        let here = if Path::new(to).is_dir() {
            Path::new(to).join(Path::new(from).file_name()?)
        } else {
            Path::new(to).to_path_buf()
        };
        let dest = if needs_dest {
            std::fs::metadata(&here)
                .ok()
                .filter(|m| !m.is_dir())
                .map(|m| (m.len(), m.mtime()))
        } else {
            None
        };
        (source, dest)
    };
    let why = why_kept(s, source.0, dest, source.1)?;
    Some(format!("{}: {why}, skipped", tfp_client::escape::shown_str(from)))
}
