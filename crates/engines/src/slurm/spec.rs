//! What to submit to Slurm, and how it becomes `sbatch` arguments and a batch script.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::error::SlurmError;

/// The environment variable every job sees with the Spillway id of its job.
pub const SPILLWAY_JOB_ID_ENV: &str = "SPILLWAY_JOB_ID";

/// The prefix of the `--comment` Spillway writes, so a restarted broker can find its jobs.
pub(crate) const COMMENT_PREFIX: &str = "spillway:";

/// A generic resource per node, as `--gres=NAME[:TYPE]:COUNT` (e.g. `gpu:h100:2`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GresRequest {
    pub name: String,
    pub kind: Option<String>,
    pub count: u32,
}

impl GresRequest {
    /// Reads a pool's GRES setting (`gpu` or `gpu:h100`) and a count per node.
    pub fn parse(gres: &str, count: u32) -> Result<Self, SlurmError> {
        let invalid = |problem: &str| SlurmError::InvalidSpec {
            field: "gres",
            problem: format!("{gres:?}: {problem}; write NAME or NAME:TYPE, e.g. gpu:h100"),
        };
        let mut parts = gres.split(':');
        let name = parts.next().unwrap_or_default();
        let kind = parts.next();
        if parts.next().is_some() {
            return Err(invalid("too many ':'-separated parts"));
        }
        for part in std::iter::once(name).chain(kind) {
            if part.is_empty()
                || !part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            {
                return Err(invalid(
                    "names may use only letters, digits, '_', '-' and '.'",
                ));
            }
        }
        Ok(Self {
            name: name.to_owned(),
            kind: kind.map(str::to_owned),
            count,
        })
    }
}

impl fmt::Display for GresRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Some(kind) => write!(f, "{}:{}:{}", self.name, kind, self.count),
            None => write!(f, "{}:{}", self.name, self.count),
        }
    }
}

/// One batch job. `run` is the body of the batch script, run by bash as users expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmJobSpec {
    /// Spillway's id for the job: exported as `SPILLWAY_JOB_ID` and kept in the comment.
    pub spillway_job_id: String,
    pub run: String,
    /// `--job-name`; defaults to the Spillway id.
    pub name: Option<String>,
    /// `--partition`; the cluster's default partition when unset.
    pub partition: Option<String>,
    /// `--gres`, per node.
    pub gres: Option<GresRequest>,
    /// `--constraint`: node features the job's nodes must have (`tpu-v5p-32`,
    /// `v5p&topo-2x2x4`), e.g. the TPU slice type a pool is made of.
    pub constraint: Option<String>,
    /// `--nodes`.
    pub nodes: u32,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<u32>,
    /// `--time`, rounded up to whole minutes as Slurm counts them.
    pub time_limit: Option<Duration>,
    /// `--output` and `--error`; Slurm's `%j` expands to the job id.
    pub output: Option<PathBuf>,
    pub error: Option<PathBuf>,
    /// `--chdir`.
    pub workdir: Option<PathBuf>,
    /// `--requeue` (true) or `--no-requeue` (false): whether Slurm may requeue the job after
    /// preemption or a node failure.
    pub requeue: bool,
    /// Environment of the job, besides `SPILLWAY_JOB_ID` and what Slurm sets.
    pub env: BTreeMap<String, String>,
}

impl SlurmJobSpec {
    pub fn new(spillway_job_id: impl Into<String>, run: impl Into<String>) -> Self {
        Self {
            spillway_job_id: spillway_job_id.into(),
            run: run.into(),
            name: None,
            partition: None,
            gres: None,
            constraint: None,
            nodes: 1,
            cpus_per_task: None,
            time_limit: None,
            output: None,
            error: None,
            workdir: None,
            requeue: false,
            env: BTreeMap::new(),
        }
    }

