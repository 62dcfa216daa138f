//! Tests of the overrides file against the bundled catalog.

use crate::{Catalog, CatalogError, OWNED_PROVIDER, Pricing};
use std::path::Path;

fn apply(text: &str) -> Result<Catalog, CatalogError> {
    let mut catalog = Catalog::bundled();
    catalog.apply_overrides(text, Path::new("overrides.toml"))?;
    Ok(catalog)
}

fn price_of(
    catalog: &Catalog,
    provider: &str,
    instance: &str,
    zone: &str,
) -> (Option<f64>, Option<f64>, Pricing) {
    let o = catalog
        .offers()
        .iter()
        .find(|o| o.provider == provider && o.instance == instance && o.zone == zone)
        .unwrap();
    (
        o.price_per_hour.map(|p| p.0),
        o.spot_price_per_hour.map(|p| p.0),
        o.pricing,
    )
}

#[test]
fn discount_applies_to_the_named_accelerator_only() {
    let catalog =
        apply("[[discount]]\nprovider = \"GCP\"\naccelerator = \"TPU-V5P\"\npercent = 30\n")
            .unwrap();
    let (price, spot, pricing) = price_of(&catalog, "gcp", "tpu-v5p-8", "us-east5-a");
    assert!((price.unwrap() - 16.80 * 0.7).abs() < 1e-9);
    assert!(
        (spot.unwrap() - 6.384).abs() < 1e-9,
        "spot untouched by default"
    );
    assert_eq!(pricing, Pricing::Discounted);
    let v5p = catalog
        .offers()
        .iter()
        .find(|o| o.instance == "tpu-v5p-8" && o.zone == "us-east5-a")
        .unwrap();
    assert_eq!(v5p.discount_percent, Some(30.0));
    assert_eq!(v5p.list_price_per_hour.map(|p| p.0), Some(16.80));
    let (price, _, pricing) = price_of(&catalog, "gcp", "tpu-v5litepod-16", "us-central1-a");
    assert_eq!((price, pricing), (Some(19.2), Pricing::List));
}

#[test]
fn the_most_specific_discount_wins_and_spot_can_be_included() {
    let text = r#"
[[discount]]
provider = "gcp"
percent = 10

[[discount]]
provider = "gcp"
accelerator = "tpu-v5p"
region = "us-east5"
percent = 40
spot = true
"#;
    let catalog = apply(text).unwrap();
    let (price, spot, _) = price_of(&catalog, "gcp", "tpu-v5p-8", "us-east5-a");
    assert!((price.unwrap() - 16.80 * 0.6).abs() < 1e-9);
    assert!((spot.unwrap() - 6.384 * 0.6).abs() < 1e-9);
    let (price, _, _) = price_of(&catalog, "gcp", "a3-highgpu-8g", "us-central1-a");
    assert!((price.unwrap() - (9.46006 + 33.60609) * 0.9).abs() < 1e-9);
    let (price, _, pricing) = price_of(&catalog, "aws", "p5.48xlarge", "use1-az6");
    assert_eq!((price, pricing), (Some(55.04), Pricing::List));
}

#[test]
fn custom_price_wins_over_discount() {
    let text = r#"
[[discount]]
provider = "aws"
percent = 20

[[price]]
provider = "aws"
instance = "p5.48xlarge"
region = "us-east-1"
price_per_hour = 40.0
spot_price_per_hour = 12.5
"#;
    let catalog = apply(text).unwrap();
    assert_eq!(
        price_of(&catalog, "aws", "p5.48xlarge", "use1-az6"),
        (Some(40.0), Some(12.5), Pricing::Custom)
    );
    let (price, _, pricing) = price_of(&catalog, "aws", "p5.48xlarge", "usw2-az1");
    assert_eq!(
        pricing,
        Pricing::Discounted,
        "other regions keep the discount"
    );
    assert!(price.is_some());
}

#[test]
fn owned_pool_is_an_offer_priced_per_chip_hour() {
    let text = "[[owned]]\nname = \"slurm-h100\"\naccelerator = \"h100\"\nchips = 256\nprice_per_chip_hour = 1.10\n";
    let catalog = apply(text).unwrap();
    let pool = catalog
        .offers()
        .iter()
        .find(|o| o.provider == OWNED_PROVIDER)
        .unwrap();
    assert_eq!(
        (
            pool.instance.as_str(),
            pool.accelerator.as_str(),
            pool.chips
        ),
        ("slurm-h100", "H100", 256)
    );
    assert_eq!(pool.region, "on-prem");
    assert!((pool.price_per_hour.unwrap().0 - 281.6).abs() < 1e-9);
    assert!((pool.price_per_chip_hour().unwrap().0 - 1.10).abs() < 1e-12);
    assert_eq!(pool.memory_gib, Some(80.0));
    assert_eq!(
        catalog.cheapest_offer("H100").unwrap().instance,
        "slurm-h100"
    );
    assert_eq!(catalog.provider("Owned").unwrap(), "owned");
}

