//! The catalog overrides file (TOML): negotiated discounts, custom prices, added offers, owned
//! pools and added accelerator specs. The format is documented in `docs/catalog.md`.

mod apply;
mod format;

pub(crate) use apply::apply;

#[cfg(test)]
mod tests;
