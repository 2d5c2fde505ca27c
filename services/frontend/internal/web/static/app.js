// String Hashr page: one websocket to the frontend, a slider that sets the
// deployment's request rate, and a bounded, batched list of hashes.
"use strict";

const MAX_ITEMS = 100;        // hashes kept on the page
const SEND_EVERY_MS = 100;    // slider changes sent at most this often while dragging

const $ = (id) => document.getElementById(id);
const slider = $("rate");
const readout = $("rate-value");
const list = $("hashes");
const chart = Chart.create($("chart"));
const latencyChart = Chart.createLines($("latency-chart"), " ms", "objective {v} ms");
const burnChart = Chart.createLines($("burn-chart"), "×", "budget spent exactly at {v}×");
const MAX_DECISIONS = 6;      // decisions listed on the page

// The clusters in spill order, as the frontend's latency names them: the
// page starts with primary and burst, and adds a row, a bar and an edge for
// each further one (the frontend's CLUSTER_PREFIXES) when it first hears of
// it. Each has its colour; primary's and burst's are the stylesheet's.
const PALETTE = ["#1a73e8", "#e8710a", "#188038", "#9334e6", "#d01884", "#12b5cb", "#7e5700", "#5f6368"];
let clusters = ["primary", "burst"];
const colorOf = (name) => PALETTE[Math.max(0, clusters.indexOf(name)) % PALETTE.length];
const series = () => clusters.map((name) => ({ name, color: colorOf(name) }));
chart.setSeries(series());
latencyChart.setSeries(series());
burnChart.setSeries(series());

