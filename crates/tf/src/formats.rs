//! How tf prints what a reply means to a person, one function per format, so
//! each output has one place to change (and to escape server text in):
//! `sha256` as `sha256sum` prints it (so `sha256sum -c` reads tf's output),
//! `fstat` and `freesp` in words, times in the local zone with the zone's
//! name (TZ, else /etc/localtime, as date(1)), sizes as `ls -h` writes them.
//! `--raw` on those commands keeps the protocol's reply line instead.

/// `YYYY-MM-DD HH:MM:SS ZONE` for `ts` in the local zone; UTC when the local
/// zone cannot be read, `?` for a time no calendar holds.
pub fn local_time(ts: i64) -> String {
    let zone = tfp_client::local_zone::get();
    let shifted = zone.as_ref().and_then(|z| {
        let t = z.find_local_time_type(ts).ok()?;
        let local = ts.checked_add(i64::from(t.ut_offset()))?;
        Some((local, t.time_zone_designation().to_string()))
    });
    let (local, name) = shifted.unwrap_or((ts, "UTC".into()));
    match tfp_wire::date::format_utc(local) {
        Some(d) => format!("{d} {name}"),
        None => "? ? ?".into(),
    }
}

/// How [`bytes`] writes a count: the three ways tf shows sizes, all in powers
/// of 1024.
#[derive(Clone, Copy)]
pub enum Units {
    /// As `ls -lh`: bytes below 1024 as the number alone, else one decimal
    /// under 10 of a unit (`1.5K`), whole units above (`12M`), rounded up.
    Ls,
    /// As `df -h`: `1023B` below 1024, else one decimal under 10 of a unit
    /// (`1.5K`), whole units above (`50M`), rounded to the nearest.
    Df,
    /// A transfer's figures (progress bars, summaries, rates): one decimal
    /// and the IEC name after a space (`0.0 B`, `1.5 KiB`), up to TiB.
    Iec,
}

/// `n` bytes (or bytes a second) written as `units` say: tf's one byte
/// formatter, so `ls -h`, `df` and a progress bar scale alike.
pub fn bytes(n: f64, units: Units) -> String {
    const SHORT: [&str; 7] = ["B", "K", "M", "G", "T", "P", "E"];
    const IEC: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let top = match units {
        Units::Iec => IEC.len() - 1,
        Units::Ls | Units::Df => SHORT.len() - 1,
    };
    let (mut v, mut i) = (n, 0);
    while v >= 1024.0 && i < top {
        v /= 1024.0;
        i += 1;
    }
    match units {
        Units::Iec => format!("{v:.1} {}", IEC[i]),
        Units::Ls if i == 0 => format!("{n}"),
        Units::Df if i == 0 => format!("{n}B"),
        Units::Df if v < 10.0 => format!("{v:.1}{}", SHORT[i]),
        Units::Df => format!("{v:.0}{}", SHORT[i]),
        Units::Ls => {
            // ls rounds up: a size is never shown smaller than it is
            if v < 10.0 {
                let r = (v * 10.0).ceil() / 10.0;
                if r < 10.0 {
                    return format!("{r:.1}{}", SHORT[i]);
                }
            }
            format!("{}{}", v.ceil() as u64, SHORT[i])
        }
    }
}

/// A size as `ls -lh` writes it ([`Units::Ls`]).
pub fn human_size(n: u64) -> String {
    bytes(n as f64, Units::Ls)
}

/// One `sha256sum` line for the SHA256 answer `reply` (`0x` and 64 hex
/// digits) of `name`; None when the answer is not a digest. A name holding a
/// backslash or a newline is escaped and the line starts with `\`, as
/// sha256sum does.
pub fn sha256_line(reply: &[u8], name: &str) -> Option<String> {
    let hex = reply.strip_prefix(b"0x").unwrap_or(reply);
    if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let hex = String::from_utf8_lossy(hex).to_ascii_lowercase();
    if name.contains(['\\', '\n']) {
        let escaped = name.replace('\\', "\\\\").replace('\n', "\\n");
        Some(format!("\\{hex}  {escaped}"))
    } else {
        Some(format!("{hex}  {name}"))
    }
}

/// FSTAT's answer (`T size atime mtime`) for `path` in words, one field a
/// line (as stat(1)); None when the answer has another shape.
pub fn fstat_text(reply: &[u8], path: &str) -> Option<String> {
    let text = std::str::from_utf8(reply).ok()?;
    let [t, size, atime, mtime] = text.split(' ').collect::<Vec<_>>()[..] else {
        return None;
    };
    let (size, atime, mtime): (u64, i64, i64) = (size.parse().ok()?, atime.parse().ok()?, mtime.parse().ok()?);
    let kind = match t {
        "D" => "directory",
        "F" => "regular file",
        _ => "other (a symlink or a special file)",
    };
    Some(format!(
        "  File: {path}\n  Type: {kind}\n  Size: {size} bytes ({})\nAccess: {}\nModify: {}",
        human_size(size),
        local_time(atime),
        local_time(mtime)
    ))
}

/// FREESP's answer (bytes) in words; None when it is not a number.
pub fn freesp_text(reply: &[u8]) -> Option<String> {
    let n: u64 = std::str::from_utf8(reply).ok()?.trim().parse().ok()?;
    Some(format!("{} free ({n} bytes)", human_size(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_ls_h_writes_them() {
        assert_eq!(human_size(0), "0");
        assert_eq!(human_size(1023), "1023");
        assert_eq!(human_size(1024), "1.0K");
        assert_eq!(human_size(1536), "1.5K");
        assert_eq!(human_size(1025), "1.1K");
        assert_eq!(human_size(10 * 1024), "10K");
        assert_eq!(human_size(10 * 1024 - 1), "10K");
        assert_eq!(human_size(5 << 30), "5.0G");
    }

    #[test]
    fn human_units() {
        // as `df -h` writes them (tf df; the test was tfp-client's space.rs's)
        let human = |n: u64| bytes(n as f64, Units::Df);
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(50 << 20), "50M");
        assert_eq!(human(82 * (1 << 30) + (1 << 29)), "82G");
    }

    #[test]
    fn transfer_figures_in_iec_units() {
        let iec = |n: f64| bytes(n, Units::Iec);
        assert_eq!(iec(0.0), "0.0 B");
        assert_eq!(iec(1023.0), "1023.0 B");
        assert_eq!(iec(1536.0), "1.5 KiB");
        assert_eq!(iec(5.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0), "5120.0 TiB");
    }

    #[test]
    fn sha256_lines_are_sha256sums() {
        let d = [b"0x".as_slice(), &[b'a'; 64]].concat();
        assert_eq!(sha256_line(&d, "f"), Some(format!("{}  f", "a".repeat(64))));
        assert_eq!(sha256_line(&d, "a\\b"), Some(format!("\\{}  a\\\\b", "a".repeat(64))));
        assert_eq!(sha256_line(b"0x12", "f"), None);
    }
}
