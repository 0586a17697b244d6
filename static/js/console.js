// Task console page: the key panel, the run form (with schema validation), the run history kept in local
// storage, and the live event view of a run. Every upstream or user string reaches the page through
// textContent or createElement only; the Markdown output is rendered by our server and rebuilt here element by
// element from an allow-list, so nothing from Parallel can add markup or script.
"use strict";

(function () {
  const M = window.MarketlensConsole;
  const $ = (id) => document.getElementById(id);
  const HISTORY = "marketlens.console.runs";
  const MAX_HISTORY = 200;
  const RUN_ID = /^trun_[A-Za-z0-9]{1,64}$/;
  const form = $("run-form");
  if (!form) return;
  const MAX_KEY = Number(form.dataset.maxMetadataKey) || 16;
  const MAX_VALUE = Number(form.dataset.maxMetadataValue) || 512;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function show(node, visible) { node.hidden = !visible; }

  function setError(id, text) {
    const node = $(id);
    node.textContent = text || "";
    show(node, Boolean(text));
  }

  /** An http(s) URL as a URL object, or null: nothing else may become a link. */
  function safeURL(text) {
    try {
      const url = new URL(String(text));
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch (e) { return null; }
  }

  function externalLink(href, text) {
    const url = safeURL(href);
    if (!url) return el("span", "url", text || href);
    const a = el("a", null, text || url.href);
    a.href = url.href;
    a.rel = "nofollow noopener noreferrer";
    a.target = "_blank";
    return a;
  }

  // ------------------------------------------------------------------ key panel

  function refreshKey() {
    const key = M.keyStore.get();
    $("key-status").textContent = key
      ? "Connected: a key ending in …" + key.slice(-4) + " is stored in this browser."
      : "Not connected.";
    show($("disconnect"), Boolean(key));
    $("connect").textContent = key ? "Reconnect Parallel" : "Connect Parallel";
  }

  $("connect").addEventListener("click", async () => {
    $("connect").disabled = true;
    try {
      await M.oauth.connect();
    } catch (error) {
      $("key-status").textContent = "Connecting failed: " + error.message;
      $("connect").disabled = false;
    }
  });
  $("disconnect").addEventListener("click", () => {
    if (current) current.stream.stop();
    M.keyStore.clear();
    refreshKey();
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("key-input").value.trim();
    if (!/^[\x21-\x7e]{8,512}$/.test(value)) {
      $("key-status").textContent = "That does not look like an API key.";
      return;
    }
    M.keyStore.set(value);
    $("key-input").value = "";
    refreshKey();
  });

  // ------------------------------------------------------------------ history

  function loadHistory() {
    try {
      const list = JSON.parse(localStorage.getItem(HISTORY) || "[]");
      return Array.isArray(list) ? list.filter((r) => r && RUN_ID.test(r.id)) : [];
    } catch (e) { return []; }
  }

  function saveHistory(list) {
    localStorage.setItem(HISTORY, JSON.stringify(list.slice(0, MAX_HISTORY)));
    renderHistory();
  }

  function remember(run) {
    const list = loadHistory();
    const index = list.findIndex((r) => r.id === run.id);
    if (index >= 0) list[index] = Object.assign(list[index], run);
    else list.unshift(run);
    saveHistory(list);
  }

  function renderHistory() {
    const list = loadHistory();
    const ul = $("history");
    ul.replaceChildren();
    for (const run of list) {
      const li = el("li", "history-item");
      li.dataset.runId = run.id;
      const open = el("button", "link-button", run.preview || run.id);
      open.type = "button";
      open.addEventListener("click", () => openRun(run.id, run.processor));
      li.append(open, " ", el("span", "badge badge--" + String(run.status).replace(/[^a-z_]/g, ""), run.status || "unknown"),
        " ", el("span", "muted", run.processor || ""), " ");
      const time = el("time", "muted", run.created ? new Date(run.created).toLocaleString() : "");
      if (run.created) time.dateTime = run.created;
      li.append(time);
      ul.append(li);
    }
    show($("history-empty"), list.length === 0);
    show($("history-clear"), list.length > 0);
  }

  $("history-clear").addEventListener("click", () => saveHistory([]));

  // ------------------------------------------------------------------ form

  function radio(name) { return form.querySelector("input[name=" + name + "]:checked").value; }

  function syncOutputFields() {
    const type = radio("output_type");
    show($("output-text"), type === "text");
    show($("output-json"), type === "json");
  }
  form.querySelectorAll("input[name=output_type]").forEach((r) => r.addEventListener("change", syncOutputFields));

  const EXAMPLE_SCHEMA = {
    type: "object",
    properties: {
      market_size: { type: "string", description: "Estimated market size with year and currency" },
      top_players: { type: "array", items: { type: "string" }, description: "The largest companies" },
      growth_outlook: { type: "string", description: "Expected growth over the next five years" },
    },
    required: ["market_size", "top_players", "growth_outlook"],
    additionalProperties: false,
  };
  $("schema-example").addEventListener("click", () => {
    $("output-schema").value = JSON.stringify(EXAMPLE_SCHEMA, null, 2);
    checkOutputSchema();
  });
  $("schema-format").addEventListener("click", () => {
    try { $("output-schema").value = JSON.stringify(JSON.parse($("output-schema").value), null, 2); } catch (e) { /* shown below */ }
    checkOutputSchema();
  });

  const UNSUPPORTED = ["contains", "format", "maxContains", "maxItems", "maxLength", "maxProperties", "maximum",
    "minContains", "minItems", "minLength", "minProperties", "multipleOf", "pattern", "patternProperties",
    "propertyNames", "uniqueItems", "unevaluatedItems", "unevaluatedProperties"];
  const RESERVED = ["citations", "confidence", "evidence", "reasoning", "source", "sources", "source_urls"];

  /** Parallel's rules for output schemas: errors block the run, warnings are what Parallel would warn about. */
  function schemaProblems(schema) {
    const errors = [];
    const warnings = [];
    if (!schema || typeof schema !== "object" || Array.isArray(schema)) return { errors: ["The schema must be a JSON object."], warnings };
    if (schema.type !== "object" || !schema.properties || typeof schema.properties !== "object") errors.push("The root must be {\"type\": \"object\"} with \"properties\".");
    if (schema.anyOf) errors.push("anyOf is not allowed at the root.");
    let properties = 0;
    let enums = 0;
    function walk(node, depth, path) {
      if (!node || typeof node !== "object") return;
      if (depth > 5) { errors.push("Nesting deeper than 5 levels at " + path + "."); return; }
      for (const word of UNSUPPORTED) if (Object.prototype.hasOwnProperty.call(node, word)) errors.push("Unsupported keyword \"" + word + "\" at " + path + ".");
      if (Array.isArray(node.enum)) enums += node.enum.length;
      if (node.type === "null") errors.push("A standalone null type at " + path + ".");
      if (node.properties && typeof node.properties === "object") {
        const names = Object.keys(node.properties);
        properties += names.length;
        const required = Array.isArray(node.required) ? node.required : [];
        const missing = names.filter((n) => !required.includes(n));
        if (missing.length) warnings.push("Not required at " + path + ": " + missing.join(", ") + ".");
        if (node.additionalProperties !== false) warnings.push("additionalProperties is not false at " + path + ".");
        for (const name of names) {
          if (RESERVED.includes(name)) warnings.push("\"" + name + "\" duplicates what the basis already gives.");
          walk(node.properties[name], depth + 1, path + "." + name);
        }
      }
      if (node.items) walk(node.items, depth + 1, path + "[]");
    }
    walk(schema, 1, "root");
    if (properties > 100) errors.push("More than 100 properties in total.");
    if (enums > 500) errors.push("More than 500 enum values in total.");
    return { errors, warnings };
  }

  function parseJSON(text) {
    try { return { value: JSON.parse(text) }; } catch (e) { return { error: e.message }; }
  }

  /** Validates the schema editor as the user types; returns the schema or null. */
  function checkOutputSchema() {
    const text = $("output-schema").value.trim();
    const list = $("output-schema-warnings");
    list.replaceChildren();
    show(list, false);
    if (!text) { setError("output-schema-error", "Write a JSON schema or insert the example."); return null; }
    const parsed = parseJSON(text);
    if (parsed.error) { setError("output-schema-error", "Not valid JSON: " + parsed.error); return null; }
    const problems = schemaProblems(parsed.value);
    setError("output-schema-error", problems.errors.join(" "));
    for (const w of problems.warnings) list.append(el("li", null, w));
    show(list, problems.warnings.length > 0);
    return problems.errors.length ? null : parsed.value;
  }
  $("output-schema").addEventListener("input", checkOutputSchema);

  function splitDomains(text) {
    return text.split(/[\s,]+/).map((d) => d.trim()).filter(Boolean);
  }

  function addMetadataRow(key, value) {
    const row = el("div", "metadata-row");
    const k = el("input");
    k.type = "text"; k.maxLength = MAX_KEY; k.placeholder = "key"; k.className = "metadata-key"; k.value = key || "";
    k.setAttribute("aria-label", "Metadata key");
    const v = el("input");
    v.type = "text"; v.maxLength = MAX_VALUE; v.placeholder = "value"; v.className = "metadata-value"; v.value = value || "";
    v.setAttribute("aria-label", "Metadata value");
    const remove = el("button", "button button--secondary button--small", "Remove");
    remove.type = "button";
    remove.addEventListener("click", () => row.remove());
    row.append(k, v, remove);
    $("metadata-rows").append(row);
  }
  $("metadata-add").addEventListener("click", () => addMetadataRow());

  /** The create body from the form, or null after showing what is wrong. */
  function buildBody() {
    let ok = true;
    const body = { processor: $("processor").value, enable_events: $("enable-events").checked };
    const inputText = $("input").value.trim();
    setError("input-error", "");
    if (!inputText) { setError("input-error", "Write the task input."); ok = false; }
    else if (radio("input_mode") === "json") {
      const parsed = parseJSON(inputText);
      if (parsed.error || !parsed.value || typeof parsed.value !== "object" || Array.isArray(parsed.value)) {
        setError("input-error", "The input must be a JSON object" + (parsed.error ? ": " + parsed.error : "."));
        ok = false;
      } else body.input = parsed.value;
    } else body.input = inputText;

    const spec = {};
    const type = radio("output_type");
    if (type === "text") {
      spec.output_schema = { type: "text" };
      const description = $("output-description").value.trim();
      if (description) spec.output_schema.description = description;
    } else if (type === "json") {
      const schema = checkOutputSchema();
      if (!schema) ok = false;
      else spec.output_schema = { type: "json", json_schema: schema };
    } else {
      spec.output_schema = { type: "auto" };
    }
    const inputSchema = $("input-schema").value.trim();
    setError("input-schema-error", "");
    if (inputSchema) {
      if (inputSchema.startsWith("{")) {
        const parsed = parseJSON(inputSchema);
        if (parsed.error) { setError("input-schema-error", "Not valid JSON: " + parsed.error); ok = false; }
        else spec.input_schema = { type: "json", json_schema: parsed.value };
      } else {
        spec.input_schema = { type: "text", description: inputSchema };
      }
    }
    body.task_spec = spec;

    const include = splitDomains($("include-domains").value);
    const exclude = splitDomains($("exclude-domains").value);
    setError("domains-error", "");
    if (include.length + exclude.length > 200) { setError("domains-error", "At most 200 domains in total."); ok = false; }
    else if (include.concat(exclude).some((d) => /[/:?#]/.test(d.split("/")[0]) || d.includes("://"))) {
      setError("domains-error", "Write domains without scheme, port or query (e.g. example.com or example.com/path).");
      ok = false;
    } else if (include.length || exclude.length) {
      body.source_policy = {};
      if (include.length) body.source_policy.include_domains = include;
      if (exclude.length) body.source_policy.exclude_domains = exclude;
    }

    const metadata = {};
    setError("metadata-error", "");
    for (const row of document.querySelectorAll(".metadata-row")) {
      const key = row.querySelector(".metadata-key").value.trim();
      const value = row.querySelector(".metadata-value").value;
      if (!key && !value) continue;
      if (!key || key.length > MAX_KEY) { setError("metadata-error", "Metadata keys must be 1–" + MAX_KEY + " characters."); ok = false; }
      else if (value.length > MAX_VALUE) { setError("metadata-error", "Metadata values must be at most " + MAX_VALUE + " characters."); ok = false; }
      else metadata[key] = value;
    }
    if (Object.keys(metadata).length) body.metadata = metadata;

    const webhook = $("webhook-url").value.trim();
    setError("webhook-error", "");
    if (webhook) {
      if (!safeURL(webhook)) { setError("webhook-error", "The webhook must be an http(s) URL."); ok = false; }
      else body.webhook = { url: webhook, event_types: ["task_run.status"] };
    }
    return ok ? body : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setError("form-error", "");
    const key = M.keyStore.get();
    if (!key) { setError("form-error", "Connect Parallel or paste your API key first."); return; }
    const body = buildBody();
    if (!body) { setError("form-error", "Please correct the marked fields."); return; }
    $("run-submit").disabled = true;
    try {
      const run = await M.api("/console/api/v1/tasks/runs", { method: "POST", body: JSON.stringify(body), key });
      if (!run || !RUN_ID.test(run.run_id)) throw new Error("Parallel returned no usable run id.");
      const preview = typeof body.input === "string" ? body.input : JSON.stringify(body.input);
      remember({
        id: run.run_id, status: run.status || "queued", processor: run.processor || body.processor,
        preview: preview.slice(0, 120), created: run.created_at || new Date().toISOString(),
      });
      openRun(run.run_id, run.processor || body.processor);
    } catch (error) {
      setError("form-error", error.message + (error.refId ? " (reference " + error.refId + ")" : ""));
    } finally {
      $("run-submit").disabled = false;
    }
  });

  // ------------------------------------------------------------------ run view

  let current = null;

  function openRun(id, processor) {
    if (!RUN_ID.test(id)) return;
    if (current) current.stream.stop();
    $("run-id").textContent = id;
    $("run-processor").textContent = processor || "";
    setStatus("unknown");
    $("run-progress").value = 0;
    $("run-stats").textContent = "";
    $("run-sources").replaceChildren();
    $("events").replaceChildren();
    $("run-error").replaceChildren();
    show($("run-error"), false);
    $("output-content").replaceChildren();
    $("output-basis").replaceChildren();
    show($("output"), false);
    show($("run-view"), true);
    const seen = new Set();
    current = { id, seen, lastStatus: null, outputShown: false, stream: null };
    const view = current;
    current.stream = new M.RunStream(id, {
      isNew: (data) => !seen.has(eventKey(data)),
      onEvent: (data) => { if (current === view) handleEvent(view, data); },
      onState: (state, detail) => { if (current === view) streamState(state, detail); },
    });
    current.stream.start();
    if (window.location.hash !== "#" + id) window.history.replaceState(null, "", "#" + id);
    $("run-view").scrollIntoView({ block: "start" });
  }

  $("stream-stop").addEventListener("click", () => { if (current) current.stream.stop(); });
  $("stream-resume").addEventListener("click", () => { if (current) current.stream.start(); });

  function streamState(state, detail) {
    const labels = {
      connecting: "Connecting…", reconnecting: "Reconnecting…", live: "Live", stopped: "Streaming stopped.",
      finished: "Finished.", interrupted: "Connection interrupted.",
    };
    let text = labels[state] || "";
    if (state === "waiting") text = "Connection closed; reconnecting in " + Math.ceil(detail / 1000) + " s…";
    if (state === "failed") {
      text = "Cannot follow this run.";
      showError(detail.message, detail.refId);
    }
    $("stream-state").textContent = text;
    const active = state !== "stopped" && state !== "finished" && state !== "failed";
    show($("stream-stop"), active);
    show($("stream-resume"), state === "stopped" || state === "failed");
  }

  /** The identity of an event for dedupe: upstream replays the whole trace on every connection. */
  function eventKey(data) {
    switch (data.type) {
      case "task_run.state":
        return "state|" + (data.run && data.run.status) + "|" + (data.output ? "output" : "");
      case "task_run.progress_stats":
        return "stats|" + JSON.stringify([data.progress_meter, data.source_stats]);
      case "error":
        return "error|" + (data.error && data.error.ref_id) + "|" + (data.error && data.error.message) + "|" + Boolean(data.relay);
      default:
        return data.type + "|" + data.timestamp + "|" + data.message;
    }
  }

  function setStatus(status) {
    const node = $("run-status");
    node.textContent = status;
    node.className = "badge badge--" + String(status).replace(/[^a-z_]/g, "");
  }

  function showError(message, refId) {
    const box = $("run-error");
    box.append(el("p", null, message + (refId ? " (reference " + refId + ")" : "")));
    show(box, true);
  }

  function addEvent(kind, label, text, timestamp) {
    const li = el("li", "event event-" + kind);
    li.append(el("span", "event-type", label));
    if (timestamp) {
      li.dataset.at = String(timestamp);
      const when = new Date(timestamp);
      const time = el("time", "event-time", isNaN(when) ? String(timestamp) : when.toLocaleTimeString());
      time.dateTime = String(timestamp);
      li.append(" ", time);
    }
    if (text) li.append(el("p", "event-message", text));
    $("events").append(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function handleEvent(view, data) {
    const key = eventKey(data);
    if (view.seen.has(key)) return;
    view.seen.add(key);
    if (data.type === "task_run.state") {
      const run = data.run || {};
      const status = String(run.status || "unknown");
      setStatus(status);
      const update = { id: view.id, status };
      if (run.processor) update.processor = String(run.processor);
      remember(update);
      if (status !== view.lastStatus) {
        addEvent("state", "State", status);
        view.lastStatus = status;
      }
      if (run.error) showError("The run failed: " + (run.error.message || "no reason given"), run.error.ref_id);
      if (Array.isArray(run.warnings)) {
        for (const w of run.warnings) if (w && w.message) addEvent("warning", "Warning", w.message);
      }
      if (data.output && !view.outputShown) {
        view.outputShown = true;
        renderOutput(data.output);
      } else if (status === "completed" && !data.output && !view.outputShown && run.is_active === false) {
        fetchResult(view);
      }
    } else if (data.type === "task_run.progress_stats") {
      const meter = Number(data.progress_meter);
      if (!isNaN(meter)) $("run-progress").value = Math.max(0, Math.min(100, meter));
      const stats = data.source_stats || {};
      const n = (v) => (typeof v === "number" ? v : "–");
      $("run-stats").textContent = "Progress " + (isNaN(meter) ? "–" : Math.round(meter) + "%") +
        " · sources considered " + n(stats.num_sources_considered) + " · read " + n(stats.num_sources_read);
      const list = $("run-sources");
      list.replaceChildren();
      for (const url of (Array.isArray(stats.sources_read_sample) ? stats.sources_read_sample : []).slice(0, 5)) {
        const li = el("li");
        const text = String(url);
        li.append(externalLink(text, text.length > 80 ? text.slice(0, 80) + "…" : text));
        list.append(li);
      }
    } else if (data.type.startsWith("task_run.progress_msg.")) {
      const kind = data.type.slice("task_run.progress_msg.".length).replace(/_/g, " ");
      addEvent("message", kind, data.message, data.timestamp);
    } else if (data.type === "error") {
      const error = data.error || {};
      if (data.relay) addEvent("notice", "Connection", error.message);
      else {
        addEvent("error", "Error", (error.message || "Unknown error") + (error.ref_id ? " (reference " + error.ref_id + ")" : ""));
      }
    }
  }

  async function fetchResult(view) {
    try {
      const result = await M.api("/console/api/v1/tasks/runs/" + encodeURIComponent(view.id) + "/result?timeout=10",
        { key: M.keyStore.get() });
      if (current === view && result && result.output && !view.outputShown) {
        view.outputShown = true;
        renderOutput(result.output);
      }
    } catch (error) {
      if (current === view) showError("The result could not be loaded: " + error.message, error.refId);
    }
  }

  // ------------------------------------------------------------------ output

  const ALLOWED_TAGS = new Set(["P", "H1", "H2", "H3", "H4", "H5", "H6", "UL", "OL", "LI", "A", "STRONG", "EM", "B",
    "I", "CODE", "PRE", "BLOCKQUOTE", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "BR", "HR", "DEL", "SUP", "SUB",
    "INPUT"]);
  const DROPPED_TAGS = new Set(["SCRIPT", "STYLE", "IFRAME", "OBJECT", "EMBED", "TEMPLATE", "SVG", "MATH", "NOSCRIPT"]);

  /** Rebuilds server-rendered Markdown HTML with createElement: allow-listed tags, no attributes but safe ones. */
  function rebuild(source, target) {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) { target.append(document.createTextNode(node.data)); continue; }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = node.tagName.toUpperCase();
      if (DROPPED_TAGS.has(tag)) continue;
      if (!ALLOWED_TAGS.has(tag)) { rebuild(node, target); continue; }
      if (tag === "INPUT") {
        // GFM task-list checkboxes only.
        const box = document.createElement("input");
        box.type = "checkbox"; box.disabled = true; box.checked = node.hasAttribute("checked");
        target.append(box);
        continue;
      }
      const copy = document.createElement(tag);
      if (tag === "A") {
        const href = node.getAttribute("href") || "";
        const url = safeURL(href);
        if (url) { copy.href = url.href; copy.rel = "nofollow noopener noreferrer"; copy.target = "_blank"; }
        else if (/^#[A-Za-z0-9_-]+$/.test(href)) copy.setAttribute("href", href);
      }
      if (/^H[1-6]$/.test(tag) && /^[A-Za-z0-9_-]{1,100}$/.test(node.id)) copy.id = "out-" + node.id;
      rebuild(node, copy);
      target.append(copy);
    }
  }

  async function renderMarkdown(text, target) {
    try {
      const rendered = await M.api("/console/render-markdown", { method: "POST", body: JSON.stringify({ markdown: text }) });
      const doc = new DOMParser().parseFromString(String(rendered.html), "text/html");
      const fragment = document.createDocumentFragment();
      rebuild(doc.body, fragment);
      target.replaceChildren(fragment);
    } catch (error) {
      // Shown as plain text rather than not at all.
      target.replaceChildren(el("pre", "output-text", text));
    }
  }

  function renderOutput(output) {
    const content = $("output-content");
    content.replaceChildren();
    if (output.type === "text") {
      const holder = el("div", "markdown");
      content.append(holder);
      renderMarkdown(String(output.content || ""), holder);
    } else {
      let value = output.content;
      if (typeof value === "string") { try { value = JSON.parse(value); } catch (e) { /* keep the string */ } }
      content.append(el("pre", "output-json", JSON.stringify(value, null, 2)));
      if (output.output_schema) {
        const details = el("details");
        details.append(el("summary", null, "Schema chosen by the processor"),
          el("pre", "output-json", JSON.stringify(output.output_schema, null, 2)));
        content.append(details);
      }
    }
    renderBasis(Array.isArray(output.basis) ? output.basis : []);
    show($("output"), true);
  }

  function renderBasis(basis) {
    const holder = $("output-basis");
    holder.replaceChildren();
    if (!basis.length) { holder.append(el("p", "muted", "No basis was returned.")); return; }
    let number = 0;
    for (const entry of basis) {
      if (!entry || typeof entry !== "object") continue;
      const section = el("section", "basis-entry");
      const heading = el("h4", null, String(entry.field || "output"));
      if (entry.confidence) heading.append(" ", el("span", "confidence confidence-" + String(entry.confidence).replace(/[^a-z]/g, ""), String(entry.confidence)));
      section.append(heading);
      if (entry.reasoning) section.append(el("p", "basis-reasoning", String(entry.reasoning)));
      const citations = Array.isArray(entry.citations) ? entry.citations : [];
      if (citations.length) {
        const list = el("ol", "citations");
        for (const citation of citations) {
          if (!citation) continue;
          number += 1;
          const li = el("li");
          li.append(externalLink(citation.url, citation.title || citation.url));
          const url = safeURL(citation.url);
          if (url && citation.title) li.append(" ", el("span", "muted", url.host));
          for (const excerpt of (Array.isArray(citation.excerpts) ? citation.excerpts : []).slice(0, 5)) {
            li.append(el("blockquote", "excerpt", String(excerpt)));
          }
          list.append(li);
        }
        section.append(list);
      }
      holder.append(section);
    }
  }

  // ------------------------------------------------------------------ start

  refreshKey();
  renderHistory();
  syncOutputFields();
  addMetadataRow();
  const fromHash = window.location.hash.slice(1);
  if (RUN_ID.test(fromHash) && M.keyStore.get()) {
    const known = loadHistory().find((r) => r.id === fromHash);
    openRun(fromHash, known && known.processor);
  }
  window.addEventListener("storage", (event) => { if (event.key === HISTORY) renderHistory(); else refreshKey(); });
})();
