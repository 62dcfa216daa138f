//! A pool's shape, validated: its TPU slices, the machines (nodes) its accelerators are split
//! over, and the VMs (block) a rented pool pays by.

use super::{ConfigError, ExecutorKind, PricePlan, field};
use spillway_model::spec::tpu::{SliceShape, TpuSlice, check_topology};

/// A pool of TPU slices (`accelerator = "tpu-v5p-32"`): its shape and its chips in all. The
/// number of slices is `slices` (default 1) or `count` chips, a whole number of slices; when
/// both are given they must agree. A topology must match the chips of one slice.
pub(super) fn slice_pool(
    at: &dyn Fn(&str) -> String,
    s: TpuSlice,
    count: u32,
    slices: Option<u32>,
    topology: Option<&str>,
) -> Result<(SliceShape, u32), ConfigError> {
    let chips = s.chips;
    let n = match (count, slices) {
        (_, Some(0)) => return Err(field(at("slices"), "must be at least 1")),
        (0, n) => n.unwrap_or(1),
        (c, None) if c % chips != 0 => {
            return Err(field(
                at("count"),
                format!(
                    "{} is {chips} chips, and {c} chips are not a whole number of such slices: \
                     make count a multiple of {chips}, or write slices = N instead",
                    s.name
                ),
            ));
        }
        (c, None) => c / chips,
        (c, Some(n)) if u64::from(c) != u64::from(n) * u64::from(chips) => {
            return Err(field(
                at("count"),
                format!(
                    "{n} slices of {} are {} chips, not {c}: drop count or make it agree",
                    s.name,
                    u64::from(n) * u64::from(chips)
                ),
            ));
        }
        (_, Some(n)) => n,
    };
    let total = n.checked_mul(chips).ok_or_else(|| {
        field(
            at("slices"),
            format!("{n} slices of {chips} chips are too many for one pool"),
        )
    })?;
    if let Some(t) = topology {
        check_topology(t, chips).map_err(|e| field(at("topology"), format!("{}: {e}", s.name)))?;
    }
    Ok((
        SliceShape {
            name: s.name,
            chips,
            topology: topology.map(|t| t.trim().to_string()),
        },
        total,
    ))
}

/// A pool's nodes (`nodes`, default 1): its accelerators must split evenly over them, and
/// only engines that start a job on several machines have more than one (Slurm, Ray).
pub(super) fn pool_nodes(
    at: &dyn Fn(&str) -> String,
    nodes: Option<u32>,
    kind: ExecutorKind,
    slices: bool,
    count: u32,
) -> Result<u32, ConfigError> {
    let Some(n) = nodes else { return Ok(1) };
    if n == 0 {
        return Err(field(at("nodes"), "must be at least 1"));
    }
    if n > 1 && kind == ExecutorKind::Local {
        return Err(field(
            at("nodes"),
            "a local pool is this one machine: drop nodes, or run gangs on a Slurm or Ray pool",
        ));
    }
    if n > 1 && slices {
        return Err(field(
            at("nodes"),
            "a pool of TPU slices places one whole slice per job: drop nodes",
        ));
    }
    if !count.is_multiple_of(n) {
        return Err(field(
            at("nodes"),
            format!(
                "{count} accelerators do not split evenly over {n} nodes: count is all the pool's accelerators, nodes x accelerators per node"
            ),
        ));
    }
    Ok(n)
}