let ws = null;
let retryMs = 500;
let pending = [];             // {text, cluster} waiting for the next animation frame
let drawScheduled = false;
let dragging = false;
let lastSentAt = 0;
let sendTimer = null;

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/ws`);
  setConn("connecting", "connecting…");
  ws.onopen = () => { retryMs = 500; setConn("open", "live"); };
  ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  ws.onclose = () => {
    setConn("closed", "reconnecting…");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

function setConn(cls, text) {
  const el = $("conn");
  el.className = `conn ${cls}`;
  el.textContent = text;
}

function onFrame(f) {
  switch (f.type) {
    case "hello":
      slider.max = f.maxRps;
      if (f.status) applyStatus(f.status);
      break;
    case "update":
      if (f.hashes) queueHashes(f.hashes);
      if (f.received) applyReceived(f.received);
      if (f.status) applyStatus(f.status);
      if (f.received && f.status) {
        // Chart on the server's clock, as the burster's decisions are: a
        // browser whose clock is off would misplace the markers otherwise.
        chart.setClockOffset(Date.now() - f.at);
        chart.push({ t: f.at, v: f.received, target: f.status.targetRps });
        chart.draw();
        const l = f.status.latency;
        if (l) {
          latencyChart.setClockOffset(Date.now() - f.at);
          latencyChart.push({ t: f.at, v: Object.fromEntries(l.clusters.map((c) => [c.cluster, c.p99Ms ?? null])) });
          latencyChart.draw();
        }
        const topo = f.status.topology;
        if (topo) {
          burnChart.setClockOffset(Date.now() - f.at);
          burnChart.push({ t: f.at, v: Object.fromEntries(topo.edges.map((e) => [e.cluster, e.burn ?? null])) });
          burnChart.draw();
        }
      }
      break;
    case "error":
      showError(f.message);
      break;
  }
}

function queueHashes(hashes) {
  pending.push(...hashes);
  if (pending.length > MAX_ITEMS) pending = pending.slice(-MAX_ITEMS);
  if (!drawScheduled) {
    drawScheduled = true;
    requestAnimationFrame(draw);
  }
}

// draw adds every pending hash in one DOM update, newest first, styled by
// the cluster the server says published it.
function draw() {
  drawScheduled = false;
  const frag = document.createDocumentFragment();
  for (let i = pending.length - 1; i >= 0; i--) {
    const h = pending[i];
    const li = document.createElement("li");
    li.textContent = h.text;
    li.className = h.cluster;
    if (clusters.indexOf(h.cluster) > 1) li.style.borderColor = colorOf(h.cluster);
    frag.appendChild(li);
  }
  pending = [];
  list.prepend(frag);
  while (list.childElementCount > MAX_ITEMS) list.lastElementChild.remove();
}

function applyStatus(s) {
  if (s.latency) ensureClusters(s.latency.clusters.map((c) => c.cluster));
  $("target").textContent = s.targetRps;
  $("sent").textContent = s.sentRps.toFixed(1);
  $("achieved").textContent = s.achievedRps.toFixed(1);
  $("inflight").textContent = s.inFlight;
  $("errors").textContent = s.failed;
  $("dropped").textContent = s.dropped;
  $("last-error").textContent = s.lastError ? `last error: ${s.lastError}` : "";
  applyBurster(s.burster, s.bursterProblem);
  if (s.latency) applyLatency(s.latency);
  applyTopology(s.topology, s.burster);
  // The server's rate wins unless this page is being dragged or just sent one.
  if (!dragging && Date.now() - lastSentAt > 1000) {
    slider.value = s.targetRps;
    readout.textContent = s.targetRps;
  }
}

// ensureClusters adds what the page shows of each cluster it has not shown
// yet, after burst's and in order: its share in the split, its hashes a
// second and bar, its edge in the topology, its row in the error budget and
// the latency, and its colour in the charts' legends.
function ensureClusters(names) {
  for (const name of names) {
    if (clusters.includes(name)) continue;
    const last = clusters[clusters.length - 1];
    clusters.push(name);
    const color = colorOf(name);
    const el = (tag, props, ...children) => {
      const e = document.createElement(tag);
      Object.assign(e, props);
      e.append(...children);
      return e;
    };
    const share = el("div", {}, el("span", { id: `split-${name}-pct`, textContent: "0" }), "%", el("small", { textContent: name }),
      el("small", { id: `dest-${name}`, className: "dest" }));
    share.style.background = color;
    $(`split-${last}-pct`).parentElement.after(share);
    const figure = el("div", {}, el("dt", { textContent: name }), el("dd", { id: `recv-${name}`, textContent: "0" }), el("small", { textContent: "hashes/s" }));
    figure.style.borderColor = color;
    $(`recv-${last}`).parentElement.after(figure);
    const bar = el("div", { id: `split-${name}` });
    bar.style.cssText = `width: 0%; background: ${color}`;
    $(`split-${last}`).after(bar);
    const box = el("div", { className: "cluster" }, el("span", { className: "cname", textContent: `${name} cluster` }), el("div", { className: "node", textContent: "worker" }));
    box.style.borderColor = color;
    const edge = el("div", { id: `edge-${name}`, className: "edge" }, el("div", { className: "arrow" }, el("span", { id: `edge-${name}-rate` })), box,
      el("small", { id: `edge-${name}-detail` }));
    $(`edge-${last}`).after(edge);
    const cell = (id, text = "–") => el("td", { id, textContent: text });
    const heading = () => {
      const th = el("th", { textContent: name });
      th.style.color = color;
      return th;
    };
    $(`budget-${last}-sli`).parentElement.after(el("tr", {}, heading(), cell(`budget-${name}-sli`), cell(`budget-${name}-burn`), cell(`budget-${name}-left`)));
    $(`lat-${last}-p50`).parentElement.after(el("tr", {}, heading(), cell(`lat-${name}-p50`), cell(`lat-${name}-p99`), cell(`lat-${name}-within`),
      cell(`lat-${name}-n`, "0"), cell(`lat-${name}-failed`, "0")));
    for (const [legend, what] of [["chart-legend", ""], ["latency-legend", " p99"], ["burn-legend", " burn"]]) {
      const tag = el("span", { className: "tag", textContent: name + what });
      tag.style.background = color;
      $(legend).querySelectorAll(".tag")[clusters.length - 2].after(tag);
    }
  }
  for (const c of [chart, latencyChart, burnChart]) c.setSeries(series());
}

let shownSplit = null;

// showSplit puts the split (weights in spill order: [{name, weight}]) in
// the big display and flashes it when it moves.
function showSplit(weights, source) {
  ensureClusters(weights.map((w) => w.name));
  for (const w of weights) $(`split-${w.name}-pct`).textContent = w.weight;
  $("split-source").textContent = source;
  const key = weights.map((w) => w.weight).join("/");
  if (shownSplit !== null && shownSplit !== key) {
    const el = $("split-display");
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }
  shownSplit = key;
}

// The burster serves the policy the page follows as the API has it
// (apiVersion cloudburst.dev/v1alpha1, kind BurstPolicy): its spec, and its
// status with the weights and destinations in spill order: the first is
// primary, the second burst, any further one a further burst cluster.

// condition is the status' condition of type, or undefined.
const condition = (st, type) => (st.conditions || []).find((c) => c.type === type);

// degraded is the Degraded condition's reason when it holds, else "".
function degraded(st) {
  const c = condition(st, "Degraded");
  return c && c.status === "True" ? c.reason : "";
}

// routeProblem is what keeps the burster from the route, from the Ready
// condition's reason; "" when none.
function routeProblem(st) {
  const c = condition(st, "Ready");
  const route = ["RouteNotFound", "RouteUnsupported", "RouterUnreachable", "RouterForbidden"];
  return c && c.status === "False" && route.includes(c.reason) ? c.message : "";
}

// measuresSLO: the burster judges the service level (always under slo).
function measuresSLO(spec) {
  const m = spec.measurement || {};
  return spec.strategy.type === "slo" || Boolean((m.prometheus && m.prometheus.latencyQuery) || (m.scrape && m.scrape.latencyMetric));
}

// readyWorkers says how many ready workers: "1 ready worker", "3 ready workers".
function readyWorkers(n) {
  return `${n} ready worker${n === 1 ? "" : "s"}`;
}

// applyBurster shows the burster's view when the frontend follows one, or
// why the frontend could not read it (problem, as the server words it).
function applyBurster(b, problem) {
  const st = b ? b.status || {} : {};
  const dests = st.destinations || [];
  showDestinations(dests);
  const unreachable = b ? routeProblem(st) : "";
  if (!b || !st.weights || st.weights.length < 2) {
    const unread = unreachable ? `burster: cannot read the weights (${unreachable})` : "burster: no weights read yet";
    $("burster-line").textContent = problem ? `burster: ${problem}` : b ? unread : "";
    $("burster-line").classList.toggle("warning", Boolean(problem || unreachable));
    if ($("split-source").textContent === "(set by the burster)") $("split-source").textContent = "";
    chart.setThresholds(null);
    return;
  }
  const spec = b.spec;
  const strategy = spec.strategy;
  showSplit(st.weights, "(set by the burster)");
  const rps = st.rateRps === undefined ? "no measurement" : `${st.rateRps.toFixed(1)} req/s observed`;
  const reason = degraded(st);
  const home = dests[0] || {};
  let line;
  if (strategy.type === "spillover") {
    const workers = home.readyEndpoints !== undefined ? ` (${readyWorkers(home.readyEndpoints)})` : "";
    line = `burster: spillover, ${rps}, primary keeps ${home.capacityRps !== undefined ? `${home.capacityRps} req/s${workers}` : "its capacity"}`;
  } else if (strategy.type === "slo") {
    line = `burster: slo, ${rps}; ${sloLine(strategy.slo, st)}`;
  } else {
    line = `burster: ${strategy.type}, ${rps}, burst above ${strategy.highRps}, back below ${strategy.lowRps}`;
  }
  // Each cluster after primary whose readiness the burster reads.
  const weightOf = (name) => (st.weights.find((w) => w.name === name) || {}).weight;
  dests.slice(1).forEach((next, i) => {
    if (next.reachable === undefined) return;
    const name = i === 0 ? "burst cluster" : `${next.name} cluster`;
    line += !next.reachable ? `; ${name} unreachable` : `; ${name}: ${readyWorkers(next.readyEndpoints)}`;
    if (next.prescaledTo) line += ` (pre-scaled to ${next.prescaledTo})`;
    if (reason === "BurstNotReady" && !next.readyEndpoints && !weightOf(next.name)) line += ", so nothing is sent there";
  });
  if (unreachable) line += `; its last write or read of the weights failed (${unreachable})`;
  $("burster-line").textContent = line;
  $("burster-line").classList.toggle("warning", Boolean(reason || unreachable));
  chart.setThresholds(strategy.type === "spillover" || strategy.type === "slo" ? null : { high: strategy.highRps, low: strategy.lowRps });
  const changes = st.changes || [];
  const split = (ws) => ws.map((w) => `${w.name} ${w.weight}%`).join(" / ");
  const marks = changes.map((c) => ({ t: Date.parse(c.time),
    label: c.weights.length === 2 ? `→ burst ${c.weights[1].weight}%` : `→ ${c.weights.map((w) => w.weight).join("/")}` }));
  chart.setMarkers(marks);
  burnChart.setMarkers(marks);
  const ol = $("decisions");
  ol.replaceChildren();
  if (changes.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "none yet";
    ol.appendChild(li);
  }
  for (const c of changes.slice(-MAX_DECISIONS).reverse()) {
    const li = document.createElement("li");
    li.className = ["WeightsChanged", "DryRun", "BurstReady"].includes(c.reason) ? "" : "warning";
    const time = document.createElement("time");
    time.textContent = new Date(c.time).toLocaleTimeString();
    li.append(time);
    if (c.sli !== undefined) {
      const badge = document.createElement("span");
      badge.className = c.burn > 1 ? "slo over" : "slo";
      badge.textContent = `primary SLI ${(100 * c.sli).toFixed(2)}%, burn ${c.burn.toFixed(1)}×`;
      li.append(badge);
    }
    li.append(`${c.reason === "DryRun" ? "would set" : "set"} ${split(c.weights)}: ${c.message || c.reason}`);
    ol.appendChild(li);
  }
}

// showDestinations puts each destination's traffic under its share, and
// marks one whose requests mostly fail: they still count as load.
function showDestinations(dests) {
  ensureClusters(dests.map((d) => d.name));
  clusters.forEach((name) => {
    const el = $(`dest-${name}`);
    const t = dests.find((d) => d.name === name);
    el.classList.toggle("failing", Boolean(t && t.failing));
    if (!t || !t.rateRps) el.textContent = "";
    else if (t.failing) el.textContent = `failing: ${(t.failedRps || 0).toFixed(1)} of ${t.rateRps.toFixed(1)} req/s`;
    else el.textContent = `${t.rateRps.toFixed(1)} req/s`;
  });
}

// applyLatency fills the latency table: each cluster's p50 and p99, the
// share of its requests answered within the objective and how many failed,
// over the generator's window; every request sent counts, a failed one as
// taking the request timeout.
function applyLatency(l) {
  latencyChart.setLine(l.objectiveMs);
  $("objective").textContent = l.objectiveMs;
  $("latency-window").textContent = `over the last ${l.windowSeconds} complete seconds, every request sent: a failed one (5xx, timeout, refused) counts as ${Math.round(l.failedAsMs)} ms; queueing and the hop between clusters included`;
  $("lat-unattributed-n").textContent = l.unattributed.requests;
  $("lat-unattributed-failed").textContent = l.unattributed.failed;
  const fmt = (v) => (v === undefined ? "–" : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
  for (const c of l.clusters) {
    const name = c.cluster;
    $(`lat-${name}-p50`).textContent = fmt(c.p50Ms);
    $(`lat-${name}-p99`).textContent = fmt(c.p99Ms);
    $(`lat-${name}-p99`).classList.toggle("warning", c.p99Ms !== undefined && c.p99Ms > l.objectiveMs);
    $(`lat-${name}-within`).textContent = c.withinObjective === undefined ? "–" : `${(100 * c.withinObjective).toFixed(1)}%`;
    $(`lat-${name}-n`).textContent = c.requests;
    $(`lat-${name}-failed`).textContent = c.failed;
    $(`lat-${name}-failed`).classList.toggle("warning", c.failed > 0);
  }
}

// sloLine is the slo strategy's reading, as the burster's line says it.
function sloLine(o, st) {
  const dests = st.destinations || [];
  const judged = (name, j) => {
    if (!j || j.requests === undefined) return `${name} not measured`;
    if (j.sli === undefined) return `${name} too few requests to judge (${Math.round(j.requests)})`;
    return `${name} SLI ${(100 * j.sli).toFixed(2)}% (burn ${j.burn.toFixed(1)}×)`;
  };
  const c = condition(st, "Degraded");
  const failed = c && c.status === "True" && c.reason === "MeasurementFailed" && c.message.startsWith("the latency: ") ? c.message.slice(13) : "";
  let line = `objective ${(100 * o.target).toFixed(1)}% within ${o.latencyMs} ms over ${o.window}: `;
  line += failed ? `no reading (${failed})` : `${judged("primary", dests[0])}, ${judged("burst", dests[1])}`;
  line += st.learnedCapacityRps > 0 ? `; primary's capacity measured at ${st.learnedCapacityRps.toFixed(1)} req/s` : "; primary's capacity not measured yet";
  if (degraded(st) === "BothOverObjective") line += "; both clusters are over their objective: burst's share is not raised";
  return line;
}

