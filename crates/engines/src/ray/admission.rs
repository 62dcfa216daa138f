//! Deciding when a job Ray keeps `PENDING` has waited too long to be admitted.
//!
//! Ray accepts a job that asks for resources no node has and leaves it `PENDING` forever. The
//! broker gives each job an admission deadline; past it, the job is reported (and usually
//! stopped and placed elsewhere). The decision is a pure function of the status and the
//! times, so the service can drive it with its own clock.

use std::time::Duration;

use super::status::RayJobStatus;

/// How long a job may stay `PENDING` before it counts as not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionTimeout(pub Duration);

/// The verdict on one job at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Ray started (or already ended) the job.
    Admitted,
    /// Still pending, within the limit.
    Waiting { left: Duration },
    /// Pending longer than the limit.
    TimedOut { waited: Duration },
}

impl AdmissionTimeout {
    /// `pending_for` is how long the broker has seen the job pending (since submission).
    pub fn check(self, status: &RayJobStatus, pending_for: Duration) -> Admission {
        if *status != RayJobStatus::Pending {
            Admission::Admitted
        } else if pending_for >= self.0 {
            Admission::TimedOut {
                waited: pending_for,
            }
        } else {
            Admission::Waiting {
                left: self.0 - pending_for,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_jobs_time_out_at_the_limit_and_others_are_admitted() {
        let limit = AdmissionTimeout(Duration::from_secs(30));
        assert_eq!(
            limit.check(&RayJobStatus::Pending, Duration::from_secs(10)),
            Admission::Waiting {
                left: Duration::from_secs(20)
            }
        );
        assert_eq!(
            limit.check(&RayJobStatus::Pending, Duration::from_secs(30)),
            Admission::TimedOut {
                waited: Duration::from_secs(30)
            }
        );
        assert_eq!(
            limit.check(&RayJobStatus::Running, Duration::from_secs(300)),
            Admission::Admitted
        );
        assert_eq!(
            limit.check(&RayJobStatus::Failed, Duration::from_secs(300)),
            Admission::Admitted
        );
    }
}
