//! The soak's command line.

pub(crate) struct Options {
    pub(crate) clients: usize,
    pub(crate) secs: u64,
    pub(crate) kills: usize,
    pub(crate) max_size: u64,
    pub(crate) seed: u64,
}

impl Options {
    pub(crate) fn parse() -> Result<Options, String> {
        let mut o = Options {
            clients: 256,
            secs: 600,
            kills: 0,
            max_size: 4 << 20,
            seed: 0,
        };
        let mut kills = None;
        let mut seed = None;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut num = |what: &str| -> Result<u64, String> {
                args.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("{what} needs a number"))
            };
            match a.as_str() {
                // cargo bench passes --bench to harness = false targets
                "--bench" => {}
                "--clients" => o.clients = num("--clients")?.clamp(1, 1024) as usize,
                "--secs" => o.secs = num("--secs")?.clamp(10, 7200),
                "--kills" => kills = Some(num("--kills")?.min(1000) as usize),
                "--max-size" => o.max_size = num("--max-size")?.clamp(1, 64 << 20),
                "--seed" => seed = Some(num("--seed")?),
                "-h" | "--help" => {
                    return Err("usage: soak [--clients N] [--secs S] [--kills K] [--max-size BYTES] [--seed X]".into())
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        o.kills = kills.unwrap_or((o.secs / 60).max(3) as usize);
        o.seed = match seed {
            Some(s) => s,
            None => {
                let mut b = [0u8; 8];
                getrandom::getrandom(&mut b).map_err(|e| e.to_string())?;
                u64::from_le_bytes(b)
            }
        };
        Ok(o)
    }
}