    /// Checks what Slurm would reject with a less helpful message, or misread.
    pub(crate) fn validate(&self) -> Result<(), SlurmError> {
        let invalid =
            |field: &'static str, problem: String| SlurmError::InvalidSpec { field, problem };
        if self.spillway_job_id.is_empty()
            || self
                .spillway_job_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "spillway_job_id",
                format!(
                    "{:?} must be non-empty without spaces",
                    self.spillway_job_id
                ),
            ));
        }
        if self.nodes == 0 {
            return Err(invalid("nodes", "must be at least 1".to_owned()));
        }
        if self.gres.as_ref().is_some_and(|g| g.count == 0) {
            return Err(invalid("gres", "count must be at least 1".to_owned()));
        }
        if let Some(c) = self
            .constraint
            .as_ref()
            .filter(|c| c.is_empty() || c.chars().any(|ch| ch.is_whitespace() || ch.is_control()))
        {
            return Err(invalid(
                "constraint",
                format!("{c:?} must be node features without spaces, e.g. tpu-v5p-32"),
            ));
        }
        if self.cpus_per_task == Some(0) {
            return Err(invalid("cpus_per_task", "must be at least 1".to_owned()));
        }
        if self.time_limit == Some(Duration::ZERO) {
            return Err(invalid("time_limit", "must be longer than zero".to_owned()));
        }
        if let Some(name) = self
            .name
            .as_ref()
            .filter(|name| name.is_empty() || name.contains('\n'))
        {
            return Err(invalid(
                "name",
                format!("{name:?} must be one non-empty line"),
            ));
        }
        for key in self.env.keys() {
            let valid = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(invalid(
                    "env",
                    format!("{key:?} is not a valid variable name (letters, digits, '_')"),
                ));
            }
            if key == SPILLWAY_JOB_ID_ENV || key.starts_with("SLURM_") || key.starts_with("SBATCH_")
            {
                return Err(invalid(
                    "env",
                    format!("{key:?} is set by Spillway or Slurm and cannot be overridden"),
                ));
            }
        }
        Ok(())
    }

    /// The `sbatch` arguments. The environment travels in sbatch's own (cleared)
    /// environment with `--export=ALL`, so values never pass through a command line.
    /// Public so that a caller can check what it would submit.
    pub fn sbatch_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--parsable".into(), "--export=ALL".into()];
        let name = self.name.as_deref().unwrap_or(&self.spillway_job_id);
        args.push(format!("--job-name={name}").into());
        args.push(format!("--comment={COMMENT_PREFIX}{}", self.spillway_job_id).into());
        if let Some(partition) = &self.partition {
            args.push(format!("--partition={partition}").into());
        }
        if let Some(gres) = &self.gres {
            args.push(format!("--gres={gres}").into());
        }
        if let Some(constraint) = &self.constraint {
            args.push(format!("--constraint={constraint}").into());
        }
        args.push(format!("--nodes={}", self.nodes).into());
        if let Some(cpus) = self.cpus_per_task {
            args.push(format!("--cpus-per-task={cpus}").into());
        }
        if let Some(limit) = self.time_limit {
            args.push(format!("--time={}", limit.as_secs().div_ceil(60).max(1)).into());
        }
        for (flag, path) in [
            ("--output=", &self.output),
            ("--error=", &self.error),
            ("--chdir=", &self.workdir),
        ] {
            if let Some(path) = path {
                let mut arg = OsString::from(flag);
                arg.push(path);
                args.push(arg);
            }
        }
        args.push(
            if self.requeue {
                "--requeue"
            } else {
                "--no-requeue"
            }
            .into(),
        );
        args
    }

    /// The batch script sbatch reads on its standard input.
    pub fn script(&self) -> String {
        format!(
            "#!/bin/bash\n# Submitted by Spillway for job {}.\n{}\n",
            self.spillway_job_id, self.run
        )
    }

    /// The variables the job must see, besides those the broker passes through.
    pub(crate) fn job_env(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((SPILLWAY_JOB_ID_ENV, self.spillway_job_id.as_str()))
            .chain(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(spec: &SlurmJobSpec) -> Vec<String> {
        spec.sbatch_args()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn full_spec_becomes_sbatch_flags() {
        let mut spec = SlurmJobSpec::new("job-1", "echo hi");
        spec.partition = Some("batch".into());
        spec.gres = Some(GresRequest::parse("gpu:h100", 2).unwrap());
        spec.nodes = 2;
        spec.time_limit = Some(Duration::from_secs(61));
        spec.output = Some("/tmp/%j.out".into());
        spec.requeue = true;
        assert_eq!(
            args(&spec),
            [
                "--parsable",
                "--export=ALL",
                "--job-name=job-1",
                "--comment=spillway:job-1",
                "--partition=batch",
                "--gres=gpu:h100:2",
                "--nodes=2",
                "--time=2",
                "--output=/tmp/%j.out",
                "--requeue"
            ]
        );
        assert!(spec.script().starts_with("#!/bin/bash\n"));
        assert!(spec.script().contains("\necho hi\n"));
    }

    #[test]
    fn a_tpu_slice_is_asked_as_a_constraint() {
        let mut spec = SlurmJobSpec::new("job-2", "python train.py");
        spec.constraint = Some("tpu-v5p-32".into());
        spec.validate().unwrap();
        assert_eq!(
            args(&spec)[4..6],
            ["--constraint=tpu-v5p-32", "--nodes=1"],
            "{:?}",
            args(&spec)
        );
        spec.constraint = Some("tpu v5p".into());
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("constraint"), "{err}");
    }

    #[test]
    fn gres_parse_accepts_name_and_type_only() {
        assert_eq!(GresRequest::parse("gpu", 1).unwrap().to_string(), "gpu:1");
        assert_eq!(
            GresRequest::parse("gpu:a100", 4).unwrap().to_string(),
            "gpu:a100:4"
        );
        let err = GresRequest::parse("gpu:h100:2", 1).unwrap_err().to_string();
        assert!(err.contains("too many"), "{err}");
        assert!(GresRequest::parse("gpu,mps", 1).is_err());
        assert!(GresRequest::parse("", 1).is_err());
    }

    #[test]
    fn invalid_specs_name_their_field() {
        let mut spec = SlurmJobSpec::new("job 1", "true");
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("spillway_job_id")
        );
        spec.spillway_job_id = "j".into();
        spec.env.insert("SLURM_JOB_ID".into(), "1".into());
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("env") && err.contains("SLURM_JOB_ID"), "{err}");
        spec.env.clear();
        spec.env.insert("1X".into(), "1".into());
        assert!(spec.validate().is_err());
        spec.env.clear();
        spec.nodes = 0;
        assert!(spec.validate().unwrap_err().to_string().contains("nodes"));
    }
}