#[test]
fn added_spec_and_offer() {
    let text = r#"
[[accelerator]]
name = "b300"
vendor = "NVIDIA"
family = "gpu"
memory_gib = 268
memory_tb_s = 8.0
bf16_dense_tflops = 2250

[[offer]]
provider = "Lambda"
region = "us-east-1"
instance = "gpu_8x_b300"
accelerator = "B300"
chips = 8
price_per_hour = 40.0
"#;
    let catalog = apply(text).unwrap();
    assert_eq!(
        catalog.accelerator("B300").unwrap().name,
        "B300",
        "keeps the catalog's spelling"
    );
    let aws = catalog
        .offers()
        .iter()
        .find(|o| o.instance == "p6-b300.48xlarge")
        .unwrap();
    assert!(aws.has_spec);
    assert_eq!(aws.memory_gib, Some(268.0));
    let lambda = catalog
        .offers()
        .iter()
        .find(|o| o.provider == "lambda")
        .unwrap();
    assert_eq!(
        (lambda.zone.as_str(), lambda.pricing),
        ("us-east-1", Pricing::Added)
    );
    assert!(
        lambda
            .price_per_pflop_hour(spillway_model::Precision::Bf16)
            .is_some()
    );
}

fn error(text: &str) -> String {
    apply(text).unwrap_err().to_string()
}

#[test]
fn errors_name_line_and_key() {
    let message = error("[[discount]]\nprovider = \"gpc\"\npercent = 30\n");
    assert_eq!(
        message,
        "apply catalog overrides file overrides.toml: line 2, key `provider` of [[discount]] #1: \
         unknown provider 'gpc': did you mean gcp?"
    );
    let message = error(
        "[[discount]]\nprovider = \"gcp\"\npercent = 30\n\n[[discount]]\nprovider = \"gcp\"\npercent = 130\n",
    );
    assert!(
        message.contains("line 7, key `percent` of [[discount]] #2"),
        "{message}"
    );
    let message = error(
        "[[owned]]\nname = \"x\"\naccelerator = \"tpu-v5\"\nchips = 4\nprice_per_chip_hour = 1\n",
    );
    assert!(message.contains("line 3, key `accelerator`"), "{message}");
    assert!(
        message.contains("did you mean tpu-v5p, tpu-v5litepod?"),
        "{message}"
    );
    let message = error(
        "[[owned]]\nname = \"x\"\naccelerator = \"H100\"\nchips = 0\nprice_per_chip_hour = 1\n",
    );
    assert!(message.contains("line 4, key `chips`"), "{message}");
    let message = error(
        "[[price]]\nprovider = \"aws\"\ninstance = \"p5.48xlarge\"\nregion = \"mars-1\"\nprice_per_hour = 1\n",
    );
    assert!(message.contains("line 4, key `region`"), "{message}");
    let message =
        error("[[price]]\nprovider = \"aws\"\ninstance = \"p5.48xlarg\"\nprice_per_hour = 1\n");
    assert!(message.contains("did you mean p5.48xlarge"), "{message}");
    let message = error(
        "[[discount]]\nprovider = \"gcp\"\npercent = 30\n[[discount]]\nprovider = \"gcp\"\npercent = 20\n",
    );
    assert!(message.contains("already given at line 2"), "{message}");
}

#[test]
fn a_failed_apply_leaves_the_catalog_unchanged() {
    let mut catalog = Catalog::bundled();
    let before = catalog.offers().to_vec();
    let text = "[[discount]]\nprovider = \"gcp\"\npercent = 30\n[[owned]]\nname = \"x\"\naccelerator = \"nope\"\nchips = 1\nprice_per_chip_hour = 1\n";
    assert!(catalog.apply_overrides(text, Path::new("o.toml")).is_err());
    assert_eq!(catalog.offers(), before.as_slice());
    assert_eq!(catalog.overrides_file(), None);
}

#[test]
fn the_documented_example_applies() {
    let doc = include_str!("../../../../docs/catalog.md");
    let start = doc
        .find("```toml\n")
        .expect("docs/catalog.md has a toml example")
        + 8;
    let end = start + doc[start..].find("```").unwrap();
    let catalog = apply(&doc[start..end]).unwrap_or_else(|e| panic!("{e}"));
    let (price, spot, pricing) = price_of(&catalog, "aws", "p5.48xlarge", "use1-az6");
    assert_eq!(
        (price, spot, pricing),
        (Some(39.0), Some(15.0), Pricing::Custom)
    );
    let (price, _, pricing) = price_of(&catalog, "aws", "p5.48xlarge", "use1-az4");
    assert_eq!(pricing, Pricing::Discounted);
    assert!((price.unwrap() - 55.04 * 0.85).abs() < 1e-9);
    let (price, _, _) = price_of(&catalog, "gcp", "tpu-v5p-8", "us-east5-a");
    assert!(
        (price.unwrap() - 16.80 * 0.7).abs() < 1e-9,
        "the tpu-v5p discount beats the gcp-wide one"
    );
    let (price, _, _) = price_of(&catalog, "gcp", "tpu-v5litepod-16", "us-central1-a");
    assert!((price.unwrap() - 19.20 * 0.9).abs() < 1e-9);
    assert!(catalog.accelerator("b300").is_ok());
    assert_eq!(
        catalog.cheapest_offer("H100").unwrap().instance,
        "slurm-h100"
    );
    assert!(catalog.providers().contains(&"lambda"));
}
