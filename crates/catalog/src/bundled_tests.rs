//! Tests of the bundled catalog: every shipped row is accounted for, and the figures a reader
//! can check by hand (issue 2, `data/PROVENANCE.md`) come out exactly.

use crate::{Catalog, LeftOutReason, Offer, Pricing};
use spillway_model::Precision;

fn find<'c>(catalog: &'c Catalog, provider: &str, instance: &str, zone: &str) -> &'c Offer {
    catalog
        .offers()
        .iter()
        .find(|o| o.provider == provider && o.instance == instance && o.zone == zone)
        .unwrap_or_else(|| panic!("no {provider} {instance} in {zone}"))
}

/// Rounds to cents, as prices are shown.
fn cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[test]
fn every_shipped_row_parses() {
    let catalog = Catalog::bundled();
    let malformed: Vec<_> = catalog
        .left_out_rows()
        .iter()
        .filter(|r| r.reason == LeftOutReason::Malformed)
        .collect();
    assert!(malformed.is_empty(), "malformed rows: {malformed:#?}");
    assert_eq!(
        catalog.accelerators().len(),
        23,
        "every accelerators.csv row is a spec"
    );
}

#[test]
fn every_shipped_row_is_an_offer_or_left_out_for_a_stated_reason() {
    let catalog = Catalog::bundled();
    let count = |provider: &str| {
        catalog
            .offers()
            .iter()
            .filter(|o| o.provider == provider)
            .count()
    };
    let tpu = catalog
        .offers()
        .iter()
        .filter(|o| o.instance.starts_with("tpu-"))
        .count();
    // gcp_tpu.csv: 1,648 rows = 1,470 slices + 154 duplicates + 24 placeholder prices.
    assert_eq!(tpu, 1470);
    // gcp_gpu_host_vms.csv: 656 hosts = 643 VMs + 11 a4-highgpu-8g (host 0.0) + 2 without GPUs.
    assert_eq!(count("gcp") - tpu, 643);
    // aws: 164 rows = 153 offers + 11 with no price at all.
    assert_eq!(count("aws"), 153);
    let left_out: Vec<(LeftOutReason, usize)> = catalog
        .left_out()
        .iter()
        .map(|c| (c.reason, c.rows))
        .collect();
    assert_eq!(
        left_out,
        vec![
            (LeftOutReason::DuplicateRow, 154),
            (LeftOutReason::PlaceholderPrice, 24),
            (LeftOutReason::UnknownHostPrice, 11),
            (LeftOutReason::NoPrice, 11),
            (LeftOutReason::AcceleratorWithoutHost, 319),
            (LeftOutReason::HostWithoutAccelerator, 2),
        ]
    );
    let a4 = catalog
        .left_out_rows()
        .iter()
        .filter(|r| r.reason == LeftOutReason::UnknownHostPrice);
    assert!(a4.clone().all(|r| r.instance == "a4-highgpu-8g"));
    assert!(a4.clone().all(|r| r.accelerator.as_deref() == Some("B200")));
}

#[test]
fn tpu_v5p_8_in_us_east5_is_4_chips_at_4_20_per_chip_hour() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "gcp", "tpu-v5p-8", "us-east5-a");
    assert_eq!(offer.region, "us-east5");
    assert_eq!(offer.accelerator, "tpu-v5p");
    assert_eq!(offer.chips, 4);
    assert_eq!(cents(offer.price_per_hour.unwrap().0), 16.80);
    assert_eq!(cents(offer.price_per_chip_hour().unwrap().0), 4.20);
    assert_eq!(offer.memory_gib, Some(95.0));
}

#[test]
fn tpu_v5litepod_16_in_us_central1_is_16_chips_at_1_20_per_chip_hour() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "gcp", "tpu-v5litepod-16", "us-central1-a");
    assert_eq!(offer.chips, 16);
    assert_eq!(cents(offer.price_per_hour.unwrap().0), 19.20);
    assert_eq!(cents(offer.price_per_chip_hour().unwrap().0), 1.20);
}

#[test]
fn gcp_a3_highgpu_8g_is_host_plus_gpus() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "gcp", "a3-highgpu-8g", "us-central1-a");
    assert_eq!(offer.accelerator, "H100");
    assert_eq!(offer.chips, 8);
    // 9.46006 host + 33.60609 GPUs
    assert!((offer.price_per_hour.unwrap().0 - (9.46006 + 33.60609)).abs() < 1e-9);
    assert_eq!(cents(offer.price_per_hour.unwrap().0), 43.07);
    assert_eq!(cents(offer.price_per_chip_hour().unwrap().0), 5.38);
    // spot: 3.86318 host + 32.0104 GPUs
    assert!((offer.spot_price_per_hour.unwrap().0 - (3.86318 + 32.0104)).abs() < 1e-9);
}

