//! Values given at submit (`spillway submit --env NAME=VALUE --secret NAME=VALUE`) that fill
//! the `envs` and `secrets` a spec leaves without a value, as SkyPilot's `--env` and
//! `--secret` do at launch.

use super::parse::check_env_name;
use super::types::{ParsedSpec, SecretValues};
use super::{SpecError, SpecErrors};
use std::collections::BTreeMap;
use std::fmt;

/// What the submitter gave besides the file.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct SubmitValues {
    /// `--env NAME=VALUE`: fills a null env, overrides one written in the file, or adds one.
    #[serde(default)]
    pub envs: BTreeMap<String, String>,
    /// `--secret NAME=VALUE` (or `--secret NAME`, read from the caller's environment by the
    /// client): fills or overrides a secret.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

impl fmt::Debug for SubmitValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitValues")
            .field("envs", &self.envs)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Fills the spec's envs and secrets with `values`; returns the secret values to hand to the
/// job's process (never to be stored with the spec). A variable still without a value is an
/// error naming it and how to give it.
pub fn fill_at_submit(
    parsed: &mut ParsedSpec,
    values: &SubmitValues,
) -> Result<SecretValues, SpecErrors> {
    let spec = &mut parsed.spec;
    let mut errors = Vec::new();
    for (name, value) in &values.envs {
        if let Err(e) = check_env_name(name) {
            errors.push(SpecError {
                path: format!("--env {name}"),
                message: e,
            });
            continue;
        }
        if spec.secrets.contains(name) {
            errors.push(SpecError {
                path: format!("--env {name}"),
                message: format!("{name} is a secret of this job: give it with --secret {name}"),
            });
            continue;
        }
        spec.unset_envs.retain(|n| n != name);
        spec.envs.insert(name.clone(), value.clone());
    }
    let mut secrets = parsed.secret_values.0.clone();
    for (name, value) in &values.secrets {
        if let Err(e) = check_env_name(name) {
            errors.push(SpecError {
                path: format!("--secret {name}"),
                message: e,
            });
            continue;
        }
        if spec.envs.contains_key(name) || spec.unset_envs.contains(name) {
            errors.push(SpecError {
                path: format!("--secret {name}"),
                message: format!(
                    "{name} is in the job's envs, not its secrets: give it with --env {name}=VALUE"
                ),
            });
            continue;
        }
        if !spec.secrets.contains(name) {
            spec.secrets.push(name.clone());
        }
        secrets.insert(name.clone(), value.clone());
    }
    spec.secrets.sort();
    for name in &spec.unset_envs {
        errors.push(SpecError {
            path: format!("envs.{name}"),
            message: format!("no value: give it at submit with --env {name}=VALUE"),
        });
    }
    for name in spec.secrets.iter().filter(|n| !secrets.contains_key(*n)) {
        errors.push(SpecError {
            path: format!("secrets.{name}"),
            message: format!(
                "no value: give it at submit with --secret {name}=VALUE, or --secret {name} to take it from your environment"
            ),
        });
    }
    if !errors.is_empty() {
        return Err(SpecErrors(errors));
    }
    parsed.secret_values = SecretValues::default();
    Ok(SecretValues(secrets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{AcceleratorNames, parse_spec};

    fn parsed(yaml: &str) -> ParsedSpec {
        parse_spec(yaml, &AcceleratorNames::new(["H100"])).unwrap()
    }

    fn values(envs: &[(&str, &str)], secrets: &[(&str, &str)]) -> SubmitValues {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        SubmitValues {
            envs: map(envs),
            secrets: map(secrets),
        }
    }

    const SPEC: &str = "run: x\nenvs:\n  MODEL: llama\n  HF_TOKEN:\nsecrets:\n  WANDB_KEY: null\n  FIXED: s3cr3t\n";

    #[test]
    fn null_envs_and_secrets_are_named_when_missing() {
        let mut p = parsed(SPEC);
        assert_eq!(p.spec.unset_envs, ["HF_TOKEN"]);
        assert_eq!(p.spec.secrets, ["FIXED", "WANDB_KEY"]);
        let e = fill_at_submit(&mut p, &SubmitValues::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "envs.HF_TOKEN: no value: give it at submit with --env HF_TOKEN=VALUE\n\
             secrets.WANDB_KEY: no value: give it at submit with --secret WANDB_KEY=VALUE, or --secret WANDB_KEY to take it from your environment"
        );
    }

    #[test]
    fn values_given_at_submit_fill_them_and_secrets_stay_apart() {
        let mut p = parsed(SPEC);
        let s = fill_at_submit(
            &mut p,
            &values(
                &[("HF_TOKEN", "hf_1"), ("MODEL", "qwen")],
                &[("WANDB_KEY", "w")],
            ),
        )
        .unwrap();
        assert_eq!(p.spec.envs["HF_TOKEN"], "hf_1");
        assert_eq!(p.spec.envs["MODEL"], "qwen");
        assert!(p.spec.unset_envs.is_empty());
        assert_eq!(s.0["WANDB_KEY"], "w");
        assert_eq!(s.0["FIXED"], "s3cr3t");
        // Neither the stored spec nor a debug print shows a secret's value.
        let stored = serde_json::to_string(&p).unwrap();
        assert!(!stored.contains("s3cr3t") && !stored.contains("\"w\""));
        assert!(!format!("{s:?}{p:?}").contains("s3cr3t"));
    }

    #[test]
    fn an_env_cannot_be_given_as_a_secret_or_the_reverse() {
        let mut p = parsed(SPEC);
        let e = fill_at_submit(
            &mut p,
            &values(&[("WANDB_KEY", "x")], &[("HF_TOKEN", "y"), ("FIXED", "z")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--env WANDB_KEY: WANDB_KEY is a secret of this job"));
        assert!(e.contains("--secret HF_TOKEN: HF_TOKEN is in the job's envs"));
    }
}
