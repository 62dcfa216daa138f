//! `spillway estimate`.

/// Flags of `spillway estimate`.
#[derive(Debug, clap::Args)]
pub(crate) struct EstimateArgs {}

pub(crate) fn run(_args: EstimateArgs) -> anyhow::Result<()> {
    anyhow::bail!("`spillway estimate` is not built yet")
}
