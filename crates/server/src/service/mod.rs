//! The running service: a handle the API calls, and the reactor task that owns the live
//! jobs, runs scheduling rounds and carries their actions out through the executor.
//!
//! Requests reach the reactor as commands on a channel, process exits arrive on another;
//! one task handles both in order, so there are no locks around the live state (the
//! mini-redis shape). Every state change is written to the store before it takes effect.

mod contracts;
mod deps;
mod estimates;
mod failover;
pub mod leader;
mod reactor;
mod recovery;
mod rented;
mod reports;
mod spot;
mod status;
mod submit_checks;

use crate::config::{Config, ExecutorKind, PoolEngine, PricePlan};
use crate::executor::{Executor, FaultyExecutor, LocalExecutor, RayExecutor, SlurmExecutor};
use crate::job::{Job, JobId, now_ms};
use crate::metrics::Metrics;
use crate::schedule::{machine_job, machine_pools};
use crate::store::{NewJob, PostgresStore, SqliteStore, Store, StoreError, Submitted};
use leader::Role;
use reactor::Reactor;
use spillway_core::machine::can_ever_place;
use spillway_model::spec::{AcceleratorNames, Deadline, JobSpec, SecretValues};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

pub use contracts::ContractStanding;
pub use reactor::CANCELLING;
pub(crate) use rented::vm_spans;

/// Why a request to the service failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such job (or not visible to the caller).
    #[error("job {0} not found")]
    NotFound(JobId),
    /// The job is in a state that does not allow the request.
    #[error("{0}")]
    Conflict(String),
    /// The job can never run on the declared pools.
    #[error("{0}")]
    Unplaceable(String),
    /// The request is valid as a spec but not as a submit now: a deadline already past, a
    /// job to run after that does not exist.
    #[error("{0}")]
    Refused(String),
    /// The reactor has stopped.
    #[error("the scheduler is shutting down")]
    Stopped,
    /// A pool's executor could not be set up.
    #[error("cannot set up the executor of pool {pool}: {message}")]
    Executor {
        /// The pool.
        pool: String,
        /// What failed.
        message: String,
    },
    /// This replica follows another (shared store): only the leader cancels and knows the
    /// pools' live state.
    #[error("{}", match .0 {
        Some(a) => format!("this replica follows the leader at http://{a}: send this request there"),
        None => "no leader is elected yet: retry in a few seconds".to_string(),
    })]
    NotLeader(Option<String>),
}

/// Commands to the reactor.
// Messages live for microseconds on a channel; boxing the job would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    Submitted(Job),
    Cancel(JobId, oneshot::Sender<Result<Job, ServiceError>>),
    Explain(JobId, oneshot::Sender<Option<LiveExplanation>>),
    WaitReasons(Vec<JobId>, oneshot::Sender<BTreeMap<JobId, String>>),
    Pools(oneshot::Sender<Vec<PoolStatus>>),
}

impl Command {
    /// Whether the command may change what a scheduling round decides.
    fn changes_state(&self) -> bool {
        matches!(self, Command::Submitted(_) | Command::Cancel(..))
    }
}

/// What the scheduler says of a job it tracks (queued or running).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveExplanation {
    /// Why it waits, or why it runs where it runs.
    pub reason: String,
    /// Where its work estimate comes from: `2.0 h from the spec`, `1.5 h estimated from 7
    /// earlier runs of "train" (tenant acme)`, `unknown (...)`.
    pub work: String,
}

/// A pool and what runs on it now.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PoolStatus {
    /// Its name.
    pub name: String,
    /// Which engine runs its jobs.
    pub executor: ExecutorKind,
    /// Its accelerator type; absent for a CPU-only pool.
    pub accelerator: Option<String>,
    /// Accelerators it has.
    pub count: u32,
    /// Machines it is made of (`count / nodes` accelerators each; gangs run on several).
    pub nodes: u32,
    /// Accelerators free now.
    pub free: u32,
    /// Jobs running on it.
    pub running_jobs: u32,
    /// Jobs waiting for it (as their preferred pool).
    pub queued_jobs: u32,
    /// Most jobs at once.
    pub max_jobs: u32,
    /// How it is paid for.
    pub plan: PricePlan,
    /// Price of one accelerator-hour, USD.
    pub usd_per_chip_hour: f64,
}

/// The service: what the API handlers call.
pub struct Service {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Durable state.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Accelerator names for spec validation.
    pub names: AcceleratorNames,
    /// Commands to the reactor.
    inbox: mpsc::UnboundedSender<Command>,
    /// This server's part among replicas (always leader on a store of its own).
    role: watch::Receiver<Role>,
}

