//! Directory removal: `rmdir` that keeps a non-empty directory unless `-r`
//! says otherwise.

use super::{explain, fail, report, ExitCode};
use tfd::client::{Client, ClientConfig, ClientError};

/// `rmdir [-r] DIR`: without `-r` the directory must be empty (LS says so
/// first), since the protocol's RMDIR removes a whole tree.
pub fn rmdir(c: &mut Client, cfg: &ClientConfig, args: &[String]) -> Result<ExitCode, ClientError> {
    let recursive = args.iter().any(|a| a == "-r");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "-r").collect();
    let [dir] = rest.as_slice() else {
        return Ok(fail("usage: tf ... rmdir [-r] DIR"));
    };
    let targets = [(dir.as_str(), explain::Access::Read)];
    if !recursive {
        match c.list(false, dir.as_bytes())? {
            Ok(text) if text.is_empty() => {}
            Ok(text) => {
                let n = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
                eprintln!(
                    "tf: {dir}: the directory is not empty ({n} entr{}); nothing removed",
                    if n == 1 { "y" } else { "ies" }
                );
                eprintln!("hint: tf ... rmdir -r {dir} removes it and everything in it");
                return Ok(ExitCode::from(2));
            }
            Err(st) => return Ok(report(cfg, "rmdir", &targets, &st)),
        }
    }
    let st = c.call("RMDIR", dir.as_bytes())?;
    Ok(report(cfg, "rmdir", &targets, &st))
}
