//! tfd's extension commands say when a word is not theirs (issue 64):
//! `TFDGETMANY 1 5 q` was answered OK, the unknown word silently dropped,
//! so a client asking for something this server lacks was never told.
//! Now any word a command does not know is answered FAILED, and the session
//! goes on; many sessions at once, each trying every form.

use tfd_testkit::*;
use tfp_wire::Status;

/// Each extension command line with a word it does not know.
const UNKNOWN: [(&str, &str); 6] = [
    ("TFDGETMANY", "1 5 q"),
    ("TFDGETMANY", "1 5 p x"),
    ("TFDGETMANY", "1 5 p p"),
    ("TFDPUTMANY", "1 y"),
    ("TFDPUTMANY", "1 x a"),
    ("TFDPUTMANY", "1 1"),
];

/// On the old code `TFDGETMANY 1 5 q` and `1 5 p x` were answered OK.
#[test]
fn an_unknown_word_of_an_extension_command_is_failed_and_the_session_goes_on() {
    let srv = Server::start();
    std::thread::scope(|s| {
        for t in 0..8 {
            let srv = &srv;
            s.spawn(move || {
                let mut c = srv.client();
                for (k, (cmd, arg)) in UNKNOWN.into_iter().enumerate() {
                    let st = c.call(cmd, arg.as_bytes()).unwrap();
                    assert!(matches!(st, Status::Failed(16, _)), "{cmd} {arg} answered {st:?}");
                    // the session goes on
                    assert_ok(c.call("TOUCH", format!("t{t}-{k}").as_bytes()).unwrap());
                }
            });
        }
    });
}