const fixed = (v, digits, unit) => (v === undefined || v === null ? "–" : `${v.toFixed(digits)}${unit}`);

// applyTopology draws the request's path: each worker edge with its rate,
// errors, p99, the weight set beside the share observed, how the hop
// travels, coloured by its objective; and the error budget panel.
function applyTopology(t, b) {
  const section = $("topology");
  section.hidden = !t;
  $("budget").hidden = !t;
  if (!t) return;
  $("topo-mesh").textContent = `split by ${t.mesh}`;
  ensureClusters(t.edges.map((e) => e.cluster));
  for (const e of t.edges) {
    const name = e.cluster;
    const edge = $(`edge-${name}`);
    edge.className = `edge ${name} objective-${e.objective}`;
    $(`edge-${name}-rate`).textContent = e.rps === undefined ? "rate not measured" : `${e.rps.toFixed(1)} req/s`;
    $(`edge-${name}-detail`).textContent = [
      `p99 ${fixed(e.p99Ms, 1, " ms")}`,
      `errors ${fixed(e.errorsRps, 1, "/s")}`,
      `weight ${e.weight === undefined ? "–" : e.weight + "%"}, observed ${fixed(e.share, 0, "%")}`,
      e.security,
      `objective ${e.objective}`,
    ].join(" · ");
  }
  applyBudget(t, b);
}

