//! A Ray cluster reached through the Ray Jobs REST API of its dashboard
//! (`http://HEAD:8265/api/jobs/`).
//!
//! [`RayClient`] submits idempotently by submission id, reads status and logs, stops and
//! deletes (only once a job has settled). [`AdmissionTimeout`] decides when a job that Ray
//! keeps `PENDING` (it never rejects a job asking for resources the cluster lacks) has waited
//! too long.

mod admission;
mod client;
mod error;
mod spec;
mod status;

pub use admission::{Admission, AdmissionTimeout};
pub use client::{RayClient, RaySubmission};
pub use error::RayError;
pub use spec::{RayAccelerator, RayJobSpec, TPU_RESOURCE, tpu_head_resource};
pub use status::{RayJobInfo, RayJobStatus};
