//! The job spec parser, both dialects (SkyPilot tasks and Spillway specs share one grammar),
//! from YAML text and from a JSON value as the API receives it: any input gives a spec or
//! errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spillway_model::spec::{AcceleratorNames, parse_spec, parse_spec_value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let names = AcceleratorNames::new(["H100", "A100", "L4", "tpu-v5p", "trn1"]);
    let _ = parse_spec(text, &names);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = parse_spec_value(&value, &names);
    }
});
