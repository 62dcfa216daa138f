//! `gcp_gpu_host_vms.csv` + `gcp_gpu_accel_only.csv`: GCP GPU VMs.
//!
//! GCP prices a GPU VM in two parts: the host (vCPUs, memory) and the attached GPUs. The data
//! has them in two files; a VM's price is its host row plus the GPU row of the same zone for
//! the same GPU and count. The host rows do not name their GPUs, so the machine type says them
//! (GCP's machine-type docs): `a3-highgpu-8g` is 8 x H100, `g2-standard-24` is 2 x L4.
//!
//! Only complete VMs become offers. A GPU row that no host row uses (T4, V100, P100 and P4
//! attach to N1 hosts, whose prices are not in the data) is left out rather than offered at
//! the GPU's price alone, which would undercut every real VM in a per-chip comparison. A host
//! priced 0.0 (all `a4-highgpu-8g` rows) has an unknown price: the VM is left out, not free.

use super::rows::{Row, Table, left_out_row};
use super::{SpecIndex, cloud_offer};
use crate::left_out::{LeftOutReason, LeftOutRow};
use crate::offer::Offer;
use spillway_model::UsdPerHour;
use std::collections::HashMap;

const PROVIDER: &str = "gcp";

/// The GPUs of a GCP GPU machine type: (accelerator as the GPU rows name it, count).
fn machine_gpus(machine: &str) -> Option<(&'static str, u32)> {
    let gpus_in_suffix = |rest: &str| -> Option<u32> {
        // `8g` or `8g-nolssd`
        let head = rest.split('-').next()?;
        head.strip_suffix('g')?.parse().ok()
    };
    let families: &[(&str, &str)] = &[
        ("a2-highgpu-", "A100"),
        ("a2-megagpu-", "A100"),
        ("a2-ultragpu-", "A100-80GB"),
        ("a3-highgpu-", "H100"),
        ("a3-edgegpu-", "H100"),
        ("a3-megagpu-", "H100-MEGA"),
        ("a3-ultragpu-", "H200"),
        ("a4-highgpu-", "B200"),
    ];
    for (prefix, gpu) in families {
        if let Some(rest) = machine.strip_prefix(prefix) {
            return Some((gpu, gpus_in_suffix(rest)?));
        }
    }
    // G2 machine types are named by vCPUs; the GPU count follows GCP's table.
    let vcpus: u32 = machine.strip_prefix("g2-standard-")?.parse().ok()?;
    let l4s = match vcpus {
        4 | 8 | 12 | 16 | 32 => 1,
        24 => 2,
        48 => 4,
        96 => 8,
        _ => return None,
    };
    Some(("L4", l4s))
}

/// Key that joins a host row to its GPU row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct JoinKey {
    accelerator: String,
    count: u32,
    region: String,
    zone: String,
}

/// Per-chip memory from a `GpuInfo` cell such as `{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]}`.
fn gpu_info_memory_gib(info: &str) -> Option<f64> {
    let after = info.split("'SizeInMiB':").nth(1)?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse::<f64>().ok().map(|mib| mib / 1024.0)
}