/// A pool's `block`: accelerators rented together as one VM. Only a rented pool (on demand or
/// spot) of one node and no TPU slices pays by the VM, and its accelerators must be a whole
/// number of VMs.
pub(super) fn pool_block(
    at: &dyn Fn(&str) -> String,
    block: Option<u32>,
    plan: PricePlan,
    nodes: u32,
    slices: bool,
    count: u32,
) -> Result<u32, ConfigError> {
    let Some(b) = block else { return Ok(1) };
    if b == 0 {
        return Err(field(at("block"), "must be at least 1"));
    }
    if b == 1 {
        return Ok(1);
    }
    if !matches!(plan, PricePlan::OnDemand | PricePlan::Spot) {
        return Err(field(
            at("block"),
            "only a rented pool pays by the VM: set price = { plan = \"on_demand\" or \"spot\", ... }, or drop block",
        ));
    }
    if slices {
        return Err(field(
            at("block"),
            "a pool of TPU slices rents one whole slice per job: drop block",
        ));
    }
    if nodes > 1 {
        return Err(field(
            at("block"),
            "a pool of several nodes places gangs a node at a time: drop block, or nodes",
        ));
    }
    if count == 0 || !count.is_multiple_of(b) {
        return Err(field(
            at("block"),
            format!(
                "{count} accelerators are not a whole number of VMs of {b}: count is all the pool's accelerators, VMs x block"
            ),
        ));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn pools_declare_their_nodes_on_engines_that_run_gangs() {
        let slurm = "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\naccelerator = \"H100\"\ncount = 16\n";
        let c = Config::parse(&format!("{slurm}nodes = 2\n"), "t").unwrap();
        assert_eq!((c.pools[0].count, c.pools[0].nodes), (16, 2));
        assert_eq!(crate::schedule::machine_pools(&c)[0].nodes, 2);
        assert_eq!(Config::parse(slurm, "t").unwrap().pools[0].nodes, 1);
        for (toml, wanted) in [
            (
                format!("{slurm}nodes = 3\n"),
                "16 accelerators do not split evenly over 3 nodes",
            ),
            (
                format!("{slurm}nodes = 0\n"),
                "pool[0].nodes: must be at least 1",
            ),
            (
                "[[pool]]\nname = \"l\"\naccelerator = \"H100\"\ncount = 8\nnodes = 2\n"
                    .to_string(),
                "pool[0].nodes: a local pool is this one machine",
            ),
        ] {
            let e = Config::parse(&toml, "t").unwrap_err().to_string();
            assert!(e.contains(wanted), "{e}");
        }
    }

    #[test]
    fn rented_pools_declare_the_vm_they_are_rented_by() {
        let od = |plan: &str, extra: &str| {
            format!(
                "[[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 16\nprice = {{ plan = \"{plan}\", usd_per_chip_hour = 4.0 }}\n{extra}"
            )
        };
        let c = Config::parse(&od("on_demand", "block = 8\n"), "t").unwrap();
        assert_eq!(c.pools[0].block, 8);
        assert_eq!(crate::schedule::machine_pools(&c)[0].block, 8);
        assert_eq!(
            Config::parse(&od("spot", "block = 4\n"), "t")
                .unwrap()
                .pools[0]
                .block,
            4
        );
        assert_eq!(
            Config::parse(&od("owned", ""), "t").unwrap().pools[0].block,
            1
        );
        assert_eq!(
            Config::parse(&od("owned", "block = 1\n"), "t")
                .unwrap()
                .pools[0]
                .block,
            1
        );
        for (toml, wanted) in [
            (od("on_demand", "block = 0\n"), "pool[0].block: must be at least 1"),
            (
                od("on_demand", "block = 6\n"),
                "pool[0].block: 16 accelerators are not a whole number of VMs of 6",
            ),
            (od("owned", "block = 8\n"), "pool[0].block: only a rented pool pays by the VM"),
            (od("committed", "block = 8\n"), "pool[0].block: only a rented pool pays by the VM"),
            (
                "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\naccelerator = \"H100\"\ncount = 16\nnodes = 2\nblock = 8\nprice = { plan = \"on_demand\", usd_per_chip_hour = 4.0 }\n".to_string(),
                "pool[0].block: a pool of several nodes",
            ),
            (
                "[[pool]]\nname = \"tpu\"\naccelerator = \"tpu-v5p-8\"\nslices = 2\nblock = 4\nprice = { plan = \"on_demand\", usd_per_chip_hour = 4.0 }\n".to_string(),
                "pool[0].block: a pool of TPU slices",
            ),
        ] {
            let e = Config::parse(&toml, "t").unwrap_err().to_string();
            assert!(e.contains(wanted), "{e}");
        }
    }
}
