//! The event-driven run of one placement policy over a scenario: arrivals, completions and
//! ticks (every `tick_s`: costs accrue, spot availability changes and preempts, waiting jobs
//! retry). Integer microsecond time, jobs retried in arrival order, seeded processes only:
//! the same scenario and policy always give the same outcome.

use super::report::SpendSample;
use super::scenario::Scenario;
use spillway_core::SimTime;
use spillway_core::econ::{
    Candidate, ContractLedger, EconJob, EconPolicy, FailoverMemory, PACE_HORIZON_S, PlanKind,
    rank_candidates,
};
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;

/// Launch attempts per scheduling pass (the rest wait for the next pass), so that a long queue
/// on a full cluster costs bounded time per event. Jobs that fit in no pool's free quota are
/// skipped without an attempt and do not count.
const SCAN: usize = 512;

use super::run::{AtHorizon, EconOutcome};

/// What was rented (a VM, several VMs, a TPU slice; owned capacity too), billed while any job
/// runs on it. Policies that pack put later jobs on its idle chips.
struct Rental {
    pool: usize,
    chips: u32,
    free: u32,
    jobs: u32,
    start: SimTime,
    billed_until: SimTime,
    price_per_hour: f64,
    /// When its last job is expected to end (from the jobs' work estimates).
    expected_end: SimTime,
}

struct Running {
    job: usize,
    pool: usize,
    rental: usize,
    chips: u32,
    speed: f64,
    start: SimTime,
    credited_until: SimTime,
}

struct State<'a> {
    s: &'a Scenario,
    policy: EconPolicy,
    done_work: Vec<f64>,
    epoch: Vec<u64>,
    slot: Vec<Option<usize>>,
    running: Vec<Option<Running>>,
    free_slots: Vec<usize>,
    rentals: Vec<Option<Rental>>,
    free_rentals: Vec<usize>,
    /// Per pool, its rentals with idle chips (policies that pack only).
    open: Vec<Vec<usize>>,
    /// Chips rented per pool.
    used: Vec<u32>,
    /// Per pool, chips of the jobs at the head of the queue that could run there (policies that
    /// pack), counted at the start of each pass.
    fill: Vec<u32>,
    finishes: BinaryHeap<Reverse<(SimTime, usize, u64)>>,
    memory: FailoverMemory,
    /// Speed of each job kind on each pool (roofline ratio to the reference).
    speeds: Vec<[f64; 3]>,
    drops_per_hour: Vec<f64>,

    /// Per job, the pools its framework allows and the chips it would rent there.
    homes: Vec<Vec<(usize, u32)>>,
    /// Per pool, its place in the failover memory: zone capacity is per accelerator and plan (a
    /// spot H100 stockout says nothing of on-demand H100 or of H200 there); regions and providers
    /// are shared.
    locations: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
    out: EconOutcome,
}

/// Where a candidate would put the job: `chips` rented anew, or onto rental `into`'s idle chips.
#[derive(Debug, Clone, Copy)]
struct Placement {
    chips: u32,
    into: Option<usize>,
}

fn kind_index(k: spillway_core::econ::JobKind) -> usize {
    k as usize
}