/// Joins hosts and GPU rows into VM offers; unused and unparseable rows are left out.
pub(crate) fn parse(
    hosts: &Table,
    gpus: &Table,
    specs: &SpecIndex<'_>,
) -> (Vec<Offer>, Vec<LeftOutRow>) {
    let mut left_out = hosts.left_out(PROVIDER);
    left_out.extend(gpus.left_out(PROVIDER));
    let reason = LeftOutReason::DuplicateRow;
    for row in hosts.duplicates() {
        let machine = row.get("InstanceType").unwrap_or("");
        let accelerator = machine_gpus(machine).map(|(gpu, _)| specs.canonical(gpu));
        left_out.push(left_out_row(
            hosts.file,
            PROVIDER,
            &row,
            accelerator,
            machine,
            reason,
            None,
        ));
    }
    for row in gpus.duplicates() {
        let accelerator = row.get("AcceleratorName").ok().map(|a| specs.canonical(a));
        left_out.push(left_out_row(
            gpus.file,
            PROVIDER,
            &row,
            accelerator,
            "",
            reason,
            None,
        ));
    }

    let gpu_rows: Vec<Row<'_>> = gpus.rows().collect();
    let mut by_key: HashMap<JoinKey, usize> = HashMap::new();
    for (index, row) in gpu_rows.iter().enumerate() {
        match gpu_key(row) {
            // The first of two rows with the same key wins; the second is never used and is
            // reported as without host below.
            Ok(key) => {
                by_key.entry(key).or_insert(index);
            }
            Err(detail) => left_out.push(left_out_row(
                gpus.file,
                PROVIDER,
                row,
                None,
                "",
                LeftOutReason::Malformed,
                Some(detail),
            )),
        }
    }
    let mut used = vec![false; gpu_rows.len()];

    let mut offers = Vec::new();
    for host in hosts.rows() {
        let machine = host.get("InstanceType").unwrap_or("").to_string();
        let leave = |reason, accelerator: Option<String>, detail| {
            left_out_row(
                hosts.file,
                PROVIDER,
                &host,
                accelerator,
                &machine,
                reason,
                detail,
            )
        };
        let Some((gpu, count)) = machine_gpus(&machine) else {
            left_out.push(leave(
                LeftOutReason::Malformed,
                None,
                Some(format!("unknown GCP GPU machine type '{machine}'")),
            ));
            continue;
        };
        let accelerator = specs.canonical(gpu);
        let key = JoinKey {
            accelerator: gpu.to_lowercase(),
            count,
            region: host.get("Region").unwrap_or("").to_string(),
            zone: host.get("AvailabilityZone").unwrap_or("").to_string(),
        };
        let Some(&gpu_index) = by_key.get(&key) else {
            left_out.push(leave(
                LeftOutReason::HostWithoutAccelerator,
                Some(accelerator),
                None,
            ));
            continue;
        };
        used[gpu_index] = true;
        match vm_offer(&host, &gpu_rows[gpu_index], gpu, count, &machine, specs) {
            Ok(Ok(offer)) => offers.push(offer),
            Ok(Err(reason)) => left_out.push(leave(reason, Some(accelerator), None)),
            Err(detail) => left_out.push(leave(
                LeftOutReason::Malformed,
                Some(accelerator),
                Some(detail),
            )),
        }
    }

    for (row, _) in gpu_rows.iter().zip(&used).filter(|(_, used)| !**used) {
        let accelerator = row.get("AcceleratorName").unwrap_or("");
        if gpu_key(row).is_err() {
            continue; // already reported as malformed
        }
        let count = row.get("AcceleratorCount").unwrap_or("");
        left_out.push(left_out_row(
            gpus.file,
            PROVIDER,
            row,
            Some(specs.canonical(accelerator)),
            &format!("{count} x {accelerator} (no host VM)"),
            LeftOutReason::AcceleratorWithoutHost,
            None,
        ));
    }
    (offers, left_out)
}

fn gpu_key(row: &Row<'_>) -> Result<JoinKey, String> {
    let accelerator = row.get("AcceleratorName")?;
    if accelerator.is_empty() {
        return Err("column AcceleratorName is empty".into());
    }
    Ok(JoinKey {
        accelerator: accelerator.to_lowercase(),
        count: row.count("AcceleratorCount")?,
        region: row.get("Region")?.to_string(),
        zone: row.get("AvailabilityZone")?.to_string(),
    })
}

/// The VM offer of a host row and its GPU row, or why there is none.
fn vm_offer(
    host: &Row<'_>,
    gpu: &Row<'_>,
    accelerator: &str,
    count: u32,
    machine: &str,
    specs: &SpecIndex<'_>,
) -> Result<Result<Offer, LeftOutReason>, String> {
    let host_price = host.opt_number("Price")?;
    let gpu_price = gpu.opt_number("Price")?;
    let (Some(host_price), Some(gpu_price)) = (host_price, gpu_price) else {
        return Ok(Err(LeftOutReason::NoPrice));
    };
    if host_price == 0.0 {
        return Ok(Err(LeftOutReason::UnknownHostPrice));
    }
    // Spot: both parts must have a (non-zero) spot price, else the VM has none.
    let spot = match (host.opt_number("SpotPrice")?, gpu.opt_number("SpotPrice")?) {
        (Some(h), Some(g)) if h > 0.0 => Some(UsdPerHour(h + g)),
        _ => None,
    };
    let memory = gpu_info_memory_gib(gpu.get("GpuInfo").unwrap_or(""));
    Ok(Ok(cloud_offer(
        specs,
        PROVIDER,
        host,
        accelerator,
        count,
        machine,
        Some(UsdPerHour(host_price + gpu_price)),
        spot,
        memory,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_types_name_their_gpus() {
        assert_eq!(machine_gpus("a3-highgpu-8g"), Some(("H100", 8)));
        assert_eq!(machine_gpus("a3-edgegpu-8g-nolssd"), Some(("H100", 8)));
        assert_eq!(machine_gpus("a2-megagpu-16g"), Some(("A100", 16)));
        assert_eq!(machine_gpus("a2-ultragpu-2g"), Some(("A100-80GB", 2)));
        assert_eq!(machine_gpus("a3-ultragpu-8g"), Some(("H200", 8)));
        assert_eq!(machine_gpus("g2-standard-24"), Some(("L4", 2)));
        assert_eq!(machine_gpus("g2-standard-32"), Some(("L4", 1)));
        assert_eq!(machine_gpus("n1-standard-8"), None);
        assert_eq!(machine_gpus("g2-standard-7"), None);
    }

    #[test]
    fn gpu_info_gives_memory_per_chip() {
        let info = "{'Gpus': [{'MemoryInfo': {'SizeInMiB': 81920}}]}";
        assert_eq!(gpu_info_memory_gib(info), Some(80.0));
        assert_eq!(gpu_info_memory_gib(""), None);
    }
}
