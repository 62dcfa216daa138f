//! What to submit to Ray, as the JSON body of `POST /api/jobs/`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::RayError;

/// The environment variable every job sees with the Spillway id of its job.
pub const SPILLWAY_JOB_ID_ENV: &str = "SPILLWAY_JOB_ID";

/// How a pool's accelerators are asked of Ray for the entrypoint.
#[derive(Clone, Debug, PartialEq)]
pub enum RayAccelerator {
    /// `entrypoint_num_gpus`: Ray's built-in GPU resource (sets `CUDA_VISIBLE_DEVICES`).
    Gpus(u32),
    /// `entrypoint_resources`: a custom resource the cluster's nodes advertise, e.g. `TPU`
    /// or `accelerator_type:H100`.
    Custom { resource: String, amount: f64 },
    /// One TPU slice, as Ray (and SkyPilot on Ray) name it: the entrypoint runs on the
    /// slice's head host (`TPU-<accelerator_type>-head: 1`, a resource Ray gives the first
    /// host of each slice) and holds that host's chips (`TPU: chips_per_host`, or the
    /// custom `chip_resource`). `accelerator_type` is Google's slice type (`v5p-32`).
    TpuSlice {
        accelerator_type: String,
        chips_per_host: u32,
        chip_resource: Option<String>,
    },
}

/// Ray's resource of TPU chips.
pub const TPU_RESOURCE: &str = "TPU";

/// The resource Ray gives the head host of each TPU slice of `accelerator_type` (`v5p-32`).
pub fn tpu_head_resource(accelerator_type: &str) -> String {
    format!("TPU-{accelerator_type}-head")
}

/// One Ray job. The submission id is the idempotency key: submitting the same spec twice
/// yields one job.
#[derive(Clone, Debug, PartialEq)]
pub struct RayJobSpec {
    pub submission_id: String,
    /// The shell command Ray runs on the head node's job driver.
    pub entrypoint: String,
    /// Spillway's id for the job, exported as `SPILLWAY_JOB_ID` and kept in the metadata.
    pub spillway_job_id: String,
    pub accelerator: Option<RayAccelerator>,
    pub num_cpus: Option<f64>,
    /// `runtime_env.env_vars`.
    pub env: BTreeMap<String, String>,
    /// `runtime_env.working_dir`, a path on the cluster (or an archive URI Ray can fetch).
    pub working_dir: Option<String>,
}

