//! The Alibaba node list (`openb_node_list_gpu_node.csv`: `sn,cpu_milli,memory_mib,gpu,model`)
//! as a cluster: GPUs per model, named as the pod lists' `gpu_spec` constraints name them
//! (lowercased), so that the constrained pods of `openb_pod_list_gpuspec33.csv` can be replayed
//! on the cluster they ran on.

use super::rows::{self, BadLines, FieldError};
use super::{ReadOptions, TraceError};
use std::collections::BTreeMap;
use std::path::Path;

/// GPUs per accelerator model in a node list, e.g. `{"g2": 4392, "t4": 842, ...}`. Nodes without
/// GPUs (or without a model) are left out.
pub fn gpus_by_model(path: &Path, text: &str) -> Result<BTreeMap<String, u32>, TraceError> {
    let bad = BadLines::new(path, &ReadOptions::default());
    let mut records = rows::records(text);
    let Some((header_line, header)) = rows::header(&mut records) else {
        return Err(bad.error(1, FieldError::new("header", "the node list has no header")));
    };
    let column = |name: &str| {
        rows::column(&header, name).ok_or_else(|| {
            bad.error(
                header_line,
                FieldError::new(
                    name,
                    format!(
                        "the node list has no `{name}` column; it starts with \
                         `sn,cpu_milli,memory_mib,gpu,model`"
                    ),
                ),
            )
        })
    };
    let (gpu, model) = (column("gpu")?, column("model")?);
    let mut gpus = BTreeMap::new();
    for (line, record) in records {
        let node = record.and_then(|record| {
            rows::check_field_count(&record, &header)?;
            let count = u32::try_from(rows::parse_u64("gpu", &record[gpu])?)
                .map_err(|_| FieldError::new("gpu", "more GPUs than a node holds"))?;
            let name = record[model].to_ascii_lowercase();
            if count > 0 && name.is_empty() {
                return Err(FieldError::new(
                    "model",
                    format!("a node with {count} GPU(s) has no GPU model"),
                ));
            }
            Ok((name, count))
        });
        let (name, count) = node.map_err(|error| bad.error(line, error))?;
        if count > 0 {
            let total: &mut u32 = gpus.entry(name).or_default();
            *total = total.saturating_add(count);
        }
    }
    Ok(gpus)
}

/// The `--cluster` form of a GPU count map: `a10=2,g2=4392,...`.
pub fn cluster_spec(gpus: &BTreeMap<String, u32>) -> String {
    gpus.iter()
        .map(|(model, count)| format!("{model}={count}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_add_up_per_model() {
        let gpus = gpus_by_model(
            Path::new("nodes.csv"),
            "sn,cpu_milli,memory_mib,gpu,model\n\
             n0,64000,262144,2,P100\n\
             n1,32000,262144,0,\n\
             n2,96000,786432,8,G2\n\
             n3,64000,262144,2,P100\n",
        )
        .unwrap();
        assert_eq!(cluster_spec(&gpus), "g2=8,p100=4");
    }

    #[test]
    fn a_gpu_node_without_a_model_is_an_error() {
        let error = gpus_by_model(
            Path::new("nodes.csv"),
            "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,2,\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "nodes.csv:2: field `model`: a node with 2 GPU(s) has no GPU model"
        );
    }
}
