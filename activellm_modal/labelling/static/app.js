// The labelling page. Texts are only ever set with textContent: a text that holds
// HTML or a <script> is shown as text, never parsed.
"use strict";

const clientId = (() => {
  let id = sessionStorage.getItem("activellm-client");
  if (!id) {
    id = "tab-" + Array.from(crypto.getRandomValues(new Uint8Array(8)),
      (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("activellm-client", id);
  }
  return id;
})();

let state = null;
let busy = false;
let pollTimer = null;

const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client: clientId, ...body }),
  };
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { ok: response.ok, status: response.status, data };
}

function notice(text) { $("notice").textContent = text || ""; }

function render(next) {
  state = next;
  document.body.dataset.status = state.status;
  $("strategy").textContent = "strategy: " + state.strategy;
  const item = state.item;
  const text = $("text");
  renderPair(item);
  if (item) {
    text.textContent = item.text;
    text.dataset.row = String(item.row);
    $("where").textContent = `Round ${item.round} · text ${item.position} of ${item.batch_size}` +
      ` in this batch · picked by ${item.picked_by}`;
  } else {
    text.textContent = state.status === "done" ? "All texts are labelled or skipped." :
      state.status === "error" ? "The next batch could not be picked." : "Preparing the next batch…";
    delete text.dataset.row;
    $("where").textContent = "";
  }
  renderButtons(item);
  renderSuggestion(item);
  const body = $("counts").tBodies[0];
  body.replaceChildren(...state.labels.map((label) => {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = label;
    const n = document.createElement("td");
    n.className = "n";
    n.textContent = String(state.counts[label] || 0);
    tr.append(name, n);
    return tr;
  }));
  const seen = state.n_labelled + state.n_skipped;
  $("progress").textContent = `${state.n_labelled} labelled, ${state.n_skipped} skipped, ` +
    `of ${state.n_pool} texts · ${state.rounds} batch(es) picked`;
  $("bar").max = state.n_pool;
  $("bar").value = seen;
  const acc = state.accuracy;
  $("accuracy").textContent = acc ?
    `Cross-validated accuracy: ${acc.mean.toFixed(3)} ± ${acc.std.toFixed(3)} ` +
    `(${acc.folds}-fold, ${acc.n} labelled texts)` : "Accuracy " + state.accuracy_note + ".";
  renderCurve(state.curve || []);
  renderAgreement(state.suggestions);
  $("status").textContent = state.message || "";
  $("retry").hidden = state.status !== "error" &&
    !(state.suggestions && state.suggestions.note);
  clearTimeout(pollTimer);
  if (!item && state.status !== "done" && state.status !== "error") {
    pollTimer = setTimeout(refresh, 700);
  } else if (state.message || (item && item.suggestion && item.suggestion.pending)) {
    // Retraining or a suggestion on its way: show the accuracy or the suggestion when ready.
    pollTimer = setTimeout(refresh, 1500);
  }
}

function renderButtons(item) {
  const buttons = state.labels.map((label, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "label";
    button.dataset.label = label;
    button.textContent = i < 9 ? `${i + 1} · ${label}` : label;
    // The LLM's suggestion is marked, never chosen: the person still presses the key.
    const suggested = item && item.suggestion && item.suggestion.label === label;
    if (suggested) {
      button.classList.add("suggested");
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = "LLM suggests";
      button.append(hint);
    }
    button.addEventListener("click", () => send(label));
    return button;
  });
  const skip = document.createElement("button");
  skip.type = "button";
  skip.id = "skip";
  skip.textContent = "s · skip";
  skip.addEventListener("click", () => send(null));
  const undo = document.createElement("button");
  undo.type = "button";
  undo.id = "undo";
  undo.textContent = "u · undo";
  undo.addEventListener("click", undoLast);
  for (const button of [...buttons, skip]) button.disabled = !item;
  $("buttons").replaceChildren(...buttons, skip, undo);
}

// Sentence pairs: both parts side by side under their column names (textContent only).
function renderPair(item) {
  const pair = item && item.pair;
  $("pair").hidden = !pair;
  $("text").hidden = Boolean(pair);
  if (!pair) return;
  $("pair-a-name").textContent = pair[0].name;
  $("pair-a").textContent = pair[0].text;
  $("pair-b-name").textContent = pair[1].name;
  $("pair-b").textContent = pair[1].text;
}

