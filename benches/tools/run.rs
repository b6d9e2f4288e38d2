//! The whole run: the bed, the phases in the budget, the report.

use super::bed::Bed;
use super::big::phase_big;
use super::changed::phase_changed;
use super::contest::Outcome;
use super::mirror::{phase_mirror, Mirrors};
use super::options::{
    Options, CHANGED_MIB, GCM, GOAL_BIG, GOAL_CHANGED, GOAL_GET, GOAL_MIRROR, GOAL_PUT_NOSYNC, GOAL_PUT_SYNC,
    MIRROR_FILES, TREE_FILES, TREE_FILE_BYTES,
};
use super::report::{phase, report, Line};
use super::shell_loop::phase_loop;
use super::tree::phase_tree;
use crate::support::sshd::{missing_tools, Sshd};
use crate::support::{log_problems, private_tempdir, tf_binary, tfd_binary, Server};
use std::thread;
use std::time::Instant;

pub(crate) fn run(o: &Options) -> Result<(), String> {
    let started = Instant::now();
    let deadline = started + o.budget;
    let mut kv = String::from("BENCH_TOOLS");
    if let Some(why) = missing_tools() {
        println!("tools bench: skipped: {why}");
        println!();
        println!("BENCH_TOOLS skipped=true");
        return Ok(());
    }
    let (tfd, tf) = (tfd_binary()?, tf_binary()?);
    let bed = Bed {
        tf,
        sshd: Sshd::start()?,
        // each its own control socket, beside its config, not the machine's
        sync: Server::start_with(&tfd, "sync_uploads yes\ncontrol_socket ctl.sock\n")?,
        nosync: Server::start_with(&tfd, "sync_uploads no\ncontrol_socket ctl.sock\n")?,
        dir: private_tempdir("tools")?,
        jobs: o.jobs_args(),
    };
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "tf against sftp, scp and rsync on loopback: {} and {}, sshd on 127.0.0.1:{}, {cpus} CPU(s){}",
        bed.tf.display(),
        tfd.display(),
        bed.sshd.port(),
        o.jobs.map_or(String::new(), |j| format!(", tf --jobs {j}"))
    );
    let result = (|| -> Result<(), String> {
        let p = run_phases(&bed, o, deadline)?;
        println!();
        report(&lines(o, &p), &mut kv);
        if let Some(m) = p.mirror.as_ref().filter(|m| !m.replaced.is_empty()) {
            replaced(m, &mut kv);
        }
        println!(
            "each ratio: the median over the rounds of (the other's time ÷ tf's time) in the same round; times are \
             medians of whole commands (start, handshake, authentication, transfer); > 1 means tf was faster"
        );
        Ok(())
    })();

    for (name, s) in [("sync_uploads yes", &bed.sync), ("sync_uploads no", &bed.nosync)] {
        let problems = log_problems(&s.log_text());
        if !problems.is_empty() {
            println!("tfd ({name}): {} warning/error line(s) in its log", problems.len());
            for l in problems.iter().take(5) {
                println!("  {l}");
            }
        }
    }
    drop(bed);
    result?;
    let secs = started.elapsed().as_secs_f64();
    println!("total time {secs:.1} s");
    println!();
    kv.push_str(&format!(
        " rounds={} big_rounds={} big_mib={} cpus={cpus} quick={} secs={secs:.1}",
        o.rounds, o.big_rounds, o.big_mib, o.quick
    ));
    println!("{kv}");
    Ok(())
}

/// What the phases measured (None: not asked for, or over the budget).
pub(crate) struct Phases {
    pub(crate) tree: Option<(Outcome, Outcome)>,
    pub(crate) big: Option<(Outcome, Outcome)>,
    pub(crate) mirror: Option<Mirrors>,
    pub(crate) changed: Option<(Outcome, Outcome)>,
    pub(crate) edited: Option<(Outcome, Outcome)>,
    pub(crate) lp: Option<Outcome>,
}

/// Runs each phase asked for while the budget lasts.
fn run_phases(bed: &Bed, o: &Options, deadline: Instant) -> Result<Phases, String> {
    let in_budget = |what: &str| {
        let ok = Instant::now() < deadline;
        if !ok {
            println!("  skipping {what}: over the {} s budget", o.budget.as_secs());
        }
        ok
    };
    let tree = if o.wants("tree") && in_budget("tree") {
        Some(phase("tree", || phase_tree(bed, o, deadline))?)
    } else {
        None
    };
    let big = if o.wants("big") && in_budget("big") {
        Some(phase("big", || phase_big(bed, o, deadline))?)
    } else {
        None
    };
    let mirror = if o.wants("mirror") && in_budget("mirror") {
        Some(phase("mirror", || phase_mirror(bed, o, deadline))?)
    } else {
        None
    };
    let changed = if o.wants("changed") && in_budget("changed") {
        Some(phase("changed", || phase_changed(bed, o, deadline, "changed"))?)
    } else {
        None
    };
    let edited = if o.wants("edited") && in_budget("edited") {
        Some(phase("edited", || phase_changed(bed, o, deadline, "edited"))?)
    } else {
        None
    };
    let lp = if o.wants("loop") && in_budget("loop") {
        Some(phase("loop", || phase_loop(bed, o, deadline))?)
    } else {
        None
    };

    Ok(Phases {
        tree,
        big,
        mirror,
        changed,
        edited,
        lp,
    })
}

