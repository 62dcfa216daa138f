//! Errors of the catalog: unknown names (with suggestions) and problems in an overrides file
//! (with the line and key at fault).

use std::path::PathBuf;

/// What kind of name failed to resolve; used in messages ("unknown accelerator 'x'").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// An accelerator type (`H100`, `tpu-v5p`).
    Accelerator,
    /// A provider (`gcp`, `aws`, `owned`).
    Provider,
    /// A region (`us-central1`).
    Region,
    /// A zone (`us-central1-a`, `use1-az6`).
    Zone,
    /// A VM type or slice name (`a3-highgpu-8g`, `tpu-v5p-8`).
    Instance,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Accelerator => "accelerator",
            NameKind::Provider => "provider",
            NameKind::Region => "region",
            NameKind::Zone => "zone",
            NameKind::Instance => "instance",
        })
    }
}

/// Formats the suggestion tail of an unknown-name message.
fn did_you_mean(kind: &NameKind, suggestions: &[String], known: &[String]) -> String {
    if !suggestions.is_empty() {
        format!(": did you mean {}?", suggestions.join(", "))
    } else if !known.is_empty() {
        format!(": known {kind}s are {}", known.join(", "))
    } else {
        String::new()
    }
}

/// Errors of the catalog. Messages are lowercase and read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A name matched nothing in the catalog.
    #[error("unknown {kind} '{name}'{}", did_you_mean(.kind, .suggestions, .known))]
    UnknownName {
        /// What kind of name it is.
        kind: NameKind,
        /// The name as given.
        name: String,
        /// The closest known names, best first (may be empty).
        suggestions: Vec<String>,
        /// All known names, when none is close and they are few enough to list.
        known: Vec<String>,
    },

    /// An accelerator of SkyPilot's catalog that Spillway's does not have.
    #[error(
        "unknown accelerator '{name}': {skypilot} is known to SkyPilot, not in Spillway's catalog: \
         add it with catalog overrides (docs/catalog.md)"
    )]
    KnownToSkypilot {
        /// The name as given.
        name: String,
        /// SkyPilot's spelling.
        skypilot: &'static str,
    },

    /// The accelerator is offered but the catalog has no spec (memory, FLOPS) for it.
    #[error(
        "accelerator '{name}' has offers but no spec (memory, peak FLOPS) in the catalog; \
         add one with an [[accelerator]] table in the catalog overrides file"
    )]
    NoSpec {
        /// Canonical name of the accelerator.
        name: String,
    },

    /// The overrides file could not be read.
    #[error("read catalog overrides file {}", .path.display())]
    ReadOverrides {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// The overrides file is not valid TOML, or has a key of the wrong type or an unknown key.
    #[error(
        "parse catalog overrides file {}: line {line}, column {column}{}: {message}",
        .path.display(),
        .key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default()
    )]
    OverridesSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
        /// The key whose value is at fault, when the fault is in a `key = value` line's value.
        key: Option<String>,
        /// What is wrong, as the TOML parser says it (names the key).
        message: String,
    },

    /// The overrides file parses but a value is not acceptable.
    #[error(
        "apply catalog overrides file {}: line {line}, key `{key}` of {table}: {message}",
        .path.display()
    )]
    OverridesValue {
        /// The file.
        path: PathBuf,
        /// 1-based line of the value at fault.
        line: usize,
        /// The table holding it, with its 1-based position (`[[discount]] #2`).
        table: String,
        /// The key at fault (`percent`).
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}
