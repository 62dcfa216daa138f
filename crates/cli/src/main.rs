//! The `spillway` command line.
//!
//! A thin binary: each subcommand parses its flags into the library crates' validated types
//! and renders their results. All logic lives in the library crates.

mod cmd;
mod output;
mod table;

use clap::{Parser, Subcommand};
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
    /// Replay a workload trace through the decision core on a virtual clock.
    Simulate(Box<cmd::simulate::SimulateArgs>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Offers(args) => cmd::offers::run(args),
        Command::Estimate(args) => cmd::estimate::run(args),
        Command::Simulate(args) => cmd::simulate::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
