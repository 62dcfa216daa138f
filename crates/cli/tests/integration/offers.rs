//! `spillway offers` end to end.

use serde_json::Value;
use std::io::Write;

/// `spillway offers ARGS...` with no overrides file from the developer's environment.
fn offers(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = crate::spillway();
    cmd.env_remove("XDG_CONFIG_HOME").arg("offers").args(args);
    cmd
}

fn stdout(args: &[&str]) -> String {
    let output = offers(args).output().unwrap();
    assert!(
        output.status.success(),
        "spillway offers {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn stderr_of_failure(args: &[&str]) -> String {
    let output = offers(args).output().unwrap();
    assert!(
        !output.status.success(),
        "spillway offers {args:?} succeeded"
    );
    String::from_utf8(output.stderr).unwrap()
}

fn json(args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.push("--json");
    match serde_json::from_str(&stdout(&all)).unwrap() {
        Value::Array(items) => items,
        other => panic!("not an array: {other}"),
    }
}

fn overrides_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn field<'v>(offer: &'v Value, key: &str) -> &'v Value {
    offer
        .get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {offer}"))
}

fn num(offer: &Value, key: &str) -> f64 {
    field(offer, key)
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {offer}"))
}

fn cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The one offer of `instance` in `zone` among `items`.
fn one<'v>(items: &'v [Value], instance: &str, zone: &str) -> &'v Value {
    let found: Vec<&Value> = items
        .iter()
        .filter(|o| o["instance"] == instance && o["zone"] == zone)
        .collect();
    assert_eq!(found.len(), 1, "{instance} in {zone}: {found:?}");
    found[0]
}

