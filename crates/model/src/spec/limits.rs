//! Bounds on what a spec may hold, checked at parse time so that a spec that could never run
//! (or that would overflow the scheduler's time arithmetic) is refused at submit, naming the
//! field and the limit, instead of failing at launch.

use super::parse::Walk;
use super::types::{Deadline, JobSpec, WorkEstimate};

/// The longest duration a spec may give (`work`, `deadline` after submission,
/// `checkpoint.interval`): ten years. Far beyond any real job, and far below where times in
/// milliseconds or microseconds since the epoch overflow 64 bits.
pub const MAX_DURATION_SECS: u64 = 10 * 365 * 86_400;

/// The most training steps `work.steps` may give.
pub const MAX_WORK_STEPS: u64 = 1_000_000_000_000_000;

/// The longest single command text (`run`, `setup`, `checkpoint.resume`) or environment entry
/// (`NAME=value`), bytes. A job's commands reach it as process arguments or environment
/// variables, and Linux refuses a single one over 128 KiB (`MAX_ARG_STRLEN`); this leaves
/// room for the names Spillway adds (`SPILLWAY_RUN=`).
pub const MAX_TEXT_BYTES: usize = 128_000;

/// The most bytes of commands and environment a spec may hold in all: the kernel's limit on
/// arguments plus environment together is typically 2 MiB (`ARG_MAX`, a quarter of the
/// stack limit), and the server's own environment needs some of it.
pub const MAX_TOTAL_BYTES: usize = 1_000_000;

/// The longest name-like field (`tenant`, `workdir`, `resources.infra`, ...), bytes.
pub const MAX_NAME_BYTES: usize = 4096;

/// Why a command text (`run`, `setup`, `checkpoint.resume`, an env value) cannot be handed to
/// a process, if it cannot. `extra` is what the process's argument or variable adds (the
/// variable's `NAME=`).
pub(super) fn command_problem(text: &str, extra: usize) -> Option<String> {
    if text.contains('\0') {
        return Some(
            "contains a NUL byte, which no process argument or environment variable can hold"
                .to_string(),
        );
    }
    let len = text.len() + extra;
    if len > MAX_TEXT_BYTES {
        return Some(format!(
            "{len} bytes is over the limit of {MAX_TEXT_BYTES} bytes (what one process argument can hold): put long scripts in a file in the working directory and run that"
        ));
    }
    None
}

/// Why a name-like field (one line of printable text) is refused, if it is: control
/// characters (newlines, escape sequences, NUL) would reach terminals and logs that print it.
pub(super) fn name_problem(text: &str) -> Option<String> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains the control character {}: use one line of printable text",
            c.escape_default()
        ));
    }
    if text.len() > MAX_NAME_BYTES {
        return Some(format!(
            "{} bytes is over the limit of {MAX_NAME_BYTES} bytes",
            text.len()
        ));
    }
    None
}

/// Why a duration given in seconds is out of bounds, if it is.
pub(super) fn duration_problem(secs: u64) -> Option<String> {
    (secs > MAX_DURATION_SECS).then(|| {
        format!(
            "{secs} s is over the limit of {MAX_DURATION_SECS} s (10 years): give a realistic estimate"
        )
    })
}