impl RayJobSpec {
    /// A job whose submission id is the Spillway job id.
    pub fn new(spillway_job_id: impl Into<String>, entrypoint: impl Into<String>) -> Self {
        let id = spillway_job_id.into();
        Self {
            submission_id: id.clone(),
            entrypoint: entrypoint.into(),
            spillway_job_id: id,
            accelerator: None,
            num_cpus: None,
            env: BTreeMap::new(),
            working_dir: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), RayError> {
        let invalid =
            |field: &'static str, problem: String| RayError::InvalidSpec { field, problem };
        let id_ok = !self.submission_id.is_empty()
            && self
                .submission_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !id_ok {
            return Err(invalid(
                "submission_id",
                format!(
                    "{:?} must be non-empty and use only letters, digits and -_.: (it is part of URLs)",
                    self.submission_id
                ),
            ));
        }
        if self.entrypoint.trim().is_empty() {
            return Err(invalid("entrypoint", "must not be empty".to_owned()));
        }
        match &self.accelerator {
            Some(RayAccelerator::Gpus(0)) => {
                return Err(invalid(
                    "accelerator",
                    "GPU count must be at least 1".to_owned(),
                ));
            }
            Some(RayAccelerator::Custom { resource, amount }) => {
                if resource.is_empty() || *amount <= 0.0 || !amount.is_finite() {
                    return Err(invalid(
                        "accelerator",
                        format!(
                            "custom resource {resource:?} needs a name and a positive amount, got {amount}"
                        ),
                    ));
                }
                if matches!(resource.as_str(), "CPU" | "GPU" | "memory") {
                    return Err(invalid(
                        "accelerator",
                        format!("{resource:?} is a built-in Ray resource: use Gpus or num_cpus"),
                    ));
                }
            }
            Some(RayAccelerator::TpuSlice {
                accelerator_type,
                chips_per_host,
                chip_resource,
            }) => {
                let type_ok = !accelerator_type.is_empty()
                    && accelerator_type
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-');
                if !type_ok {
                    return Err(invalid(
                        "accelerator",
                        format!(
                            "{accelerator_type:?} is not a TPU slice type; write it as Google does, e.g. v5p-32"
                        ),
                    ));
                }
                // Ray fails a job at once when a TPU count is not a whole host's worth or a
                // power of two below it.
                if chip_resource.is_none() && ![1, 2, 4, 8].contains(chips_per_host) {
                    return Err(invalid(
                        "accelerator",
                        format!(
                            "Ray accepts 1, 2, 4 or 8 TPU chips per host, not {chips_per_host}"
                        ),
                    ));
                }
                if *chips_per_host == 0 {
                    return Err(invalid(
                        "accelerator",
                        "a TPU host has at least one chip".to_owned(),
                    ));
                }
            }
            _ => {}
        }
        if self.num_cpus.is_some_and(|n| n < 0.0 || !n.is_finite()) {
            return Err(invalid(
                "num_cpus",
                "must be a non-negative number".to_owned(),
            ));
        }
        if self.env.contains_key(SPILLWAY_JOB_ID_ENV) {
            return Err(invalid(
                "env",
                format!("{SPILLWAY_JOB_ID_ENV} is set by Spillway and cannot be overridden"),
            ));
        }
        Ok(())
    }

    /// The request body of `POST /api/jobs/` as JSON, for a caller to check what it would
    /// submit.
    pub fn submission_json(&self) -> serde_json::Value {
        serde_json::to_value(self.body()).expect("a submission body is plain JSON")
    }

    /// The request body of `POST /api/jobs/`.
    pub(crate) fn body(&self) -> SubmitBody<'_> {
        let mut env_vars: BTreeMap<&str, &str> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env_vars.insert(SPILLWAY_JOB_ID_ENV, &self.spillway_job_id);
        let (num_gpus, resources) = match &self.accelerator {
            Some(RayAccelerator::Gpus(n)) => (Some(f64::from(*n)), None),
            Some(RayAccelerator::Custom { resource, amount }) => {
                (None, Some(BTreeMap::from([(resource.clone(), *amount)])))
            }
            Some(RayAccelerator::TpuSlice {
                accelerator_type,
                chips_per_host,
                chip_resource,
            }) => (
                None,
                Some(BTreeMap::from([
                    (tpu_head_resource(accelerator_type), 1.0),
                    (
                        chip_resource.as_deref().unwrap_or(TPU_RESOURCE).to_owned(),
                        f64::from(*chips_per_host),
                    ),
                ])),
            ),
            None => (None, None),
        };
        SubmitBody {
            entrypoint: &self.entrypoint,
            submission_id: &self.submission_id,
            runtime_env: RuntimeEnv {
                env_vars,
                working_dir: self.working_dir.as_deref(),
            },
            metadata: BTreeMap::from([("spillway_job_id", self.spillway_job_id.as_str())]),
            entrypoint_num_cpus: self.num_cpus,
            entrypoint_num_gpus: num_gpus,
            entrypoint_resources: resources,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct SubmitBody<'a> {
    entrypoint: &'a str,
    submission_id: &'a str,
    runtime_env: RuntimeEnv<'a>,
    metadata: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint_num_cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint_num_gpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint_resources: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Serialize)]
struct RuntimeEnv<'a> {
    env_vars: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accelerators_map_to_gpus_or_custom_resources() {
        let mut spec = RayJobSpec::new("job-1", "python train.py");
        spec.accelerator = Some(RayAccelerator::Gpus(2));
        spec.env.insert("A".into(), "1".into());
        let body = serde_json::to_value(spec.body()).unwrap();
        assert_eq!(body["entrypoint_num_gpus"], 2.0);
        assert_eq!(body["runtime_env"]["env_vars"]["SPILLWAY_JOB_ID"], "job-1");
        assert_eq!(body["runtime_env"]["env_vars"]["A"], "1");
        assert_eq!(body["submission_id"], "job-1");
        assert!(body.get("entrypoint_resources").is_none());

        spec.accelerator = Some(RayAccelerator::Custom {
            resource: "TPU".into(),
            amount: 4.0,
        });
        let body = serde_json::to_value(spec.body()).unwrap();
        assert_eq!(body["entrypoint_resources"]["TPU"], 4.0);
        assert!(body.get("entrypoint_num_gpus").is_none());
    }

    #[test]
    fn a_tpu_slice_asks_for_its_head_host_and_that_hosts_chips() {
        let mut spec = RayJobSpec::new("job-3", "python train.py");
        spec.accelerator = Some(RayAccelerator::TpuSlice {
            accelerator_type: "v5p-32".into(),
            chips_per_host: 4,
            chip_resource: None,
        });
        spec.validate().unwrap();
        let body = serde_json::to_value(spec.body()).unwrap();
        assert_eq!(
            body["entrypoint_resources"],
            serde_json::json!({"TPU-v5p-32-head": 1.0, "TPU": 4.0})
        );
        assert!(body.get("entrypoint_num_gpus").is_none());
        spec.accelerator = Some(RayAccelerator::TpuSlice {
            accelerator_type: "v6e-8".into(),
            chips_per_host: 6,
            chip_resource: None,
        });
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("1, 2, 4 or 8"), "{err}");
        spec.accelerator = Some(RayAccelerator::TpuSlice {
            accelerator_type: "v6e 8".into(),
            chips_per_host: 8,
            chip_resource: None,
        });
        assert!(spec.validate().is_err());
    }

    #[test]
    fn invalid_specs_name_their_field() {
        let mut spec = RayJobSpec::new("a/b", "true");
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("submission_id")
        );
        spec.submission_id = "ok".into();
        spec.accelerator = Some(RayAccelerator::Custom {
            resource: "GPU".into(),
            amount: 1.0,
        });
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("built-in")
        );
        spec.accelerator = Some(RayAccelerator::Custom {
            resource: "TPU".into(),
            amount: f64::NAN,
        });
        assert!(spec.validate().is_err());
        spec.accelerator = None;
        spec.entrypoint = " ".into();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("entrypoint")
        );
    }
}
