//! `spillway offers`.

/// Flags of `spillway offers`.
#[derive(Debug, clap::Args)]
pub(crate) struct OffersArgs {}

pub(crate) fn run(_args: OffersArgs) -> anyhow::Result<()> {
    anyhow::bail!("`spillway offers` is not built yet")
}
