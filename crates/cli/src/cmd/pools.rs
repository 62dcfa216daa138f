//! `spillway pools`: the declared pools and what runs on them.

use super::client::{Api, ClientArgs};
use crate::table::{Align, Table};
use spillway_server::api::PoolList;

/// Flags of `spillway pools`.
#[derive(Debug, clap::Args)]
pub(crate) struct PoolsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: PoolsArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let list: PoolList = api.send(api.get("/v1/pools"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let mut t = Table::new(&[
        ("POOL", Align::Left),
        ("EXECUTOR", Align::Left),
        ("ACCELERATOR", Align::Left),
        ("COUNT", Align::Right),
        ("FREE", Align::Right),
        ("RUNNING", Align::Right),
        ("QUEUED", Align::Right),
        ("PLAN", Align::Left),
        ("$/CHIP-H", Align::Right),
    ]);
    for p in &list.pools {
        t.push(vec![
            p.name.clone(),
            serde_json::to_value(p.executor)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
            p.accelerator.clone().unwrap_or_else(|| "cpu".into()),
            // A pool of several machines: how they split its accelerators.
            if p.nodes > 1 {
                format!("{} = {}x{}", p.count, p.nodes, p.count / p.nodes)
            } else {
                p.count.to_string()
            },
            p.free.to_string(),
            p.running_jobs.to_string(),
            p.queued_jobs.to_string(),
            serde_json::to_value(p.plan)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
            format!("{:.2}", p.usd_per_chip_hour),
        ]);
    }
    print!("{}", t.render());
    println!("policy: {}", list.policy);
    Ok(())
}
