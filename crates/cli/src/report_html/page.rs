//! One self-contained report page: headings, sentences, tables and charts in order, with every
//! byte it needs inside it (no network, no other file). Tables and text are HTML written here;
//! charts travel as JSON specifications inside the page and are drawn as inline SVG by the
//! dashboard's own chart code (`crates/server/src/api/dashboard/assets/charts.js`), inlined, so
//! that a report looks like the dashboard and there is one chart implementation to keep.
//!
//! The page also carries the command's own figures (`figures`) in the same JSON document, for
//! whoever wants to read them back from the file.

use anyhow::{Context, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

const CHARTS_JS: &str = include_str!("../../../server/src/api/dashboard/assets/charts.js");

/// How a chart's values or x positions read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Unit {
    /// Percent, 0 to 100.
    Percent,
    /// Dollars.
    Usd,
    /// A count or a plain number.
    Number,
    /// Hours from the start.
    Hours,
    /// Months from the start.
    Months,
    /// Milliseconds since the epoch (a wall-clock time).
    Time,
}

/// What kind of chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChartKind {
    /// One line per series; values belong to the middle of their bucket.
    Lines,
    /// Stacked areas of each series' running total (values are increments per bucket).
    Stacked,
}

/// One series of a chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) values: Vec<f64>,
}

impl Series {
    pub(crate) fn new(name: impl Into<String>, values: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            values,
        }
    }
}

/// A chart: its series over equal buckets of `step` starting at `x0`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Chart {
    pub(crate) kind: ChartKind,
    /// What the chart shows, in a sentence (its SVG title and text alternative).
    pub(crate) title: String,
    pub(crate) series: Vec<Series>,
    pub(crate) x0: f64,
    pub(crate) step: f64,
    /// The y axis' top; `None`: a round number above the largest value.
    pub(crate) y_max: Option<f64>,
    pub(crate) x: Unit,
    pub(crate) y: Unit,
}

#[derive(Debug, Clone)]
enum Block {
    Heading(String),
    Paragraph(String),
    Pre(String),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart {
        heading: String,
        index: usize,
    },
}

/// A report page under construction.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    title: String,
    blocks: Vec<Block>,
    charts: Vec<Chart>,
    figures: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct Data<'a> {
    charts: &'a [Chart],
    #[serde(flatten)]
    figures: &'a serde_json::Map<String, serde_json::Value>,
}

impl Page {
    pub(crate) fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            blocks: Vec::new(),
            charts: Vec::new(),
            figures: serde_json::Map::new(),
        }
    }

    /// A section heading.
    pub(crate) fn heading(&mut self, text: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Heading(text.into()));
        self
    }

    /// A paragraph of text.
    pub(crate) fn paragraph(&mut self, text: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }

    /// Preformatted text (a table as the terminal prints it).
    pub(crate) fn pre(&mut self, text: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Pre(text.into()));
        self
    }

    /// A table; cells that read as numbers, money or percentages are right-aligned.
    pub(crate) fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) -> &mut Page {
        self.blocks.push(Block::Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows,
        });
        self
    }

    /// A chart in a card headed `heading`.
    pub(crate) fn chart(&mut self, heading: impl Into<String>, chart: Chart) -> &mut Page {
        self.blocks.push(Block::Chart {
            heading: heading.into(),
            index: self.charts.len(),
        });
        self.charts.push(chart);
        self
    }

    /// The command's own figures, carried in the page's JSON under `key`.
    pub(crate) fn figures(&mut self, key: &str, value: impl Serialize) -> &mut Page {
        let value = serde_json::to_value(value).expect("report figures serialize");
        self.figures.insert(key.to_string(), value);
        self
    }

    /// The page's HTML.
    pub(crate) fn render(&self) -> String {
        let mut body = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(t) => {
                    let _ = writeln!(body, "<h2>{}</h2>", escape(t));
                }
                Block::Paragraph(t) => {
                    let _ = writeln!(body, "<p>{}</p>", escape(t));
                }
                Block::Pre(t) => {
                    let _ = writeln!(body, "<pre class=\"table\">{}</pre>", escape(t));
                }
                Block::Table { head, rows } => table_html(&mut body, head, rows),
                Block::Chart { heading, index } => {
                    let _ = writeln!(
                        body,
                        "<section class=\"card\"><h2>{}</h2><div class=\"chart-slot\" data-chart=\"{index}\"><noscript>The charts need JavaScript.</noscript></div></section>",
                        escape(heading)
                    );
                }
            }
        }
        // Inside <script>, "</" could end the element: JSON allows "<\/" for it.
        let data = serde_json::to_string(&Data {
            charts: &self.charts,
            figures: &self.figures,
        })
        .expect("the report serializes")
        .replace("</", "<\\/");
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
             <h1>{title}</h1>\n<div id=\"report\">\n{body}</div>\n</main>\n\
             <script type=\"application/json\" id=\"data\">{data}</script>\n\
             <script>{CHARTS_JS}</script>\n<script>{DRAW_JS}</script>\n</body>\n</html>\n",
            title = escape(&self.title),
        )
    }

    /// Writes the page to `path`.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.render())
            .with_context(|| format!("failed to write the HTML report {}", path.display()))
    }
}

