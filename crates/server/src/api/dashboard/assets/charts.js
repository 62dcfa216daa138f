// Spillway charts: small inline-SVG charts built with the DOM (no library, no network), shared
// by the dashboard and the self-contained report pages (`spillway simulate --html`).
//
//   SpillwayCharts.lines({series: [{name, values}], x0, step, yMax, yFormat, xFormat, title})
//   SpillwayCharts.stacked({series: [{name, values}], x0, step, yFormat, xFormat, title})
//   SpillwayCharts.burndown({start, end, now, total, scheduled, spent, projected, exhaustedAt})
//
// x values are milliseconds since the epoch unless an xFormat says otherwise (the simulator's
// reports use hours from the start); each chart returns a <figure> with an SVG, a
// legend and a text alternative for screen readers.
"use strict";

const SpillwayCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  // Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#555555"];
  const W = 720, H = 260, L = 64, R = 16, T = 16, B = 36;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (parent) parent.appendChild(e);
    return e;
  }

  function colour(i) {
    return PALETTE[i % PALETTE.length];
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function timeLabel(ms, span) {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, "0");
    if (span > 2 * 86400e3) return `${d.getMonth() + 1}/${d.getDate()}`;
    if (span > 600e3) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function frame(title, x0, x1, yMax, yFormat, xFormat) {
    const xLabel = xFormat || ((x) => timeLabel(x, x1 - x0));
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
    el("title", {}, svg).textContent = title;
    const sx = (x) => L + ((x - x0) / Math.max(1, x1 - x0)) * (W - L - R);
    const sy = (y) => T + (1 - y / yMax) * (H - T - B);
    const axes = el("g", { class: "axes" }, svg);
    for (let i = 0; i <= 4; i++) {
      const y = (yMax * i) / 4;
      el("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), class: "grid" }, axes);
      const t = el("text", { x: L - 6, y: sy(y) + 4, "text-anchor": "end" }, axes);
      t.textContent = yFormat(y);
    }
    for (let i = 0; i <= 4; i++) {
      const x = x0 + ((x1 - x0) * i) / 4;
      const t = el("text", { x: sx(x), y: H - B + 18, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, axes);
      t.textContent = xLabel(x);
    }
    el("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }, axes);
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }, axes);
    return { svg, sx, sy };
  }

  function figure(svg, legend, alt) {
    const fig = document.createElement("figure");
    fig.className = "chart-figure";
    fig.appendChild(svg);
    if (legend.length) {
      const ul = document.createElement("ul");
      ul.className = "legend";
      legend.forEach(({ name, colour: c, dashed }) => {
        const li = document.createElement("li");
        const sw = el("svg", { width: 18, height: 10, "aria-hidden": "true" });
        el("line", { x1: 0, x2: 18, y1: 5, y2: 5, stroke: c, "stroke-width": 4, "stroke-dasharray": dashed ? "4 3" : "" }, sw);
        li.appendChild(sw);
        li.appendChild(document.createTextNode(" " + name));
        ul.appendChild(li);
      });
      fig.appendChild(ul);
    }
    const cap = document.createElement("figcaption");
    cap.className = "visually-hidden";
    cap.textContent = alt;
    fig.appendChild(cap);
    return fig;
  }

  function path(points) {
    return points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
  }

  // One line per series; values[i] belongs to the middle of bucket i.
  function lines({ series, x0, step, yMax, yFormat = String, xFormat, title = "chart" }) {
    const n = Math.max(0, ...series.map((s) => s.values.length));
    const x1 = x0 + n * step;
    const top = yMax || niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
    const { svg, sx, sy } = frame(title, x0, x1, top, yFormat, xFormat);
    series.forEach((s, i) => {
      const pts = s.values.map((v, b) => [sx(x0 + (b + 0.5) * step), sy(Math.min(v, top))]);
      el("path", { d: path(pts), fill: "none", stroke: colour(i), "stroke-width": 2.5, class: "series" }, svg);
    });
    const alt = series.map((s) => `${s.name}: last ${yFormat(s.values[s.values.length - 1] || 0)}, peak ${yFormat(Math.max(0, ...s.values))}`).join("; ");
    return figure(svg, series.map((s, i) => ({ name: s.name, colour: colour(i) })), `${title}. ${alt}`);
  }

  // Stacked areas of the running totals of each series (bucket values are increments).
  function stacked({ series, x0, step, yFormat = String, xFormat, title = "chart" }) {
    const n = Math.max(0, ...series.map((s) => s.values.length));
    const cumulative = series.map((s) => {
      let acc = 0;
      return s.values.map((v) => (acc += v));
    });
    const tops = [];
    for (let b = 0; b < n; b++) tops.push(cumulative.reduce((a, c) => a + (c[b] || 0), 0));
    const top = niceMax(Math.max(0, ...tops));
    const x1 = x0 + n * step;
    const { svg, sx, sy } = frame(title, x0, x1, top, yFormat, xFormat);
    const base = new Array(n).fill(0);
    cumulative.forEach((c, i) => {
      const upper = c.map((v, b) => base[b] + v);
      const pts = upper.map((v, b) => [sx(x0 + (b + 1) * step), sy(v)]);
      const low = base.map((v, b) => [sx(x0 + (b + 1) * step), sy(v)]).reverse();
      const d = path([[sx(x0), sy(0)], ...pts, ...low]) + "Z";
      el("path", { d, fill: colour(i), "fill-opacity": 0.75, stroke: colour(i), "stroke-width": 1, class: "series" }, svg);
      for (let b = 0; b < n; b++) base[b] = upper[b];
    });
    const alt = series.map((s, i) => `${s.name}: ${yFormat(cumulative[i][n - 1] || 0)}`).join("; ");
    return figure(svg, series.map((s, i) => ({ name: s.name, colour: colour(i) })), `${title}. Totals: ${alt}`);
  }

  // A contract's remaining commitment over its term: the schedule, what was spent so far and
  // the projection to the end of the term at the run rate.
  function burndown({ start, end, now, total, scheduled, spent, projected, exhaustedAt, yFormat = String, title = "burn-down" }) {
    const top = niceMax(total);
    const { svg, sx, sy } = frame(title, start, end, top, yFormat);
    const t = Math.min(Math.max(now, start), end);
    const left = (v) => Math.max(0, total - v);
    el("path", { d: path([[sx(start), sy(total)], [sx(t), sy(left(scheduled))], [sx(end), sy(0)]]), fill: "none", stroke: colour(7), "stroke-width": 2, "stroke-dasharray": "2 4", class: "schedule" }, svg);
    el("path", { d: path([[sx(start), sy(total)], [sx(t), sy(left(spent))]]), fill: "none", stroke: colour(0), "stroke-width": 3, class: "spent" }, svg);
    const endPoint = exhaustedAt && exhaustedAt < end ? [sx(Math.max(exhaustedAt, t)), sy(0)] : [sx(end), sy(left(projected))];
    el("path", { d: path([[sx(t), sy(left(spent))], endPoint]), fill: "none", stroke: colour(5), "stroke-width": 2.5, "stroke-dasharray": "7 5", class: "projection" }, svg);
    el("line", { x1: sx(t), x2: sx(t), y1: 16, y2: H - B, class: "now" }, svg);
    const nowLabel = el("text", { x: sx(t) + 4, y: 28, class: "now-label" }, svg);
    nowLabel.textContent = "now";
    const alt = `remaining ${yFormat(left(spent))} of ${yFormat(total)}; the schedule expects ${yFormat(left(scheduled))} left by now; projected ${yFormat(left(projected))} left at the end`;
    return figure(svg, [
      { name: "schedule", colour: colour(7), dashed: true },
      { name: "remaining (spent so far)", colour: colour(0) },
      { name: "projection at the run rate", colour: colour(5), dashed: true },
    ], `${title}: ${alt}`);
  }

  return { lines, stacked, burndown, colour };
})();

if (typeof window !== "undefined") window.SpillwayCharts = SpillwayCharts;
