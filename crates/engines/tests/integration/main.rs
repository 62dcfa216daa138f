//! Tests against the real engines started by `scripts/engines/start-all.sh` (addresses in
//! `target/engines.env` or the environment, see `spillway_engines::env_file`).
//!
//! An engine that is not available makes its tests print a loud SKIPPED line and pass,
//! unless `SPILLWAY_REQUIRE_ENGINES=1`, which turns it into a failure (CI sets it after
//! starting the engines).

mod bench;
mod engines;
mod postgres;
mod ray;
mod slurm;
mod slurm_cluster;
