//! The whole run: every profile, each with its cases.

use super::archive::case_archive;
use super::backups::case_backup;
use super::bed::Bed;
use super::cases::{case_big, case_mirror, case_ops, case_tree, cases_delta, cases_edits};
use super::compress::{case_log, case_pytree};
use super::contest::Case;
use super::options::{Options, Profile};
use super::report::report;
use crate::support::sshd::{missing_tools, Sshd};
use crate::support::wan::{on_signal_clean_up, remember_dir, stopping, wan_dir, Link};
use crate::support::{private_tempdir, tf_binary, tfd_binary, Server};
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One profile: the link, tfd and sshd up, the cases, everything down.
pub(crate) fn run_profile(
    o: &Options,
    wan: &Path,
    name: &str,
    profile: &Profile,
    deadline: Instant,
) -> Result<Vec<Case>, String> {
    let link = Link::up(wan, name, profile.rate, profile.rtt, profile.loss)?;
    let ip: IpAddr = link
        .addr_b
        .parse()
        .map_err(|_| format!("bad address {}", link.addr_b))?;
    let dir = private_tempdir("wan")?;
    remember_dir(&dir);
    let mut bed = Bed {
        o,
        tf: tf_binary()?,
        server: None,
        sshd: None,
        link,
        dir,
        limit: o.limit,
    };
    let server = Server::start_at(&tfd_binary()?, Some(&bed.link.b), ip, None, "control_socket ctl.sock\n")?;
    remember_dir(server.dir());
    bed.server = Some(server);
    let sshd = Sshd::start_at(Some(&bed.link.b), ip)?;
    remember_dir(sshd.dir());
    bed.sshd = Some(sshd);
    println!(
        "profile {}: link {} ({} ↔ {} at {}), tfd on {}, sshd on port {}",
        profile.label(),
        bed.link.name,
        bed.link.a,
        bed.link.b,
        bed.link.addr_b,
        bed.server().tf_args()?.get(1).cloned().unwrap_or_default(),
        bed.sshd().port()
    );
    let mut cases = Vec::new();
    let sizes = o.sizes.clone();
    type Step<'s> = Box<dyn Fn(&Bed) -> Result<Vec<Case>, String> + 's>;
    let steps: Vec<(&str, Step)> = vec![
        ("big", Box::new(|b| case_big(b, deadline))),
        ("tree", Box::new(|b| case_tree(b, deadline, "tree", sizes.tree))),
        (
            "tree10k",
            Box::new(|b| case_tree(b, deadline, "tree10k", sizes.tree10k)),
        ),
        ("archive", Box::new(|b| case_archive(b, deadline, profile))),
        ("mirror", Box::new(|b| case_mirror(b, deadline))),
        ("delta", Box::new(|b| cases_delta(b, deadline))),
        ("edits", Box::new(|b| cases_edits(b, deadline))),
        ("log", Box::new(|b| case_log(b, deadline))),
        ("pytree", Box::new(|b| case_pytree(b, deadline))),
        ("backup", Box::new(|b| case_backup(b, deadline))),
        ("ops", Box::new(|b| case_ops(b, deadline))),
    ];
    for (case, f) in steps {
        if !o.wants(case, profile) || stopping() {
            continue;
        }
        if Instant::now() > deadline {
            println!("  skipping {case}: over the {} s budget", o.budget.as_secs());
            continue;
        }
        let t = Instant::now();
        match f(&bed) {
            Ok(c) => cases.extend(c),
            Err(e) => println!("  {case}: FAILED to set up: {e}"),
        }
        println!("    ({case}: {:.1} s)", t.elapsed().as_secs_f64());
    }
    drop(bed);
    Ok(cases)
}

/// What the bench needs that is not there, first one only.
/// Whether `tool` is a file in a directory of `PATH`.
pub(crate) fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

pub(crate) fn missing() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (network namespaces and TUN devices need it)".into());
    }
    for (tool, package) in [("ip", "iproute2"), ("cc", "gcc"), ("cp", "coreutils"), ("bash", "bash")] {
        if !on_path(tool) {
            return Some(format!("no {tool} ({package}; run scripts/deps)"));
        }
    }
    if let Err(e) = wan_dir() {
        return Some(e);
    }
    missing_tools()
}

