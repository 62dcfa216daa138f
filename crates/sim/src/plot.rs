//! SVG plots of simulation runs: JCT CDF per policy, busy accelerators over time.

use crate::engine::SimOutcome;
use plotters::prelude::*;
use spillway_core::Cluster;
use std::ops::Range;
use std::path::Path;

/// Why a plot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The folder could not be created.
    #[error("create plot folder")]
    Io(#[from] std::io::Error),
    /// Drawing failed.
    #[error("draw {file}: {message}")]
    Draw {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
}

const COLORS: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

/// Writes `jct_cdf.svg` (all policies) and `utilization_<policy>.svg` into `dir`.
pub fn write_plots(
    dir: &Path,
    outcomes: &[&SimOutcome],
    cluster: &Cluster,
    window: Option<Range<u64>>,
) -> Result<(), PlotError> {
    std::fs::create_dir_all(dir)?;
    let draw_err = |file: &str| {
        let file = file.to_string();
        move |e: Box<dyn std::error::Error>| PlotError::Draw {
            file: file.clone(),
            message: e.to_string(),
        }
    };
    let cdf_path = dir.join("jct_cdf.svg");
    (|| -> Result<(), Box<dyn std::error::Error>> {
        let series: Vec<(String, Vec<f64>)> = outcomes
            .iter()
            .map(|o| {
                let mut v: Vec<f64> = o
                    .jobs
                    .iter()
                    .filter(|j| window.as_ref().is_none_or(|w| w.contains(&j.id.0)))
                    .map(|j| (j.finish.0 - j.arrival.0) as f64 / 3.6e9)
                    .collect();
                v.sort_by(f64::total_cmp);
                (o.policy.name().to_string(), v)
            })
            .collect();
        let max_x = series
            .iter()
            .flat_map(|(_, v)| v.last().copied())
            .fold(1.0, f64::max);
        let root = SVGBackend::new(&cdf_path, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("JCT CDF", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((0.1f64..max_x * 1.1).log_scale(), 0f64..1f64)?;
        chart
            .configure_mesh()
            .x_desc("JCT (hours)")
            .y_desc("fraction of jobs")
            .draw()?;
        for (k, (name, v)) in series.iter().enumerate() {
            let n = v.len().max(1) as f64;
            let color = COLORS[k % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    v.iter()
                        .enumerate()
                        .map(|(i, x)| (x.max(0.1), (i + 1) as f64 / n)),
                    color,
                ))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    })()
    .map_err(draw_err("jct_cdf.svg"))?;
    for o in outcomes {
        let file = format!("utilization_{}.svg", o.policy.name());
        let path = dir.join(&file);
        (|| -> Result<(), Box<dyn std::error::Error>> {
            let end = o.makespan.as_hours().max(1e-3);
            let root = SVGBackend::new(&path, (800, 500)).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!("busy fraction per pool: {}", o.policy.name()),
                    ("sans-serif", 20),
                )
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..end, 0f64..1.05f64)?;
            chart
                .configure_mesh()
                .x_desc("time (hours)")
                .y_desc("busy / capacity")
                .draw()?;
            for (p, pool) in cluster.pools().iter().enumerate() {
                let cap = f64::from(pool.capacity.max(1));
                let color = COLORS[p % COLORS.len()];
                let mut points = Vec::with_capacity(o.timeline.len() * 2);
                let mut prev: Option<f64> = None;
                for s in &o.timeline {
                    let t = s.at.as_hours();
                    if let Some(y) = prev {
                        points.push((t, y));
                    }
                    let y = f64::from(s.busy[p]) / cap;
                    points.push((t, y));
                    prev = Some(y);
                }
                chart
                    .draw_series(LineSeries::new(points, color))?
                    .label(pool.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            }
            chart.configure_series_labels().border_style(BLACK).draw()?;
            root.present()?;
            Ok(())
        })()
        .map_err(draw_err(&file))?;
    }
    Ok(())
}

/// One named line of [`write_lines`]: (x, y) points in order of x.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its name in the legend.
    pub name: String,
    /// Its points.
    pub points: Vec<(f64, f64)>,
}

/// Writes one SVG chart of `lines` over a shared x axis to `path` (a time series: queue length
/// or spend over time, one line per run), with `caption` and the axes' descriptions.
pub fn write_lines(
    path: &Path,
    caption: &str,
    x_desc: &str,
    y_desc: &str,
    lines: &[Line],
) -> Result<(), PlotError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    (|| -> Result<(), Box<dyn std::error::Error>> {
        let points = || lines.iter().flat_map(|l| l.points.iter());
        let (x0, x1) = points().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (x0, x1) = if x0 < x1 { (x0, x1) } else { (0.0, 1.0) };
        let y1 = points().map(|p| p.1).fold(0.0, f64::max);
        let y1 = if y1 > 0.0 { y1 * 1.05 } else { 1.0 };
        let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0f64..y1)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()?;
        for (k, line) in lines.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            chart
                .draw_series(LineSeries::new(line.points.iter().copied(), color))?
                .label(line.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    })()
    .map_err(|e| PlotError::Draw {
        file,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_names_its_lines() {
        let dir = std::env::temp_dir().join(format!("spillway-plot-test-{}", std::process::id()));
        let path = dir.join("sub").join("queue.svg");
        write_lines(
            &path,
            "queue length",
            "hours",
            "jobs queued",
            &[
                Line {
                    name: "actual".into(),
                    points: vec![(0.0, 1.0), (1.0, 3.0)],
                },
                Line {
                    name: "what-if".into(),
                    points: vec![(0.0, 0.0), (1.0, 2.0)],
                },
            ],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("what-if") && svg.contains("queue length"));
    }
}
