/* The staff console: status, a test pane, the report with charts drawn as plain SVG. Everything from the server is
   put on the page as text (patients' questions included), never as HTML. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var TYPES = ["answer", "advice", "clarify", "fallback", "urgent", "smalltalk"];
  var TOP_ENTRIES = 15;
  var COLOURED = TYPES.concat(["answers", "up", "down"]);
  var KINDS = { fallback: "not answered", clarify: "asked which entry was meant",
    "low-confidence": "answered with low confidence" };

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function shape(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }

  function colour(name) { return "staff-c-" + (COLOURED.indexOf(name) >= 0 ? name : "other"); }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
    return node;
  }

  function api(path, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    return window.fetch(path, options).then(function (response) {
      if (response.status === 401) {
        window.location.reload();  // the session ended: back to the sign-in page
        throw new Error("signed out");
      }
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error || ("the server said " + response.status)); }
        return body;
      });
    });
  }

  function failed(target, what) {
    return function (error) {
      clear(target).appendChild(make("p", "staff-error", "Could not load " + what + ": " + error.message));
    };
  }

  function table(caption, headings, rows) {
    var t = make("table", "staff-table");
    t.appendChild(make("caption", null, caption));
    var head = t.appendChild(make("thead")).appendChild(make("tr"));
    headings.forEach(function (h) {
      var th = head.appendChild(make("th", null, h));
      th.scope = "col";
    });
    var body = t.appendChild(make("tbody"));
    rows.forEach(function (cells) {
      var tr = body.appendChild(make("tr"));
      cells.forEach(function (cell) {
        var td = tr.appendChild(make("td"));
        if (cell instanceof Node) { td.appendChild(cell); } else { td.textContent = cell === null ? "" : String(cell); }
      });
    });
    return t;
  }

  function definitions(pairs) {
    var dl = make("dl", "staff-facts");
    pairs.forEach(function (pair) {
      dl.appendChild(make("dt", null, pair[0]));
      dl.appendChild(make("dd", null, pair[1]));
    });
    return dl;
  }

  function day(stamp) { return (stamp || "").slice(0, 10); }
  function percent(share) { return Math.round(share * 1000) / 10 + "%"; }

  // ---------- knowledge base status ----------

  function renderStatus(data) {
    var box = clear(document.getElementById("status"));
    var health = data.health || {};
    var degraded = health.status !== "ok" || data.pending_errors.length > 0;
    box.appendChild(make("p", degraded ? "staff-badge staff-badge--bad" : "staff-badge staff-badge--ok",
      degraded ? "Needs attention: an edit is held back or something is not working" : "Serving normally"));
    if (health.reasons && health.reasons.length) {
      var reasons = box.appendChild(make("ul", "staff-problems"));
      health.reasons.forEach(function (r) { reasons.appendChild(make("li", null, r)); });
    }
    box.appendChild(definitions([
      ["Knowledge version", data.knowledge.version],
      ["Entries", data.knowledge.entries],
      ["Regression questions", data.knowledge.regression_questions],
      ["Live since", data.knowledge.loaded_at]
    ]));
    box.appendChild(make("h3", null, "Pending errors"));
    if (!data.pending_errors.length) {
      box.appendChild(make("p", null, "None: the files on disk are the version serving."));
    } else {
      box.appendChild(make("p", null, "These edits are not live; the version above keeps serving until they are fixed."));
      var list = box.appendChild(make("ul", "staff-problems"));
      data.pending_errors.forEach(function (p) {
        var item = list.appendChild(make("li"));
        item.appendChild(make("code", null, p.where));
        item.appendChild(document.createTextNode(" " + (p.entry_id ? p.entry_id + ": " : "") + p.message));
      });
    }
    var regression = data.regression;
    box.appendChild(make("h3", null, "Regression questions"));
    box.appendChild(table(regression.passes ? "Every reply type meets its bar" : "A reply type is below its bar",
      ["Reply type", "Right", "Share", "Bar", "Result"],
      regression.scores.map(function (s) {
        return [s.label, s.right + " of " + s.total, percent(s.share), percent(s.bar), s.passes ? "ok" : "below the bar"];
      })));
    if (regression.misses.length) {
      var misses = box.appendChild(make("ul", "staff-problems"));
      regression.misses.forEach(function (m) {
        misses.appendChild(make("li", null, "line " + m.line + ": \u201c" + m.message + "\u201d expected " +
          m.expected + ", got " + m.got));
      });
    }
  }

  // ---------- the test pane ----------

  function renderTry(data) {
    var box = clear(document.getElementById("try-result"));
    var reply = data.reply;
    box.appendChild(definitions([
      ["Reply type", reply.type],
      ["Entry", reply.entry_id || "none"],
      ["Confidence", reply.confidence]
    ]));
    box.appendChild(make("h3", null, "Reply"));
    box.appendChild(make("p", "staff-reply", reply.text));
    reply.citations.forEach(function (c) {
      box.appendChild(make("blockquote", "staff-quote", "\u201c" + c.quote + "\u201d (" + c.title + ", " + c.section + ")"));
    });
    box.appendChild(make("h3", null, "Why"));
    var list = box.appendChild(make("ul", "staff-why"));
    data.why.forEach(function (line) { list.appendChild(make("li", null, line)); });
  }

  function setUpTry() {
    var form = document.getElementById("try-form");
    var input = document.getElementById("try-input");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) { input.focus(); return; }
      var box = clear(document.getElementById("try-result"));
      box.appendChild(make("p", null, "Asking…"));
      api("/staff/api/ask", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ message: text }) }).then(renderTry, failed(box, "the reply"));
    });
  }

  // ---------- charts (plain SVG) ----------

  function figure(id, title, summary, drawing, dataTable) {
    var fig = make("figure", "staff-chart");
    fig.id = id;
    fig.appendChild(make("figcaption", "staff-chart-title", title));
    drawing.setAttribute("role", "img");
    drawing.setAttribute("aria-label", summary);
    fig.appendChild(drawing);
    var details = fig.appendChild(make("details"));
    details.appendChild(make("summary", null, "Show as a table"));
    details.appendChild(dataTable);
    return fig;
  }

  function legend(types) {
    var list = make("ul", "staff-legend");
    types.forEach(function (type) {
      var item = list.appendChild(make("li"));
      item.appendChild(make("span", "staff-swatch " + colour(type)));
      item.appendChild(document.createTextNode(type));
    });
    return list;
  }

  function dailyChart(daily) {
    var days = [];
    var counts = {};
    var types = TYPES.slice();
    daily.forEach(function (d) {
      if (types.indexOf(d.type) < 0) { types.push(d.type); }  // a reply type added later still counts
      if (!counts[d.day]) { counts[d.day] = {}; days.push(d.day); }
      counts[d.day][d.type] = (counts[d.day][d.type] || 0) + d.count;
    });
    var totals = days.map(function (d) {
      return Object.keys(counts[d]).reduce(function (sum, t) { return sum + counts[d][t]; }, 0);
    });
    var top = Math.max.apply(null, totals.concat([1]));
    var width = 640, height = 220, left = 40, bottom = 30, plot = height - bottom - 10;
    var svg = shape("svg", { viewBox: "0 0 " + width + " " + height, "class": "staff-svg" });
    svg.appendChild(shape("line", { x1: left, y1: 10 + plot, x2: width, y2: 10 + plot, "class": "staff-axis" }));
    svg.appendChild(shape("text", { x: left - 6, y: 16, "text-anchor": "end", "class": "staff-svg-text" }, top));
    svg.appendChild(shape("text", { x: left - 6, y: 10 + plot, "text-anchor": "end", "class": "staff-svg-text" }, 0));
    var step = (width - left) / Math.max(days.length, 1);
    var bar = Math.max(2, Math.min(40, step * 0.7));
    var present = [];
    days.forEach(function (d, i) {
      var y = 10 + plot;
      types.forEach(function (type) {
        var n = counts[d][type] || 0;
        if (!n) { return; }
        if (present.indexOf(type) < 0) { present.push(type); }
        var h = plot * n / top;
        y -= h;
        svg.appendChild(shape("rect", { x: left + i * step + (step - bar) / 2, y: y, width: bar, height: h,
          "class": colour(type) }));
      });
      if (days.length <= 10 || i % Math.ceil(days.length / 10) === 0) {
        svg.appendChild(shape("text", { x: left + i * step + step / 2, y: height - 10, "text-anchor": "middle",
          "class": "staff-svg-text" }, d.slice(5)));
      }
    });
    var summary = days.length ? "Messages per day from " + days[0] + " to " + days[days.length - 1] +
      ", at most " + top + " in a day, by reply type" : "No messages yet";
    var rows = days.map(function (d, i) {
      return [d].concat(types.map(function (t) { return counts[d][t] || 0; })).concat([totals[i]]);
    });
    var fig = figure("chart-daily", "Questions over time", summary, svg,
      table("Messages per day by reply type", ["Day"].concat(types).concat(["All"]), rows));
    fig.insertBefore(legend(present.length ? present : types), svg.nextSibling);
    return fig;
  }

  function barsChart(id, title, rows, series) {
    // rows: [{label, values: {series: n}}]; one horizontal bar per series in each row
    var shown = rows.slice(0, TOP_ENTRIES);
    var top = 1;
    shown.forEach(function (r) { series.forEach(function (s) { top = Math.max(top, r.values[s] || 0); }); });
    var rowHeight = 10 + 14 * series.length, left = 250, width = 640;
    var height = Math.max(40, shown.length * rowHeight + 10);
    var svg = shape("svg", { viewBox: "0 0 " + width + " " + height, "class": "staff-svg" });
    shown.forEach(function (r, i) {
      var y = 5 + i * rowHeight;
      var label = r.label.length > 36 ? r.label.slice(0, 35) + "\u2026" : r.label;
      svg.appendChild(shape("text", { x: left - 8, y: y + rowHeight / 2 + 4, "text-anchor": "end",
        "class": "staff-svg-text" }, label));
      series.forEach(function (s, j) {
        var n = r.values[s] || 0;
        var w = (width - left - 40) * n / top;
        svg.appendChild(shape("rect", { x: left, y: y + 3 + j * 14, width: Math.max(w, n ? 2 : 0), height: 11,
          "class": colour(s) }));
        svg.appendChild(shape("text", { x: left + w + 4, y: y + 12 + j * 14, "class": "staff-svg-text" }, n));
      });
    });
    var summary = shown.length ? title + ": " + shown.map(function (r) {
      return r.label + " " + series.map(function (s) { return (r.values[s] || 0) + " " + s; }).join(", ");
    }).slice(0, 5).join("; ") + (shown.length > 5 ? "; and more" : "") : title + ": nothing yet";
    var fig = figure(id, title, summary, svg, table(title, ["Entry"].concat(series), rows.map(function (r) {
      return [r.label].concat(series.map(function (s) { return r.values[s] || 0; }));
    })));
    if (series.length > 1) { fig.insertBefore(legend(series), svg.nextSibling); }
    return fig;
  }

  // ---------- the report ----------

  function questionList(questions) {
    var list = make("ul", "staff-questions");
    questions.slice(0, 10).forEach(function (q) { list.appendChild(make("li", null, q)); });
    if (questions.length > 10) { list.appendChild(make("li", null, "… and " + (questions.length - 10) + " more")); }
    return list;
  }

  function renderReport(data) {
    var box = clear(document.getElementById("report"));
    var open = data.groups.filter(function (g) { return !g.done; });
    var done = data.groups.filter(function (g) { return g.done; });
    box.appendChild(make("p", null, open.length + " group(s) of questions to act on, " + done.length +
      " already covered, " + data.thumbs_down.length + " thumbs down (knowledge version " + data.version + ")." +
      (data.left_out ? " " + data.left_out + " question(s) asked less often are not grouped here." : "")));

    var charts = box.appendChild(make("div", "staff-charts"));
    charts.appendChild(dailyChart(data.daily));
    charts.appendChild(barsChart("chart-entries", "Answers per entry", data.usage.filter(function (u) {
      return u.answers; }).map(function (u) { return { label: u.entry_id, values: { answers: u.answers } }; }),
      ["answers"]));
    charts.appendChild(barsChart("chart-thumbs", "Thumbs up and down per entry", data.usage.filter(function (u) {
      return u.up || u.down; }).map(function (u) { return { label: u.entry_id, values: { up: u.up, down: u.down } }; }),
      ["up", "down"]));

    box.appendChild(make("h3", null, "Questions to act on"));
    if (!open.length) {
      box.appendChild(make("p", null, "Nothing to do: every question asked is answered."));
    } else {
      box.appendChild(table("Unanswered and low-confidence questions, most asked first",
        ["Asked", "Questions", "What happened", "First seen", "Last seen", "Knowledge version", "Suggestion"],
        open.map(function (g) {
          var kinds = g.kinds.map(function (k) {
            return (KINDS[k] || k) + (k === "low-confidence" && g.answered_with.length ? " by " + g.answered_with.join(", ") : "");
          }).join(", ");
          return [g.count, questionList(g.questions), kinds, day(g.first_seen), day(g.last_seen),
            g.version || "unknown", g.suggestion];
        })));
    }
    box.appendChild(make("h3", null, "Already covered (done)"));
    if (!done.length) {
      box.appendChild(make("p", null, "None yet."));
    } else {
      box.appendChild(table("Questions the knowledge base in force now covers", ["Question", "Done because", "Asked", "Last seen"],
        done.map(function (g) { return [questionList(g.questions), g.done, g.count, day(g.last_seen)]; })));
    }
    box.appendChild(make("h3", null, "Thumbs down"));
    if (!data.thumbs_down.length) {
      box.appendChild(make("p", null, "None yet."));
    } else {
      box.appendChild(table("Answers patients marked as not helpful, newest first",
        ["Day", "Entry", "Question asked", "Answer it got", "Knowledge version"],
        data.thumbs_down.map(function (v) {
          return [day(v.at), v.entry_id, v.question || "(not sent)", v.answer, v.version || "unknown"];
        })));
    }
  }

  function start() {
    api("/staff/api/status").then(renderStatus, failed(document.getElementById("status"), "the status"));
    api("/staff/api/report").then(renderReport, failed(document.getElementById("report"), "the report"));
    setUpTry();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
