//! The TLB list: `4 <ipv4>;<port>` / `6 <ipv6>;<port>` lines (the document's
//! format), validated when the configuration is loaded so a typo is refused at
//! start or reload rather than handed to clients.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// A line of the list in no form of the document's: its number (from 1) and
/// its text.
#[derive(Debug)]
pub struct BadLine(usize, String);

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {:?} is not `4 <ipv4>;<port>` or `6 <ipv6>;<port>`",
            self.0, self.1
        )
    }
}

/// Why the list named by `tlb` was refused: the file, and what was wrong.
#[derive(Debug)]
pub struct TlbError {
    path: PathBuf,
    why: Why,
}

/// What was wrong with the list's file.
#[derive(Debug)]
enum Why {
    Read(io::Error),
    Line(BadLine),
}

impl From<io::Error> for Why {
    fn from(e: io::Error) -> Why {
        Why::Read(e)
    }
}

impl From<BadLine> for Why {
    fn from(e: BadLine) -> Why {
        Why::Line(e)
    }
}

impl fmt::Display for TlbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.why {
            Why::Read(e) => write!(f, "tlb {}: {e}", self.path.display()),
            Why::Line(e) => write!(f, "tlb {}: {e}", self.path.display()),
        }
    }
}

impl std::error::Error for TlbError {}

/// Parses the list; `#` comments and blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<String>, BadLine> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || BadLine(n + 1, line.to_string());
        let (fam, rest) = line.split_once(' ').ok_or_else(bad)?;
        let (ip, port) = rest.trim().rsplit_once(';').ok_or_else(bad)?;
        let ok_ip = match fam {
            "4" => ip.parse::<Ipv4Addr>().is_ok(),
            "6" => ip.parse::<Ipv6Addr>().is_ok(),
            _ => false,
        };
        // digits only: `+5` would parse, and be handed to clients as written
        let ok_port = port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0);
        if !ok_ip || !ok_port {
            return Err(bad());
        }
        out.push(format!("{fam} {ip};{port}"));
    }
    Ok(out)
}

/// Loads the list named by the `tlb` key.
pub fn load(path: &Path) -> Result<Vec<String>, TlbError> {
    let read = || -> Result<Vec<String>, Why> { Ok(parse(&std::fs::read_to_string(path)?)?) };
    read().map_err(|why| TlbError {
        path: path.to_path_buf(),
        why,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        let l = super::parse("# pool\n4 10.0.0.1;1234\n\n6 ::1;4321\n").unwrap();
        assert_eq!(l, ["4 10.0.0.1;1234", "6 ::1;4321"]);
        for bad in [
            "ipv4: 127.0.0.1",
            "4 ::1;1",
            "6 1.2.3.4;5",
            "4 1.2.3.4;0",
            "4 1.2.3.4",
            "5 1.2.3.4;5",
        ] {
            assert!(super::parse(bad).is_err(), "{bad}");
        }
    }
}