/// Checks a walked spec against every bound above, adding an error per field at fault.
pub(super) fn check(w: &mut Walk<'_>, spec: &JobSpec) {
    let names = [
        ("tenant", spec.tenant.as_deref()),
        ("workdir", spec.workdir.as_deref()),
        (
            "workdir.url",
            spec.workdir_git.as_ref().map(|g| g.url.as_str()),
        ),
        (
            "workdir.ref",
            spec.workdir_git.as_ref().and_then(|g| g.git_ref.as_deref()),
        ),
        ("resources.infra", spec.resources.infra.as_deref()),
        ("resources.cpus", spec.resources.cpus.as_deref()),
        ("resources.memory", spec.resources.memory.as_deref()),
    ];
    for (path, value) in names {
        if let Some(problem) = value.and_then(name_problem) {
            w.error(path, problem);
        }
    }
    let resume = spec.checkpoint.as_ref().and_then(|c| c.resume.as_deref());
    let commands = [
        ("run", Some(spec.run.as_str())),
        ("setup", spec.setup.as_deref()),
        ("checkpoint.resume", resume),
    ];
    let mut total = 0;
    for (path, value) in commands {
        let Some(text) = value else { continue };
        total += text.len();
        if let Some(problem) = command_problem(text, 0) {
            w.error(path, problem);
        }
    }
    for (name, value) in &spec.envs {
        let path = format!("envs.{name}");
        total += name.len() + value.len() + 2;
        if let Some(problem) = command_problem(value, name.len() + 1) {
            w.error(&path, problem);
        }
        if name == "PATH" && value.trim().is_empty() {
            w.error(
                &path,
                "empty: the job's commands would not be found; leave PATH out to keep the server's",
            );
        }
    }
    if total > MAX_TOTAL_BYTES {
        w.error(
            "",
            format!(
                "the commands and environment come to {total} bytes, over the limit of {MAX_TOTAL_BYTES} bytes that one process can be given: put long scripts and data in files"
            ),
        );
    }
    match spec.work {
        Some(WorkEstimate::Seconds(s)) => {
            if let Some(problem) = duration_problem(s) {
                w.error("work", problem);
            }
        }
        Some(WorkEstimate::Steps(n)) if n > MAX_WORK_STEPS => w.error(
            "work.steps",
            format!("{n} steps is over the limit of {MAX_WORK_STEPS}"),
        ),
        _ => {}
    }
    if let Some(Deadline::AfterSecs(s)) = spec.deadline {
        if let Some(problem) = duration_problem(s) {
            w.error("deadline", problem);
        }
    }
    let interval = spec.checkpoint.as_ref().and_then(|c| c.interval_secs);
    if let Some(problem) = interval.and_then(duration_problem) {
        w.error("checkpoint.interval", problem);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_control_characters_and_commands_refuse_nul() {
        assert!(name_problem("/home/me/work").is_none());
        let e = name_problem("a\u{1b}[2Jb").unwrap();
        assert!(e.contains("\\u{1b}"), "{e}");
        assert!(name_problem("a\nb").unwrap().contains("\\n"));
        assert!(command_problem("echo a\necho b\t", 0).is_none());
        assert!(command_problem("echo a\0", 0).unwrap().contains("NUL"));
        let long = "x".repeat(MAX_TEXT_BYTES);
        assert!(command_problem(&long, 0).is_none());
        assert!(command_problem(&long, 1).unwrap().contains("128000"));
    }

    fn refused(yaml: &str) -> String {
        let names = crate::spec::AcceleratorNames::new(["H100"]);
        crate::spec::parse_spec(yaml, &names)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn durations_are_bounded_at_parse_time() {
        assert_eq!(
            refused("run: x\nwork: 9223372036854775807s\n"),
            "work: 9223372036854775807 s is over the limit of 315360000 s (10 years): give a realistic estimate"
        );
        assert!(
            refused("run: x\nwork: 10000000000000000s\n")
                .starts_with("work: 10000000000000000 s is over")
        );
        assert!(refused("run: x\ndeadline: 5000w\n").starts_with("deadline: 3024000000 s is over"));
        assert!(
            refused("run: x\ncheckpoint: {interval: 99999d}\n")
                .starts_with("checkpoint.interval: ")
        );
        assert!(
            refused("run: x\nwork: {steps: 18446744073709551615}\n").starts_with("work.steps: ")
        );
        let names = crate::spec::AcceleratorNames::new(["H100"]);
        let ok = crate::spec::parse_spec("run: x\nwork: 3650d\ndeadline: 520w\n", &names);
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn specs_that_could_never_launch_are_refused_naming_the_field() {
        assert!(refused("run: \"echo a\\0b\"\n").starts_with("run: contains a NUL byte"));
        assert!(refused("run: x\nenvs: {A: \"a\\0\"}\n").starts_with("envs.A: contains a NUL"));
        assert!(refused("run: x\nenvs: {PATH: ''}\n").starts_with("envs.PATH: empty"));
        let big = format!("run: {}\n", "x".repeat(140_000));
        assert!(
            refused(&big).starts_with("run: 140000 bytes is over the limit of 128000 bytes"),
            "{}",
            refused(&big)
        );
        let setup = format!("setup: {}\n", "x".repeat(100));
        let envs: String = (0..9)
            .map(|i| format!("  V{i}: {}\n", "y".repeat(120_000)))
            .collect();
        let e = refused(&format!("run: x\n{setup}envs:\n{envs}"));
        assert!(e.contains("over the limit of 1000000 bytes"), "{e}");
    }

    #[test]
    fn name_like_fields_refuse_control_characters() {
        assert!(
            refused("run: x\nworkdir: \"/tmp/\\e[31mred\"\n")
                .starts_with("workdir: contains the control character \\u{1b}")
        );
        assert!(
            refused("run: x\nworkdir: {url: \"/tmp/\\nx\"}\n")
                .starts_with("workdir.url: contains the control character")
        );
        assert!(
            refused("run: x\ntenant: \"a\\nb\"\n")
                .starts_with("tenant: contains the control character \\n")
        );
        assert!(
            refused("run: x\nresources: {infra: \"a\\tb\"}\n").starts_with("resources.infra: ")
        );
    }
}
