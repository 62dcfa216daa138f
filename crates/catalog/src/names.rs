//! Case-insensitive name resolution with "did you mean" suggestions.
//!
//! Users type `h100`, `TPU-V5P` or `v5e`; the catalog spells `H100`, `tpu-v5p` and
//! `tpu-v5litepod`. Resolution tries, in order: an exact case-insensitive match, the same name
//! with a `tpu-` prefix (`v5p`), then a small table of well-known aliases. When nothing
//! matches, the error lists the closest names so that a typo costs one retry.

use crate::error::{CatalogError, NameKind};

/// Other names people use for catalog accelerators: the spec's table, so that `offers` and
/// `validate` read a name alike.
use spillway_model::spec::ACCELERATOR_ALIASES;

/// Most suggestions shown in one message.
const MAX_SUGGESTIONS: usize = 3;

/// When nothing is close, all names are listed if there are at most this many.
const MAX_LISTED: usize = 8;

/// Resolves `query` against `candidates` (canonical spellings), returning the canonical one.
pub(crate) fn resolve<'a>(
    kind: NameKind,
    query: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Result<&'a str, CatalogError> {
    let wanted = query.trim().to_lowercase();
    let find = |name: &str| {
        candidates
            .clone()
            .into_iter()
            .find(|c| c.to_lowercase() == name)
    };
    if let Some(found) = find(&wanted) {
        return Ok(found);
    }
    if kind == NameKind::Accelerator {
        if let Some(found) = find(&format!("tpu-{wanted}")) {
            return Ok(found);
        }
        let alias = ACCELERATOR_ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(&wanted))
            .and_then(|(_, target)| find(&target.to_lowercase()));
        if let Some(found) = alias {
            return Ok(found);
        }
        // A TPU slice name (`tpu-v5p-32`) names its generation; `Catalog::query` also keeps
        // only slices of that size.
        if let Some(Ok(slice)) = spillway_model::spec::tpu::parse_slice(&wanted) {
            if let Some(found) = find(slice.generation) {
                return Ok(found);
            }
        }
        if let Some(skypilot) = spillway_model::spec::skypilot_only(&wanted) {
            return Err(CatalogError::KnownToSkypilot {
                name: query.to_string(),
                skypilot,
            });
        }
    }
    // Accelerators: only the same hardware spelt otherwise, as `validate` suggests (`A10` is
    // not an `A100`); other names: the closest ones.
    let suggestions = if kind == NameKind::Accelerator {
        spillway_model::spec::AcceleratorNames::new(candidates.clone())
            .suggest(&wanted)
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        suggest(&wanted, candidates.clone())
    };
    let mut known: Vec<String> = Vec::new();
    if suggestions.is_empty() {
        known = candidates.into_iter().map(str::to_string).collect();
        known.sort_unstable();
        known.dedup();
        // Accelerators are always listed, as `validate` lists them (a few dozen names);
        // regions and zones only when they are few.
        if kind != NameKind::Accelerator && known.len() > MAX_LISTED {
            known.clear();
        }
    }
    Err(CatalogError::UnknownName {
        kind,
        name: query.to_string(),
        suggestions,
        known,
    })
}

/// The closest candidates to `wanted` (already lowercase), best first.
///
/// Names that start with what was typed come first (`tpu-v5` -> `tpu-v5p`, `tpu-v5litepod`),
/// shortest completion first: a user who typed a prefix meant one of those, not a sibling one
/// edit away (`tpu-v4`). Failing that, names containing it; failing that, names within a few
/// edits.
pub(crate) fn suggest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut names: Vec<&str> = candidates.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    let lower = |c: &str| c.to_lowercase();

    let mut prefixed: Vec<&str> = names
        .iter()
        .copied()
        .filter(|c| !wanted.is_empty() && lower(c).starts_with(wanted))
        .collect();
    if !prefixed.is_empty() {
        prefixed.sort_by_key(|c| (c.len(), lower(c)));
        return take(prefixed);
    }

    let mut containing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|c| wanted.len() >= 2 && lower(c).contains(wanted))
        .collect();
    if !containing.is_empty() {
        containing.sort_by_key(|c| (c.len(), lower(c)));
        return take(containing);
    }

    // A typo: allow about one edit per three characters, at least two.
    let budget = (wanted.chars().count() / 3).max(2);
    let mut near: Vec<(usize, &str)> = names
        .iter()
        .map(|c| (strsim::damerau_levenshtein(wanted, &lower(c)), *c))
        .filter(|(distance, _)| *distance <= budget)
        .collect();
    near.sort_by_key(|(distance, c)| (*distance, lower(c)));
    take(near.into_iter().map(|(_, c)| c).collect())
}

fn take(names: Vec<&str>) -> Vec<String> {
    names
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCELERATORS: &[&str] = &[
        "H100",
        "H100-MEGA",
        "tpu-v4",
        "tpu-v5litepod",
        "tpu-v5p",
        "tpu-v6e",
        "Trainium",
        "Trainium2",
    ];

    fn accel(query: &str) -> Result<&'static str, CatalogError> {
        resolve(NameKind::Accelerator, query, ACCELERATORS.iter().copied())
    }

    #[test]
    fn matches_case_insensitively() {
        assert_eq!(accel("h100").unwrap(), "H100");
        assert_eq!(accel("TPU-V5P").unwrap(), "tpu-v5p");
    }

    #[test]
    fn accepts_tpu_prefix_less_names_and_vendor_aliases() {
        assert_eq!(accel("v5p").unwrap(), "tpu-v5p");
        assert_eq!(accel("v5e").unwrap(), "tpu-v5litepod");
        assert_eq!(accel("TPU-v5e").unwrap(), "tpu-v5litepod");
        assert_eq!(accel("trn2").unwrap(), "Trainium2");
    }

    #[test]
    fn slice_names_resolve_to_their_generation() {
        assert_eq!(accel("tpu-v5p-32").unwrap(), "tpu-v5p");
        assert_eq!(accel("TPU-V6E-8").unwrap(), "tpu-v6e");
        assert_eq!(accel("tpu-v5e-4").unwrap(), "tpu-v5litepod");
    }

    #[test]
    fn skypilot_names_we_lack_say_how_to_add_them() {
        assert_eq!(
            accel("Inferentia").unwrap_err().to_string(),
            "unknown accelerator 'Inferentia': Inferentia is known to SkyPilot, not in Spillway's catalog: add it with catalog overrides (docs/catalog.md)"
        );
    }

    #[test]
    fn unknown_prefix_suggests_its_completions_shortest_first() {
        let err = accel("tpu-v5").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown accelerator 'tpu-v5': did you mean tpu-v5p, tpu-v5litepod?"
        );
    }

    #[test]
    fn accelerators_are_suggested_only_as_the_same_hardware_spelt_otherwise() {
        // `H1000` is one edit from `H100`, but a suggestion must never name other hardware.
        let err = accel("H1000").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown accelerator 'H1000': known accelerators are H100, H100-MEGA, Trainium, Trainium2, tpu-v4, tpu-v5litepod, tpu-v5p, tpu-v6e"
        );
        let err = accel("h100_mega").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown accelerator 'h100_mega': did you mean H100-MEGA?"
        );
    }

    #[test]
    fn nothing_close_gives_no_suggestion() {
        let err = resolve(NameKind::Provider, "azure", ["aws", "gcp"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown provider 'azure': known providers are aws, gcp"
        );
    }

    #[test]
    fn provider_typo_is_suggested() {
        let err = resolve(NameKind::Provider, "gpc", ["aws", "gcp", "owned"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown provider 'gpc': did you mean gcp?");
    }
}
