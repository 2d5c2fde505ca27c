// A small canvas chart of the last minute: hashes per second by cluster
// (stacked areas, in spill order), the target rate, the burster's
// thresholds, and a marker where the split changed. No library: the page
// must work offline. Each cluster is drawn in its colour (setSeries).
"use strict";

const Chart = (() => {
  const WINDOW_MS = 60_000;
  const COLORS = { target: "#202124", threshold: "#b3261e", marker: "#6a1b9a" };

  // keep appends p and drops points older than the window (and a margin).
  function keep(points, p) {
    points.push(p);
    const cut = p.t - WINDOW_MS - 5_000;
    while (points.length && points[0].t < cut) points.shift();
  }

  // prepare sizes the canvas for the screen's pixel ratio and clears it.
  function prepare(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== w * dpr || canvas.height !== h * dpr) {
      canvas.width = w * dpr;
      canvas.height = h * dpr;
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    return { g, w, h };
  }

  // axes draws the horizontal grid with labels (unit after each value) and
  // the time axis of the last minute.
  function axes(g, w, h, pad, x, y, ymax, lines, unit, now) {
    g.font = "12px system-ui, sans-serif";
    g.fillStyle = "#5f6368";
    g.strokeStyle = "#e0e0e0";
    g.lineWidth = 1;
    for (let i = 0; i <= lines; i++) {
      const v = (ymax / lines) * i, yy = y(v);
      g.beginPath(); g.moveTo(pad.l, yy); g.lineTo(w - pad.r, yy); g.stroke();
      g.fillText(`${Math.round(v)}${unit}`, 2, yy + 4);
    }
    for (let s = 0; s <= 60; s += 15) g.fillText(s === 0 ? "now" : `-${s}s`, x(now - s * 1000) - 12, h - 6);
  }

  // drawMarkers draws a vertical line and its label where each marker's
  // time falls in the window.
  function drawMarkers(g, markers, x, t0, pad, w, h) {
    g.strokeStyle = COLORS.marker;
    g.fillStyle = COLORS.marker;
    g.lineWidth = 2;
    for (const m of markers) {
      if (m.t < t0) continue;
      const xx = x(m.t);
      g.beginPath(); g.moveTo(xx, pad.t); g.lineTo(xx, h - pad.b); g.stroke();
      // Label on the side with room, so a change at "now" stays readable.
      const tw = g.measureText(m.label).width;
      g.fillText(m.label, xx + 4 + tw < w - pad.r ? xx + 4 : xx - 4 - tw, pad.t + 12);
    }
  }

  function niceCeil(v) {
    const mag = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * mag >= v) return m * mag;
    return 10 * mag;
  }

  // sum is the total of a point's values.
  const sum = (v) => Object.values(v).reduce((a, b) => a + (b || 0), 0);

  function create(canvas) {
    const points = [];   // {t, v: {cluster: hashes/s}, target}
    let series = [];     // [{name, color}] in spill order
    let markers = [];    // {t, label}
    let thresholds = null;
    let offset = 0;      // browser clock minus server clock, in ms

    function draw() {
      const { g, w, h } = prepare(canvas);
      const pad = { l: 44, r: 8, t: 10, b: 22 };
      const now = Date.now() - offset, t0 = now - WINDOW_MS;
      let ymax = 10;
      for (const p of points) ymax = Math.max(ymax, sum(p.v), p.target);
      if (thresholds) ymax = Math.max(ymax, thresholds.high);
      ymax = niceCeil(ymax * 1.15);
      const x = (t) => pad.l + ((t - t0) / WINDOW_MS) * (w - pad.l - pad.r);
      const y = (v) => h - pad.b - (v / ymax) * (h - pad.t - pad.b);

      axes(g, w, h, pad, x, y, ymax, 5, "", now);

      const visible = points.filter((p) => p.t >= t0 - 2_000);
      if (visible.length > 1) {
        // Stacked: each cluster's area sits on those before it.
        series.forEach((s, i) => {
          const below = (p) => series.slice(0, i).reduce((a, b) => a + (p.v[b.name] || 0), 0);
          area(g, visible, x, y, below, (p) => below(p) + (p.v[s.name] || 0), s.color);
        });
        g.setLineDash([6, 4]);
        g.strokeStyle = COLORS.target;
        g.lineWidth = 2;
        g.beginPath();
        visible.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.target)) : g.moveTo(x(p.t), y(p.target))));
        g.stroke();
        g.setLineDash([]);
      }
      if (thresholds) {
        g.setLineDash([2, 3]);
        g.strokeStyle = COLORS.threshold;
        g.lineWidth = 1;
        for (const [v, name] of [[thresholds.high, "high"], [thresholds.low, "low"]]) {
          g.beginPath(); g.moveTo(pad.l, y(v)); g.lineTo(w - pad.r, y(v)); g.stroke();
          g.fillStyle = COLORS.threshold;
          g.fillText(`${name} ${v}`, w - pad.r - 48, y(v) - 3);
        }
        g.setLineDash([]);
      }
      drawMarkers(g, markers, x, t0, pad, w, h);
    }

    function area(g, pts, x, y, lo, hi, color) {
      g.beginPath();
      pts.forEach((p, i) => (i ? g.lineTo(x(p.t), y(hi(p))) : g.moveTo(x(p.t), y(hi(p)))));
      for (let i = pts.length - 1; i >= 0; i--) g.lineTo(x(pts[i].t), y(lo(pts[i])));
      g.closePath();
      g.fillStyle = color;
      g.globalAlpha = 0.85;
      g.fill();
      g.globalAlpha = 1;
    }

    return {
      push(p) { keep(points, p); },
      draw,
      setSeries(list) { series = list; },
      setMarkers(list) { markers = list; },
      setThresholds(t) { thresholds = t; },
      setClockOffset(ms) { offset = ms; },
    };
  }
  // createLines draws each cluster's line over the last minute (p99 in ms,
  // or the burn rate) against a reference line (the objective, or a burn of
  // 1), with markers where the split changed. unit follows each axis value;
  // label names the reference line ({v} is its value).
  function createLines(canvas, unit, label) {
    const points = [];   // {t, v: {cluster: value, or null while not measured}}
    let series = [];     // [{name, color}] in spill order
    let line = null;
    let markers = [];
    let offset = 0;

    function draw() {
      const { g, w, h } = prepare(canvas);
      const pad = { l: 52, r: 8, t: 10, b: 22 };
      const now = Date.now() - offset, t0 = now - WINDOW_MS;
      const visible = points.filter((p) => p.t >= t0 - 2_000);
      let ymax = line ? line * 2 : 10;
      for (const p of visible) ymax = Math.max(ymax, ...Object.values(p.v).map((v) => v || 0));
      ymax = niceCeil(ymax * 1.1);
      const x = (t) => pad.l + ((t - t0) / WINDOW_MS) * (w - pad.l - pad.r);
      const y = (v) => h - pad.b - (v / ymax) * (h - pad.t - pad.b);
      axes(g, w, h, pad, x, y, ymax, 4, unit, now);
      // The last first, so primary's line is on top.
      for (const s of [...series].reverse()) {
        g.strokeStyle = s.color;
        g.lineWidth = 2;
        g.beginPath();
        let open = false;
        for (const p of visible) {
          const v = p.v[s.name];
          if (v === null || v === undefined) { open = false; continue; }
          if (open) g.lineTo(x(p.t), y(v)); else g.moveTo(x(p.t), y(v));
          open = true;
        }
        g.stroke();
      }
      if (line) {
        g.setLineDash([6, 4]);
        g.strokeStyle = COLORS.threshold;
        g.lineWidth = 1.5;
        g.beginPath(); g.moveTo(pad.l, y(line)); g.lineTo(w - pad.r, y(line)); g.stroke();
        g.setLineDash([]);
        g.fillStyle = COLORS.threshold;
        const text = label.replace("{v}", line);
        g.fillText(text, w - pad.r - g.measureText(text).width - 2, y(line) - 4);
      }
      drawMarkers(g, markers, x, t0, pad, w, h);
    }

    return {
      push(p) { keep(points, p); },
      draw,
      setSeries(list) { series = list; },
      setLine(v) { line = v; },
      setMarkers(list) { markers = list; },
      setClockOffset(ms) { offset = ms; },
    };
  }

  return { create, createLines };
})();