#[test]
fn table_for_gcp_h100_in_one_zone() {
    let out = stdout(&[
        "--accelerator",
        "H100",
        "--provider",
        "gcp",
        "--zone",
        "us-central1-a",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn json_for_aws_h100_in_one_zone() {
    let out = stdout(&[
        "--accelerator",
        "h100",
        "--provider",
        "AWS",
        "--zone",
        "use1-az6",
        "--json",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn pinned_figures() {
    let v5p = json(&["--accelerator", "tpu-v5p", "--region", "us-east5"]);
    let offer = one(&v5p, "tpu-v5p-8", "us-east5-a");
    assert_eq!(field(offer, "chips"), &Value::from(4));
    assert_eq!(cents(num(offer, "price_per_hour")), 16.80);
    assert_eq!(cents(num(offer, "price_per_chip_hour")), 4.20);

    let v5e = json(&["--accelerator", "tpu-v5litepod", "--region", "us-central1"]);
    let offer = one(&v5e, "tpu-v5litepod-16", "us-central1-a");
    assert_eq!(field(offer, "chips"), &Value::from(16));
    assert_eq!(cents(num(offer, "price_per_hour")), 19.20);
    assert_eq!(cents(num(offer, "price_per_chip_hour")), 1.20);

    let a3 = json(&[
        "--accelerator",
        "H100",
        "--provider",
        "gcp",
        "--zone",
        "us-central1-a",
    ]);
    let offer = one(&a3, "a3-highgpu-8g", "us-central1-a");
    assert_eq!(field(offer, "chips"), &Value::from(8));
    assert_eq!(cents(num(offer, "price_per_hour")), 43.07);
    assert_eq!(cents(num(offer, "price_per_chip_hour")), 5.38);

    let p5 = json(&[
        "--provider",
        "aws",
        "--region",
        "us-east-1",
        "--accelerator",
        "H100",
    ]);
    let p5_48: Vec<&Value> = p5
        .iter()
        .filter(|o| o["instance"] == "p5.48xlarge")
        .collect();
    assert!(!p5_48.is_empty());
    for offer in p5_48 {
        assert_eq!(cents(num(offer, "price_per_hour")), 55.04);
        assert_eq!(cents(num(offer, "price_per_chip_hour")), 6.88);
    }
}

#[test]
fn json_fields_have_the_promised_types() {
    let items = json(&["--accelerator", "trainium2"]);
    assert!(!items.is_empty());
    for offer in &items {
        for key in ["provider", "region", "zone", "accelerator", "instance"] {
            assert!(field(offer, key).is_string(), "{key} in {offer}");
        }
        assert!(field(offer, "chips").is_u64());
        for key in [
            "price_per_hour",
            "spot_price_per_hour",
            "price_per_chip_hour",
        ] {
            let v = field(offer, key);
            assert!(v.is_null() || v.is_f64(), "{key} in {offer}");
        }
    }
    // trn2.48xlarge in use2-az3: no on-demand price (capacity blocks only), a spot price.
    let spot_only = one(&items, "trn2.48xlarge", "use2-az3");
    assert!(field(spot_only, "price_per_hour").is_null());
    assert!(field(spot_only, "price_per_chip_hour").is_null());
    assert!(field(spot_only, "spot_price_per_hour").is_f64());
}

#[test]
fn unknown_accelerator_suggests_the_closest() {
    let err = stderr_of_failure(&["--accelerator", "tpu-v5"]);
    assert_eq!(
        err,
        "error: unknown accelerator 'tpu-v5': did you mean tpu-v5p, tpu-v5litepod?\n"
    );
}

#[test]
fn unknown_provider_suggests_the_closest() {
    let err = stderr_of_failure(&["--provider", "gpc"]);
    assert_eq!(err, "error: unknown provider 'gpc': did you mean gcp?\n");
    let err = stderr_of_failure(&["--provider", "azure"]);
    assert_eq!(
        err,
        "error: unknown provider 'azure': known providers are aws, gcp\n"
    );
}

#[test]
fn overrides_with_an_unknown_key_name_line_and_key() {
    let file = overrides_file("[[discount]]\nprovider = \"gcp\"\npercnt = 30\n");
    let err = stderr_of_failure(&["--catalog-overrides", file.path().to_str().unwrap()]);
    assert!(err.contains("line 3, column 1"), "{err}");
    assert!(err.contains("unknown field `percnt`"), "{err}");
}

#[test]
fn overrides_with_a_value_of_the_wrong_type_name_line_and_key() {
    let file = overrides_file(
        "[[owned]]\nname = \"lab\"\naccelerator = \"A100\"\nchips = \"many\"\nprice_per_chip_hour = 1\n",
    );
    let err = stderr_of_failure(&["--catalog-overrides", file.path().to_str().unwrap()]);
    assert!(
        err.contains("line 4, column 9, key `chips`: invalid type"),
        "{err}"
    );
}

#[test]
fn overrides_with_a_bad_value_name_line_and_key() {
    let text = "# our contract\n[[discount]]\nprovider = \"gcp\"\naccelerator = \"tpu-v5\"\npercent = 30\n";
    let file = overrides_file(text);
    let err = stderr_of_failure(&["--catalog-overrides", file.path().to_str().unwrap()]);
    assert!(
        err.ends_with(
            ": line 4, key `accelerator` of [[discount]] #1: unknown accelerator 'tpu-v5': \
             did you mean tpu-v5p, tpu-v5litepod?\n"
        ),
        "{err}"
    );
}

#[test]
fn discounts_apply_from_the_flag_and_the_environment() {
    let file = overrides_file(
        "[[discount]]\nprovider = \"gcp\"\naccelerator = \"tpu-v5p\"\npercent = 30\n",
    );
    let path = file.path().to_str().unwrap();
    let args = [
        "--accelerator",
        "tpu-v5p",
        "--zone",
        "us-east5-a",
        "--catalog-overrides",
        path,
    ];
    let items = json(&args);
    let offer = one(&items, "tpu-v5p-8", "us-east5-a");
    assert_eq!(cents(num(offer, "price_per_hour")), 11.76);
    assert_eq!(cents(num(offer, "price_per_chip_hour")), 2.94);
    assert_eq!(cents(num(offer, "list_price_per_hour")), 16.80);
    assert_eq!(field(offer, "pricing"), "discounted");
    assert_eq!(num(offer, "discount_percent"), 30.0);

    let out = offers(&["--accelerator", "tpu-v5p", "--zone", "us-east5-a", "--json"])
        .env("SPILLWAY_CATALOG_OVERRIDES", path)
        .output()
        .unwrap();
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        field(one(&items, "tpu-v5p-8", "us-east5-a"), "pricing"),
        "discounted"
    );
}

#[test]
fn the_default_location_is_read() {
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("spillway")).unwrap();
    std::fs::write(
        config.path().join("spillway/catalog.toml"),
        "[[owned]]\nname = \"lab\"\naccelerator = \"A100\"\nchips = 16\nprice_per_chip_hour = 0.5\n",
    )
    .unwrap();
    let out = offers(&["--provider", "owned"])
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8(out.stdout).unwrap().contains("lab"));
}

#[test]
fn owned_pool_appears_as_an_offer() {
    let file = overrides_file(
        "[[owned]]\nname = \"slurm-h100\"\naccelerator = \"H100\"\nchips = 256\n\
         price_per_chip_hour = 1.10\nregion = \"dc-east\"\n",
    );
    let path = file.path().to_str().unwrap();
    let out = stdout(&[
        "--accelerator",
        "h100",
        "--provider",
        "owned",
        "--catalog-overrides",
        path,
    ]);
    insta::assert_snapshot!(out);
    // The cheapest H100 is now our own.
    let items = json(&["--accelerator", "h100", "--catalog-overrides", path]);
    assert_eq!(field(&items[0], "instance"), "slurm-h100");
    assert_eq!(field(&items[0], "provider"), "owned");
    assert_eq!(cents(num(&items[0], "price_per_hour")), 281.60);
}

#[test]
fn spot_keeps_only_offers_with_a_spot_price_sorted_by_it() {
    let all = json(&["--accelerator", "H200"]);
    let spot = json(&["--accelerator", "H200", "--spot"]);
    assert!(spot.len() < all.len(), "some H200 rows have no spot price");
    assert!(
        spot.iter()
            .all(|o| field(o, "spot_price_per_hour").is_f64())
    );
    let per_chip: Vec<f64> = spot
        .iter()
        .map(|o| num(o, "spot_price_per_chip_hour"))
        .collect();
    assert!(
        per_chip.windows(2).all(|w| w[0] <= w[1] + 1e-6),
        "{per_chip:?}"
    );
}

#[test]
fn min_memory_excludes_smaller_chips() {
    let items = json(&["--min-memory-gib", "141"]);
    assert!(!items.is_empty());
    assert!(items.iter().all(|o| num(o, "memory_gib") >= 141.0));
    let names: std::collections::BTreeSet<&str> = items
        .iter()
        .map(|o| field(o, "accelerator").as_str().unwrap())
        .collect();
    assert!(names.contains("H200") && names.contains("B200") && !names.contains("H100"));
}

#[test]
fn sort_keys_order_the_listing() {
    let base = ["--accelerator", "tpu-v5litepod", "--zone", "us-central1-a"];
    let by_price = json(&[&base[..], &["--sort", "price"]].concat());
    let prices: Vec<f64> = by_price.iter().map(|o| num(o, "price_per_hour")).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    assert_eq!(field(&by_price[0], "instance"), "tpu-v5litepod-1");

    let mixed = ["--zone", "us-central1-a", "--sort", "price-per-pflop-hour"];
    let by_pflop = json(&mixed);
    let values: Vec<Option<f64>> = by_pflop
        .iter()
        .map(|o| field(o, "price_per_pflop_hour").as_f64())
        .collect();
    let known: Vec<f64> = values.iter().map_while(|v| *v).collect();
    assert!(known.windows(2).all(|w| w[0] <= w[1] + 1e-6), "{known:?}");
    assert!(
        values[known.len()..].iter().all(Option::is_none),
        "unknown figures sort last"
    );
}

#[test]
fn footer_says_what_was_left_out_and_why() {
    let out = stdout(&["--accelerator", "b200"]);
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        "8 offers matched; 11 bundled rows left out: 11 GCP VMs whose host price is 0.0 \
         (unknown); list prices of 2026-05-20 (see docs/catalog.md)."
    );
}