#[test]
fn aws_p5_48xlarge_in_us_east_1() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "aws", "p5.48xlarge", "use1-az6");
    assert_eq!(offer.region, "us-east-1");
    assert_eq!(offer.chips, 8);
    assert_eq!(cents(offer.price_per_hour.unwrap().0), 55.04);
    assert_eq!(cents(offer.price_per_chip_hour().unwrap().0), 6.88);
    assert_eq!(offer.pricing, Pricing::List);
}

#[test]
fn tensorcore_named_slices_without_a_spec_still_count_chips() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "gcp", "tpu-v3-8", "us-central1-a");
    assert_eq!((offer.accelerator.as_str(), offer.chips), ("tpu-v3", 4));
    assert!(!offer.has_spec);
    assert_eq!(offer.price_per_pflop_hour(Precision::Bf16), None);
}

#[test]
fn the_placeholder_spot_price_is_dropped_but_the_offer_kept() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "gcp", "tpu-v6e-1", "southamerica-west1-a");
    assert_eq!(cents(offer.price_per_hour.unwrap().0), 2.70);
    assert_eq!(offer.spot_price_per_hour, None);
    assert!(
        catalog
            .offers()
            .iter()
            .all(|o| o.price_per_hour.is_none_or(|p| p.0 != 700.0)),
        "no offer carries the placeholder"
    );
}

#[test]
fn aws_blank_price_with_spot_is_a_spot_only_offer() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "aws", "trn2.48xlarge", "use2-az3");
    assert_eq!(offer.price_per_hour, None);
    assert_eq!(offer.chips, 16);
    assert!(offer.spot_price_per_hour.is_some());
    // The spec wins over the row's per-device memory figure (512 GiB for a 96 GiB chip).
    assert_eq!(offer.memory_gib, Some(96.0));
}

#[test]
fn unspecced_gpu_keeps_the_memory_its_row_states() {
    let catalog = Catalog::bundled();
    let offer = find(&catalog, "aws", "p3dn.24xlarge", "use1-az6");
    assert_eq!(offer.accelerator, "V100-32GB");
    assert_eq!(offer.memory_gib, Some(32.0));
    assert!(!offer.has_spec);
}

#[test]
fn accelerator_lookup_is_case_insensitive_and_suggests() {
    let catalog = Catalog::bundled();
    assert_eq!(catalog.accelerator("h100").unwrap().name, "H100");
    assert_eq!(catalog.accelerator("V5E").unwrap().name, "tpu-v5litepod");
    let err = catalog.accelerator("tpu-v5").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown accelerator 'tpu-v5': did you mean tpu-v5p, tpu-v5litepod?"
    );
    let err = catalog.accelerator("b300").unwrap_err();
    assert!(err.to_string().contains("has offers but no spec"), "{err}");
}

#[test]
fn provider_lookup_suggests() {
    let catalog = Catalog::bundled();
    assert_eq!(catalog.provider("GCP").unwrap(), "gcp");
    assert_eq!(
        catalog.provider("gpc").unwrap_err().to_string(),
        "unknown provider 'gpc': did you mean gcp?"
    );
}

#[test]
fn cheapest_offer_is_lowest_per_chip_hour() {
    let catalog = Catalog::bundled();
    let cheapest = catalog.cheapest_offer("tpu-v5p").unwrap();
    let floor = catalog
        .offers()
        .iter()
        .filter(|o| o.accelerator == "tpu-v5p")
        .filter_map(|o| o.price_per_chip_hour())
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min);
    assert!((cheapest.price_per_chip_hour().unwrap().0 - floor).abs() < 1e-9);
    assert_eq!(
        cheapest.instance, "tpu-v5p-8",
        "ties go to the smallest slice"
    );
    assert_eq!(cents(floor), 4.20);
    assert!(catalog.cheapest_offer("no-such-chip").is_none());
    let h100 = catalog.cheapest_offer("H100").unwrap();
    assert_eq!(cents(h100.price_per_chip_hour().unwrap().0), 5.38);
    assert!(
        catalog
            .cheapest_spot_offer("H100")
            .unwrap()
            .spot_price_per_hour
            .is_some()
    );
}

#[test]
fn offers_are_in_a_fixed_order() {
    let catalog = Catalog::bundled();
    assert!(
        catalog
            .offers()
            .windows(2)
            .all(|w| w[0].identity_cmp(&w[1]).is_le())
    );
    assert_eq!(catalog.offers(), Catalog::bundled().offers());
}
