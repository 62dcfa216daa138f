//! The `spillway` command line.
//!
//! A thin binary: each subcommand parses its flags into the library crates' validated types
//! and renders their results. All logic lives in the library crates.

mod cmd;
mod output;
mod report_html;
mod table;

use clap::{Parser, Subcommand};

/// mimalloc: the simulator and the LP solvers allocate many small, short-lived buffers, and the
/// system allocator made up a fifth of a Gavel-parity run's time (see docs/simulator.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// Spillway: run AI jobs on whatever accelerator capacity you can get, at the lowest cost that
/// meets their deadlines.
#[derive(Debug, Parser)]
#[command(name = "spillway", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List where an accelerator can be rented, and at what price, normalized per chip.
    Offers(cmd::offers::OffersArgs),
    /// Estimate the chips, time and cost to train a model on each accelerator.
    Estimate(cmd::estimate::EstimateArgs),
    /// Committed-spend contracts, simulated (--scenario) or of the server from real usage:
    /// spent vs schedule, projection, share of work.
    Contracts(cmd::contracts::ContractsArgs),
    /// Replay a workload trace through the decision core on a virtual clock.
    Simulate(Box<cmd::simulate::SimulateArgs>),
    /// Run every policy on one trace, side by side with the no-queueing bound.
    Compare(Box<cmd::compare::CompareArgs>),
    /// Replay the service's own history through the simulator: calibration against what
    /// happened, then what-ifs (another policy, configuration or demand).
    Replay(Box<cmd::replay::ReplayArgs>),
    /// Size a capacity portfolio over years: build, commit or rent (two-stage stochastic
    /// MILP), against the baselines; evaluate a contract.
    Plan(Box<cmd::plan::PlanArgs>),
    /// Run the broker: HTTP API, durable store, scheduling loop and executors.
    Serve(cmd::serve::ServeArgs),
    /// Submit a job spec (YAML file or `-` for stdin); prints the job id.
    Submit(cmd::submit::SubmitArgs),
    /// List jobs.
    Jobs(cmd::jobs::JobsArgs),
    /// Show one job with its attempts and history.
    Show(cmd::show::ShowArgs),
    /// Print a job's output.
    Logs(cmd::logs::LogsArgs),
    /// Cancel a job.
    Cancel(cmd::cancel::CancelArgs),
    /// Say why a job waits, or why it runs where it runs.
    Explain(cmd::explain::ExplainArgs),
    /// List the pools and what runs on them.
    Pools(cmd::pools::PoolsArgs),
    /// Check a job spec offline.
    Validate(cmd::validate::ValidateArgs),
    /// Measure the service on this machine: submits per second, scheduling round time.
    Bench(cmd::bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::completions::CompletionsArgs),
    /// Print the man page (roff), from the same definitions as --help.
    Man(cmd::completions::ManArgs),
}

impl Command {
    /// Whether the command was asked for JSON, so that its errors are JSON too.
    fn json(&self) -> bool {
        match self {
            Command::Submit(a) => a.json,
            Command::Validate(a) => a.json,
            Command::Cancel(a) => a.json,
            Command::Logs(a) => a.json,
            Command::Jobs(a) => a.json,
            _ => false,
        }
    }
}

/// The clap definition of the whole command line, for completions and the man page.
pub(crate) fn cli_command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let json = cli.command.json();
    let result = match cli.command {
        Command::Offers(args) => cmd::offers::run(args),
        Command::Estimate(args) => cmd::estimate::run(args),
        Command::Contracts(args) => cmd::contracts::run(args),
        Command::Simulate(args) => cmd::simulate::run(*args),
        Command::Compare(args) => cmd::compare::run(*args),
        Command::Replay(args) => cmd::replay::run(*args),
        Command::Plan(args) => cmd::plan::run(*args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Submit(args) => cmd::submit::run(args),
        Command::Jobs(args) => cmd::jobs::run(args),
        Command::Show(args) => cmd::show::run(args),
        Command::Logs(args) => cmd::logs::run(args),
        Command::Cancel(args) => cmd::cancel::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Pools(args) => cmd::pools::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Completions(args) => cmd::completions::completions(args),
        Command::Man(args) => cmd::completions::man(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<output::Reported>() => ExitCode::from(1),
        Err(err) if err.is::<output::ExitWith>() => {
            ExitCode::from(err.downcast_ref::<output::ExitWith>().map_or(1, |e| e.0))
        }
        Err(err) if json => {
            // Under --json, errors are JSON on standard output too, for scripts.
            println!("{}", output::json_error(&err));
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// `spillway jobs | head` closes stdout early, and `println!` then panics. A filter whose
/// reader has gone should end quietly with success, as Unix tools do. Resetting SIGPIPE would
/// need `unsafe`, which the workspace forbids, so the panic hook recognizes that one panic
/// (std's "failed printing to stdout" with a broken pipe) and exits 0; every other panic goes
/// to the default hook. `output::emit` handles the case without a panic where it is used.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}
