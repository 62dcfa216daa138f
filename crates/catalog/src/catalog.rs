//! The catalog: accelerator specs, offers and left-out rows, from the bundled data plus an
//! optional overrides file, with name resolution and price lookups.

use crate::error::{CatalogError, NameKind};
use crate::left_out::{LeftOutCount, LeftOutRow, count_by_reason};
use crate::names;
use crate::offer::Offer;
use crate::overrides;
use crate::source;
use spillway_model::AcceleratorSpec;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the overrides file; it wins over the default location.
pub const OVERRIDES_ENV: &str = "SPILLWAY_CATALOG_OVERRIDES";

/// Accelerator specs and offers, ready to query.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) specs: Vec<AcceleratorSpec>,
    pub(crate) offers: Vec<Offer>,
    left_out: Vec<LeftOutRow>,
    overrides_file: Option<PathBuf>,
}

impl Catalog {
    /// The catalog embedded in the binary, without overrides. Never panics: rows that do not
    /// parse are left out (see [`Catalog::left_out`]).
    pub fn bundled() -> Catalog {
        let bundled = source::bundled();
        let mut catalog = Catalog {
            specs: bundled.specs,
            offers: bundled.offers,
            left_out: bundled.left_out,
            overrides_file: None,
        };
        catalog.normalize();
        catalog
    }

    /// The bundled catalog plus an overrides file: `overrides` when given, else the default
    /// location (see [`default_overrides_path`]); no file at the default location is fine.
    pub fn load(overrides: Option<&Path>) -> Result<Catalog, CatalogError> {
        let path = match overrides {
            Some(path) => Some(path.to_path_buf()),
            None => default_overrides_path(|key| std::env::var_os(key)),
        };
        let mut catalog = Catalog::bundled();
        if let Some(path) = path {
            let text =
                std::fs::read_to_string(&path).map_err(|source| CatalogError::ReadOverrides {
                    path: path.clone(),
                    source,
                })?;
            catalog.apply_overrides(&text, &path)?;
        }
        Ok(catalog)
    }

    /// Applies the overrides in `text` (the content of the file at `path`, used in messages).
    /// On error the catalog is left unchanged.
    pub fn apply_overrides(&mut self, text: &str, path: &Path) -> Result<(), CatalogError> {
        let mut next = self.clone();
        overrides::apply(&mut next, text, path)?;
        next.overrides_file = Some(path.to_path_buf());
        next.normalize();
        *self = next;
        Ok(())
    }

    /// Sorts offers into their fixed order so that every listing is deterministic.
    fn normalize(&mut self) {
        self.offers.sort_by(Offer::identity_cmp);
        self.specs.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// The overrides file applied, if any.
    pub fn overrides_file(&self) -> Option<&Path> {
        self.overrides_file.as_deref()
    }

    /// Date of the bundled prices.
    pub fn data_date(&self) -> &'static str {
        source::BUNDLED_DATA_DATE
    }

    /// All accelerator specs, sorted by name.
    pub fn accelerators(&self) -> &[AcceleratorSpec] {
        &self.specs
    }

    /// The spec of accelerator `name` (case-insensitive; `v5e` and other vendor aliases work).
    /// Errors: unknown name (with the closest names), or an offered accelerator with no spec.
    pub fn accelerator(&self, name: &str) -> Result<&AcceleratorSpec, CatalogError> {
        let canonical = self.accelerator_name(name)?;
        self.specs
            .iter()
            .find(|s| s.name == canonical)
            .ok_or_else(|| CatalogError::NoSpec {
                name: canonical.to_string(),
            })
    }

    /// The canonical spelling of accelerator `name`, among those with a spec or an offer.
    pub fn accelerator_name(&self, name: &str) -> Result<&str, CatalogError> {
        names::resolve(NameKind::Accelerator, name, self.accelerator_names())
    }