impl Service {
    /// Opens the store (the config's Postgres database, else SQLite under its data
    /// directory), recovers the jobs an earlier server left, and starts the reactor.
    pub async fn start(config: Config) -> Result<Arc<Service>, ServiceError> {
        let address = config.listen.clone();
        Service::start_at(config, &address).await
    }

    /// Like [`Service::start`], telling other replicas that this one answers at `address`.
    pub async fn start_at(mut config: Config, address: &str) -> Result<Arc<Service>, ServiceError> {
        // Jobs run in their own working directories: every path handed to them is absolute.
        if let Ok(abs) = std::path::absolute(&config.data_dir) {
            config.data_dir = abs;
        }
        let store: Arc<dyn Store> = match &config.database {
            Some(url) => Arc::new(PostgresStore::connect(url).await?),
            None => Arc::new(SqliteStore::open(&config.data_dir.join("spillway.sqlite"))?),
        };
        Service::start_with_at(config, store, address).await
    }

    /// Like [`Service::start`] with a given store.
    pub async fn start_with(
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<Arc<Service>, ServiceError> {
        let address = config.listen.clone();
        Service::start_with_at(config, store, &address).await
    }

    /// Like [`Service::start_at`] with a given store. A shared store (Postgres) makes this
    /// server a replica: it serves at once, and schedules only while it holds the lease.
    pub async fn start_with_at(
        config: Config,
        store: Arc<dyn Store>,
        address: &str,
    ) -> Result<Arc<Service>, ServiceError> {
        let config = Arc::new(config);
        let metrics = Arc::new(Metrics::default());
        // Injected faults count from here.
        let started = std::time::Instant::now();
        let (exit_tx, exit_rx) = mpsc::unbounded_channel();
        let executor: Arc<dyn Executor> =
            Arc::new(LocalExecutor::new(config.data_dir.clone(), exit_tx.clone()));
        let (tx, rx) = mpsc::unbounded_channel();
        let mut executors: Vec<Arc<dyn Executor>> = Vec::new();
        for p in &config.pools {
            executors.push(match &p.engine {
                PoolEngine::Local => match &p.faults {
                    Some(f) if !f.stockouts.is_empty() => Arc::new(FaultyExecutor::new(
                        executor.clone(),
                        &p.name,
                        f.clone(),
                        started,
                    )),
                    _ => executor.clone(),
                },
                PoolEngine::Slurm(s) => Arc::new(
                    SlurmExecutor::new(
                        &p.name,
                        s.clone(),
                        config.data_dir.clone(),
                        exit_tx.clone(),
                    )
                    .map_err(|e| ServiceError::Executor {
                        pool: p.name.clone(),
                        message: format!(
                            "cannot keep the installation id under {}: {e}",
                            config.data_dir.display()
                        ),
                    })?,
                ),
                PoolEngine::Ray(r) => Arc::new(
                    RayExecutor::new(&p.name, r.clone(), config.data_dir.clone(), exit_tx.clone())
                        .map_err(|message| ServiceError::Executor {
                            pool: p.name.clone(),
                            message,
                        })?,
                ),
            });
        }
        let mut reactor = Reactor::new(
            config.clone(),
            store.clone(),
            executors,
            metrics.clone(),
            started,
        );
        let role = if store.shared() {
            let role = leader::start(store.clone(), address.to_string());
            tokio::spawn(leader::run_replica(reactor, rx, exit_rx, role.clone()));
            role
        } else {
            reactor.recover().await?;
            reactor.publish_gauges();
            tokio::spawn(reactor.run(rx, exit_rx, None));
            watch::channel(Role::Leader(0)).1
        };
        Ok(Arc::new(Service {
            config,
            store,
            metrics,
            names: crate::accelerators::known_accelerators(),
            inbox: tx,
            role,
        }))
    }

    /// This server's part among replicas.
    pub fn role(&self) -> Role {
        self.role.borrow().clone()
    }

    /// Resolves when this server led and lost the leader lease: it must stop.
    pub async fn lost_leadership(&self) {
        let mut role = self.role.clone();
        if role.wait_for(|r| *r == Role::Lost).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Refuses what only the leader can answer.
    fn require_leader(&self) -> Result<(), ServiceError> {
        match self.role() {
            Role::Leader(_) => Ok(()),
            Role::Follower(address) => Err(ServiceError::NotLeader(address)),
            Role::Lost => Err(ServiceError::Stopped),
        }
    }

    /// Stores a job durably and hands it to the scheduler.
    pub async fn submit(
        &self,
        tenant: String,
        spec: JobSpec,
        idempotency_key: Option<String>,
    ) -> Result<Submitted, ServiceError> {
        self.submit_with(tenant, spec, idempotency_key, &SecretValues::default())
            .await
    }

    /// Like [`Service::submit`], with the job's secret values (kept apart from its spec, in a
    /// file only the server's user can read) and `spec.after`, the job it runs after, which
    /// must exist and be visible to the same tenant.
    pub async fn submit_with(
        &self,
        tenant: String,
        mut spec: JobSpec,
        idempotency_key: Option<String>,
        secrets: &SecretValues,
    ) -> Result<Submitted, ServiceError> {
        check_submit(&self.config, &mut spec)?;
        submit_checks::check_local_workdir(&self.config, &spec)?;
        if let Some(before) = spec.after {
            match self.store.job(JobId(before)).await? {
                Some(j) if j.tenant == tenant => {}
                _ => {
                    return Err(ServiceError::Refused(format!(
                        "after: job {before} not found: a job can only run after an existing job of its tenant"
                    )));
                }
            }
        }
        let submitted_ms = now_ms();
        let deadline_ms = spec.deadline.map(|d| match d {
            Deadline::AtUnixMs(ms) => ms,
            Deadline::AfterSecs(s) => submitted_ms
                .saturating_add(i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000)),
        });
        if let Some(d) = deadline_ms.filter(|d| *d <= submitted_ms) {
            let at = jiff::Timestamp::from_millisecond(d)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| d.to_string());
            return Err(ServiceError::Refused(format!(
                "deadline: {at} is already past: give a later time, or a duration after submission such as 24h"
            )));
        }
        let submitted = self
            .store
            .submit(NewJob {
                tenant,
                spec,
                submitted_ms,
                deadline_ms,
                idempotency_key,
            })
            .await?;
        if submitted.created {
            // Before the reactor knows the job, so that no launch can miss them.
            if let Err(e) =
                crate::executor::write_secrets(&self.config.data_dir, submitted.job.id, secrets)
            {
                tracing::error!(job = %submitted.job.id, error = %e, "failed to keep the job's secrets; it cannot start");
            }
            self.send(Command::Submitted(submitted.job.clone()))?;
        }
        Ok(submitted)
    }

