// The Spillway dashboard: one page, four views (#/jobs, #/pools, #/spend, #/contracts) and a
// job view (#/jobs/ID). It reads the JSON API (/v1) and two dashboard views (/ui/jobs,
// /ui/history) with the HttpOnly session cookie, polls for changes, and never leaves the page
// blank: every failure becomes a message in the page.
"use strict";

(() => {
  const POLL_MS = 2000;
  const LOG_POLL_MS = 1000;
  const HISTORY_POLL_MS = 10000;
  const MAX_LOG_CHARS = 400000;
  const STATES = ["queued", "running", "succeeded", "failed", "cancelled"];

  const main = document.getElementById("main");
  const banner = document.getElementById("banner");
  let session = null;
  // Every navigation gets a new generation: answers and timers of an older one are dropped.
  let generation = 0;
  let timers = [];

  // ---------------------------------------------------------------- helpers

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // Whole dollars for large sums, cents for ordinary ones, two significant digits below a dollar
  // (a few seconds on a test pool cost fractions of a cent).
  const usd = (v) => {
    const a = Math.abs(v);
    if (a >= 100) return "$" + Math.round(v).toLocaleString("en-US");
    if (a >= 1 || a === 0) return "$" + Number(v).toFixed(2);
    return "$" + Number(v).toPrecision(2);
  };
  const num = (v, d = 2) => Number(v).toFixed(d);
  // Chip-hours: two decimals, or two significant digits below one.
  const chipHours = (v) => (v >= 1 || v === 0 ? num(v) : Number(v).toPrecision(2));
  const pct = (v) => Math.round(v * 100) + "%";

  function when(ms) {
    if (ms === null || ms === undefined) return "—";
    const d = new Date(ms);
    return d.toLocaleString("en-GB", { hour12: false });
  }

  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  function badge(state) {
    return h("span", { class: "badge state-" + state }, state);
  }

  class NetError extends Error {}

  // Calls the server; resolves to {status, body}. A failed connection throws NetError.
  async function api(path, opts = {}) {
    let resp;
    try {
      resp = await fetch(path, {
        method: opts.method || "GET",
        credentials: "same-origin",
        cache: "no-store",
        headers: Object.assign({ "x-spillway-dashboard": "1" }, opts.body ? { "content-type": "application/json" } : {}),
        body: opts.body ? JSON.stringify(opts.body) : undefined,
      });
    } catch (e) {
      throw new NetError(String(e));
    }
    let body = null;
    const text = await resp.text().catch(() => "");
    try {
      body = text ? JSON.parse(text) : null;
    } catch (_) {
      body = { error: { code: "bad_answer", message: text.slice(0, 300) || resp.statusText } };
    }
    return { status: resp.status, body };
  }

  function message(r) {
    return (r.body && r.body.error && r.body.error.message) || `the server answered ${r.status}`;
  }

  function showBanner(kind, text) {
    banner.hidden = false;
    banner.className = "banner " + kind;
    banner.textContent = text;
  }

  function clearBanner() {
    banner.hidden = true;
    banner.textContent = "";
  }

  function touched() {
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString("en-GB", { hour12: false });
  }

  // Handles what every view handles alike; returns the body on success, null otherwise.
  function settle(r) {
    if (r.status === 401) {
      signIn(message(r));
      return null;
    }
    if (r.status >= 500) {
      showBanner("warn", `The server cannot answer right now: ${message(r)}. Retrying…`);
      return null;
    }
    if (r.status >= 200 && r.status < 300) {
      clearBanner();
      touched();
      return r.body;
    }
    return null;
  }

  // Runs `f` now and every `ms` for the current view; stops on navigation.
  function every(ms, f) {
    const gen = generation;
    let busy = false;
    const tick = async () => {
      if (gen !== generation || busy) return;
      busy = true;
      try {
        await f(gen);
      } catch (e) {
        if (gen === generation) {
          if (e instanceof NetError) {
            showBanner("error", `Cannot reach the Spillway server at ${location.host}: it may be restarting. Showing what was last read; retrying every ${Math.round(ms / 1000)} s…`);
          } else {
            showBanner("error", "The page failed: " + e.message);
          }
        }
      } finally {
        busy = false;
      }
    };
    tick();
    timers.push(setInterval(tick, ms));
  }

  function view(title, ...children) {
    main.replaceChildren(h("h1", {}, title), ...children);
    document.title = title + " · Spillway";
  }

  // ---------------------------------------------------------------- sign-in

  function signIn(why) {
    generation++;
    timers.forEach(clearInterval);
    timers = [];
    session = null;
    document.getElementById("who").textContent = "";
    document.getElementById("signout").hidden = true;
    document.getElementById("nav").hidden = true;
    clearBanner();
    const err = h("p", { class: "error", id: "signin-error", role: "alert" }, why && why !== "sign in with your token" ? why : "");
    if (!err.textContent) err.hidden = true;
    const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true, "aria-describedby": "signin-help" });
    const form = h(
      "form",
      { class: "signin", id: "signin" },
      h("label", { for: "token" }, "Token"),
      input,
      h("p", { class: "muted", id: "signin-help" }, "The same token as the CLI's --token or SPILLWAY_TOKEN. It is kept in an HttpOnly cookie for 12 hours, never in the page."),
      h("button", { type: "submit", id: "signin-button" }, "Sign in"),
      err,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      err.hidden = true;
      let r;
      try {
        r = await api("/ui/session", { method: "POST", body: { token: input.value } });
      } catch (_) {
        err.textContent = `Cannot reach the Spillway server at ${location.host}: it may be restarting. Try again in a moment.`;
        err.hidden = false;
        return;
      }
      if (r.status !== 200) {
        err.textContent = message(r);
        err.hidden = false;
        input.select();
        return;
      }
      input.value = "";
      started(r.body);
    });
    view("Sign in to Spillway", form);
    input.focus();
  }

  function started(s) {
    session = s;
    const who = s.mode === "open" ? "open mode (no tokens)" : s.mode === "admin" ? "admin" : "tenant " + s.tenant;
    document.getElementById("who").textContent = "Signed in: " + who;
    document.getElementById("signout").hidden = s.mode === "open";
    document.getElementById("nav").hidden = false;
    if (!location.hash || location.hash === "#/signin") location.hash = "#/jobs";
    else route();
  }

  document.getElementById("signout").addEventListener("click", async () => {
    try {
      await api("/ui/session", { method: "DELETE" });
    } catch (_) {
      // Signing out of an unreachable server still forgets the page's state.
    }
    signIn("Signed out.");
  });

  async function boot() {
    let r;
    try {
      r = await api("/ui/session");
    } catch (_) {
      document.getElementById("loading")?.remove();
      showBanner("error", `Cannot reach the Spillway server at ${location.host}: it may be restarting. Retrying every 2 s…`);
      setTimeout(boot, POLL_MS);
      return;
    }
    if (r.status === 200) {
      clearBanner();
      started(r.body);
    } else if (r.status === 401) {
      signIn(message(r));
    } else {
      showBanner("error", `The server cannot start the dashboard: ${message(r)}. Retrying…`);
      setTimeout(boot, POLL_MS);
    }
  }

  // ---------------------------------------------------------------- router

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, query] = raw.split("?");
    const params = new URLSearchParams(query || "");
    return { parts: path.split("/").filter(Boolean), params };
  }

  function route() {
    if (!session) return;
    generation++;
    timers.forEach(clearInterval);
    timers = [];
    const { parts, params } = parseHash();
    const page = parts[0] || "jobs";
    document.querySelectorAll("#nav a").forEach((a) => {
      if (a.dataset.page === page) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    if (page === "jobs" && parts[1]) jobPage(parts[1]);
    else if (page === "jobs") jobsPage(params);
    else if (page === "pools") poolsPage();
    else if (page === "spend") spendPage(params);
    else if (page === "contracts") contractsPage();
    else view("Not found", h("p", { class: "error" }, `There is no page "${page}" here.`), h("p", {}, h("a", { href: "#/jobs" }, "Go to the jobs")));
  }

  window.addEventListener("hashchange", route);

  // ---------------------------------------------------------------- jobs

  function jobsPage(params) {
    const filters = {
      state: params.get("state") || "",
      tenant: params.get("tenant") || "",
      pool: params.get("pool") || "",
      q: params.get("q") || "",
    };
    const select = (id, label, options, value) =>
      h("label", { for: id }, label, " ",
        h("select", { id, name: id }, h("option", { value: "" }, "all"), options.map((o) => h("option", { value: o, selected: o === value }, o))));
    const search = h("input", { type: "search", id: "q", name: "q", value: filters.q, placeholder: "part of the name" });
    const form = h("form", { class: "filters", id: "filters", role: "search" },
      select("state", "State", STATES, filters.state),
      session.mode === "tenant" || !session.tenants.length ? null : select("tenant", "Tenant", session.tenants, filters.tenant),
      select("pool", "Pool", session.pools, filters.pool),
      h("label", { for: "q" }, "Name ", search));
    const apply = () => {
      const p = new URLSearchParams();
      for (const k of ["state", "tenant", "pool", "q"]) {
        const v = form.elements[k] ? form.elements[k].value.trim() : "";
        if (v) p.set(k, v);
      }
      const hash = "#/jobs" + (p.toString() ? "?" + p : "");
      if (location.hash !== hash) history.replaceState(null, "", hash);
      Object.assign(filters, Object.fromEntries(["state", "tenant", "pool", "q"].map((k) => [k, p.get(k) || ""])));
      refresh(generation).catch(() => {});
    };
    form.addEventListener("change", apply);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      apply();
    });
    let typing;
    search.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(apply, 250);
    });
    const count = h("p", { class: "muted", id: "job-count", "aria-live": "polite" });
    const body = h("tbody", { id: "job-rows" });
    const table = h("div", { class: "scroll" }, h("table", { class: "jobs" },
      h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
      h("thead", {}, h("tr", {}, ["Job", "Name", "Tenant", "State", "Pool", "Asks for", "Why (explain)", "Submitted", "Attempts"].map((t) => h("th", { scope: "col" }, t)))),
      body));
    view("Jobs", form, count, table);

    async function refresh(gen) {
      const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
      const r = await api("/ui/jobs?" + q);
      if (gen !== generation) return;
      if (r.status === 400) {
        count.textContent = message(r);
        count.className = "error";
        return;
      }
      const data = settle(r);
      if (!data) return;
      count.className = "muted";
      const n = data.jobs.length;
      count.textContent = n === 0
        ? (Object.values(filters).some(Boolean) ? "No jobs match these filters." : "No jobs yet: submit one with `spillway submit job.yaml`.")
        : `${n} job${n === 1 ? "" : "s"}${data.truncated ? " (the newest; narrow the filters to see others)" : ""}`;
      body.replaceChildren(...data.jobs.map((j) =>
        h("tr", { "data-job": j.id, class: "state-row-" + j.state },
          h("td", { "data-label": "Job" }, h("a", { href: "#/jobs/" + j.id }, "#" + j.id)),
          h("td", { class: "name", "data-label": "Name" }, j.name),
          h("td", { "data-label": "Tenant" }, j.tenant),
          h("td", { "data-label": "State" }, badge(j.state)),
          h("td", { "data-label": "Pool" }, j.pool || "—"),
          h("td", { "data-label": "Asks for" }, j.accelerators.length ? j.accelerators.join(j.choice === "any_of" ? " | " : " › ") : "CPU"),
          h("td", { class: "reason", "data-label": "Why" }, j.reason),
          h("td", { title: when(j.submitted_ms), "data-label": "Submitted" }, ago(j.submitted_ms)),
          h("td", { class: "num", "data-label": "Attempts" }, j.attempts))));
    }
    every(POLL_MS, refresh);
  }

  // ---------------------------------------------------------------- one job

  function jobPage(rawId) {
    const id = rawId.replace(/[^0-9]/g, "");
    const back = h("p", {}, h("a", { href: "#/jobs" }, "← All jobs"));
    if (!id) {
      view("Job not found", back, h("p", { class: "error", role: "alert" }, `"${rawId}" is not a job id: job ids are positive whole numbers.`));
      return;
    }
    const summary = h("dl", { class: "facts", id: "job-facts" });
    const reason = h("p", { class: "reason-box", id: "job-reason", "aria-live": "polite" });
    const actions = h("div", { class: "actions", id: "job-actions" });
    const attempts = h("tbody", { id: "attempt-rows" });
    const events = h("ol", { class: "events", id: "events" });
    const stream = { name: "stdout", offset: 0, eof: false };
    const log = h("pre", { class: "log", id: "log", tabindex: "0", "aria-label": "Job log" });
    const logState = h("span", { class: "muted", id: "log-state" });
    const follow = h("input", { type: "checkbox", id: "follow", checked: true });
    const streamButtons = ["stdout", "stderr"].map((s) =>
      h("button", { type: "button", class: "tab", id: "stream-" + s, "aria-pressed": s === "stdout" ? "true" : "false", onclick: () => {
        stream.name = s;
        stream.offset = 0;
        stream.eof = false;
        log.textContent = "";
        streamButtons.forEach((b) => b.setAttribute("aria-pressed", b.id === "stream-" + s ? "true" : "false"));
        followLog(generation).catch(() => {});
      } }, s));
    let state = null;
    let confirming = false;

    view("Job " + id, back,
      h("p", { class: "error", id: "job-error", role: "alert", hidden: true }),
      h("section", { id: "job-main" },
        summary,
        h("h2", {}, "Why"),
        reason,
        actions,
        h("h2", {}, "Log"),
        h("div", { class: "log-bar" }, streamButtons, h("label", { for: "follow" }, follow, " follow"), logState),
        log,
        h("h2", {}, "Attempts"),
        h("div", { class: "scroll" }, h("table", {},
          h("thead", {}, h("tr", {}, ["#", "Pool", "Accelerators", "Started", "Ended", "Outcome", "Exit", "Resumed"].map((t) => h("th", { scope: "col" }, t)))),
          attempts)),
        h("h2", {}, "Events"),
        events));

    function fail(text) {
      document.getElementById("job-main").hidden = true;
      const e = document.getElementById("job-error");
      e.textContent = text;
      e.hidden = false;
      timers.forEach(clearInterval);
      timers = [];
    }

    function renderActions() {
      if (!state || STATES.indexOf(state) >= 2) {
        actions.replaceChildren();
        return;
      }
      if (confirming) return;
      actions.replaceChildren(h("button", { type: "button", class: "danger", id: "cancel", onclick: () => {
        confirming = true;
        actions.replaceChildren(
          h("span", {}, `Cancel job ${id}? `),
          h("button", { type: "button", class: "danger", id: "cancel-confirm", onclick: cancel }, "Yes, cancel it"),
          " ",
          h("button", { type: "button", id: "cancel-keep", onclick: () => {
            confirming = false;
            renderActions();
          } }, "Keep it running"));
        document.getElementById("cancel-confirm").focus();
      } }, "Cancel job…"));
    }

    async function cancel() {
      let r;
      try {
        r = await api(`/v1/jobs/${id}/cancel`, { method: "POST" });
      } catch (_) {
        actions.replaceChildren(h("p", { class: "error", role: "alert" }, "Cannot reach the server to cancel: it may be restarting. Try again."));
        confirming = false;
        return;
      }
      confirming = false;
      if (r.status === 200) {
        actions.replaceChildren(h("p", { class: "ok", role: "status", id: "cancel-result" }, `Cancel requested: ${r.body.message || r.body.state}`));
        refresh(generation).catch(() => {});
      } else if (r.status === 401) {
        signIn(message(r));
      } else {
        actions.replaceChildren(h("p", { class: "error", role: "alert", id: "cancel-result" }, "Not cancelled: " + message(r)));
      }
    }

    async function refresh(gen) {
      const [r, x] = await Promise.all([api("/v1/jobs/" + id), api(`/v1/jobs/${id}/explain`)]);
      if (gen !== generation) return;
      if (r.status === 404 || r.status === 400) {
        fail(r.status === 404 ? `Job ${id} not found: no such job, or it belongs to another tenant.` : message(r));
        return;
      }
      const d = settle(r);
      if (!d) return;
      const j = d.job;
      state = j.state;
      document.title = `Job ${j.id} · ${j.name} · Spillway`;
      main.querySelector("h1").replaceChildren(`Job ${j.id} · ${j.name} `, badge(j.state));
      const last = d.attempts[d.attempts.length - 1];
      const facts = [
        ["Tenant", j.tenant], ["State", j.state], ["Pool", last ? last.pool : "—"],
        ["Asks for", j.accelerators.length ? j.accelerators.join(j.choice === "any_of" ? " | " : " › ") : "CPU"],
        ["Priority", j.priority], ["Submitted", when(j.submitted_ms)], ["Finished", when(j.finished_ms)],
        ["Deadline", when(j.deadline_ms)], ["Attempts", j.attempts], ["Restarts", j.restarts],
        ["Preemptions", j.preemptions], ["Exit code", j.exit_code ?? "—"],
      ];
      summary.replaceChildren(...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
      if (x.status === 200 && x.body) reason.textContent = x.body.reason + (x.body.reason.includes(x.body.policy) ? "" : ` (policy ${x.body.policy})`);
      else reason.textContent = j.message;
      renderActions();
      attempts.replaceChildren(...(d.attempts.length ? d.attempts.map((a) => h("tr", {},
        h("td", {}, a.number), h("td", {}, a.pool), h("td", {}, a.accelerators.join(",") || "—"),
        h("td", {}, when(a.started_ms)), h("td", {}, when(a.ended_ms)), h("td", {}, badge(a.outcome)),
        h("td", {}, a.exit_code ?? "—"), h("td", {}, a.resumed ? "yes" : "no"))) : [h("tr", {}, h("td", { colspan: 8, class: "muted" }, "Not launched yet."))]));
      events.replaceChildren(...d.events.map((e) => h("li", {}, h("time", {}, when(e.at_ms)), " ", h("strong", {}, e.kind), " ", e.message)));
    }

    async function followLog(gen) {
      if (stream.eof) return;
      const r = await api(`/v1/jobs/${id}/logs?stream=${stream.name}&offset=${stream.offset}`);
      if (gen !== generation) return;
      if (r.status !== 200) {
        if (r.status === 401) signIn(message(r));
        else if (r.status !== 404) logState.textContent = "cannot read the log: " + message(r);
        return;
      }
      const c = r.body;
      if (c.data) {
        let text = log.textContent + c.data;
        if (text.length > MAX_LOG_CHARS) text = "…(earlier output cut)…\n" + text.slice(-MAX_LOG_CHARS);
        log.textContent = text;
        if (follow.checked) log.scrollTop = log.scrollHeight;
      }
      stream.offset = c.next_offset;
      stream.eof = c.eof;
      logState.textContent = c.eof ? `end of ${stream.name} (${c.next_offset} bytes; the job ${c.state})` : `following ${stream.name}: ${c.next_offset} bytes so far`;
      if (!log.textContent && c.eof) log.textContent = `(no ${stream.name} output)`;
    }

    every(POLL_MS, refresh);
    every(LOG_POLL_MS, followLog);
  }

  // ---------------------------------------------------------------- pools

  function poolsPage() {
    const policy = h("p", { class: "muted", id: "policy" });
    const rows = h("tbody", { id: "pool-rows" });
    const chart = h("div", { id: "utilization", class: "chart-box" }, h("p", { class: "muted" }, "Loading utilization…"));
    const blocks = h("div", { id: "blocks" });
    view("Pools", policy,
      h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Pool", "Engine", "Accelerator", "Busy", "Capacity", "Running", "Queued", "Max jobs", "Plan", "$ / chip-hour"].map((t) => h("th", { scope: "col" }, t)))),
        rows)),
      h("h2", {}, "Utilization over time"), chart,
      h("h2", {}, "Failover blocks"),
      h("p", { class: "muted" }, "Launches refused for lack of capacity block a zone, region or provider for every job; the blocks fade with the failover half-life."),
      blocks);

    every(POLL_MS, async (gen) => {
      const r = await api("/v1/pools");
      if (gen !== generation) return;
      const d = settle(r);
      if (!d) {
        if (r.status === 503 || r.status === 409) rows.replaceChildren(h("tr", {}, h("td", { colspan: 10, class: "error" }, message(r))));
        return;
      }
      policy.textContent = `Policy: ${d.policy}`;
      rows.replaceChildren(...d.pools.map((p) => {
        // A CPU-only pool has no accelerators: its capacity is its job slots.
        const cap = p.accelerator ? p.count : p.max_jobs;
        const busy = p.accelerator ? p.count - p.free : p.running_jobs;
        const share = cap ? busy / cap : 0;
        return h("tr", { "data-pool": p.name },
          h("th", { scope: "row" }, p.name), h("td", {}, p.executor), h("td", {}, p.accelerator || "CPU"),
          h("td", {}, h("meter", { min: 0, max: Math.max(1, cap), value: busy, title: `${busy} of ${cap}` }), ` ${busy} (${pct(share)})`),
          h("td", { class: "num" }, p.accelerator ? p.count : `${p.max_jobs} jobs`), h("td", { class: "num" }, p.running_jobs), h("td", { class: "num" }, p.queued_jobs),
          h("td", { class: "num" }, p.max_jobs), h("td", {}, p.plan), h("td", { class: "num" }, usd(p.usd_per_chip_hour)));
      }));
    });

    every(HISTORY_POLL_MS, async (gen) => {
      const r = await api("/ui/history");
      if (gen !== generation) return;
      const d = settle(r);
      if (!d) return;
      const series = d.pools.map((p) => ({ name: p.pool, values: p.busy.map((b) => (p.count ? (100 * b) / p.count : 0)) }));
      chart.replaceChildren(SpillwayCharts.lines({ series, x0: d.start_ms, step: d.step_ms, yMax: 100, yFormat: (v) => Math.round(v) + "%", title: "Accelerators busy, percent of each pool" }));
      if (!d.blocks.length) {
        blocks.replaceChildren(h("p", { class: "muted" }, "No launch was refused for lack of capacity."));
        return;
      }
      blocks.replaceChildren(h("ul", { class: "blocks" }, d.blocks.map((b) => {
        const until = /until (\S+) \(/.exec(b.message);
        const active = until && Date.parse(until[1]) > Date.now();
        return h("li", {}, h("span", { class: "badge " + (active ? "state-failed" : "state-cancelled") }, active ? "active" : "faded"), " ",
          h("time", {}, when(b.at_ms)), " ", b.pool ? h("strong", {}, b.pool) : null, b.job ? [" (", h("a", { href: "#/jobs/" + b.job }, "job " + b.job), ")"] : null, ": ", b.message);
      })));
    });
  }

  // ---------------------------------------------------------------- spend

  function spendPage(params) {
    const windows = [["", "everything"], ["3600", "last hour"], ["86400", "last day"], ["604800", "last week"]];
    const current = params.get("window") || "";
    const picker = h("p", { class: "windows" }, "Show: ", windows.map(([w, label]) =>
      h("a", { href: "#/spend" + (w ? "?window=" + w : ""), "aria-current": w === current ? "true" : null, class: "window" }, label)));
    const byTenant = h("div", { class: "chart-box", id: "spend-tenant" }, h("p", { class: "muted" }, "Loading…"));
    const byPool = h("div", { class: "chart-box", id: "spend-pool" });
    const rows = h("tbody", { id: "usage-rows" });
    const total = h("p", { id: "spend-total", class: "big" });
    const idleNote = h("p", { id: "spend-idle", class: "muted" });
    view("Spend", total, idleNote, picker,
      h("h2", {}, "By tenant (cumulative)"), byTenant,
      h("h2", {}, "By pool (cumulative)"), byPool,
      h("h2", {}, "Totals (as /v1/usage reports them)"),
      h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Tenant", "Pool", "Chip-hours", "Spend", "Attempts"].map((t) => h("th", { scope: "col" }, t)))),
        rows)));

    const group = (spend, key) => {
      const m = new Map();
      for (const s of spend) {
        const k = s[key];
        const cur = m.get(k) || new Array(s.usd.length).fill(0);
        s.usd.forEach((v, i) => (cur[i] += v));
        m.set(k, cur);
      }
      return [...m.entries()].map(([name, values]) => ({ name, values }));
    };
    // A pool rented by VMs (block) pays for each VM while any job holds one of its
    // accelerators; what its accelerators that no job held cost is charged to no tenant (as
    // /v1/usage reports it under rented): one series of its own in the chart by tenant.
    const IDLE = "idle chips of rented VMs";

    every(HISTORY_POLL_MS, async (gen) => {
      const q = current ? "?window_s=" + current : "";
      const [u, r] = await Promise.all([api("/v1/usage"), api("/ui/history" + q)]);
      if (gen !== generation) return;
      const usage = settle(u);
      const d = settle(r);
      if (!usage || !d) return;
      const rented = usage.rented || [];
      const idleUsd = rented.reduce((a, r) => a + r.idle_usd, 0);
      const sum = usage.tenants.reduce((a, t) => a + t.usd, 0) + idleUsd;
      total.textContent = `${usd(sum)} spent in all, ${chipHours(usage.tenants.reduce((a, t) => a + t.chip_hours, 0))} chip-hours`;
      idleNote.textContent = rented.length
        ? `Pools rented by VMs (${rented.map((r) => `${r.pool}: ${r.block} per VM`).join(", ")}) pay for each VM while any job holds one of its accelerators. ` +
          `A tenant pays for its jobs' accelerator time; the rest, ${usd(idleUsd)} for accelerators no job held, is shown as “${IDLE}” and charged to no tenant.`
        : "";
      const idleRows = rented.map((r) => h("tr", {},
        h("td", { class: "muted" }, `${IDLE} (no tenant)`), h("td", {}, r.pool), h("td", { class: "num" }, chipHours(r.idle_chip_hours)), h("td", { class: "num" }, usd(r.idle_usd)), h("td", {})));
      rows.replaceChildren(...(usage.tenants.length ? usage.tenants.flatMap((t) => t.pools.map((p) => h("tr", {},
        h("td", {}, t.tenant), h("td", {}, p.pool), h("td", { class: "num" }, chipHours(p.chip_hours)), h("td", { class: "num" }, usd(p.usd)), h("td", { class: "num" }, p.attempts)))).concat(idleRows)
        : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "Nothing has run yet."))]));
      const idle = d.idle || [];
      if (!d.spend.length && !idle.length) {
        byTenant.replaceChildren(h("p", { class: "muted" }, "No spend in this window."));
        byPool.replaceChildren();
        return;
      }
      const byTenantSeries = group(d.spend, "tenant").concat(idle.length ? group(idle.map((s) => ({ ...s, tenant: IDLE })), "tenant") : []);
      byTenant.replaceChildren(SpillwayCharts.stacked({ series: byTenantSeries, x0: d.start_ms, step: d.step_ms, yFormat: usd, title: "Spend by tenant" }));
      byPool.replaceChildren(SpillwayCharts.stacked({ series: group(d.spend.concat(idle), "pool"), x0: d.start_ms, step: d.step_ms, yFormat: usd, title: "Spend by pool" }));
    });
  }

  // ---------------------------------------------------------------- contracts

  function verdict(p) {
    if (p.status === "on_track") return h("span", { class: "badge verdict-ok" }, "on track");
    if (p.status === "shortfall") return h("span", { class: "badge verdict-bad" }, `shortfall: ${usd(p.lost)} would be lost`);
    if (p.status === "exhausted") return h("span", { class: "badge verdict-warn" }, `exhausted ${when(p.at / 1000)}`);
    return h("span", { class: "badge" }, p.status);
  }

  function contractsPage() {
    const list = h("div", { id: "contracts", class: "cards" }, h("p", { class: "muted" }, "Loading…"));
    view("Contracts", h("p", { class: "muted" }, "Committed spend from real usage: spent against the burn schedule, projected to the end of the term at the run rate so far (as `spillway contracts` reports it)."), list);
    every(HISTORY_POLL_MS, async (gen) => {
      const r = await api("/v1/contracts");
      if (gen !== generation) return;
      const d = settle(r);
      if (!d) return;
      if (!d.contracts.length) {
        list.replaceChildren(h("p", { class: "muted", id: "no-contracts" }, "No contracts configured: add [[contract]] tables to the config (see docs/economics.md)."));
        return;
      }
      list.replaceChildren(...d.contracts.map((c) => {
        const rp = c.report;
        const exhaustedAt = rp.projection.status === "exhausted" ? rp.projection.at / 1000 : null;
        return h("section", { class: "card", "data-contract": rp.contract },
          h("h2", {}, rp.contract, " ", verdict(rp.projection)),
          h("dl", { class: "facts" },
            h("dt", {}, "Provider"), h("dd", {}, rp.provider),
            h("dt", {}, "Pools"), h("dd", {}, c.pools.join(", ") || "—"),
            h("dt", {}, "Term"), h("dd", {}, `${when(c.start_ms)} to ${when(c.end_ms)}`),
            h("dt", {}, "Commitment"), h("dd", {}, `${usd(rp.total)} at ${num(c.discount_percent, 0)}% off list`),
            h("dt", {}, "Spent"), h("dd", {}, `${usd(rp.spent)} (${chipHours(c.chip_hours)} chip-hours)`),
            h("dt", {}, "Scheduled by now"), h("dd", {}, `${usd(rp.scheduled)} (burn ratio ${num(rp.burn_ratio)})`),
            h("dt", {}, "Projected at the end"), h("dd", {}, usd(rp.projected_at_end)),
            h("dt", {}, "Share of work"), h("dd", {}, pct(rp.share_of_work))),
          SpillwayCharts.burndown({ start: c.start_ms, end: c.end_ms, now: d.at_ms, total: rp.total, scheduled: rp.scheduled, spent: rp.spent, projected: rp.projected_at_end, exhaustedAt, yFormat: usd, title: `Contract ${rp.contract}: commitment remaining` }));
      }));
    });
  }

  boot();
})();