// applyBudget fills the error budget panel from the policy's objective and
// each destination's status.
function applyBudget(t, b) {
  const slo = b && measuresSLO(b.spec) ? b.spec.strategy.slo : null;
  const st = b ? b.status || {} : {};
  const demo = b && Boolean(b.spec.route.localMesh);
  let period = "";
  if (st.budgetPeriod) {
    period = st.budgetPeriod === "since the counters started" ? (demo ? "since the demo started" : "since the counters started")
      : `over the last ${st.budgetPeriod}`;
  }
  const c = condition(st, "Degraded");
  const problem = c && c.status === "True" && c.message.startsWith("the error budget: ") ? c.message.slice(18) : "";
  $("budget-source").textContent = !slo ? "the burster does not measure the service level"
    : `objective ${(100 * slo.target).toFixed(1)}% within ${slo.latencyMs} ms; budget ${period || "not measured" + (problem ? ` (${problem})` : "")}` +
      (demo ? " (the local mesh's histogram)" : " (deploy/prometheus' recording rules)");
  t.edges.forEach((e) => {
    const name = e.cluster;
    const d = (st.destinations || []).find((x) => x.name === name);
    const burns = d && d.budget ? d.budget.burns || [] : [];
    $(`budget-${name}-sli`).textContent = e.sli === undefined ? "–" : `${(100 * e.sli).toFixed(2)}%`;
    $(`budget-${name}-burn`).textContent = burns.length
      ? burns.map((x) => `${x.rate.toFixed(1)}× over ${x.window}`).join(", ")
      : fixed(e.burn, 1, "×");
    // Spent is said as how many budgets went: -250% left is 3.5 spent.
    $(`budget-${name}-left`).textContent = e.budgetLeft === undefined ? "–"
      : e.budgetLeft > 0 ? `${(100 * e.budgetLeft).toFixed(1)}%` : `none: ${(1 - e.budgetLeft).toFixed(1)}× spent`;
    $(`budget-${name}-left`).classList.toggle("warning", e.budgetLeft !== undefined && e.budgetLeft <= 0);
  });
}