    /// Cancels a job: a queued one at once, a running one by stopping its process.
    pub async fn cancel(&self, id: JobId) -> Result<Job, ServiceError> {
        self.require_leader()?;
        let (tx, rx) = oneshot::channel();
        self.send(Command::Cancel(id, tx))?;
        rx.await.map_err(|_| ServiceError::Stopped)?
    }

    /// Why a live job waits or runs where it runs, and where its work estimate comes from;
    /// `None` for a finished or unknown job.
    pub async fn explain(&self, id: JobId) -> Result<Option<LiveExplanation>, ServiceError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Explain(id, tx))?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// The short form of why each of these jobs waits (`no_capacity`, `pool_full`,
    /// `accelerator_quota`, ...: the kind of the reason `explain` gives in words), for those
    /// that are queued and that a scheduling round has considered. Only the leader knows it.
    pub async fn wait_reasons(
        &self,
        ids: Vec<JobId>,
    ) -> Result<BTreeMap<JobId, String>, ServiceError> {
        self.require_leader()?;
        let (tx, rx) = oneshot::channel();
        self.send(Command::WaitReasons(ids, tx))?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    /// The pools with their current use.
    pub async fn pools(&self) -> Result<Vec<PoolStatus>, ServiceError> {
        self.require_leader()?;
        let (tx, rx) = oneshot::channel();
        self.send(Command::Pools(tx))?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    fn send(&self, cmd: Command) -> Result<(), ServiceError> {
        self.inbox.send(cmd).map_err(|_| ServiceError::Stopped)
    }
}

/// What submit checks of a spec against the declared pools, before storing it: its `infra`
/// (resolved into what the scheduler matches, or refused) and whether any pool could ever
/// run it (a gang: a pool with that many nodes), so that it does not wait forever. Public for the corpus tests.
pub fn check_submit(config: &Config, spec: &mut JobSpec) -> Result<(), ServiceError> {
    submit_checks::resolve_infra(config, spec)?;
    // Whether it can ever run does not depend on its tenant, time or deadline.
    let job = machine_job(JobId(0), "", 0, None, spec, None);
    can_ever_place(&machine_pools(config), &job)
        .map_err(|r| ServiceError::Unplaceable(format!("resources: {r}")))
}