/// The report's lines: tf against the other tool in each phase that ran.
fn lines<'a>(o: &Options, p: &'a Phases) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if let Some((up, down)) = &p.tree {
        let n = format!("{TREE_FILES} × {} KiB", TREE_FILE_BYTES >> 10);
        lines.push(Line {
            key: "put_r_sync",
            what: format!("tf put -r ÷ sftp put -r, {n}, sync_uploads yes"),
            outcome: up,
            tf: "tf put -r, sync yes",
            other: "sftp put -r",
            goal: Some(GOAL_PUT_SYNC),
        });
        lines.push(Line {
            key: "put_r_nosync",
            what: format!("tf put -r ÷ sftp put -r, {n}, sync_uploads no"),
            outcome: up,
            tf: "tf put -r, sync no",
            other: "sftp put -r",
            goal: Some(GOAL_PUT_NOSYNC),
        });
        lines.push(Line {
            key: "get_r",
            what: format!("tf get -r ÷ sftp get -r, {n}"),
            outcome: down,
            tf: "tf get -r",
            other: "sftp get -r",
            goal: Some(GOAL_GET),
        });
    }
    if let Some((up, down)) = &p.big {
        let m = if o.big_mib == 1024 {
            "1 GiB".to_string()
        } else {
            format!("{} MiB", o.big_mib)
        };
        lines.push(Line {
            key: "big_put",
            what: format!("tf put ÷ sftp put, {m}, sftp -c {GCM}"),
            outcome: up,
            tf: "tf put",
            other: "sftp put",
            goal: Some(GOAL_BIG),
        });
        lines.push(Line {
            key: "big_get",
            what: format!("tf get ÷ sftp get, {m}, sftp -c {GCM}"),
            outcome: down,
            tf: "tf get",
            other: "sftp get",
            goal: Some(GOAL_BIG),
        });
        lines.push(Line {
            key: "big_put_scp",
            what: format!("tf put ÷ scp, {m}, scp -c {GCM}"),
            outcome: up,
            tf: "tf put",
            other: "scp put",
            goal: None,
        });
        lines.push(Line {
            key: "big_get_scp",
            what: format!("tf get ÷ scp, {m}, scp -c {GCM}"),
            outcome: down,
            tf: "tf get",
            other: "scp get",
            goal: None,
        });
        lines.push(Line {
            key: "big_put_nosync",
            what: format!("tf put ÷ sftp put, {m}, sync_uploads no"),
            outcome: up,
            tf: "tf put, sync no",
            other: "sftp put",
            goal: None,
        });
    }
    if let Some(m) = &p.mirror {
        lines.push(Line {
            key: "mirror_up",
            what: format!("tf mirror -R ÷ rsync -a up, {MIRROR_FILES} files unchanged"),
            outcome: &m.up,
            tf: "tf mirror -R",
            other: "rsync -a up",
            goal: Some(GOAL_MIRROR),
        });
        lines.push(Line {
            key: "mirror_down",
            what: format!("tf mirror ÷ rsync -a down, {MIRROR_FILES} files unchanged"),
            outcome: &m.down,
            tf: "tf mirror",
            other: "rsync -a down",
            goal: Some(GOAL_MIRROR),
        });
    }
    let cases = [
        (
            &p.changed,
            ["changed_up", "changed_down"],
            "all changed",
            Some(GOAL_CHANGED),
        ),
        (&p.edited, ["edited_up", "edited_down"], "with 1 MiB rewritten", None),
    ];
    for (outcomes, [key_up, key_down], what, goal) in cases {
        let Some((up, down)) = outcomes else { continue };
        for (key, dir, outcome, tf, other) in [
            (key_up, "mirror -R", up, "tf mirror -R, delta", "tf mirror -R, whole"),
            (key_down, "mirror", down, "tf mirror, delta", "tf mirror, whole"),
        ] {
            lines.push(Line {
                key,
                what: format!("tf {dir} --no-whole-file ÷ --whole-file, {CHANGED_MIB} MiB {what}"),
                outcome,
                tf,
                other,
                goal,
            });
        }
    }
    if let Some(l) = &p.lp {
        lines.push(Line {
            key: "loop_put",
            what: format!("shell loop of tf sndfile --parents ÷ sftp put -r, {TREE_FILES} files"),
            outcome: l,
            tf: "tf sndfile loop",
            other: "sftp put -r",
            goal: None,
        });
    }
    lines
}

/// The destination files a timed mirror run replaced.
fn replaced(m: &Mirrors, kv: &mut String) {
    let r: Vec<String> = m.replaced.iter().map(|(n, c)| format!("{n} {c}")).collect();
    println!(
        "destination files a timed mirror run replaced (most in one run; 0 when nothing changed is seen): {}",
        r.join(", ")
    );
    for (n, c) in &m.replaced {
        kv.push_str(&format!(
            " {}_replaced={c}",
            n.replace([' ', '-'], "_").replace("__", "_")
        ));
    }
}
