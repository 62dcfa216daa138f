//! The accelerator catalog: accelerator specs and the offers (ways to rent them) built from the
//! bundled public price data, plus user overrides.
