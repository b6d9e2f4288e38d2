//! The official Java client's NETLOCK family against tfd (driver
//! `tests/java/NetLock.java`): replies as the client reports them, the mutex file
//! on disk, and a second session seeing the Java session's lock.

use tfd_testkit::java::{java_lines, run_java};
use tfd_testkit::*;

#[test]
fn java_client_netlock_and_netmut() {
    let s = Server::start();
    data_dir_write(&s.path("jl/f"), b"f");
    data_dir_write(&s.path("jl/g"), b"g");
    data_dir_write(&s.path("jl/m"), b"");
    let m = s.path("jl/m");
    let lines = java_lines(&run_java(&s, "NetLock", &["jl", m.to_str().unwrap()]));
    let has = |want: &str| {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "no {want:?} in {lines:?}\n{}",
            s.log()
        );
    };
    assert_eq!(lines[0], "connected", "{lines:?}");
    has("netlock OK");
    has("netlock FAILED 54");
    // the client's NETLOCK_TRY carries no timeout: the missing argument is FAILED 16
    has("netlocktry FAILED 16");
    has("netunlock OK");
    has("netunlock FAILED 54");
    has("mutacq OK");
    has("disk javatoken");
    has("mutacq FAILED 55");
    has("mutrel OK");
    has("echo alive");
    assert_eq!(std::fs::read(&m).unwrap(), b"", "released");
    assert_eq!(lines.iter().filter(|l| l.starts_with("netlock OK")).count(), 2);
}
