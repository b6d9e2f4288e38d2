//! `tf shell` under a pseudo-terminal (util-linux script(1)), for the tests
//! of what only a terminal shows: prompts, line editing, Tab, a password
//! asked without echo.

use crate::Server;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `tf … shell` and everything it printed so far.
pub struct Pty {
    pub child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    input: ChildStdin,
}

impl Pty {
    /// `tf --server … --key … --hash … ARGS… shell` against `srv`, run in
    /// `cwd`, without the environment variables named in `unset`.
    pub fn start(srv: &Server, args: &[&str], cwd: Option<&Path>, unset: &[&str]) -> Pty {
        let key = srv.key_file();
        let line = format!(
            "{} --server {} --key {} --hash {} {} shell",
            crate::tf_bin(),
            srv.addr(),
            key.display(),
            srv.hash,
            args.join(" ")
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qfec", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        for v in unset {
            cmd.env_remove(v);
        }
        let mut child = cmd.spawn().expect("script(1) (util-linux) is needed");
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().unwrap();
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let input = child.stdin.take().unwrap();
        Pty { child, out, input }
    }

    pub fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until `needle` was printed `n` times (at most 20 s).
    pub fn wait_for(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.transcript().matches(needle).count() < n {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} x{n} in: {}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `keys` as typed, with no Enter.
    pub fn typed(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }

    /// Sends `l` and Enter.
    pub fn type_line(&mut self, l: &str) {
        self.typed(&format!("{l}\n"));
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
