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
        chart.push({ t: f.at, primary: f.received.primary, burst: f.received.burst, target: f.status.targetRps });
        chart.draw();
        const l = f.status.latency;
        if (l) {
          latencyChart.setClockOffset(Date.now() - f.at);
          latencyChart.push({ t: f.at, primary: l.primary.p99Ms ?? null, burst: l.burst.p99Ms ?? null });
          latencyChart.draw();
        }
        const topo = f.status.topology;
        if (topo) {
          burnChart.setClockOffset(Date.now() - f.at);
          burnChart.push({ t: f.at, primary: topo.primary.burn ?? null, burst: topo.burst.burn ?? null });
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
    frag.appendChild(li);
  }
  pending = [];
  list.prepend(frag);
  while (list.childElementCount > MAX_ITEMS) list.lastElementChild.remove();
}

function applyStatus(s) {
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

let shownSplit = null;

// showSplit puts the split in the big display and flashes it when it moves.
function showSplit(primary, burst, source) {
  $("split-primary-pct").textContent = primary;
  $("split-burst-pct").textContent = burst;
  $("split-source").textContent = source;
  const key = `${primary}/${burst}`;
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
// status with the weights and destinations in spill order. The page shows
// two: the first is primary, the second burst.

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
  showSplit(st.weights[0].weight, st.weights[1].weight, "(set by the burster)");
  const rps = st.rateRps === undefined ? "no measurement" : `${st.rateRps.toFixed(1)} req/s observed`;
  const reason = degraded(st);
  const home = dests[0] || {};
  let line;
  if (strategy.type === "spillover") {
    line = `burster: spillover, ${rps}, primary keeps ${home.capacityRps !== undefined ? `${home.capacityRps} req/s (${home.readyEndpoints} ready workers)` : "its capacity"}`;
  } else if (strategy.type === "slo") {
    line = `burster: slo, ${rps}; ${sloLine(strategy.slo, st)}`;
  } else {
    line = `burster: ${strategy.type}, ${rps}, burst above ${strategy.highRps}, back below ${strategy.lowRps}`;
  }
  const next = dests[1];
  if (next && next.reachable !== undefined) {
    line += !next.reachable ? "; burst cluster unreachable" : `; burst cluster: ${next.readyEndpoints} ready workers`;
    if (next.prescaledTo) line += ` (pre-scaled to ${next.prescaledTo})`;
    if (reason === "BurstNotReady") line += ", so nothing is sent there";
  }
  if (unreachable) line += `; its last write or read of the weights failed (${unreachable})`;
  $("burster-line").textContent = line;
  $("burster-line").classList.toggle("warning", Boolean(reason || unreachable));
  chart.setThresholds(strategy.type === "spillover" || strategy.type === "slo" ? null : { high: strategy.highRps, low: strategy.lowRps });
  const changes = st.changes || [];
  const marks = changes.map((c) => ({ t: Date.parse(c.time), label: `→ burst ${c.weights[1].weight}%` }));
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
    li.append(`${c.reason === "DryRun" ? "would set" : "set"} primary ${c.weights[0].weight}% / burst ${c.weights[1].weight}%: ${c.message || c.reason}`);
    ol.appendChild(li);
  }
}

// showDestinations puts each destination's traffic under its share, and
// marks one whose requests mostly fail: they still count as load.
function showDestinations(dests) {
  ["primary", "burst"].forEach((name, i) => {
    const el = $(`dest-${name}`);
    const t = dests[i];
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
  for (const name of ["primary", "burst"]) {
    const c = l[name];
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
  for (const name of ["primary", "burst"]) {
    const e = t[name];
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
  ["primary", "burst"].forEach((name, i) => {
    const e = t[name];
    const d = (st.destinations || [])[i];
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

function applyReceived(r) {
  $("recv-primary").textContent = r.primary.toFixed(1);
  $("recv-burst").textContent = r.burst.toFixed(1);
  const total = r.primary + r.burst;
  if (total > 0) {
    const burstPct = (100 * r.burst) / total;
    $("split-primary").style.width = `${100 - burstPct}%`;
    $("split-burst").style.width = `${burstPct}%`;
    if ($("split-source").textContent !== "(set by the burster)") {
      showSplit(Math.round(100 - burstPct), Math.round(burstPct), "(measured from hashes received)");
    }
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
