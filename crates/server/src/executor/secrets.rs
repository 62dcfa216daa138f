//! What a job's process gets besides its spec's `envs`: its secrets and its TPU slice.
//!
//! Secrets are given at submit and never stored with the spec (the store holds their names
//! only). They live in files of their own under `jobs/<id>/` in the data directory, readable
//! by the server's user only, and reach the process as environment variables at each launch.
//! `show`, the API and the service's logs see names, never values. A local process gets them
//! in its environment directly; on Slurm and Ray, whose job records and dashboards show a
//! job's environment, only the file's path travels (`SPILLWAY_SECRETS_FILE`) and the wrapper
//! exports the values on the node (which sees the data directory, as for logs).

use super::LaunchRequest;
use super::local::job_dir;
use crate::job::JobId;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use spillway_model::spec::SecretValues;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file holding a job's secret values.
pub(crate) fn secrets_file(data_dir: &Path, job: JobId) -> PathBuf {
    job_dir(data_dir, job).join("secrets.json")
}

/// The file the engines' wrapper reads: one `NAME BASE64(VALUE)` line per secret.
pub(crate) fn secrets_env_file(data_dir: &Path, job: JobId) -> PathBuf {
    job_dir(data_dir, job).join("secrets.env")
}

/// Writes a job's secret values (as JSON, and as lines for the engines' wrapper), readable by
/// the server's user only. Nothing is written for a job without secrets.
pub fn write_secrets(data_dir: &Path, job: JobId, secrets: &SecretValues) -> std::io::Result<()> {
    if secrets.0.is_empty() {
        return Ok(());
    }
    let path = secrets_file(data_dir, job);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let lines: String = secrets
        .0
        .iter()
        .map(|(k, v)| format!("{k} {}\n", BASE64.encode(v)))
        .collect();
    write_private(&secrets_env_file(data_dir, job), lines.as_bytes())?;
    write_private(
        &path,
        &serde_json::to_vec(&secrets.0).map_err(std::io::Error::other)?,
    )
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// How an attempt's secrets reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretsBy {
    /// In the process's environment (a local process: nothing else records it).
    Value,
    /// As `SPILLWAY_SECRETS_FILE`, which the wrapper reads on the node (Slurm, Ray).
    File,
}

/// The variables an attempt gets besides its spec's `envs`: its secrets and, for a TPU slice,
/// its shape (`TPU_ACCELERATOR_TYPE=v5p-32`, `TPU_TOPOLOGY`, `SPILLWAY_TPU_RUNTIME_VERSION`).
pub(super) fn extra_env(
    data_dir: &Path,
    req: &LaunchRequest,
    by: SecretsBy,
) -> Result<BTreeMap<String, String>, super::ExecError> {
    let mut env = BTreeMap::new();
    if !req.spec.secrets.is_empty() && by == SecretsBy::File {
        let path = secrets_env_file(data_dir, req.job);
        if !path.exists() {
            return Err(super::ExecError::Prepare {
                path: path.display().to_string(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        env.insert("SPILLWAY_SECRETS_FILE".into(), path.display().to_string());
    } else if !req.spec.secrets.is_empty() {
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
        assert_eq!(
            extra_env(dir.path(), &req, SecretsBy::Value).unwrap()["TOKEN"],
            "s3cr3t"
        );
        // Engines get the path only; the wrapper exports the value on the node.
        let env = extra_env(dir.path(), &req, SecretsBy::File).unwrap();
        assert!(!format!("{env:?}").contains("s3cr3t"));
        let probe = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "{}\nprintf %s \"$TOKEN\"",
                super::super::script::SECRETS_LINE
            ))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(&env)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&probe.stdout), "s3cr3t");
        // A job whose secrets file is gone does not start without them.
        let other = tempfile::tempdir().unwrap();
        assert!(extra_env(other.path(), &req, SecretsBy::Value).is_err());
        assert!(extra_env(other.path(), &req, SecretsBy::File).is_err());
    }

    #[test]
    fn a_tpu_slice_tells_the_process_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let req = request(
            "run: x\nresources:\n  accelerators: tpu-v5p-32\n  accelerator_args: {topology: 2x2x4, runtime_version: v2-alpha-tpuv5}\n",
            Some("tpu-v5p"),
        );
        let env = extra_env(dir.path(), &req, SecretsBy::File).unwrap();
        assert_eq!(env["TPU_ACCELERATOR_TYPE"], "v5p-32");
        assert_eq!(env["TPU_TOPOLOGY"], "2x2x4");
        assert_eq!(env["SPILLWAY_TPU_RUNTIME_VERSION"], "v2-alpha-tpuv5");
    }
}
