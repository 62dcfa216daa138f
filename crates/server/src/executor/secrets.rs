//! What a job's process gets besides its spec's `envs`: its secrets and its TPU slice.
//!
//! Secrets are given at submit and never stored with the spec (the store holds their names
//! only). They live in a file of their own, `jobs/<id>/secrets.json` under the data
//! directory, readable by the server's user only, and reach the process as environment
//! variables at each launch. `show`, the API and the service's logs see names, never values.

use super::LaunchRequest;
use super::local::job_dir;
use crate::job::JobId;
use spillway_model::spec::SecretValues;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file holding a job's secret values.
pub(crate) fn secrets_file(data_dir: &Path, job: JobId) -> PathBuf {
    job_dir(data_dir, job).join("secrets.json")
}

/// Writes a job's secret values, readable by the server's user only. Nothing is written for
/// a job without secrets.
pub fn write_secrets(data_dir: &Path, job: JobId, secrets: &SecretValues) -> std::io::Result<()> {
    if secrets.0.is_empty() {
        return Ok(());
    }
    let path = secrets_file(data_dir, job);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(&serde_json::to_vec(&secrets.0).map_err(std::io::Error::other)?)?;
    file.sync_all()
}

/// The variables an attempt gets besides its spec's `envs`: its secrets (read from their
/// file) and, for a TPU slice, its shape (`TPU_ACCELERATOR_TYPE=v5p-32`, `TPU_TOPOLOGY`,
/// `SPILLWAY_TPU_RUNTIME_VERSION`).
pub(super) fn extra_env(
    data_dir: &Path,
    req: &LaunchRequest,
) -> Result<BTreeMap<String, String>, super::ExecError> {
    let mut env = BTreeMap::new();
    if !req.spec.secrets.is_empty() {
        let path = secrets_file(data_dir, req.job);
        let text = std::fs::read(&path).map_err(|source| super::ExecError::Prepare {
            path: path.display().to_string(),
            source,
        })?;
        let values: BTreeMap<String, String> =
            serde_json::from_slice(&text).map_err(|e| super::ExecError::Prepare {
                path: path.display().to_string(),
                source: std::io::Error::other(e),
            })?;
        env.extend(values);
    }
    let resources = &req.spec.resources;
    if let Some(slice) = req
        .accelerator
        .as_ref()
        .and_then(|a| resources.tpu_slices.get(a))
    {
        let google = slice.strip_prefix("tpu-").unwrap_or(slice);
        env.insert("TPU_ACCELERATOR_TYPE".into(), google.to_string());
        if let Some(args) = &resources.accelerator_args {
            if let Some(t) = &args.topology {
                env.insert("TPU_TOPOLOGY".into(), t.clone());
            }
            if let Some(v) = &args.runtime_version {
                env.insert("SPILLWAY_TPU_RUNTIME_VERSION".into(), v.clone());
            }
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn request(yaml: &str, accelerator: Option<&str>) -> LaunchRequest {
        let names = crate::accelerators::known_accelerators();
        LaunchRequest {
            job: JobId(7),
            attempt: 1,
            spec: Arc::new(spillway_model::spec::parse_spec(yaml, &names).unwrap().spec),
            accelerator: accelerator.map(str::to_string),
            accelerators: vec![0, 1],
            resume: false,
            restart_count: 0,
            checkpoint_dir: "/tmp/ckpt".into(),
        }
    }

    #[test]
    fn secrets_come_from_their_own_file_readable_by_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let values = SecretValues(BTreeMap::from([(
            "TOKEN".to_string(),
            "s3cr3t".to_string(),
        )]));
        write_secrets(dir.path(), JobId(7), &values).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(secrets_file(dir.path(), JobId(7)))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let req = request("run: x\nsecrets: {TOKEN: null}\n", None);
        assert_eq!(extra_env(dir.path(), &req).unwrap()["TOKEN"], "s3cr3t");
        // A job whose secrets file is gone does not start without them.
        let other = tempfile::tempdir().unwrap();
        assert!(extra_env(other.path(), &req).is_err());
    }

    #[test]
    fn a_tpu_slice_tells_the_process_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let req = request(
            "run: x\nresources:\n  accelerators: tpu-v5p-32\n  accelerator_args: {topology: 2x2x4, runtime_version: v2-alpha-tpuv5}\n",
            Some("tpu-v5p"),
        );
        let env = extra_env(dir.path(), &req).unwrap();
        assert_eq!(env["TPU_ACCELERATOR_TYPE"], "v5p-32");
        assert_eq!(env["TPU_TOPOLOGY"], "2x2x4");
        assert_eq!(env["SPILLWAY_TPU_RUNTIME_VERSION"], "v2-alpha-tpuv5");
    }
}