fn table_html(out: &mut String, head: &[String], rows: &[Vec<String>]) {
    out.push_str("<div class=\"scroll\"><table class=\"figures\">\n<thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let _ = write!(
            out,
            "<th{}>{}</th>",
            if i > 0 && rows.iter().any(|r| r.get(i).is_some_and(|c| numeric(c))) {
                " class=\"num\""
            } else {
                ""
            },
            escape(h)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(
                out,
                "<td{}>{}</td>",
                if numeric(c) { " class=\"num\"" } else { "" },
                escape(c)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// Whether a cell reads as a number (`12`, `-3.5%`, `$1.2M`, `+4.0%`).
fn numeric(cell: &str) -> bool {
    let t = cell.trim();
    !t.is_empty()
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || "+-.,$%kMBx ".contains(c))
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1b1f24;background:#f7f8fa}\
main{max-width:1100px;margin:0 auto;padding:16px 20px 40px}h1{font-size:24px}h2{font-size:18px;margin-top:28px}\
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:10px;margin:10px 0}.card h2{margin-top:4px}\
.chart{width:100%;height:auto;max-height:320px;display:block}.chart text{font-size:12px;fill:#5b6470}\
.chart .grid{stroke:#e6e9ed}.chart .axis{stroke:#9aa3ad}.chart-figure{margin:0}\
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 18px;padding:0;margin:6px 0 0;font-size:13px}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
.scroll{overflow-x:auto}table.figures{border-collapse:collapse;background:#fff;border:1px solid #d8dde3;font-size:13px;margin:8px 0}\
table.figures th,table.figures td{padding:4px 10px;border-bottom:1px solid #e6e9ed;text-align:left;white-space:nowrap}\
table.figures th{background:#f0f2f5}table.figures .num{text-align:right;font-variant-numeric:tabular-nums}\
pre.table{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:12px;overflow-x:auto;font-size:13px}";

const DRAW_JS: &str = r#""use strict";
(() => {
  const d = JSON.parse(document.getElementById("data").textContent);
  const fixed = (v, digits) => v.toLocaleString("en-US", { maximumFractionDigits: digits });
  const format = {
    percent: (v) => Math.round(v) + "%",
    usd: (v) => { const a = Math.abs(v);
      return a >= 1e9 ? "$" + (v / 1e9).toFixed(2) + "B" : a >= 1e6 ? "$" + (v / 1e6).toFixed(2) + "M"
        : a >= 100 ? "$" + Math.round(v).toLocaleString("en-US") : a >= 1 || a === 0 ? "$" + v.toFixed(2)
        : "$" + v.toPrecision(2); },
    number: (v) => Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + "M" : Math.abs(v) >= 1e4 ? (v / 1e3).toFixed(0) + "k" : fixed(v, Math.abs(v) >= 10 ? 0 : 1),
    hours: (x) => x.toFixed(x >= 10 ? 0 : 1) + " h",
    months: (x) => "month " + Math.round(x),
    time: undefined,
  };
  for (const slot of document.querySelectorAll("[data-chart]")) {
    const c = d.charts[Number(slot.dataset.chart)];
    const draw = SpillwayCharts[c.kind];
    slot.replaceWith(draw({
      series: c.series, x0: c.x0, step: c.step, yMax: c.y_max === null ? undefined : c.y_max,
      yFormat: format[c.y] || String, xFormat: format[c.x], title: c.title,
    }));
  }
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_its_tables_charts_and_figures_and_fetches_nothing() {
        let mut p = Page::new("A <report>");
        p.heading("Figures")
            .paragraph("one & two")
            .table(
                &["", "actual", "replay"],
                vec![vec!["avg JCT s".into(), "12.5".into(), "12.9".into()]],
            )
            .chart(
                "Queue",
                Chart {
                    kind: ChartKind::Lines,
                    title: "queued jobs".into(),
                    series: vec![Series::new("actual", vec![1.0, 2.0])],
                    x0: 0.0,
                    step: 1.0,
                    y_max: None,
                    x: Unit::Time,
                    y: Unit::Number,
                },
            )
            .figures("answer", 42);
        let html = p.render();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<title>A &lt;report&gt;</title>"));
        assert!(html.contains("<p>one &amp; two</p>"));
        assert!(html.contains("<td class=\"num\">12.5</td>"));
        assert!(html.contains("data-chart=\"0\""));
        assert!(html.contains("const SpillwayCharts"));
        for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!html.contains(external), "{external}");
        }
        let start = html.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(data["answer"], 42);
        assert_eq!(data["charts"][0]["series"][0]["values"][1], 2.0);
        assert_eq!(data["charts"][0]["x"], "time");
    }

    #[test]
    fn cells_that_read_as_numbers() {
        for n in ["12", "-3.5%", "$1.2M", "+4.0%", "1,024"] {
            assert!(numeric(n), "{n}");
        }
        for t in ["h100", "", "-", "on track"] {
            assert!(!numeric(t), "{t}");
        }
    }
}