    /// Every accelerator name with a spec or an offer, sorted, without repeats.
    pub fn accelerator_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .specs
            .iter()
            .map(|s| s.name.as_str())
            .chain(self.offers.iter().map(|o| o.accelerator.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// All offers, in a fixed order (provider, region, zone, instance).
    pub fn offers(&self) -> &[Offer] {
        &self.offers
    }

    /// The offer of `accelerator` (any spelling [`Catalog::accelerator`] accepts) with the
    /// lowest on-demand price per chip-hour, owned pools included; ties go to the first in
    /// the fixed order. `None` when the name is unknown or nothing has an on-demand price.
    pub fn cheapest_offer(&self, accelerator: &str) -> Option<&Offer> {
        self.cheapest_by(accelerator, Offer::price_per_chip_hour)
    }

    /// Like [`Catalog::cheapest_offer`], by spot price per chip-hour.
    pub fn cheapest_spot_offer(&self, accelerator: &str) -> Option<&Offer> {
        self.cheapest_by(accelerator, Offer::spot_price_per_chip_hour)
    }

    fn cheapest_by(
        &self,
        accelerator: &str,
        price: impl Fn(&Offer) -> Option<spillway_model::UsdPerHour>,
    ) -> Option<&Offer> {
        let canonical = self.accelerator_name(accelerator).ok()?;
        self.offers
            .iter()
            .filter(|o| o.accelerator == canonical)
            // Micro-dollars, so that equal prices computed along different paths tie.
            .filter_map(|o| price(o).map(|p| ((p.0 * 1e6).round(), o)))
            // min_by keeps the first of equal elements, i.e. the fixed order breaks ties.
            .min_by(|(a, _), (b, _)| a.total_cmp(b))
            .map(|(_, o)| o)
    }

    /// Canonical spelling of provider `name` (case-insensitive), with suggestions when unknown.
    pub fn provider(&self, name: &str) -> Result<&str, CatalogError> {
        names::resolve(NameKind::Provider, name, self.providers())
    }

    /// Every provider with an offer, sorted.
    pub fn providers(&self) -> Vec<&str> {
        self.distinct(|o| &o.provider)
    }

    /// Canonical spelling of region `name`, with suggestions when unknown.
    pub fn region(&self, name: &str) -> Result<&str, CatalogError> {
        names::resolve(NameKind::Region, name, self.distinct(|o| &o.region))
    }

    /// Canonical spelling of zone `name`, with suggestions when unknown.
    pub fn zone(&self, name: &str) -> Result<&str, CatalogError> {
        names::resolve(NameKind::Zone, name, self.distinct(|o| &o.zone))
    }

    fn distinct<'a>(&'a self, field: impl Fn(&'a Offer) -> &'a String) -> Vec<&'a str> {
        let mut values: Vec<&str> = self.offers.iter().map(|o| field(o).as_str()).collect();
        values.sort_unstable();
        values.dedup();
        values
    }

    /// How many bundled rows were left out, per reason.
    pub fn left_out(&self) -> Vec<LeftOutCount> {
        count_by_reason(&self.left_out)
    }

    /// Every bundled row that was left out, with its file, line and reason.
    pub fn left_out_rows(&self) -> &[LeftOutRow] {
        &self.left_out
    }
}

/// Where the overrides file is looked for when none is given: `$SPILLWAY_CATALOG_OVERRIDES`
/// (used even if it does not exist, so a wrong path is an error rather than silently ignored);
/// else `$XDG_CONFIG_HOME/spillway/catalog.toml`, else `$HOME/.config/spillway/catalog.toml`,
/// whichever exists. `env` reads an environment variable (injected for tests).
pub fn default_overrides_path(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(path) = env(OVERRIDES_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let config_dir = env("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|p| !p.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    let path = config_dir.join("spillway").join("catalog.toml");
    path.is_file().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), OsString::from(v)))
            .collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn env_variable_wins_even_when_the_file_is_missing() {
        let path =
            default_overrides_path(env(&[(OVERRIDES_ENV, "/nowhere/o.toml"), ("HOME", "/h")]));
        assert_eq!(path, Some(PathBuf::from("/nowhere/o.toml")));
    }

    #[test]
    fn config_dir_file_is_used_only_when_it_exists() {
        let dir =
            std::env::temp_dir().join(format!("spillway-catalog-test-{}", std::process::id()));
        let file = dir.join("spillway").join("catalog.toml");
        let xdg = dir.to_string_lossy().to_string();
        assert_eq!(
            default_overrides_path(env(&[("XDG_CONFIG_HOME", &xdg)])),
            None
        );
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            default_overrides_path(env(&[("XDG_CONFIG_HOME", &xdg)])),
            Some(file.clone())
        );
        let home_config = dir.join("home");
        let home = home_config.to_string_lossy().to_string();
        assert_eq!(default_overrides_path(env(&[("HOME", &home)])), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_reports_a_missing_file() {
        let err = Catalog::load(Some(Path::new("/nowhere/catalog.toml"))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("read catalog overrides file /nowhere/catalog.toml")
        );
    }
}
