//! The official Java client (`../shared/clients/tfprotocol-client-java`), built with
//! plain `javac` once per test binary, and small driver programs (`tests/java/*.java`)
//! that use it against a test server. A driver prints one line per result; the Rust
//! test parses those lines and checks the files on disk itself.

use crate::{tempdir, Server};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The client's source tree: `TFD_JAVA_CLIENT` (the client's checkout), else
/// beside this checkout as in CI (`shared/` next to `main/`). Missing, it is a
/// failure that says where it looked, never a skip.
pub fn java_client_src() -> PathBuf {
    let client = std::env::var_os("TFD_JAVA_CLIENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("../shared/clients/tfprotocol-client-java"));
    let src = client.join("src/main/java");
    assert!(
        src.is_dir(),
        "the official Java client is not at {}: put its checkout there (shared/ beside this \
         checkout) or point TFD_JAVA_CLIENT at it",
        client.display()
    );
    src
}

fn java_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            java_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "java") {
            out.push(p);
        }
    }
}

/// Compiles the client and every driver in `tests/java` into one class directory,
/// once per test binary. Panics with javac's output when either does not compile:
/// a missing JDK is an install problem (`scripts/deps` installs one), never a skip.
pub fn java_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let out = tempdir("javaclient");
        let mut files = Vec::new();
        java_files(&java_client_src(), &mut files);
        java_files(&crate::repo_root().join("tests/java"), &mut files);
        let o = Command::new("javac")
            .arg("-nowarn")
            .arg("-encoding")
            .arg("UTF-8")
            .arg("-d")
            .arg(&out)
            .args(&files)
            .output()
            .unwrap_or_else(|e| panic!("javac: {e} (scripts/deps installs a JDK)"));
        assert!(
            o.status.success(),
            "javac failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    })
}

/// Runs driver class `main_class` (from `tests/java`) against `server`. The driver gets
/// `host port pubkey-path hash` and then `args`. Returns its output; a driver that
/// does not finish within 60 s is killed (and its output so far returned).
pub fn run_java(server: &Server, main_class: &str, args: &[&str]) -> Output {
    let key = server.key_file();
    Command::new("timeout")
        .arg("60")
        .arg("java")
        .arg("-cp")
        .arg(java_classes())
        .arg(main_class)
        .arg(server.host.to_string())
        .arg(server.port.to_string())
        .arg(&key)
        .arg(&server.hash)
        .args(args)
        .output()
        .expect("java")
}

/// The driver's stdout lines, with its stderr attached to any panic message.
pub fn java_lines(o: &Output) -> Vec<String> {
    assert!(
        o.status.success(),
        "java driver failed ({}):\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}
