//! `spillway simulate`.

/// Flags of `spillway simulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {}

pub(crate) fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("`spillway simulate` is not built yet")
}
