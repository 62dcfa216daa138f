//! The service config (TOML): any text gives a validated config or an error naming the
//! field, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spillway_server::config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, "fuzz");
    }
});
