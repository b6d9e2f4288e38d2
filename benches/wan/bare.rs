//! A case's floor on the link, measured in the same run as the tools: the
//! case's data as one tar in one zstd stream at level 9 (what tfd offers
//! by default: a 4 MiB window; levels above 9 shrink this tree by under
//! 1% at twice the CPU), sent over one bare TCP connection across the link
//! by a few lines of Python: no handshake, no encryption, no per-file
//! anything (the interpreter's start, about 20 ms, is in its time). No
//! tool moving the same tree can beat it by much, so a target beyond it is
//! past the link (issue 62's tree: the best of rsync divided by this is
//! the most any tool could reach).

use super::bed::Bed;
use super::contest::Contender;
use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;

/// The port the far end listens on, in the servers' namespace.
const PORT: &str = "10397";

/// Both ends, by role: the far one (`far`) binds, says `ready` and takes
/// one connection; the near one (timed, in the clients' namespace)
/// connects. The end that sends (`send`) reads the file first, sends it,
/// and waits for the other's one byte; the end that keeps (`keep`) writes
/// what comes until the sender is done, then answers that byte.
const END: &str = r#"
import socket, sys
role, mode, addr, port, path = sys.argv[1:6]
data = open(path, "rb").read() if mode == "send" else None
if role == "far":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
else:
    c = socket.create_connection((addr, int(port)))
if mode == "send":
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
else:
    with open(path, "wb") as f:
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            f.write(b)
    c.sendall(b"k")
c.close()
"#;

/// The tree below `root` as one tar through one zstd stream at level 9
/// (tfp-wire's encoder: its blocks add 5 bytes per 448 KiB), written to
/// `out`: its size.
pub(crate) fn squeeze_tree(root: &Path, out: &Path) -> Result<u64, String> {
    use tfp_wire::compress::{Encoder, MAX_DATA};
    let tar = Command::new("tar")
        .arg("cf")
        .arg("-")
        .arg("-C")
        .arg(root)
        .arg(".")
        .output()
        .map_err(|e| format!("tar: {e}"))?;
    if !tar.status.success() {
        return Err(format!("tar of {} failed", root.display()));
    }
    let mut enc = Encoder::new(9, 22).ok_or("zstd has no memory")?;
    let mut z = Vec::new();
    for chunk in tar.stdout.chunks(MAX_DATA) {
        enc.compress(chunk, &mut z).map_err(|_| "zstd failed".to_string())?;
    }
    fs::write(out, &z).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(z.len() as u64)
}

/// The Python interpreter itself, not a launcher in front of it: pyenv's
/// `python3` is a shell script that took 70 ms of the floor's time.
fn python() -> Result<String, String> {
    let o = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let exe = String::from_utf8_lossy(&o.stdout).trim().to_string();
    match o.status.success() && !exe.is_empty() {
        true => Ok(exe),
        false => Err("python3 did not name its interpreter".into()),
    }
}

/// The floor's contender: `zst` (made by [`squeeze_tree`]) over one bare
/// connection, up (`up`: from the clients' end) or down, landing in `to`
/// and checked byte for byte.
pub(crate) fn contender<'a>(b: &'a Bed<'_>, zst: PathBuf, to: PathBuf, up: bool) -> Contender<'a> {
    let far: Rc<RefCell<Option<Child>>> = Rc::new(RefCell::new(None));
    let far2 = far.clone();
    let (zst2, to2) = (zst.clone(), to.clone());
    Contender {
        key: "floor",
        name: "floor: one zstd -9 stream, bare TCP".into(),
        is_tf: false,
        prepare: Box::new(move || {
            let _ = fs::remove_file(&to);
            let (far_mode, far_path, near_mode, near_path) = match up {
                true => ("keep", &to, "send", &zst),
                false => ("send", &zst, "keep", &to),
            };
            let py = python()?;
            let mut child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &b.link.b,
                    &py,
                    "-c",
                    END,
                    "far",
                    far_mode,
                    &b.link.addr_b,
                    PORT,
                ])
                .arg(far_path)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("python3 in {}: {e}", b.link.b))?;
            let mut line = String::new();
            if let Some(out) = child.stdout.take() {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            if line.trim() != "ready" {
                let _ = child.kill();
                let _ = child.wait();
                return Err("the bare far end did not start (python3?)".into());
            }
            *far.borrow_mut() = Some(child);
            let mut c = b.link.client(&py);
            c.args(["-c", END, "near", near_mode, &b.link.addr_b, PORT])
                .arg(near_path);
            Ok(c)
        }),
        check: Box::new(move || {
            if let Some(mut child) = far2.borrow_mut().take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            let (want, got) = (fs::read(&zst2), fs::read(&to2));
            let _ = fs::remove_file(&to2);
            match (want, got) {
                (Ok(w), Ok(g)) if w == g => Ok(()),
                (Ok(w), Ok(g)) => Err(format!("{} of {} bytes came", g.len(), w.len())),
                (w, g) => Err(format!("{:?} {:?}", w.err(), g.err())),
            }
        }),
    }
}
