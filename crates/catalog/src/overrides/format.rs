//! The overrides file as written: serde structures with spans, so that every error can name
//! the line and key at fault. Unknown keys are errors (a misspelt `percnt` must not be ignored).

use crate::error::CatalogError;
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The whole file. Every table is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverridesFile {
    #[serde(default)]
    pub(crate) accelerator: Vec<AcceleratorEntry>,
    #[serde(default)]
    pub(crate) discount: Vec<Discount>,
    #[serde(default)]
    pub(crate) price: Vec<CustomPrice>,
    #[serde(default)]
    pub(crate) offer: Vec<AddedOffer>,
    #[serde(default)]
    pub(crate) owned: Vec<OwnedPool>,
}

/// `[[accelerator]]`: a spec for an accelerator the bundled table lacks (or a replacement).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceleratorEntry {
    pub(crate) name: Spanned<String>,
    pub(crate) vendor: Spanned<String>,
    pub(crate) family: Spanned<String>,
    pub(crate) memory_gib: Spanned<f64>,
    pub(crate) memory_tb_s: Spanned<f64>,
    pub(crate) bf16_dense_tflops: Option<Spanned<f64>>,
    pub(crate) fp8_dense_tflops: Option<Spanned<f64>>,
    pub(crate) chips_named_by: Option<Spanned<String>>,
}

/// `[[discount]]`: percent off the list prices of one provider, optionally narrowed to one
/// accelerator and one region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Discount {
    pub(crate) provider: Spanned<String>,
    pub(crate) accelerator: Option<Spanned<String>>,
    pub(crate) region: Option<Spanned<String>>,
    pub(crate) percent: Spanned<f64>,
    /// Also discount spot prices (default: no; negotiated rates rarely cover spot).
    #[serde(default)]
    pub(crate) spot: bool,
}

/// `[[price]]`: set the price of the offers of one instance type (optionally one region/zone).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomPrice {
    pub(crate) provider: Spanned<String>,
    pub(crate) instance: Spanned<String>,
    pub(crate) region: Option<Spanned<String>>,
    pub(crate) zone: Option<Spanned<String>>,
    pub(crate) price_per_hour: Option<Spanned<f64>>,
    pub(crate) spot_price_per_hour: Option<Spanned<f64>>,
}

/// `[[offer]]`: an offer the bundled data lacks (another cloud, a reserved instance).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddedOffer {
    pub(crate) provider: Spanned<String>,
    pub(crate) region: Spanned<String>,
    pub(crate) zone: Option<Spanned<String>>,
    pub(crate) instance: Spanned<String>,
    pub(crate) accelerator: Spanned<String>,
    pub(crate) chips: Spanned<i64>,
    pub(crate) price_per_hour: Option<Spanned<f64>>,
    pub(crate) spot_price_per_hour: Option<Spanned<f64>>,
    pub(crate) memory_gib: Option<Spanned<f64>>,
}

/// `[[owned]]`: an owned cluster partition with an amortized price per chip-hour.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnedPool {
    pub(crate) name: Spanned<String>,
    pub(crate) accelerator: Spanned<String>,
    pub(crate) chips: Spanned<i64>,
    pub(crate) price_per_chip_hour: Spanned<f64>,
    pub(crate) region: Option<Spanned<String>>,
    pub(crate) zone: Option<Spanned<String>>,
}

/// 1-based (line, column) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |last| last.chars().count() + 1);
    (line, column)
}

/// 1-based line of the start of `span` in `text`.
pub(crate) fn line_of(text: &str, span: &Range<usize>) -> usize {
    line_column(text, span.start).0
}

/// The key of a `key = value` line when `column` points into the value, so that a type error
/// ("invalid type: string, expected i64") also names its key.
fn key_before(text: &str, line: usize, column: usize) -> Option<String> {
    let content = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = content.split_once('=')?;
    let key = key.trim();
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (is_key && key.chars().count() < column).then(|| key.to_string())
}

/// Parses `text`; a syntax, type or unknown-key error names its line and column.
pub(crate) fn parse(text: &str, path: &Path) -> Result<OverridesFile, CatalogError> {
    toml::from_str(text).map_err(|err| {
        let (line, column) = err
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        CatalogError::OverridesSyntax {
            path: path.to_path_buf(),
            line,
            column,
            key: key_before(text, line, column),
            message: err.message().trim().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 4));
    }

    #[test]
    fn unknown_key_is_an_error_naming_line_and_key() {
        let text = "[[discount]]\nprovider = \"gcp\"\npercnt = 30\n";
        let err = parse(text, Path::new("o.toml")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("percnt"), "{message}");
    }

    #[test]
    fn wrong_type_is_an_error_naming_the_line() {
        let text = "[[owned]]\nname = \"a\"\naccelerator = \"H100\"\nchips = \"many\"\nprice_per_chip_hour = 1.0\n";
        let err = parse(text, Path::new("o.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 4, column 9, key `chips`: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn empty_file_is_no_overrides() {
        let file = parse("", Path::new("o.toml")).unwrap();
        assert!(file.discount.is_empty() && file.owned.is_empty());
    }
}
