//! `spillway plan --validate`: the plan's first year replayed in the simulator's scenario
//! machinery (`spillway_sim::cloud`), against the plan's own estimate
//! (`spillway_plan::validate`). docs/plan.md, "Validation in the simulator", states the method.
//!
//! The scenario: one owned pool per `[[owned]]` entry (out of service from its retirement
//! month), one per build option (its chips in service month by month); both are paid for
//! whether busy or not (opex; capex payment plus opex for builds, as the model charges them),
//! so they cost nothing more to use and their pools are priced at 0 for the placement policy, one committed pool per accelerator a signed commitment
//! covers (a contract of the committed spend, its discount, its term, from its start month),
//! and one on-demand or spot pool per `[[rent]]` (its stated cap, with stockouts at its stated
//! unavailability). The workload: jobs of each class's shape (`job_shape`) sampled month by
//! month to the plan's mean demand, with seeded uniform arrivals. Demand and capacities are
//! multiplied by a scale factor (at most `max_jobs` jobs); costs are divided by it.

use anyhow::{Context, Result, bail};
use spillway_catalog::Catalog;
use spillway_core::SimTime;
use spillway_core::econ::{
    CheckpointModel, ContractTerms, EconPolicy, FailureKind, PlanKind, SECONDS_PER_MONTH,
};
use spillway_plan::PlanInput;
use spillway_plan::input::{HOURS_PER_MONTH, RentKind};
use spillway_plan::solve::PeriodCost;
use spillway_plan::validate::{
    ContractUse, JobShape, PoolUse, Replay, Service, YearOne, build_price_per_chip_hour, job_shape,
};
use spillway_sim::cloud::{
    Accounting, Availability, EconSimJob, EconSummary, Scenario, SimPool, run_scenario,
};
use std::time::Instant;

/// Chips of a pool the plan does not cap.
const UNCAPPED: u32 = 1_000_000;
/// Seconds in one of the plan's months (730 hours).
const MONTH_S: f64 = HOURS_PER_MONTH * 3600.0;
/// Most a job's hours are stretched to keep the replay within its job count (then the scale
/// shrinks).
const MAX_STRETCH: f64 = 7.0;
/// Seconds between the simulator's ticks (accruals, availability changes, retries).
const TICK_S: f64 = 900.0;
/// Mean length of a stockout, hours (the scenario files' default).
const STOCKOUT_MEAN_H: f64 = 2.0;
/// A job's deadline: the end of its arrival month, or this many times its run time on the
/// slowest accelerator that can run it after its arrival (at most a month) if later.
const DEADLINE_FACTOR: f64 = 2.0;

/// What the run to the end of a month gives: its cost by then, and for the last month the
/// service, the pools and the contracts.
type MonthRun = (
    PeriodCost,
    Option<(Service, Vec<PoolUse>, Vec<ContractUse>)>,
);

/// What a pool costs per month regardless of use (owned and built capacity), and its source.
struct Fixed {
    /// Chips in service per month (scaled).
    chips: Vec<u32>,
    price: f64,
    build: bool,
}

fn month_series(chips: &[f64], scale: f64) -> Vec<u32> {
    chips
        .iter()
        .map(|c| (c * scale).round().max(0.0) as u32)
        .collect()
}

/// Availability following `values` month by month (held at the last value after them).
fn monthly(values: &[u32]) -> Availability {
    let max = values.iter().copied().max().unwrap_or(0);
    if values.iter().all(|&v| v == max) {
        return Availability::Always;
    }
    let mut v = values.to_vec();
    // The series replays cyclically: hold the last month for ten years.
    let last = *v.last().unwrap_or(&0);
    v.resize(v.len() + 120, last);
    Availability::Trace {
        gap_s: MONTH_S,
        values: v,
        max,
    }
}

