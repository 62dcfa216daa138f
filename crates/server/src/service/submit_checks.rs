//! Submit-time checks of where a job may run: its `infra` against the declared pools, and a
//! local `workdir` that must exist. Both are refused at submit, with what would work, rather
//! than accepted and then failing at launch or waiting forever.

use super::ServiceError;
use crate::config::{Config, ExecutorKind, Pool};
use spillway_model::spec::{JobSpec, PoolPlace, expand_workdir, infra_matches};

fn place(p: &Pool) -> PoolPlace<'_> {
    PoolPlace {
        name: &p.name,
        executor: p.executor.as_str(),
        provider: &p.location.provider,
        region: &p.location.region,
        zone: &p.location.zone,
    }
}

/// Resolves a SkyPilot-style `infra` (`aws`, `gcp/us-central1`, `slurm/hpc`) among the pools
/// that could hold the job: the one pool it names, the executor kind whose pools are exactly
/// those it names, nothing when it names them all, else the infra as written (the scheduler
/// matches it against the pools' locations). Refuses an `infra` that names no pool, or no
/// pool with the job's accelerators, naming the pools.
pub(super) fn resolve_infra(config: &Config, spec: &mut JobSpec) -> Result<(), ServiceError> {
    check_alternatives_infra(config, spec)?;
    let Some(infra) = spec.resources.infra.clone() else {
        return Ok(());
    };
    let matching: Vec<&Pool> = config
        .pools
        .iter()
        .filter(|p| infra_matches(&infra, &place(p)))
        .collect();
    if matching.is_empty() {
        let places: Vec<String> = config
            .pools
            .iter()
            .map(|p| {
                format!(
                    "{} ({}, {}/{}/{})",
                    p.name,
                    p.executor.as_str(),
                    p.location.provider,
                    p.location.region,
                    p.location.zone
                )
            })
            .collect();
        return Err(ServiceError::Unplaceable(format!(
            "resources.infra: '{infra}' matches no declared pool: infra names a pool, an executor kind (local, slurm, ray) or a cloud[/region[/zone]] of the pools' provider, region and zone; the pools are {}",
            places.join(", ")
        )));
    }
    if matching
        .iter()
        .any(|p| p.name == infra || p.executor.as_str() == infra)
    {
        return Ok(());
    }
    // Only pools that could hold the job matter: every pool for a CPU-only job, else those
    // with one of its accelerators.
    let holds = |p: &Pool| {
        spec.resources.accelerators.is_empty()
            || spec
                .resources
                .accelerators
                .iter()
                .any(|c| p.accelerator.as_deref() == Some(c.accelerator.as_str()))
    };
    let holders: Vec<&Pool> = config.pools.iter().filter(|p| holds(p)).collect();
    let here: Vec<&Pool> = matching.iter().copied().filter(|p| holds(p)).collect();
    let resolved = if here.is_empty() {
        let wanted: Vec<String> = spec
            .resources
            .accelerators
            .iter()
            .map(ToString::to_string)
            .collect();
        let there: Vec<String> = matching
            .iter()
            .map(|p| {
                format!(
                    "{} ({})",
                    p.name,
                    p.accelerator.as_deref().unwrap_or("CPUs")
                )
            })
            .collect();
        return Err(ServiceError::Unplaceable(format!(
            "resources.infra: no pool in '{infra}' has {}: the pools there are {}",
            wanted.join(" or "),
            there.join(", ")
        )));
    } else if here.len() == holders.len() {
        None
    } else if here.len() == 1 {
        Some(here[0].name.clone())
    } else if let Some(kind) = one_executor_kind(&holders, &here) {
        Some(kind.as_str().to_string())
    } else {
        // Several pools of several kinds: the scheduler matches the infra itself.
        Some(infra)
    };
    spec.resources.infra = resolved;
    Ok(())
}

/// Alternatives with an `infra` of their own (`ordered: [{infra: gcp, accelerators: H100:8},
/// {infra: aws, accelerators: A100:8}]`): the scheduler restricts each alternative to the
/// pools within its own infra, so an alternative is refused only when no pool there has its
/// accelerator.
fn check_alternatives_infra(config: &Config, spec: &JobSpec) -> Result<(), ServiceError> {
    let r = &spec.resources;
    if r.alternatives.iter().all(|a| a.infra.is_none()) {
        return Ok(());
    }
    for (i, choice) in r.accelerators.iter().enumerate() {
        let Some(infra) = r.infra_of(i) else {
            continue;
        };
        let there = config.pools.iter().any(|p| {
            p.accelerator.as_deref() == Some(choice.accelerator.as_str())
                && infra_matches(infra, &place(p))
        });
        if !there {
            return Err(ServiceError::Unplaceable(format!(
                "resources: alternative {} ({choice}) asks for infra '{infra}', and no declared pool there has {}",
                i + 1,
                choice.accelerator
            )));
        }
    }
    Ok(())
}

/// The executor kind whose pools among `holders` are exactly `here`, if there is one.
fn one_executor_kind(holders: &[&Pool], here: &[&Pool]) -> Option<ExecutorKind> {
    let kind = here[0].executor;
    let of_kind = holders.iter().filter(|p| p.executor == kind).count();
    (here.iter().all(|p| p.executor == kind) && of_kind == here.len()).then_some(kind)
}

/// Refuses a `workdir` that does not exist when every pool the job could use runs jobs on
/// this machine: it would pass submit and fail at launch.
pub(super) fn check_local_workdir(config: &Config, spec: &JobSpec) -> Result<(), ServiceError> {
    let Some(dir) = spec.workdir.as_deref() else {
        return Ok(());
    };
    let local_only = config.pools.iter().all(|p| {
        p.executor == ExecutorKind::Local
            || spec
                .resources
                .infra
                .as_deref()
                .is_some_and(|i| !infra_matches(i, &place(p)))
    });
    if !local_only {
        return Ok(());
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let path = expand_workdir(dir, home.as_deref());
    if path.is_dir() {
        return Ok(());
    }
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    Err(ServiceError::Refused(format!(
        "workdir: {} is not a directory on the machine that runs the job (this server's; relative paths start at {cwd}): Spillway does not upload a workdir as SkyPilot does; create it there, or leave workdir out for a fresh one",
        path.display()
    )))
}
