/* Contour explorer: draws the numbers embedded in #contour-data with Plotly.
   Every rate and interval is computed in Python (evaluate/explorer.py); this
   file only arranges them. No network: Plotly is inlined in the page. */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("contour-data").textContent);
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf"];
  const CONFIG = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"]};
  const METRICS = {
    acc: {label: "accuracy", range: [0, 1]},
    excess: {label: "excess accuracy (guess-corrected)", range: [-1, 1]},
    trunc: {label: "truncation rate", range: [0, 1]},
    tokens: {label: "mean completion tokens", range: null},
  };

  const color = (run) => COLORS[run % COLORS.length];
  const shade = (run, alpha) => {
    const hex = color(run);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return "rgba(" + r + "," + g + "," + b + "," + alpha + ")";
  };
  const runLabel = (run) => data.runs[run] ? data.runs[run].label : "run " + run;
  const fmt = (v, digits = 3) => (v === null || v === undefined) ? "–" : Number(v).toFixed(digits);

  function details(c) {
    return "n " + c.n + ", correct " + c.correct +
      "<br>accuracy " + fmt(c.acc) + " [" + fmt(c.low) + ", " + fmt(c.high) + "]" +
      "<br>guess " + fmt(c.guess) + ", excess " + fmt(c.excess) +
      "<br>truncated " + fmt(c.trunc) + ", tokens " + fmt(c.tokens, 0) +
      (c.errors ? "<br>failed requests " + c.errors : "");
  }

  function layout(extra) {
    return Object.assign({
      margin: {l: 60, r: 20, t: 48, b: 56}, font: {size: 12},
      hoverlabel: {align: "left"}, legend: {orientation: "h", y: -0.25},
    }, extra);
  }

  function title(text) {
    return {text: text, x: 0, xanchor: "left", font: {size: 14}};
  }

  /* Leaderboard: the overall score of each run with its bootstrap interval. */
  function drawLeaderboard() {
    const el = document.getElementById("leaderboard-chart");
    const runs = data.runs.map((r, i) => Object.assign({index: i}, r)).filter((r) => r.score !== null);
    if (!el || !runs.length) return;
    runs.sort((a, b) => a.score - b.score);
    Plotly.newPlot(el, [{
      type: "bar", orientation: "h", x: runs.map((r) => r.score), y: runs.map((r) => r.label),
      marker: {color: runs.map((r) => color(r.index))},
      error_x: {type: "data", array: runs.map((r) => r.high === null ? 0 : r.high - r.score),
                arrayminus: runs.map((r) => r.low === null ? 0 : r.score - r.low), visible: true},
      hovertemplate: runs.map((r) => "<b>" + r.label + "</b><br>score " + fmt(r.score, 1) +
        " [" + fmt(r.low, 1) + ", " + fmt(r.high, 1) + "]<extra></extra>"),
    }], layout({title: title("Overall score (0–100) with 95% bootstrap interval"),
                height: 120 + 40 * runs.length, xaxis: {range: [0, 100], title: {text: "score"}},
                yaxis: {automargin: true}, showlegend: false}), CONFIG);
  }

  /* Accuracy of every task for every run, with intervals and chance. */
  function drawTaskBoard() {
    const el = document.getElementById("taskboard-chart");
    if (!el || !data.tasks.length) return;
    const traces = data.runs.map((run, r) => {
      const cells = data.tasks.map((t) => t.summary.find((c) => c.run === r) || null);
      return {
        type: "bar", name: run.label, x: data.tasks.map((t) => t.name),
        y: cells.map((c) => c ? c.acc : null), marker: {color: color(r)},
        error_y: {type: "data", visible: true, array: cells.map((c) => c && c.high !== null ? c.high - c.acc : 0),
                  arrayminus: cells.map((c) => c && c.low !== null ? c.acc - c.low : 0)},
        hovertemplate: cells.map((c, i) => c ? "<b>" + data.tasks[i].name + "</b> · " + run.label +
          "<br>" + details(c) + "<extra></extra>" : ""),
      };
    });
    traces.push({
      type: "scatter", mode: "markers", name: "chance", x: data.tasks.map((t) => t.name),
      y: data.tasks.map((t) => t.summary.length ? t.summary[0].guess : null),
      marker: {symbol: "line-ew-open", size: 28, color: "#555", line: {width: 2}},
      hovertemplate: "chance %{y:.3f}<extra></extra>",
    });
    Plotly.newPlot(el, traces, layout({title: title("Accuracy per task (95% intervals; — chance)"),
      barmode: "group", height: 380, yaxis: {range: [0, 1.05], title: {text: "accuracy"}}}), CONFIG);
  }

  function cellsFor(task, x, y) {
    const direct = task.cells[x + "|" + y];
    if (direct) return direct;
    const swapped = task.cells[y + "|" + x] || [];
    return swapped.map((c) => Object.assign({}, c, {x: c.y, y: c.x}));
  }

  /* Heatmap of one metric over two axes chosen in the page. */
  function drawHeatmap(task) {
    const el = document.getElementById(task.id + "-heatmap");
    if (!el) return;
    const form = controls(task);
    const x = form.x.value, y = form.y.value, run = Number(form.run.value), metric = form.metric.value;
    const note = document.getElementById(task.id + "-heatmap-note");
    if (x === y) {
      note.textContent = "Choose two different axes.";
      Plotly.purge(el);
      return;
    }
    note.textContent = "";
    const xs = task.values[x], ys = task.values[y];
    const key = (v) => JSON.stringify(v);
    const grid = {};
    cellsFor(task, x, y).filter((c) => c.run === run).forEach((c) => { grid[key(c.x) + "/" + key(c.y)] = c; });
    const z = ys.map((vy) => xs.map((vx) => { const c = grid[key(vx) + "/" + key(vy)]; return c ? c[metric] : null; }));
    const text = ys.map((vy) => xs.map((vx) => {
      const c = grid[key(vx) + "/" + key(vy)];
      return c ? "<b>" + x + " " + vx + " · " + y + " " + vy + "</b><br>" + details(c) : "no records";
    }));
    const spec = METRICS[metric];
    const trace = {
      type: "heatmap", x: xs.map(String), y: ys.map(String), z: z, text: text,
      hovertemplate: "%{text}<extra></extra>", colorscale: metric === "acc" || metric === "excess" ? "Viridis" : "Magma",
      colorbar: {title: {text: spec.label, side: "right"}}, xgap: 1, ygap: 1,
    };
    if (spec.range) { trace.zmin = spec.range[0]; trace.zmax = spec.range[1]; }
    Plotly.react(el, [trace], layout({
      title: title(task.name + ": " + spec.label + " over " + x + " × " + y + " (" + runLabel(run) + ")"),
      xaxis: {title: {text: x}, type: "category"}, yaxis: {title: {text: y}, type: "category"},
      height: Math.max(360, 120 + 36 * ys.length),
    }), CONFIG);
  }

  function interpolate(xs, ys, x) {
    if (x <= xs[0]) return ys[0];
    for (let i = 1; i < xs.length; i++) {
      if (x <= xs[i]) return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
    }
    return ys[ys.length - 1];
  }

  /* Accuracy along one axis: a line per run with its interval band, chance,
     the fitted curve and midpoint, and optional truncation / token overlays. */
  function drawCurve(task, axis, el) {
    const form = controls(task);
    const numeric = task.numeric[axis];
    const traces = [];
    const shapes = [];
    const runs = [...new Set(task.curves[axis].map((c) => c.run))];
    runs.forEach((run) => {
      const cells = task.curves[axis].filter((c) => c.run === run && c.n > 0);
      const xs = cells.map((c) => numeric ? c.x : String(c.x));
      const name = runLabel(run);
      traces.push({type: "scatter", mode: "lines", x: xs, y: cells.map((c) => c.high), line: {width: 0},
                   hoverinfo: "skip", showlegend: false, legendgroup: name});
      traces.push({type: "scatter", mode: "lines", x: xs, y: cells.map((c) => c.low), line: {width: 0},
                   fill: "tonexty", fillcolor: shade(run, 0.2), hoverinfo: "skip", showlegend: false,
                   legendgroup: name});
      traces.push({type: "scatter", mode: "lines+markers", name: name, legendgroup: name, x: xs,
                   y: cells.map((c) => c.acc), line: {color: color(run)}, marker: {size: 7},
                   text: cells.map((c) => "<b>" + name + "</b> · " + axis + " " + c.x + "<br>" + details(c)),
                   hovertemplate: "%{text}<extra></extra>"});
      if (form.trunc.checked) {
        traces.push({type: "scatter", mode: "lines+markers", name: name + " truncation", legendgroup: name,
                     showlegend: false,
                     x: xs, y: cells.map((c) => c.trunc), line: {color: color(run), dash: "dot"},
                     marker: {symbol: "x", size: 7}, hovertemplate: "truncated %{y:.3f}<extra></extra>"});
      }
      if (form.tokens.checked) {
        traces.push({type: "scatter", mode: "lines+markers", name: name + " tokens", legendgroup: name,
                     showlegend: false,
                     x: xs, y: cells.map((c) => c.tokens), yaxis: "y2", line: {color: color(run), dash: "dash"},
                     marker: {symbol: "diamond-open", size: 7},
                     hovertemplate: "mean tokens %{y:.0f}<extra></extra>"});
      }
      const fit = (task.fits[axis] || []).find((f) => f.run === run);
      if (fit && numeric && fit.status === "ok" && cells.length > 1) {
        const lo = Math.min(...xs), hi = Math.max(...xs);
        const gx = cells.map((c) => c.x), gy = cells.map((c) => c.guess || 0);
        const fx = [], fy = [];
        for (let i = 0; i <= 80; i++) {
          const x = lo + (hi - lo) * i / 80, g = interpolate(gx, gy, x);
          fx.push(x);
          fy.push(g + (1 - g) / (1 + Math.exp(fit.slope * (x - fit.midpoint))));
        }
        traces.push({type: "scatter", mode: "lines", name: name + " fit", legendgroup: name, x: fx, y: fy,
                     showlegend: false,
                     line: {color: color(run), width: 1.5, dash: "longdash"},
                     hovertemplate: "fit: midpoint " + fit.fit + "<extra></extra>"});
        shapes.push({type: "rect", xref: "x", yref: "paper", y0: 0, y1: 1,
                     x0: fit.midpoint_low === null ? lo : Math.max(lo, fit.midpoint_low),
                     x1: fit.midpoint_high === null ? hi : Math.min(hi, fit.midpoint_high),
                     fillcolor: color(run), opacity: 0.08, line: {width: 0}});
        shapes.push({type: "line", xref: "x", yref: "paper", y0: 0, y1: 1, x0: fit.midpoint, x1: fit.midpoint,
                     line: {color: color(run), width: 1, dash: "dot"}});
      }
    });
    const first = task.curves[axis].filter((c) => c.run === runs[0] && c.n > 0);
    traces.push({type: "scatter", mode: "lines", name: "chance", x: first.map((c) => numeric ? c.x : String(c.x)),
                 y: first.map((c) => c.guess), line: {color: "#555", dash: "dot", width: 1.5},
                 hovertemplate: "chance %{y:.3f}<extra></extra>"});
    const extra = {
      title: title(axis), height: 340, shapes: shapes,
      xaxis: {title: {text: axis}, type: numeric ? "linear" : "category",
              tickvals: numeric && task.values[axis].length <= 12 ? task.values[axis] : undefined},
      yaxis: {title: {text: "accuracy"}, range: [-0.02, 1.02]},
    };
    if (form.tokens.checked) {
      extra.yaxis2 = {title: {text: "mean tokens"}, overlaying: "y", side: "right", rangemode: "tozero",
                      showgrid: false};
      extra.margin = {l: 60, r: 60, t: 48, b: 56};
    }
    Plotly.react(el, traces, layout(extra), CONFIG);
  }

  function drawCurves(task) {
    task.axes.forEach((axis, i) => {
      const el = document.getElementById(task.id + "-curve-" + i);
      if (el) drawCurve(task, axis, el);
    });
  }

  /* k completions per test: pass@1, pass@K, maj@K and agreement along one axis, per run. */
  const SERIES_DASH = {0: "solid", 1: "dash", 2: "dashdot", 3: "dot"};
  function drawSampling(task, axis, el) {
    const rows = task.sampling[axis] || [];
    const numeric = task.numeric[axis];
    const traces = [];
    [...new Set(rows.map((r) => r.run))].forEach((run) => {
      const mine = rows.filter((r) => r.run === run);
      const names = Object.keys(mine[0].series);
      names.forEach((name, j) => {
        const points = mine.filter((r) => r.series[name] && r.series[name].value !== null);
        const est = points.map((r) => r.series[name]);
        traces.push({
          type: "scatter", mode: "lines+markers", name: runLabel(run) + " " + name,
          x: points.map((r) => numeric ? r.x : String(r.x)), y: est.map((e) => e.value),
          line: {color: color(run), dash: SERIES_DASH[j % 4]}, marker: {size: 6},
          error_y: {type: "data", visible: true, array: est.map((e) => e.high - e.value),
                    arrayminus: est.map((e) => e.value - e.low), thickness: 1},
          text: points.map((r, i) => "<b>" + runLabel(run) + "</b> · " + axis + " " + r.x + "<br>" + name +
            " " + fmt(est[i].value) + " [" + fmt(est[i].low) + ", " + fmt(est[i].high) + "]<br>tests " + r.tests +
            ", k " + r.k),
          hovertemplate: "%{text}<extra></extra>",
        });
      });
    });
    Plotly.react(el, traces, layout({
      title: title(axis + ": k completions per test"), height: 360,
      xaxis: {title: {text: axis}, type: numeric ? "linear" : "category"},
      yaxis: {title: {text: "mean over tests"}, range: [-0.02, 1.02]},
    }), CONFIG);
  }

  function drawSamplings(task) {
    task.axes.forEach((axis, i) => {
      const el = document.getElementById(task.id + "-sampling-" + i);
      if (el && task.sampling && task.sampling[axis]) drawSampling(task, axis, el);
    });
  }

  function controls(task) {
    const root = document.getElementById(task.id);
    const pick = (name) => root.querySelector("[data-control='" + name + "']");
    return {x: pick("x"), y: pick("y"), run: pick("run"), metric: pick("metric"),
            trunc: pick("trunc"), tokens: pick("tokens")};
  }

  function wire(task) {
    const form = controls(task);
    [form.x, form.y, form.run, form.metric].forEach((el) => {
      if (el) el.addEventListener("change", () => drawHeatmap(task));
    });
    [form.trunc, form.tokens].forEach((el) => {
      if (el) el.addEventListener("change", () => drawCurves(task));
    });
  }

  drawLeaderboard();
  drawTaskBoard();
  data.tasks.forEach((task) => {
    wire(task);
    if (task.axes.length >= 2) drawHeatmap(task);
    drawCurves(task);
    drawSamplings(task);
  });
  document.body.setAttribute("data-explorer", "ready");
})();