// applyReceived shows the hashes a second from each cluster (the server
// names every cluster it knows, 0 included) and their shares.
function applyReceived(r) {
  const known = clusters.filter((name) => r[name] !== undefined);
  for (const name of known) $(`recv-${name}`).textContent = r[name].toFixed(1);
  const total = known.reduce((a, name) => a + r[name], 0);
  if (total > 0) {
    const shares = known.map((name) => ({ name, weight: Math.round((100 * r[name]) / total) }));
    for (const name of known) $(`split-${name}`).style.width = `${(100 * r[name]) / total}%`;
    if ($("split-source").textContent !== "(set by the burster)") showSplit(shares, "(measured from hashes received)");
  }
}

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

function sendRate() {
  clearTimeout(sendTimer);
  sendTimer = null;
  lastSentAt = Date.now();
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify({ type: "setRate", rps: Number(slider.value) }));
  }
}

// Every change of the slider, dragged or keyed (each arrow key press is an
// input and a change event), is sent at most every SEND_EVERY_MS, the latest
// value last: the server disconnects a page that floods it with commands.
function scheduleSend() {
  readout.textContent = slider.value;
  if (Date.now() - lastSentAt >= SEND_EVERY_MS) sendRate();
  else if (!sendTimer) sendTimer = setTimeout(sendRate, SEND_EVERY_MS);
}
slider.addEventListener("input", scheduleSend);
slider.addEventListener("change", scheduleSend);
slider.addEventListener("pointerdown", () => { dragging = true; });
window.addEventListener("pointerup", () => { dragging = false; });

setInterval(chart.draw, 1000); // keep the time axis moving
connect();