impl State<'_> {
    /// Credits the work of the job in `slot` and bills its rental up to `until`.
    fn accrue(&mut self, slot: usize, until: SimTime) {
        let Some(r) = self.running[slot].as_mut() else {
            return;
        };
        let rental = r.rental;
        if until > r.credited_until {
            let productive_from = r
                .start
                .plus_secs_ceil(self.s.checkpoint.restart_overhead_s)
                .max(r.credited_until);
            // Accelerator-seconds of reference work: a 4,096-chip job counts 512 times an 8-chip
            // one.
            let work = ((until.0 - productive_from.0) as f64 / 1e6).max(0.0)
                * r.speed
                * f64::from(r.chips);
            self.out.pool_work_s[r.pool] += work;
            if let Some(c) = self.s.pools[r.pool].contract {
                self.out.ledgers[c].record_work(work);
            }
            r.credited_until = until;
        }
        self.bill(rental, until);
    }

    /// Bills rental `k` up to `until`.
    fn bill(&mut self, k: usize, until: SimTime) {
        let Some(r) = self.rentals[k].as_mut() else {
            return;
        };
        if until <= r.billed_until {
            return;
        }
        let secs = (until.0 - r.billed_until.0) as f64 / 1e6;
        let pool = &self.s.pools[r.pool];
        self.out.pool_chip_hours[r.pool] += secs / 3600.0 * f64::from(r.chips);
        // Committed capacity is billed by its contract's rules (committed price inside the term
        // up to the total, then the overage rate; list outside the terms).
        let cost = match pool.contract {
            Some(c) => {
                let contract = &self.s.contracts[c];
                let list = contract.list_of(r.price_per_hour);
                self.out.ledgers[c]
                    .bill(contract, r.billed_until, until, list)
                    .total()
            }
            None => secs / 3600.0 * r.price_per_hour,
        };
        if pool.plan != PlanKind::Owned {
            self.out.pool_cost[r.pool] += cost;
        }
        r.billed_until = until;
    }

    /// Takes the job in `slot` off its rental at `at` (billed up to then); a rental left without
    /// jobs is given back.
    fn stop(&mut self, slot: usize, at: SimTime) -> Running {
        self.accrue(slot, at);
        let r = self.running[slot].take().expect("running slot");
        self.slot[r.job] = None;
        self.free_slots.push(slot);
        let rental = self.rentals[r.rental].as_mut().expect("rental");
        let was_full = rental.free == 0;
        rental.free += r.chips;
        rental.jobs -= 1;
        if rental.jobs == 0 {
            let gone = self.rentals[r.rental].take().expect("rental");
            self.used[gone.pool] -= gone.chips;

            self.open[gone.pool].retain(|&k| k != r.rental);
            self.free_rentals.push(r.rental);
        } else if was_full && self.policy.packs_rentals() {
            self.open[r.pool].push(r.rental);
        }
        r
    }

    /// What the capacity running under contract `c` will cost over the pace look-ahead from
    /// `now`: each rental until its jobs are expected to end.
    fn committed_ahead(&self, c: usize, now: SimTime) -> f64 {
        let horizon = now.plus_secs_ceil(PACE_HORIZON_S);
        self.rentals
            .iter()
            .flatten()
            .filter(|r| self.s.pools[r.pool].contract == Some(c))
            .map(|r| {
                let until = r.expected_end.min(horizon);
                r.price_per_hour * ((until.0 - now.0).max(0) as f64 / 3.6e9)
            })
            .sum()
    }

    /// A rental of pool `p` that holds `chips` more, for a job expected to end at `end`: the one
    /// it extends least (a job that ends before the rental's others costs nothing more), then the
    /// tightest fit; with what it would cost per hour of the job (the rental's price over the
    /// extension, spread over the job's `run_s`).
    fn best_fit(&self, p: usize, chips: u32, end: SimTime, run_s: f64) -> Option<(usize, f64)> {
        self.open[p]
            .iter()
            .filter_map(|&k| {
                let r = self.rentals[k].as_ref().filter(|r| r.free >= chips)?;
                let extension_s = (end.0 - r.expected_end.0).max(0) as f64 / 1e6;
                let per_hour = r.price_per_hour * extension_s / run_s.max(1.0);
                Some((k, per_hour, r.free))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)))
            .map(|(k, per_hour, _)| (k, per_hour))
    }

    /// Where job `j` stands in the queue: earliest deadline first, then arrival order, under the
    /// policies that know deadlines; arrival order under the baseline (SkyPilot has no queue: each
    /// request retries on its own).
    fn queue_key(&self, j: usize) -> (SimTime, SimTime, usize) {
        let job = &self.s.jobs[j];
        let deadline = match self.policy {
            EconPolicy::Baseline => None,
            EconPolicy::CommitmentAware | EconPolicy::OnDemandOnly => job.deadline,
        };
        (deadline.unwrap_or(SimTime(i64::MAX)), job.arrival, j)
    }

    /// What decides job `j`'s options at `now`: framework, kind, chips, and whether it may use spot
    /// (no deadline, or one that leaves slack for a preemption).
    fn class_of(&self, j: usize, now: SimTime) -> (u8, u8, u32, bool) {
        let job = &self.s.jobs[j];
        let spot_ok = job.deadline.is_none_or(|d| {
            let best = self.homes[j]
                .iter()
                .filter(|(p, _)| self.s.pools[*p].plan != PlanKind::Spot)
                .map(|(p, _)| self.speeds[*p][kind_index(job.kind)])
                .fold(0.0, f64::max);
            let left = (job.work_s - self.done_work[j]).max(0.0);
            spillway_core::econ::spot_allowed(now, d, left, best, &self.s.checkpoint)
        });
        (job.framework as u8, job.kind as u8, job.chips, spot_ok)
    }

    /// Moves deadline jobs running on demand back to spot when the policy now ranks a spot place
    /// that has capacity above every reliable place with room (the job's own included) and its
    /// slack allows it, as Can't Be Late's policies switch back: the job checkpoints as it
    /// leaves (nothing is lost) and pays one restart. Only jobs with an hour of work left move.
    fn migrate_to_spot(&mut self, now: SimTime) {
        let s = self.s;
        for slot in 0..self.running.len() {
            let Some(r) = self.running[slot].as_ref() else {
                continue;
            };
            let (j, current, speed, start) = (r.job, r.pool, r.speed, r.start);
            let job = &s.jobs[j];
            if s.pools[current].plan != PlanKind::OnDemand || job.deadline.is_none() {
                continue;
            }
            let ran = (now.0 - start.0) as f64 / 1e6;
            let done = (self.done_work[j] + s.checkpoint.done_work(ran, speed)).min(job.work_s);
            if job.work_s - done < 3600.0 {
                continue;
            }
            let saved = self.done_work[j];
            self.done_work[j] = done; // decide on the work left after a checkpoint now
            let (cands, rented, order) = self.decide(j, now);
            let target = order.into_iter().find(|&i| {
                let q = &s.pools[cands[i].pool];
                let room = |cap: u32| self.used[cands[i].pool] + rented[i].chips <= cap;
                cands[i].pool == current
                    || rented[i].into.is_some()
                    || (room(q.quota_chips) && room(q.availability.chips(q.quota_chips, now)))
            });
            match target {
                Some(i) if cands[i].plan == PlanKind::Spot => {
                    self.stop(slot, now);
                    self.epoch[j] += 1;
                    self.start(j, &cands[i], rented[i], now);
                    self.out.migrations += 1;
                }
                _ => self.done_work[j] = saved,
            }
        }
    }

    /// Whether job `j` fits in the free quota of some pool it can run on, or on the idle chips of
    /// a rental there.
    fn may_fit(&self, j: usize) -> bool {
        let g = self.s.jobs[j].chips;
        self.homes[j].iter().any(|&(p, chips)| {
            self.used[p] + chips <= self.s.pools[p].quota_chips
                || self.open[p]
                    .iter()
                    .any(|&k| self.rentals[k].as_ref().is_some_and(|r| r.free >= g))
        })
    }

    /// The places job `j` could run at `now`, what it would rent there, and the policy's order.
    fn decide(&self, j: usize, now: SimTime) -> (Vec<Candidate>, Vec<Placement>, Vec<usize>) {
        let s = self.s;
        let job = &s.jobs[j];
        let remaining = (job.work_s - self.done_work[j]).max(0.0);
        let mut cands = Vec::new();
        let mut rented = Vec::new();
        for &(p, chips) in &self.homes[j] {
            let pool = &s.pools[p];
            // On the idle chips of a rental (already paid for while its jobs run), then on a new
            // one.
            let speed = self.speeds[p][kind_index(job.kind)];
            let run_s = s.checkpoint.restart_overhead_s + remaining / speed.max(1e-12);
            let packed = self
                .best_fit(p, job.chips, now.plus_secs_ceil(run_s), run_s)
                .map(|(k, per_hour)| (Some(k), per_hour));
            // A new rental larger than the job is priced for the chips that would stay idle after
            // the jobs waiting behind it that could use them (they pack onto it).
            let idle = (chips - job.chips).saturating_sub(self.fill[p].saturating_sub(job.chips));
            let fresh = (None, pool.price_per_chip_hour * f64::from(job.chips + idle));
            for (into, price_per_hour) in packed.into_iter().chain([fresh]) {
                // Committed capacity: paced, priced at the overage rate once the total is used
                // up, closed outside the terms (the core's contract rules).
                let quote = pool.contract.map(|c| {
                    self.out.ledgers[c].quote(
                        &s.contracts[c],
                        now,
                        price_per_hour,
                        self.committed_ahead(c, now),
                        price_per_hour * run_s.min(PACE_HORIZON_S) / 3600.0,
                        PACE_HORIZON_S,
                    )
                });
                cands.push(Candidate {
                    pool: p,
                    plan: pool.plan,
                    location: self.locations[p].clone(),
                    price_per_hour: quote.map_or(price_per_hour, |q| q.price_per_hour),
                    speed,
                    pace: quote.map(|q| q.pace),
                    preemptions_per_hour: self.drops_per_hour[p],
                    already_rented: into.is_some(),
                });
                rented.push(Placement { chips, into });
            }
        }
        let econ_job = EconJob {
            framework: job.framework,
            remaining_work_s: remaining,
            work_s: job.work_s,
            waited_s: (now.0 - job.arrival.0) as f64 / 1e6,
            deadline: job.deadline,
        };
        let order = rank_candidates(
            self.policy,
            &econ_job,
            &cands,
            now,
            &self.memory,
            &s.checkpoint,
        );

        (cands, rented, order)
    }

    /// Starts job `j` on candidate `c` at `at`: on the idle chips of a rental, or renting
    /// `placement.chips`.
    fn start(&mut self, j: usize, c: &Candidate, placement: Placement, at: SimTime) {
        let g = self.s.jobs[j].chips;
        let remaining = (self.s.jobs[j].work_s - self.done_work[j]).max(0.0);
        let finish = at.plus_secs_ceil(self.s.checkpoint.restart_overhead_s + remaining / c.speed);
        let rental = match placement.into {
            Some(k) => {
                let r = self.rentals[k].as_mut().expect("open rental");
                r.free -= g;
                r.jobs += 1;
                r.expected_end = r.expected_end.max(finish);
                if r.free == 0 {
                    self.open[c.pool].retain(|&x| x != k);
                }
                k
            }
            None => {
                let price_per_hour =
                    self.s.pools[c.pool].price_per_chip_hour * f64::from(placement.chips);
                let r = Rental {
                    pool: c.pool,
                    chips: placement.chips,
                    free: placement.chips - g,
                    jobs: 1,
                    start: at,
                    billed_until: at,
                    price_per_hour,
                    expected_end: finish,
                };
                let k = match self.free_rentals.pop() {
                    Some(k) => {
                        self.rentals[k] = Some(r);
                        k
                    }
                    None => {
                        self.rentals.push(Some(r));
                        self.rentals.len() - 1
                    }
                };
                self.used[c.pool] += placement.chips;

                if placement.chips > g && self.policy.packs_rentals() {
                    self.open[c.pool].push(k);
                }
                k
            }
        };
        let run = Running {
            job: j,
            pool: c.pool,
            rental,
            chips: g,
            speed: c.speed,
            start: at,
            credited_until: at,
        };
        let slot = match self.free_slots.pop() {
            Some(x) => {
                self.running[x] = Some(run);
                x
            }
            None => {
                self.running.push(Some(run));
                self.running.len() - 1
            }
        };
        self.slot[j] = Some(slot);
        self.finishes.push(Reverse((finish, j, self.epoch[j])));
    }

    /// Copies the books at the accounting horizon `at` (everything accrued up to it): bills,
    /// work, ledgers, and the work not finished by then.
    fn close_books(&mut self, at: SimTime) {
        let s = self.s;
        let mut unfinished_jobs = 0;
        let mut unfinished_work_s = 0.0;
        for (j, job) in s.jobs.iter().enumerate() {
            if self.out.finishes[j].is_some_and(|f| f <= at) {
                continue;
            }
            let mut done = self.done_work[j];
            if let Some(r) = self.slot[j].and_then(|x| self.running[x].as_ref()) {
                let ran = (at.0 - r.start.0) as f64 / 1e6;
                done += s.checkpoint.done_work(ran, r.speed);
            }
            unfinished_jobs += 1;
            unfinished_work_s += (job.work_s - done).max(0.0) * f64::from(job.chips);
        }
        self.out.at_horizon = AtHorizon {
            pool_cost: self.out.pool_cost.clone(),
            pool_work_s: self.out.pool_work_s.clone(),
            ledgers: self.out.ledgers.clone(),
            unfinished_jobs,
            unfinished_work_s,
        };
    }

    /// Tries to start job `j` at `now`; true when it started.
    fn place(&mut self, j: usize, now: SimTime) -> bool {
        let s = self.s;
        let (cands, rented, order) = self.decide(j, now);
        let mut delay = 0.0;
        for i in order {
            let c = &cands[i];
            let (p, chips) = (c.pool, rented[i].chips);
            let pool = &s.pools[p];
            if rented[i].into.is_some() {
                self.start(j, c, rented[i], now.plus_secs_ceil(delay));
                return true;
            }
            if self.used[p] + chips > pool.quota_chips {
                continue; // known locally: no launch is attempted
            }
            let at = now.plus_secs_ceil(delay);
            let (a, b, z) = &c.location;
            if delay > 0.0
                && self.policy.shares_failover_memory()
                && self.memory.is_blocked((a, b, z), at)
            {
                continue; // blocked by a failure of this request (a region or a provider)
            }
            if self.used[p] + chips > pool.availability.chips(pool.quota_chips, at) {
                self.out.failovers += 1;
                delay += s.launch_failure_s;
                if self.policy.shares_failover_memory() {
                    let (a, b, z) = &c.location;
                    self.memory.record(pool.failure, (a, b, z), at);
                }
                continue;
            }
            self.start(j, c, rented[i], at);
            return true;
        }
        false
    }
}

