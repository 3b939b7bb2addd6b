"use strict";
// evalharness report: per-sample drill-down. Sample data is untrusted (model and tool output): it is only
// ever put into the page through textContent, never parsed as HTML.
(function () {
  const root = document.documentElement;
  const t0 = performance.now();
  function noteError(message) {
    root.dataset.jsErrors = String(Number(root.dataset.jsErrors || 0) + 1);
    root.dataset.jsError = String(message).slice(0, 200);
  }
  window.addEventListener("error", (e) => noteError(e.message));
  window.addEventListener("unhandledrejection", (e) => noteError(e.reason));

  function b64bytes(id) {
    const el = document.getElementById(id);
    if (!el) throw new Error("missing data block " + id);
    const bin = atob(el.textContent.trim());
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  async function gunzipJSON(id) {
    const stream = new Blob([b64bytes(id)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  const meta = JSON.parse(new TextDecoder().decode(b64bytes("eh-meta")));
  const nruns = meta.runs.length;
  const PAGE = 100;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  }
  const $ = (id) => document.getElementById(id);
  function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toFixed(3); }
  function outcome(score, err) {
    if (score === null || score === undefined) return err > 0 ? "error" : "missing";
    if (score >= 1) return "pass";
    if (score <= 0) return "fail";
    return "partial";
  }

  const state = { domain: 0, index: {}, chunks: {}, rows: [], page: 0, selected: null, run: nruns - 1 };

  function fillSelect(sel, options, value) {
    sel.textContent = "";
    options.forEach(([v, label]) => sel.appendChild(el("option", { value: String(v) }, label)));
    sel.value = String(value);
  }
  const runOptions = meta.runs.map((r, i) => [i, r.label + " · " + r.model]);
  fillSelect($("f-domain"), meta.domains.map((d, i) => [i, d.name + " (" + d.n.toLocaleString() + ")"]), 0);
  fillSelect($("f-orun"), runOptions, nruns - 1);
  fillSelect($("f-a"), runOptions, 0);
  fillSelect($("f-b"), runOptions, nruns - 1);
  if (nruns < 2) $("pair-controls").style.display = "none";

  async function loadIndex(d) {
    if (!state.index[d]) state.index[d] = await gunzipJSON("eh-index-" + d);
    return state.index[d];
  }
  async function loadChunk(run, c) {
    const key = run + "-" + c;
    if (!state.chunks[key]) state.chunks[key] = await gunzipJSON("eh-chunk-" + key);
    return state.chunks[key];
  }
  // The epochs of sample i of domain d in run k: an array of records, null when the sample is not in the run;
  // a record is "omitted" when the size budget left it out of the file.
  async function records(d, i, k) {
    const ix = state.index[d];
    const loc = ix.l[k][i];
    if (loc === null || loc === undefined) return null;
    const out = [];
    for (const n of Array.isArray(loc) ? loc : [loc]) {
      if (n < 0) { out.push(null); continue; }
      const chunk = await loadChunk(k, Math.floor(n / meta.chunk));
      out.push(chunk[n % meta.chunk]);
    }
    return out;
  }

  async function refresh() {
    const d = Number($("f-domain").value);
    const ix = await loadIndex(d);
    const orun = Number($("f-orun").value), want = $("f-outcome").value;
    const a = Number($("f-a").value), b = Number($("f-b").value), change = nruns > 1 ? $("f-change").value : "";
    const text = $("f-text").value.trim().toLowerCase();
    const rows = [];
    for (let i = 0; i < ix.id.length; i++) {
      if (want && outcome(ix.s[orun][i], ix.x[orun][i]) !== want) continue;
      if (change) {
        const sa = ix.s[a][i], sb = ix.s[b][i];
        if (change === "broken" && !(sa === 1 && sb !== null && sb < 1)) continue;
        if (change === "fixed" && !(sa !== null && sa < 1 && sb === 1)) continue;
        if (change === "worse" && !(sa !== null && sb !== null && sb < sa)) continue;
        if (change === "better" && !(sa !== null && sb !== null && sb > sa)) continue;
        if (change === "same" && !(sa !== null && sb !== null && sb === sa)) continue;
      }
      if (text && !(ix.tasks[ix.t[i]] + "/" + ix.id[i]).toLowerCase().includes(text)) continue;
      rows.push(i);
    }
    state.domain = d;
    state.rows = rows;
    state.page = Math.min(state.page, Math.max(0, Math.ceil(rows.length / PAGE) - 1));
    renderList();
  }

  function renderList() {
    const ix = state.index[state.domain];
    const cols = nruns > 1 ? [Number($("f-a").value), Number($("f-b").value)] : [0];
    const head = $("sample-list").tHead;
    head.textContent = "";
    head.appendChild(el("tr", {}, el("th", {}, "task"), el("th", {}, "sample"),
      ...cols.map((c) => el("th", {}, meta.runs[c].label)), nruns > 1 ? el("th", {}, "Δ") : null));
    const body = $("sample-list").tBodies[0];
    body.textContent = "";
    const start = state.page * PAGE;
    for (const i of state.rows.slice(start, start + PAGE)) {
      const cells = cols.map((c) => {
        const o = outcome(ix.s[c][i], ix.x[c][i]);
        return el("td", { class: "num o-" + o, title: o }, o === "error" ? "error" : o === "missing" ? "–" : fmt(ix.s[c][i]));
      });
      let delta = null;
      if (nruns > 1) {
        const sa = ix.s[cols[0]][i], sb = ix.s[cols[1]][i];
        const dv = sa === null || sb === null ? null : sb - sa;
        delta = el("td", { class: "num " + (dv > 0 ? "o-pass" : dv < 0 ? "o-fail" : "") }, dv === null ? "–" : (dv > 0 ? "+" : "") + fmt(dv));
      }
      const tr = el("tr", { "data-i": String(i), onclick: () => showSample(state.domain, i) },
        el("td", {}, ix.tasks[ix.t[i]]), el("td", {}, ix.id[i]), ...cells, delta);
      if (state.selected && state.selected[0] === state.domain && state.selected[1] === i) tr.className = "sel";
      body.appendChild(tr);
    }
    const pages = Math.max(1, Math.ceil(state.rows.length / PAGE));
    $("count").textContent = state.rows.length.toLocaleString() + " of " + ix.id.length.toLocaleString() + " samples";
    $("page").textContent = "page " + (state.page + 1) + " / " + pages;
    root.dataset.listRendered = String(state.rows.length);
  }

  function pre(text) { return el("pre", {}, text === null || text === undefined ? "" : String(text)); }

  function renderEpoch(ep) {
    const box = el("div", { class: "epoch" });
    box.appendChild(el("h4", {}, "epoch " + ep.e + (ep.stop ? " · stop: " + ep.stop : "") +
      " · model calls " + ep.mc + " · tokens " + ep.u[0] + " in / " + ep.u[1] + " out" +
      (ep.dur !== null && ep.dur !== undefined ? " · " + Number(ep.dur).toFixed(2) + " s" : "")));
    if (ep.err) box.appendChild(el("div", { class: "errbox" }, el("strong", {}, "error: " + ep.err.kind), pre(ep.err.message)));
    if (ep.s.length) {
      const t = el("table", { class: "scores" }, el("tr", {}, el("th", {}, "score"), el("th", {}, "value"), el("th", {}, "details")));
      ep.s.forEach((s) => t.appendChild(el("tr", {}, el("td", {}, s.n), el("td", { class: "num" }, fmt(s.v)), el("td", {}, pre(s.d)))));
      box.appendChild(t);
    }
    if (ep.t !== null && ep.t !== undefined) box.appendChild(el("div", {}, el("span", { class: "role" }, "target"), pre(ep.t)));
    if (ep.omitted) box.appendChild(el("p", { class: "note" }, "transcript left out (" + ep.omitted + " messages) to keep the report small" +
      (ep.m.length ? "; the final answer is shown" : "") + ". Full transcript: samples.jsonl."));
    const servers = new Map((ep.tl || []).filter((t) => t.sv).map((t) => [t.n, t.sv]));  // MCP tools' servers
    const onServer = (sv) => (sv ? " (MCP server " + sv + ")" : "");
    for (const m of ep.m) {
      const cls = "msg " + (m.r || "") + (m.ie ? " err" : "");
      const div = el("div", { class: cls }, el("div", { class: "role" }, (m.r || "?") + (m.nm ? " · " + m.nm : "") +
        (m.sv ? " · MCP server " + m.sv : "") + (m.ie ? " · error" : "")));
      if (m.c !== null && m.c !== undefined) div.appendChild(pre(m.c));
      for (const c of m.tc || []) {
        div.appendChild(el("div", { class: "toolcall" }, el("span", { class: "role" }, "tool call → " + c.n + onServer(servers.get(c.n))), pre(c.a),
          c.pe ? el("div", { class: "errbox" }, "arguments not valid: " + c.pe) : null));
      }
      box.appendChild(div);
    }
    if (ep.tl && ep.tl.length) {
      box.appendChild(el("p", { class: "dim" }, "tool log: " + ep.tl.map((t) => (t.sv ? t.sv + "/" : "") + t.n + (t.ie ? " (error)" : "") +
        (t.du !== null && t.du !== undefined ? " " + Number(t.du).toFixed(2) + "s" : "")).join(", ")));
    }
    return box;
  }

  async function showSample(d, i) {
    const ix = await loadIndex(d);
    const perRun = [];
    for (let k = 0; k < nruns; k++) perRun.push(await records(d, i, k));
    state.selected = [d, i];
    const det = $("detail");
    det.textContent = "";
    det.appendChild(el("h3", {}, ix.tasks[ix.t[i]] + " / " + ix.id[i]));
    det.appendChild(el("p", { class: "dim" }, "domain " + meta.domains[d].name + " · " +
      meta.runs.map((r, k) => r.label + ": " + outcome(ix.s[k][i], ix.x[k][i]) + (ix.s[k][i] !== null ? " " + fmt(ix.s[k][i]) : "")).join(" · ")));
    const tabs = el("div", { class: "tabs" });
    const body = el("div", {});
    function show(k) {
      state.run = k;
      Array.from(tabs.children).forEach((b, j) => { b.className = j === k ? "on" : ""; });
      body.textContent = "";
      const epochs = perRun[k];
      if (!epochs || !epochs.length) body.appendChild(el("p", { class: "dim" }, "not in this run"));
      else epochs.forEach((ep) => body.appendChild(ep ? renderEpoch(ep) : el("p", { class: "note" },
        "this sample-epoch is not embedded (the report keeps errored and changed samples first to stay small); " +
        "see samples.jsonl")));
    }
    meta.runs.forEach((r, k) => tabs.appendChild(el("button", { type: "button", onclick: () => show(k) }, r.label + " · " + r.model)));
    det.appendChild(tabs);
    det.appendChild(body);
    show(Math.min(state.run, nruns - 1));
    Array.from($("sample-list").tBodies[0].rows).forEach((tr) => {
      tr.className = Number(tr.dataset.i) === i && state.domain === d ? "sel" : "";
    });
    root.dataset.detailRendered = ix.tasks[ix.t[i]] + "/" + ix.id[i];
    root.dataset.detailMs = performance.now().toFixed(1);
  }

  let opened = false;
  async function open() {
    if (opened) return;
    opened = true;
    await refresh();
  }
  $("samples-box").addEventListener("toggle", () => { if ($("samples-box").open) open().catch(noteError); });
  for (const id of ["f-domain", "f-orun", "f-outcome", "f-a", "f-b", "f-change"]) {
    $(id).addEventListener("change", () => { state.page = 0; refresh().catch(noteError); });
  }
  $("f-text").addEventListener("input", () => { state.page = 0; refresh().catch(noteError); });
  $("prev").addEventListener("click", () => { if (state.page > 0) { state.page--; renderList(); } });
  $("next").addEventListener("click", () => {
    if ((state.page + 1) * PAGE < state.rows.length) { state.page++; renderList(); }
  });

  // Deep links: #samples, #domain=NAME&sample=TASK/ID&change=broken&outcome=fail
  async function fromHash() {
    const h = location.hash.slice(1);
    if (!h) return;
    const q = new URLSearchParams(h);
    if (h !== "samples" && !q.has("domain") && !q.has("sample")) return;
    const d = q.has("domain") ? meta.domains.findIndex((x) => x.name === q.get("domain")) : 0;
    if (d < 0) return;
    $("f-domain").value = String(d);
    if (q.has("change") && nruns > 1) $("f-change").value = q.get("change");
    if (q.has("outcome")) $("f-outcome").value = q.get("outcome");
    $("samples-box").open = true;
    opened = true;
    await refresh();
    if (q.has("sample")) {
      const ix = state.index[d];
      const want = q.get("sample");
      for (let i = 0; i < ix.id.length; i++) {
        if (ix.tasks[ix.t[i]] + "/" + ix.id[i] === want) { await showSample(d, i); break; }
      }
    }
    $("samples").scrollIntoView();
    root.dataset.hashDone = "1";
  }
  window.addEventListener("hashchange", () => fromHash().catch(noteError));
  window.addEventListener("load", () => { root.dataset.loadMs = performance.now().toFixed(1); });
  root.dataset.ready = "1";
  root.dataset.initMs = (performance.now() - t0).toFixed(1);
  fromHash().catch(noteError);
})();