/// Replays the first `year.months` months of the plan in the simulator.
pub(crate) fn replay(
    input: &PlanInput,
    year: &YearOne,
    catalog: &Catalog,
    max_jobs: usize,
) -> Result<Replay> {
    let started = Instant::now();
    let months = year.months;
    if max_jobs == 0 {
        bail!("--validate-jobs must be at least 1");
    }
    let shapes: Vec<(u32, f64)> = input.classes.iter().map(|c| job_shape(c.kind)).collect();
    let natural: f64 = year
        .class_demand_ref_hours
        .iter()
        .zip(&shapes)
        .map(|(row, (chips, hours))| row.iter().sum::<f64>() / (f64::from(*chips) * hours))
        .sum();
    if natural <= 0.0 {
        bail!("--validate: the plan has no demand in its first {months} months to replay");
    }
    // Fewer, longer jobs first (up to MAX_STRETCH times the shape's hours), then a smaller
    // scale. Scaled jobs shrink with the pools (at least one chip) so that a pool holds as many
    // jobs at once as at full size: a pool that holds few jobs idles between them (the plan's
    // capacity is fluid), and scaling must not make that worse than it is.
    let stretch = (natural / max_jobs as f64).clamp(1.0, MAX_STRETCH);
    let work: Vec<f64> = year
        .class_demand_ref_hours
        .iter()
        .map(|row| row.iter().sum())
        .collect();
    let chips_at =
        |s: f64, shape: u32| -> u32 { ((f64::from(shape) * s).round() as u32).clamp(1, shape) };
    let count_at = |s: f64| -> f64 {
        shapes
            .iter()
            .zip(&work)
            .map(|((chips, hours), w)| s * w / (f64::from(chips_at(s, *chips)) * hours * stretch))
            .sum()
    };
    let scale = if count_at(1.0) <= max_jobs as f64 {
        1.0
    } else {
        // The largest scale whose job count fits (the count grows with the scale).
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if count_at(mid) <= max_jobs as f64 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo.max(f64::MIN_POSITIVE)
    };
    let mut notes = Vec::new();
    if stretch > 1.0 {
        notes.push(format!(
            "jobs run {stretch:.2} times their shape's hours ({natural:.0} jobs at the shapes' \
             length, at most {max_jobs} replayed)"
        ));
    }
    if scale < 1.0 {
        notes.push(format!(
            "demand, every capacity and the jobs' chips scaled by {scale:.5}; costs divided by it"
        ));
    }
    let reference = catalog
        .accelerator(&input.reference)
        .with_context(|| format!("--validate: [plan] reference `{}`", input.reference))?
        .clone();
    let spec_of = |a: usize| -> Result<_> {
        let name = &input.accelerators[a].name;
        Ok(catalog
            .accelerator(name)
            .with_context(|| format!("--validate: accelerator `{name}`"))?
            .clone())
    };
    let mut pools: Vec<SimPool> = Vec::new();
    let mut fixed: Vec<Option<Fixed>> = Vec::new();
    let pool = |name: String,
                plan: PlanKind,
                provider: &str,
                a: usize,
                quota: u32,
                price: f64,
                availability: Availability|
     -> Result<SimPool> {
        let spec = spec_of(a)?;
        Ok(SimPool {
            name: name.clone(),
            plan,
            provider: provider.to_ascii_lowercase(),
            region: "plan".into(),
            zone: name,
            accelerator: spec.name.clone(),
            kind: input.accelerators[a].kind,
            spec,
            quota_chips: quota,
            shapes: vec![1],
            multi_unit: true,
            price_per_chip_hour: price,
            list_price_per_chip_hour: None,
            contract: None,
            availability,
            failure: FailureKind::ZoneCapacity,
        })
    };
    // Owned fleet and builds: what is in service each month (and after, for the jobs still
    // running at the end).
    let span = months + 24;
    for o in &input.owned {
        let end = o.retire_month.unwrap_or(usize::MAX);
        let chips: Vec<f64> = (0..span)
            .map(|m| if m < end { o.chips } else { 0.0 })
            .collect();
        let series = month_series(&chips, scale);
        let quota = series.iter().copied().max().unwrap_or(0);
        if quota == 0 {
            continue;
        }
        pools.push(pool(
            format!("owned {}", o.name),
            PlanKind::Owned,
            "owned",
            o.accelerator,
            quota,
            0.0,
            monthly(&series),
        )?);
        fixed.push(Some(Fixed {
            chips: series,
            price: o.opex_per_chip_hour,
            build: false,
        }));
    }
    for (b, o) in input.builds.iter().enumerate() {
        let chips: Vec<f64> = (0..span)
            .map(|m| {
                year.builds[b]
                    .iter()
                    .enumerate()
                    .filter(|(q, _)| {
                        let arrive = 3 * q + o.lead_time_months;
                        (arrive..arrive + o.lifetime_months).contains(&m)
                    })
                    .map(|(_, c)| c)
                    .sum()
            })
            .collect();
        let series = month_series(&chips, scale);
        let quota = series.iter().copied().max().unwrap_or(0);
        if quota == 0 {
            continue;
        }
        let price = build_price_per_chip_hour(input, b);
        pools.push(pool(
            format!("build {}", o.name),
            PlanKind::Owned,
            "owned",
            o.accelerator,
            quota,
            0.0,
            monthly(&series),
        )?);
        fixed.push(Some(Fixed {
            chips: series,
            price,
            build: true,
        }));
    }
    // Commitments signed to start within the replayed months.
    let mut contracts = Vec::new();
    for (c, choice) in year.commitments.iter().enumerate() {
        let Some(ch) = choice else { continue };
        let offer = &input.commitments[c];
        if ch.start_month >= months {
            notes.push(format!(
                "commitment `{}` starts in month {}, after the replayed months",
                offer.name, ch.start_month
            ));
            continue;
        }
        let discount = offer.tiers[ch.tier].discount;
        let terms = ContractTerms {
            name: offer.name.clone(),
            provider: offer.provider.clone(),
            total_usd: ch.spend_usd * scale,
            // The plan's months are 730 hours, the simulator's 730.5.
            term_months: offer.term_months as f64 * MONTH_S / SECONDS_PER_MONTH,
            discount_percent: discount * 100.0,
            overage_discount_percent: None,
            renewals: None,
            accelerators: offer
                .covered
                .iter()
                .map(|(a, _)| input.accelerators[*a].name.clone())
                .collect(),
            regions: Vec::new(),
            burn_points: Vec::new(),
        };
        let contract = terms
            .into_contract(SimTime::from_secs(ch.start_month as f64 * MONTH_S), |a| {
                catalog
                    .accelerator_name(a)
                    .map(str::to_string)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| {
                anyhow::anyhow!(
                    "--validate: commitment `{}`: {}: {}",
                    offer.name,
                    e.field,
                    e.message
                )
            })?;
        let index = contracts.len();
        contracts.push(contract);
        for &(a, list) in &offer.covered {
            let quota = offer
                .max_chips
                .map_or(UNCAPPED, |m| (m * scale).round().max(1.0) as u32);
            let mut p = pool(
                format!("committed {} {}", offer.name, input.accelerators[a].name),
                PlanKind::Committed,
                &offer.provider,
                a,
                quota,
                list * (1.0 - discount),
                Availability::Always,
            )?;
            p.list_price_per_chip_hour = Some(list);
            p.contract = Some(index);
            pools.push(p);
            fixed.push(None);
        }
    }
    for (r, rent) in input.rentals.iter().enumerate() {
        let (plan, what) = match rent.kind {
            RentKind::OnDemand => (PlanKind::OnDemand, "on-demand"),
            RentKind::Spot => (PlanKind::Spot, "spot"),
        };
        let quota = rent.max_chips.map_or(UNCAPPED, |m| {
            (m / rent.availability.max(1e-9) * scale).round() as u32
        });
        if quota == 0 {
            continue;
        }
        let availability = if rent.availability < 1.0 {
            Availability::stockouts(
                1.0 - rent.availability,
                STOCKOUT_MEAN_H * 3600.0,
                input.seed.wrapping_add(r as u64),
            )
        } else {
            Availability::Always
        };
        let name = format!(
            "{} {} {what}",
            rent.provider, input.accelerators[rent.accelerator].name
        );
        let mut p = pool(
            name,
            plan,
            &rent.provider,
            rent.accelerator,
            quota,
            rent.price_per_chip_hour,
            availability,
        )?;
        p.list_price_per_chip_hour = Some(rent.price_per_chip_hour);
        pools.push(p);
        fixed.push(None);
    }
    if input.tpu_speed_factor != 1.0 {
        notes.push(format!(
            "the plan multiplies TPU speeds by {}; the simulator runs the roofline speeds",
            input.tpu_speed_factor
        ));
    }
    if input
        .rentals
        .iter()
        .any(|r| r.kind == RentKind::Spot && r.efficiency < 1.0)
    {
        notes.push(
            "spot: the plan's preemption overhead is a fixed share of each chip-hour; the replay \
             preempts jobs when a stockout takes the capacity back (work since the last \
             checkpoint lost, 300 s restart)"
                .into(),
        );
    }

    // The workload.
    let mut rng = SplitMix(input.seed ^ 0x005e_ed0f_7a11);
    let mut jobs: Vec<EconSimJob> = Vec::new();
    let mut due: Vec<SimTime> = Vec::new();
    let mut job_shapes = Vec::new();
    for (k, class) in input.classes.iter().enumerate() {
        let (chips, hours) = shapes[k];
        let (chips, hours) = (chips_at(scale, chips), hours * stretch);
        // A job must fit one pool it can run on.
        let largest = pools
            .iter()
            .filter(|p| class.framework.runs_on(p.kind))
            .map(|p| p.quota_chips)
            .max()
            .unwrap_or(0);
        if largest == 0 {
            bail!(
                "--validate: class `{}` ({}) has no pool in the replay that can run it",
                class.name,
                class.framework
            );
        }
        let chips = chips.min(largest);
        // Its run time on the slowest accelerator that can run it, in reference hours.
        let slowest = input
            .accelerators
            .iter()
            .map(|a| a.speed[k])
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min)
            .min(1.0);
        let per_job = f64::from(chips) * hours;
        let mut n = 0;
        for m in 0..months {
            let x = year.class_demand_ref_hours[k][m] * scale / per_job;
            let count = x.floor() as usize + usize::from(rng.next() < x.fract());
            for _ in 0..count {
                let arrival_s = (m as f64 + rng.next()) * MONTH_S;
                let arrival = SimTime::from_secs(arrival_s);
                let deadline_s = ((m + 1) as f64 * MONTH_S)
                    .max(arrival_s + (DEADLINE_FACTOR * hours / slowest * 3600.0).min(MONTH_S));
                due.push(SimTime::from_secs(deadline_s));
                jobs.push(EconSimJob {
                    trace_id: format!("{}-{m}-{n}", class.name),
                    arrival,
                    work_s: hours * 3600.0,
                    chips,
                    framework: class.framework,
                    kind: class.kind,
                    // The plan's service level, as the placement policy sees it: due by the end
                    // of its month (a job with slack waits for spot rather than rent on demand).
                    deadline: Some(SimTime::from_secs(deadline_s)),
                });
                n += 1;
            }
        }
        job_shapes.push(JobShape {
            class: class.name.clone(),
            chips,
            hours,
            jobs: n,
        });
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| (jobs[i].arrival, i));
    let jobs: Vec<EconSimJob> = order.iter().map(|&i| jobs[i].clone()).collect();
    let due: Vec<SimTime> = order.iter().map(|&i| due[i]).collect();

    let spot_places = pools.iter().filter(|p| p.plan == PlanKind::Spot).count() as f64;
    let base = Scenario {
        name: format!("{} (first {months} months)", input.name),
        pools,
        contracts,
        jobs,
        checkpoint: CheckpointModel {
            interval_s: 1800.0,
            restart_overhead_s: 300.0,
            failover_allowance_s: spot_places * 120.0,
        },
        launch_failure_s: 120.0,
        failover_half_life_s: 1800.0,
        tick_s: TICK_S,
        reference,
        seed: input.seed,
        accounting: Accounting {
            horizon: SimTime::from_secs(months as f64 * MONTH_S),
            horizon_source: "stated",
            delay_usd_per_job_hour: 0.0,
            deadline_miss_usd: 0.0,
        },
    };
    let policy = EconPolicy::CommitmentAware;

    // One run per month end m, with the jobs that arrive before it and its books closed there:
    // a run does not look ahead, so the first m months of it are those of the whole year's run;
    // month m's cost is the difference of two such runs. Longest runs first, side by side on
    // the cores.
    let ends: Vec<usize> = (1..=months).rev().collect();
    let runs: Vec<MonthRun> = spillway_sim::parallel::map(&ends, |&m| {
        let end = SimTime::from_secs(m as f64 * MONTH_S);
        let mut s = base.clone();
        s.jobs.retain(|j| j.arrival < end);
        s.accounting.horizon = end;
        let o = run_scenario(&s, policy, &mut |_, _| {});
        let summary = EconSummary::new(&s, &o);
        let plan_cost = |name: &str| summary.cost_by_plan.get(name).copied();
        let mut cost = PeriodCost {
            commitment: plan_cost("committed").unwrap_or(0.0),
            on_demand: plan_cost("on-demand").unwrap_or(0.0),
            spot: plan_cost("spot").unwrap_or(0.0),
            ..PeriodCost::default()
        };
        // Late work, as the plan prices what it defers (per period late) or loses.
        let mut on_time = 0.0;
        let mut total = 0.0;
        let mut misses = 0;
        for ((j, f), deadline) in s.jobs.iter().zip(&o.finishes).zip(&due) {
            let work = f64::from(j.chips) * j.work_s / 3600.0;
            total += work;
            let deadline = *deadline;
            match f {
                Some(f) if *f <= deadline => on_time += work,
                Some(f) => {
                    misses += 1;
                    let late_months = (f.0 - deadline.0) as f64 / 1e6 / MONTH_S;
                    match (input.deferral_cost, input.lost_cost) {
                        (Some(c), _) => {
                            cost.deferral += work * c * late_months / input.periods.months as f64;
                        }
                        (None, Some(c)) => cost.lost += work * c,
                        (None, None) => {}
                    }
                }
                None => {}
            }
        }
        let pools: Vec<PoolUse> = summary
            .cost_by_pool
            .iter()
            .zip(&s.pools)
            .zip(&fixed)
            .map(|((line, p), f)| PoolUse {
                pool: line.pool.clone(),
                plan: line.plan.name().to_string(),
                chips: f64::from(p.quota_chips) / scale,
                chip_hours: line.chip_hours / scale,
                available_chip_hours: f.as_ref().map_or(0.0, |f| {
                    f.chips[..months].iter().map(|&c| f64::from(c)).sum::<f64>() * HOURS_PER_MONTH
                        / scale
                }),
                work_share: line.work_share,
            })
            .collect();
        let contracts: Vec<ContractUse> = s
            .contracts
            .iter()
            .zip(&summary.contracts_owed)
            .map(|(c, owed)| ContractUse {
                name: c.name.clone(),
                due_usd: c.scheduled(end).0 / scale,
                used_usd: owed.committed / scale,
                unused_usd: owed.shortfall / scale,
            })
            .collect();
        let service = (m == months).then(|| {
            (
                Service {
                    jobs: s.jobs.len(),
                    avg_jct_hours: summary.avg_jct_hours,
                    p90_jct_hours: summary.p90_jct_hours,
                    deadline_misses: misses,
                    on_time_share: if total > 0.0 { on_time / total } else { 1.0 },
                    planned_service_level: input.service_level,
                    unfinished_at_end: summary.unfinished_jobs,
                    unfinished_ref_hours_at_end: summary.unfinished_accelerator_hours / scale,
                    demand_ref_hours: total / scale,
                    preemptions: o.preemptions,
                    failovers: o.failovers,
                },
                pools,
                contracts,
            )
        });
        (cost, service)
    });
    let mut cumulative: Vec<Option<MonthRun>> = vec![None; months + 1];
    for (m, run) in ends.iter().zip(runs) {
        cumulative[*m] = Some(run);
    }
    let mut service = None;
    let mut months_cost = Vec::with_capacity(months);
    let mut before = PeriodCost::default();
    for (m, entry) in cumulative.iter().enumerate().skip(1) {
        let (cum, s) = entry.clone().context("a replay run is missing")?;
        let mut month = PeriodCost::default();
        month.add_scaled(&cum, 1.0 / scale);
        month.add_scaled(&before, -1.0 / scale);
        // Owned and built capacity cost what is in service that month, used or not.
        for f in fixed.iter().flatten() {
            let usd = f64::from(f.chips[m - 1]) * f.price * HOURS_PER_MONTH / scale;
            if f.build {
                month.build += usd;
            } else {
                month.owned += usd;
            }
        }
        months_cost.push(month);
        before = cum;
        if s.is_some() {
            service = s;
        }
    }
    Ok(Replay {
        scale,
        seed: input.seed,
        policy: policy.name().to_string(),
        shapes: job_shapes,
        months: months_cost,
        service: service.clone().map(|s| s.0).unwrap_or_default(),
        pools: service.clone().map(|s| s.1).unwrap_or_default(),
        contracts: service.map(|s| s.2).unwrap_or_default(),
        notes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A small seeded generator of uniforms in [0, 1) (SplitMix64): the workload depends on the
/// plan's seed only.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}