/// Runs `policy` over `scenario`.
pub fn run_scenario_old(
    scenario: &Scenario,
    policy: EconPolicy,
    progress: &mut dyn FnMut(usize, usize),
) -> EconOutcome {
    let s = scenario;
    let n = s.jobs.len();
    let m = s.pools.len();
    let speeds = super::run::kind_speeds(s);
    let mut st = State {
        s,
        policy,
        done_work: vec![0.0; n],
        epoch: vec![0; n],
        slot: vec![None; n],
        running: Vec::new(),
        free_slots: Vec::new(),
        rentals: Vec::new(),
        free_rentals: Vec::new(),
        open: vec![Vec::new(); m],
        fill: vec![0; m],
        used: vec![0; m],
        finishes: BinaryHeap::new(),
        memory: FailoverMemory::new(s.failover_half_life_s),
        speeds,
        drops_per_hour: s
            .pools
            .iter()
            .map(|p| p.availability.drops_per_hour())
            .collect(),

        locations: s
            .pools
            .iter()
            .map(|p| {
                (
                    Arc::from(p.provider.as_str()),
                    Arc::from(p.region.as_str()),
                    Arc::from(super::run::zone_scope(p).as_str()),
                )
            })
            .collect(),
        homes: s
            .jobs
            .iter()
            .map(|job| {
                s.pools
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| job.framework.runs_on(p.kind))
                    .filter_map(|(i, p)| p.rented_chips(job.chips).map(|c| (i, c)))
                    .collect()
            })
            .collect(),
        out: EconOutcome {
            policy,
            finishes: vec![None; n],
            preemptions: 0,
            migrations: 0,
            failovers: 0,
            pool_cost: vec![0.0; m],
            pool_chip_hours: vec![0.0; m],
            pool_work_s: vec![0.0; m],
            ledgers: vec![ContractLedger::default(); s.contracts.len()],
            makespan: SimTime::ZERO,
            spend: Vec::new(),
            at_horizon: AtHorizon::default(),
        },
    };
    let horizon = s.accounting.horizon;
    let mut closed_books = false;
    let mut arrivals: Vec<usize> = (0..n).collect();
    arrivals.sort_by_key(|&j| (s.jobs[j].arrival, j));
    let mut next_arrival = 0usize;
    let mut waiting: Vec<usize> = Vec::new();
    let tick = SimTime::from_secs(s.tick_s);
    let mut next_tick = tick;
    let mut next_sample = SimTime::ZERO;
    let mut done = 0usize;
    while done < n {
        let t_arr = arrivals.get(next_arrival).map(|&j| s.jobs[j].arrival);
        let t_fin = st.finishes.peek().map(|Reverse((t, _, _))| *t);
        if st.running.iter().all(Option::is_none) && waiting.is_empty() {
            if let Some(a) = t_arr {
                // Nothing runs or waits: jump the ticks to the next arrival.
                next_tick = next_tick.max(SimTime((a.0 / tick.0) * tick.0 + tick.0));
            }
        }
        let now = [t_arr, t_fin, Some(next_tick)]
            .into_iter()
            .flatten()
            .min()
            .expect("tick");
        if !closed_books && now >= horizon {
            // The books close at the horizon, between events: no scheduling pass happens there.
            for slot in 0..st.running.len() {
                st.accrue(slot, horizon);
            }
            st.close_books(horizon);
            closed_books = true;
        }
        while let Some(&Reverse((t, j, e))) = st.finishes.peek() {
            if t > now {
                break;
            }
            st.finishes.pop();
            if e != st.epoch[j] {
                continue; // preempted since
            }
            if let Some(slot) = st.slot[j] {
                st.stop(slot, t);
                st.done_work[j] = s.jobs[j].work_s;
                st.out.finishes[j] = Some(t);
                st.out.makespan = st.out.makespan.max(t);
                done += 1;
                progress(done, n);
            }
        }
        while let Some(&j) = arrivals.get(next_arrival) {
            if s.jobs[j].arrival > now {
                break;
            }
            let key = st.queue_key(j);
            let at = waiting.partition_point(|&w| st.queue_key(w) < key);
            waiting.insert(at, j);
            next_arrival += 1;
        }
        if next_tick <= now {
            for slot in 0..st.running.len() {
                st.accrue(slot, now);
            }
            // Spot and stockout capacity shrinks: the most recently started jobs go first.
            for p in 0..m {
                let pool = &s.pools[p];
                if pool.plan != PlanKind::Spot {
                    continue;
                }
                let available = pool.availability.chips(pool.quota_chips, now);
                while st.used[p] > available {
                    // The most recently rented capacity is reclaimed first, with every job on it.
                    let victim = (0..st.rentals.len())
                        .filter(|&k| st.rentals[k].as_ref().is_some_and(|r| r.pool == p))
                        .max_by_key(|&k| st.rentals[k].as_ref().map(|r| (r.start, k)));
                    let Some(k) = victim else { break };
                    let on_it: Vec<usize> = (0..st.running.len())
                        .filter(|&x| st.running[x].as_ref().is_some_and(|r| r.rental == k))
                        .collect();
                    for x in on_it {
                        let r = st.stop(x, now);
                        let ran = (now.0 - r.start.0) as f64 / 1e6;
                        st.done_work[r.job] = (st.done_work[r.job]
                            + s.checkpoint.saved_work(ran, r.speed))
                        .min(s.jobs[r.job].work_s);
                        st.epoch[r.job] += 1;
                        st.out.preemptions += 1;
                        let key = st.queue_key(r.job);
                        let at = waiting.partition_point(|&w| st.queue_key(w) < key);
                        waiting.insert(at, r.job);
                    }
                }
            }
            if now >= next_sample && policy == EconPolicy::CommitmentAware {
                st.migrate_to_spot(now);
            }
            if now >= next_sample {
                st.out.spend.push(SpendSample {
                    at: now,
                    spent: st.out.ledgers.iter().map(|l| l.spent.0).collect(),
                    scheduled: s.contracts.iter().map(|c| c.scheduled(now).0).collect(),
                });
                next_sample = now.plus_secs_ceil(3600.0);
                st.memory.prune(now);
            }
            next_tick = SimTime(next_tick.0 + tick.0);
        }
        let mut kept = Vec::with_capacity(waiting.len());
        let mut attempts = 0;
        // Classes of jobs that failed in this pass: an identical job (framework, kind, chips,
        // spot permission) would fail the same way, so it waits for the next pass untried.
        let mut failed: BTreeSet<(u8, u8, u32, bool)> = BTreeSet::new();
        if policy.packs_rentals() {
            st.fill.fill(0);
            for &j in waiting.iter().take(SCAN) {
                for &(p, _) in &st.homes[j] {
                    st.fill[p] += s.jobs[j].chips;
                }
            }
        }
        for &j in &waiting {
            if attempts >= SCAN || !st.may_fit(j) {
                kept.push(j);
                continue;
            }
            let class = st.class_of(j, now);
            if failed.contains(&class) {
                kept.push(j);
                continue;
            }
            attempts += 1;
            if !st.place(j, now) {
                failed.insert(class);
                kept.push(j);
            }
        }
        waiting = kept;
    }
    st.out.spend.push(SpendSample {
        at: st.out.makespan,
        spent: st.out.ledgers.iter().map(|l| l.spent.0).collect(),
        scheduled: s
            .contracts
            .iter()
            .map(|c| c.scheduled(st.out.makespan).0)
            .collect(),
    });
    if !closed_books {
        st.close_books(st.out.makespan);
    }
    st.out
}
