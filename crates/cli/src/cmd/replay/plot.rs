//! `replay --plot DIR`: queue length and spend over time, what happened against the replay and
//! the what-if, as SVG (`queue_length.svg`, `spend.svg`), drawn like `simulate --plot`'s.

use super::series::Series;
use anyhow::{Context, Result};
use spillway_sim::plot::{Line, write_lines};
use std::path::{Path, PathBuf};

/// The x axis' unit for a span of `ms`: (ms per unit, its name).
fn unit(ms: f64) -> (f64, &'static str) {
    if ms >= 2.0 * 3_600_000.0 {
        (3_600_000.0, "hours")
    } else if ms >= 2.0 * 60_000.0 {
        (60_000.0, "minutes")
    } else {
        (1000.0, "seconds")
    }
}

/// Writes the plots of `s` into `dir`; returns the files written.
pub(crate) fn write(dir: &Path, s: &Series) -> Result<Vec<PathBuf>> {
    let n = s.queue.first().map_or(0, |(_, v)| v.len());
    let (per, name) = unit(s.step_ms * n as f64);
    let x_desc = format!("{name} from {} UTC", super::period::show(s.x0_ms as i64));
    let step = s.step_ms / per;
    let queue: Vec<Line> = s
        .queue
        .iter()
        .map(|(label, v)| Line {
            name: label.clone(),
            points: v
                .iter()
                .enumerate()
                .map(|(b, y)| ((b as f64 + 0.5) * step, *y))
                .collect(),
        })
        .collect();
    let spend: Vec<Line> = s
        .spend
        .iter()
        .map(|(label, v)| Line {
            name: label.clone(),
            points: std::iter::once((0.0, 0.0))
                .chain(
                    v.iter()
                        .enumerate()
                        .map(|(b, y)| ((b + 1) as f64 * step, *y)),
                )
                .collect(),
        })
        .collect();
    let files = [
        (
            dir.join("queue_length.svg"),
            "jobs queued over time",
            "jobs queued (average per interval)",
            queue,
        ),
        (
            dir.join("spend.svg"),
            "spend over time",
            "USD spent so far",
            spend,
        ),
    ];
    let mut out = Vec::new();
    for (path, caption, y_desc, lines) in files {
        write_lines(&path, caption, &x_desc, y_desc, &lines)
            .with_context(|| format!("failed to write the plot {}", path.display()))?;
        out.push(path);
    }
    Ok(out)
}