function renderSuggestion(item) {
  const line = $("suggestion");
  const suggestion = item && item.suggestion;
  line.hidden = !suggestion;
  if (!suggestion) return;
  if (suggestion.pending) {
    line.textContent = `Asking ${suggestion.by} for a suggestion…`;
  } else {
    line.textContent = suggestion.label ?
      `${suggestion.by} suggests: ${suggestion.label} (your key decides)` :
      `No LLM suggestion for this text: ${suggestion.note || "none given"}.`;
  }
  line.dataset.label = suggestion.label || "";
}

function percent(part) {
  return part.rate === null ? "–" : `${Math.round(100 * part.rate)}% (${part.agree} of ${part.n})`;
}

function renderAgreement(suggestions) {
  const panel = $("llm");
  panel.hidden = !suggestions || !suggestions.enabled;
  if (panel.hidden) return;
  const table = suggestions.agreement;
  $("agreement").textContent = table.n ?
    `${suggestions.by} agrees with your labels on ${percent(table)} of the labelled texts ` +
    "it suggested a label for." : `${suggestions.by}: no labelled text with a suggestion yet.`;
  $("agreement-classes").tBodies[0].replaceChildren(...state.labels.map((label) => {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = `your ${label}`;
    const value = document.createElement("td");
    value.className = "n";
    value.textContent = percent(table.per_class[label]);
    tr.append(name, value);
    return tr;
  }));
  $("llm-note").textContent = suggestions.note || "";
}

// The learning curve, drawn here as SVG elements (no external script or style: the CSP holds).
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function renderCurve(points) {
  const box = $("curve");
  if (!points.length) { box.replaceChildren(); return; }
  const width = 360, height = 170, left = 34, right = 10, top = 10, bottom = 26;
  const xs = points.map((p) => p.n_labels);
  const low = Math.min(...xs), high = Math.max(...xs);
  const x = (n) => left + (high === low ? (width - left - right) / 2 :
    (n - low) / (high - low) * (width - left - right));
  const y = (a) => top + (1 - a) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  for (const a of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(a), y2: y(a) }));
    const label = svg("text", { x: left - 4, y: y(a) + 3, "text-anchor": "end" });
    label.textContent = a.toFixed(2);
    chart.append(label);
  }
  chart.append(svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }));
  chart.append(svg("polyline", {
    class: "line", points: points.map((p) => `${x(p.n_labels)},${y(p.accuracy)}`).join(" "),
  }));
  for (const p of points) {
    const dot = svg("circle", { class: "point", cx: x(p.n_labels), cy: y(p.accuracy), r: 3.5 });
    const tip = svg("title", {});
    tip.textContent = `${p.n_labels} labels: ${p.accuracy.toFixed(3)} ± ${p.std.toFixed(3)}`;
    dot.append(tip);
    dot.dataset.n = String(p.n_labels);
    chart.append(dot);
  }
  // The first and last number of labels under the axis, kept inside the drawing.
  const ends = high === low ? [[low, "middle"]] : [[low, "start"], [high, "end"]];
  for (const [n, anchor] of ends) {
    const label = svg("text", { x: x(n), y: height - 8, "text-anchor": anchor });
    label.textContent = `${n} labels`;
    chart.append(label);
  }
  box.replaceChildren(chart);
}

async function refresh() {
  const result = await api("/api/state");
  if (result.ok) render(result.data);
}

async function send(label) {
  if (busy || !state || !state.item) return;
  busy = true;
  try {
    const result = await api("/api/label", { row: state.item.row, label });
    if (result.ok) {
      notice(label === null ? "Skipped." : `Saved: ${label}.`);
      render(result.data.state);
    } else if (result.status === 409) {
      notice("That text was already labelled in another tab; here is the next one.");
      render(result.data.state);
    } else {
      notice("Not saved: " + (result.data && result.data.detail || result.status));
    }
  } catch (error) {
    notice("Not saved: the server does not answer. Your saved labels are safe; reload when it is back.");
  } finally {
    busy = false;
  }
}

async function undoLast() {
  if (busy) return;
  busy = true;
  try {
    const result = await api("/api/undo", {});
    if (result.ok) {
      notice(result.data.undone === null ? "Nothing to undo in this tab." : "Undone.");
      render(result.data.state);
    }
  } finally {
    busy = false;
  }
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  if (key >= "1" && key <= "9" && state) {
    const label = state.labels[Number(key) - 1];
    if (label !== undefined) { event.preventDefault(); send(label); }
  } else if (key === "s") {
    event.preventDefault(); send(null);
  } else if (key === "u") {
    event.preventDefault(); undoLast();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  $("retry").addEventListener("click", async () => {
    const result = await api("/api/retry", {});
    if (result.ok) render(result.data.state);
  });
  refresh();
});
