//! SVG plots of a plan, written by hand (no fonts needed): capacity by source stacked
//! against demand over time, and spend against each commitment's schedule.

use crate::report::{PlanReport, Portfolio};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const W: f64 = 900.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

struct Frame {
    svg: String,
    xmax: f64,
    ymax: f64,
}

impl Frame {
    fn new(title: &str, xmax: f64, ymax: f64, ylabel: &str) -> Frame {
        let ymax = if ymax > 0.0 { ymax * 1.05 } else { 1.0 };
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>
"#,
            W / 2.0,
            escape(title)
        );
        let mut f = Frame { svg, xmax, ymax };
        // Axes and ticks.
        let (x0, y0, x1, y1) = (LEFT, H - BOTTOM, W - RIGHT, TOP);
        let _ = writeln!(
            f.svg,
            r#"<path d="M{x0},{y1} L{x0},{y0} L{x1},{y0}" stroke="black" fill="none"/>"#
        );
        for i in 0..=5 {
            let v = f.ymax * i as f64 / 5.0;
            let y = f.y(v);
            let _ = writeln!(
                f.svg,
                r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                x0 - 6.0,
                y + 4.0,
                short(v)
            );
        }
        let step = if xmax > 48.0 { 12.0 } else { 6.0 };
        let mut m = 0.0;
        while m <= xmax {
            let x = f.x(m);
            let _ = writeln!(
                f.svg,
                r#"<text x="{x}" y="{}" text-anchor="middle">{m}</text>"#,
                y0 + 18.0
            );
            m += step;
        }
        let _ = writeln!(
            f.svg,
            r#"<text x="{}" y="{}" text-anchor="middle">month</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            H - 10.0,
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            escape(ylabel)
        );
        f
    }

    fn x(&self, month: f64) -> f64 {
        LEFT + (W - LEFT - RIGHT) * month / self.xmax.max(1.0)
    }

    fn y(&self, v: f64) -> f64 {
        H - BOTTOM - (H - TOP - BOTTOM) * v / self.ymax
    }

    fn legend(&mut self, i: usize, color: &str, label: &str) {
        let y = TOP + 18.0 * i as f64;
        let x = W - RIGHT + 12.0;
        let _ = writeln!(
            self.svg,
            r#"<rect x="{x}" y="{}" width="12" height="12" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
            y - 10.0,
            x + 18.0,
            y,
            escape(label)
        );
    }

    fn finish(mut self) -> String {
        self.svg.push_str("</svg>\n");
        self.svg
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// Work served by source, stacked, against expected demand (reference-hours per month).
// Periods index several parallel tables (demand, columns, timeline): a range reads best.
#[allow(clippy::needless_range_loop)]
pub fn capacity_svg(p: &Portfolio, months_per_period: usize, title: &str) -> String {
    let n = p.timeline.len();
    let per_month = months_per_period as f64;
    type Get = fn(&crate::solve::PeriodRow) -> f64;
    let layers: [(&str, &str, Get); 5] = [
        ("owned", "#4e79a7", |r| r.owned_ref_hours),
        ("built", "#59a14f", |r| r.built_ref_hours),
        ("committed", "#f28e2b", |r| r.committed_ref_hours),
        ("on-demand", "#e15759", |r| r.on_demand_ref_hours),
        ("spot", "#b07aa1", |r| r.spot_ref_hours),
    ];
    let ymax = p
        .timeline
        .iter()
        .map(|r| {
            let stacked: f64 = layers.iter().map(|l| (l.2)(r)).sum();
            stacked.max(r.demand_ref_hours) / per_month
        })
        .fold(0.0, f64::max);
    let mut f = Frame::new(
        title,
        (n * months_per_period) as f64,
        ymax,
        "reference-hours per month",
    );
    let mut base = vec![0.0; n];
    for (i, (label, color, get)) in layers.iter().enumerate() {
        let top: Vec<f64> = (0..n)
            .map(|t| base[t] + get(&p.timeline[t]) / per_month)
            .collect();
        let mut d = String::new();
        for t in 0..n {
            let (x0, x1) = (
                f.x((t * months_per_period) as f64),
                f.x(((t + 1) * months_per_period) as f64),
            );
            let _ = write!(
                d,
                "{}{x0:.1},{:.1} L{x1:.1},{:.1} ",
                if t == 0 { "M" } else { "L" },
                f.y(top[t]),
                f.y(top[t])
            );
        }
        for t in (0..n).rev() {
            let (x0, x1) = (
                f.x((t * months_per_period) as f64),
                f.x(((t + 1) * months_per_period) as f64),
            );
            let _ = write!(
                d,
                "L{x1:.1},{:.1} L{x0:.1},{:.1} ",
                f.y(base[t]),
                f.y(base[t])
            );
        }
        let _ = writeln!(
            f.svg,
            r#"<path d="{d}Z" fill="{color}" fill-opacity="0.85" stroke="none"/>"#
        );
        f.legend(i, color, label);
        base = top;
    }
    let mut d = String::new();
    for (t, r) in p.timeline.iter().enumerate() {
        let x = f.x((t as f64 + 0.5) * per_month);
        let _ = write!(
            d,
            "{}{x:.1},{:.1} ",
            if t == 0 { "M" } else { "L" },
            f.y(r.demand_ref_hours / per_month)
        );
    }
    let _ = writeln!(
        f.svg,
        r#"<path d="{d}" fill="none" stroke="black" stroke-width="2"/>"#
    );
    f.legend(layers.len(), "black", "demand (expected)");
    f.finish()
}

/// Cumulative spend at committed prices against the cumulative schedule of commitment `c`.
pub fn commitment_svg(p: &Portfolio, months_per_period: usize, c: usize, title: &str) -> String {
    let n = p.timeline.len();
    let mut spent = Vec::with_capacity(n);
    let mut sched = Vec::with_capacity(n);
    let (mut a, mut b) = (0.0, 0.0);
    for r in &p.timeline {
        a += r.committed_spend_usd.get(c).copied().unwrap_or(0.0);
        b += r.committed_schedule_usd.get(c).copied().unwrap_or(0.0);
        spent.push(a);
        sched.push(b);
    }
    let mut f = Frame::new(
        title,
        (n * months_per_period) as f64,
        a.max(b),
        "USD, cumulative",
    );
    for (i, (label, color, series)) in [
        ("spent (expected)", "#e15759", &spent),
        ("schedule", "#4e79a7", &sched),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = format!("M{:.1},{:.1} ", f.x(0.0), f.y(0.0));
        for (t, v) in series.iter().enumerate() {
            let _ = write!(
                d,
                "L{:.1},{:.1} ",
                f.x(((t + 1) * months_per_period) as f64),
                f.y(*v)
            );
        }
        let _ = writeln!(
            f.svg,
            r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>"#
        );
        f.legend(i, color, label);
    }
    f.finish()
}

/// Writes the plots of `report` into `dir`; returns the files written.
pub fn write_plots(report: &PlanReport, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    let mpp = report.months_per_period;
    let mut write = |name: String, svg: String| -> std::io::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, svg)?;
        out.push(path);
        Ok(())
    };
    write(
        "capacity_plan.svg".into(),
        capacity_svg(
            &report.plan,
            mpp,
            &format!("{}: work by source, the plan", report.name),
        ),
    )?;
    for b in &report.baselines {
        let slug: String = b
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        write(
            format!("capacity_{slug}.svg"),
            capacity_svg(
                b,
                mpp,
                &format!("{}: work by source, {}", report.name, b.name),
            ),
        )?;
    }
    let mut portfolios = vec![&report.plan];
    if let Some(c) = &report.contract {
        portfolios.push(&c.portfolio);
    }
    for (pi, p) in portfolios.iter().enumerate() {
        let n = p
            .timeline
            .first()
            .map(|r| r.committed_schedule_usd.len())
            .unwrap_or(0);
        for c in 0..n {
            if p.timeline
                .iter()
                .all(|r| r.committed_schedule_usd[c] == 0.0)
            {
                continue;
            }
            let who = if pi == 0 { "plan" } else { "contract" };
            write(
                format!("commitment_{who}_{c}.svg"),
                commitment_svg(
                    p,
                    mpp,
                    c,
                    &format!("{}: commitment {c}, spend vs schedule ({who})", report.name),
                ),
            )?;
        }
    }
    Ok(out)
}