pub(crate) fn run(o: &Options) -> Result<(), String> {
    let started = Instant::now();
    if let Some(why) = missing().or_else(|| (!o.same_fs).then(missing_fresh_fs).flatten()) {
        println!("wan bench: cannot run: {why}");
        println!();
        println!("BENCH_WAN missing=true");
        return Err(why);
    }
    on_signal_clean_up()?;
    if !o.same_fs {
        let fs = crate::support::fresh_fs::FreshFs::make(FRESH_FS_GIB)?;
        println!(
            "the bench's files (served and local) on a fresh ext4 at {}",
            fs.path().display()
        );
        // every directory, wanlink's build and the servers' files below it
        std::env::set_var("TMPDIR", fs.path());
        crate::support::fresh_fs::hold(fs);
    }
    SAME_FS.store(o.same_fs, std::sync::atomic::Ordering::Relaxed);
    let r = run_profiles(o, started);
    crate::support::fresh_fs::release();
    r
}

/// The fresh file system's size (sparse): the `edits` case's 1 GiB files
/// with their copies, the trees' copies kept to the end of each case.
pub(crate) const FRESH_FS_GIB: u64 = 32;

/// Whether the files are on the temporary directory's own file system
/// (`--same-fs`): only there do removals need [`settle`]'s wait.
pub(crate) static SAME_FS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// What the fresh file system needs and this machine lacks.
pub(crate) fn missing_fresh_fs() -> Option<String> {
    crate::support::fresh_fs::TOOLS
        .iter()
        .find(|t| !on_path(t))
        .map(|t| format!("no {t} (e2fsprogs, util-linux) for the fresh file system; --same-fs goes without"))
        .or_else(|| {
            (!Path::new("/dev/loop-control").exists())
                .then(|| "no /dev/loop-control (loop devices) for the fresh file system; --same-fs goes without".into())
        })
}

pub(crate) fn run_profiles(o: &Options, started: Instant) -> Result<(), String> {
    let deadline = started + o.budget;
    let wan = wan_dir()?;
    let (tf, tfd) = (tf_binary()?, tfd_binary()?);
    println!(
        "tf against rsync, scp and sftp over an emulated WAN ({}): {} and {}, profiles {}, {} round(s)",
        wan.display(),
        tf.display(),
        tfd.display(),
        o.profiles.iter().map(Profile::label).collect::<Vec<_>>().join(", "),
        o.rounds
    );
    let name = format!("tfw{}", std::process::id() % 1_000_000);
    let mut kv = String::from("BENCH_WAN");
    let mut all = Vec::new();
    for profile in &o.profiles {
        if stopping() {
            return Err("interrupted".into());
        }
        if Instant::now() > deadline {
            println!("skipping profile {}: over the budget", profile.label());
            continue;
        }
        match run_profile(o, &wan, &name, profile, deadline) {
            Ok(cases) => all.push((profile.clone(), cases)),
            Err(e) => {
                println!("profile {}: FAILED: {e}", profile.label());
                kv.push_str(&format!(" {}=failed", profile.key()));
            }
        }
    }
    if stopping() {
        return Err("interrupted: the links, tfd, sshd and the bench's files are removed".into());
    }
    for (profile, cases) in &all {
        report(profile, cases, &mut kv);
    }
    let unfaithful = super::archive::summary(&mut kv);
    println!();
    println!(
        "times: medians of whole commands (start, handshake, authentication, transfer); MiB up/down: what crossed \
         the link each way (IP bytes); link: the file's bits ÷ (time × rate); other ÷ tf: the median of the \
         per-round ratios"
    );
    let secs = started.elapsed().as_secs_f64();
    println!("total time {secs:.1} s");
    let left = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if left.lines().any(|l| l.starts_with(&format!("{name}-"))) {
        return Err(format!("namespaces of {name} left behind: {left}"));
    }
    println!();
    kv.push_str(&format!(
        " rounds={} big_mib={} quick={} smoke={} secs={secs:.1}",
        o.rounds, o.sizes.big_mib, o.quick, o.smoke
    ));
    println!("{kv}");
    if unfaithful > 0 {
        return Err(format!(
            "archive: {unfaithful} of tf's copies not the same as rsync -a's or not left alone by a second run (above)"
        ));
    }
    Ok(())
}
