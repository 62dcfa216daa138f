//! The Ray Jobs client against a real Ray head.

use std::time::Duration;

use spillway_engines::ray::{AdmissionTimeout, RayAccelerator, RayError, RayJobSpec, RayJobStatus};

use crate::engines::{ray, unique_id};

const POLL: Duration = Duration::from_millis(200);
const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn ray_job_runs_logs_and_duplicate_submission_is_idempotent() {
    let Some(client) = ray("ray_job_runs_logs_and_duplicate_submission").await else {
        return;
    };
    let id = unique_id("ray-ok");
    let mut spec = RayJobSpec::new(
        &id,
        "echo \"hello from $SPILLWAY_JOB_ID gpus=$CUDA_VISIBLE_DEVICES tag=$TAG\"",
    );
    spec.accelerator = Some(RayAccelerator::Gpus(1));
    spec.env.insert("TAG".into(), "x y".into());
    let first = client.submit(&spec).await.unwrap();
    assert!(first.created);
    // Ray answers the duplicate with HTTP 500; the client recognises its own job.
    let again = client.submit(&spec).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.submission_id, id);
    let mut other = spec.clone();
    other.entrypoint = "echo something else".into();
    let conflict = client.submit(&other).await.unwrap_err();
    assert!(
        matches!(conflict, RayError::SubmissionIdConflict { .. }),
        "{conflict}"
    );

    let done = client.wait_for_end(&id, MINUTE, POLL).await.unwrap();
    assert_eq!(done.status, RayJobStatus::Succeeded, "{done:?}");
    assert_eq!(done.driver_exit_code, Some(0));
    let logs = client.logs(&id).await.unwrap();
    assert!(logs.contains(&format!("hello from {id} gpus=")), "{logs}");
    assert!(logs.contains("tag=x y"), "{logs}");
    assert!(client.delete(&id).await.unwrap());
    let gone = client.status(&id).await.unwrap_err();
    assert!(matches!(gone, RayError::NotFound { .. }), "{gone}");
}

#[tokio::test]
async fn ray_failing_job_reports_its_exit_code() {
    let Some(client) = ray("ray_failing_job_reports_its_exit_code").await else {
        return;
    };
    let id = unique_id("ray-fail");
    let mut spec = RayJobSpec::new(&id, "exit 3");
    // A custom resource the head advertises (8 units of "TPU").
    spec.accelerator = Some(RayAccelerator::Custom {
        resource: "TPU".into(),
        amount: 4.0,
    });
    client.submit(&spec).await.unwrap();
    let done = client.wait_for_end(&id, MINUTE, POLL).await.unwrap();
    assert_eq!(done.status, RayJobStatus::Failed, "{done:?}");
    assert_eq!(done.driver_exit_code, Some(3));
    assert!(client.delete(&id).await.unwrap());
}

#[tokio::test]
async fn ray_stop_ends_a_running_job_and_delete_waits_for_it_to_settle() {
    let Some(client) = ray("ray_stop_ends_a_running_job").await else {
        return;
    };
    let id = unique_id("ray-stop");
    client
        .submit(&RayJobSpec::new(&id, "sleep 300"))
        .await
        .unwrap();
    let admitted = client
        .wait_for_admission(&id, AdmissionTimeout(MINUTE), POLL)
        .await
        .unwrap();
    assert_eq!(admitted.status, RayJobStatus::Running);
    let early = client.delete(&id).await.unwrap_err();
    assert!(matches!(early, RayError::NotSettled { .. }), "{early}");
    assert!(client.stop(&id).await.unwrap());
    let done = client.wait_for_end(&id, MINUTE, POLL).await.unwrap();
    assert_eq!(done.status, RayJobStatus::Stopped);
    assert!(client.delete(&id).await.unwrap());
}

#[tokio::test]
async fn ray_job_asking_for_missing_resources_hits_the_admission_timeout() {
    let Some(client) = ray("ray_job_asking_for_missing_resources").await else {
        return;
    };
    let id = unique_id("ray-pending");
    let mut spec = RayJobSpec::new(&id, "echo never");
    // The head advertises 4 GPUs; 16 never fit, and Ray keeps the job PENDING. (Asking for
    // 64 "TPU" instead fails at once: Ray checks TPU counts against slice shapes 1/2/4/8.)
    spec.accelerator = Some(RayAccelerator::Gpus(16));
    client.submit(&spec).await.unwrap();
    let timeout = AdmissionTimeout(Duration::from_secs(3));
    let error = client
        .wait_for_admission(&id, timeout, POLL)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, RayError::AdmissionTimeout { submission_id, .. } if *submission_id == id),
        "{error}"
    );
    assert_eq!(
        client.status(&id).await.unwrap().status,
        RayJobStatus::Pending
    );
    // Ray says the stop was sent, but a job whose supervisor never started cannot act on
    // it: the job stays PENDING until the head's RAY_JOB_START_TIMEOUT_SECONDS (10 s from
    // ray-start.sh) fails it. Only then may it be deleted.
    client.stop(&id).await.unwrap();
    assert_eq!(
        client.status(&id).await.unwrap().status,
        RayJobStatus::Pending
    );
    let early = client.delete(&id).await.unwrap_err();
    assert!(matches!(early, RayError::NotSettled { .. }), "{early}");
    let done = client.wait_for_end(&id, MINUTE, POLL).await.unwrap();
    assert_eq!(done.status, RayJobStatus::Failed, "{done:?}");
    assert_eq!(
        done.error_type.as_deref(),
        Some("JOB_SUPERVISOR_ACTOR_START_TIMEOUT")
    );
    assert!(client.delete(&id).await.unwrap());
}
