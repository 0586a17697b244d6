// Task console: calls to our relay, the key store, an SSE parser over fetch() and a run event stream that
// reconnects with backoff while the run is active and stops for real when asked. No inline scripts (CSP);
// nothing here ever logs the key.
"use strict";

(function () {
  const KEY_STORAGE = "marketlens.console.key";

  /** The user's Parallel key, kept in this browser's local storage only. */
  const keyStore = {
    get() { try { return localStorage.getItem(KEY_STORAGE) || ""; } catch (e) { return ""; } },
    set(key) { localStorage.setItem(KEY_STORAGE, key); },
    clear() { localStorage.removeItem(KEY_STORAGE); },
  };

  /** An error from the relay or from Parallel, with the HTTP status and Parallel's reference id if any. */
  class ApiError extends Error {
    constructor(message, status, refId) {
      super(message);
      this.status = status;
      this.refId = refId || null;
    }
  }

  /** The message of any error body we may see: ours, Parallel's canonical one, or FastAPI's validation list. */
  function errorMessage(data, status) {
    if (data && data.error && typeof data.error.message === "string") {
      let text = data.error.message;
      if (data.error.fields && typeof data.error.fields === "object") {
        const parts = Object.keys(data.error.fields).map((k) => k + " " + data.error.fields[k]);
        if (parts.length) text += " (" + parts.join("; ") + ")";
      }
      return text;
    }
    if (data && Array.isArray(data.detail)) {
      return data.detail.map((d) => (d && d.msg) || "").filter(Boolean).join("; ") || "Request rejected";
    }
    return "Request failed with status " + status;
  }

  /** A JSON call to one of our console endpoints; `key` adds the user's key for the Parallel relay. */
  async function api(path, options) {
    const opts = options || {};
    const headers = { "X-Requested-With": "marketlens-console", "Accept": "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.key) headers["X-Parallel-Key"] = opts.key;
    const response = await fetch(path, {
      method: opts.method || "GET", headers, body: opts.body, cache: "no-store", credentials: "same-origin",
      signal: opts.signal,
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const refId = data && data.error && data.error.ref_id;
      throw new ApiError(errorMessage(data, response.status), response.status, refId);
    }
    return data;
  }

  /**
   * A WHATWG-style SSE parser: lines end with LF, CRLF or CR (even split across chunks), `:` lines are comments,
   * several `data:` lines join with LF, one space after the colon is dropped, a blank line ends the event.
   */
  class SSEParser {
    constructor(onEvent) {
      this.onEvent = onEvent;
      this.buffer = "";
      this.pendingCR = false;
      this.data = [];
      this.eventName = "";
    }

    push(text) {
      let input = text;
      if (this.pendingCR && input.startsWith("\n")) input = input.slice(1);
      this.pendingCR = false;
      this.buffer += input;
      let start = 0;
      for (let i = 0; i < this.buffer.length; i++) {
        const c = this.buffer[i];
        if (c !== "\n" && c !== "\r") continue;
        const line = this.buffer.slice(start, i);
        if (c === "\r") {
          if (i + 1 < this.buffer.length) {
            if (this.buffer[i + 1] === "\n") i++;
          } else {
            this.pendingCR = true;
          }
        }
        start = i + 1;
        this.line(line);
      }
      this.buffer = this.buffer.slice(start);
    }

    line(line) {
      if (line === "") {
        if (this.data.length) this.onEvent({ event: this.eventName || "message", data: this.data.join("\n") });
        this.data = [];
        this.eventName = "";
        return;
      }
      if (line[0] === ":") return;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "event") this.eventName = value;
    }
  }

  /**
   * Follows one run's events through the relay. Reconnects with exponential backoff (1 s … 30 s, jittered) for
   * as long as the run is active, without a fixed cap; stops when the run is finished, when the relay says the
   * run or key is unusable, or for real when `stop()` is called (the fetch is aborted, which ends the relay's
   * upstream read too). `onEvent` gets each parsed JSON event (dedupe is the caller's job: upstream replays
   * the whole trace on every connection).
   */
  class RunStream {
    constructor(runId, handlers) {
      this.runId = runId;
      this.onEvent = handlers.onEvent;
      this.onState = handlers.onState || function () {};
      this.isNew = handlers.isNew || function () { return true; };
      this.stopped = true;
      this.attempt = 0;
      this.controller = null;
      this.timer = null;
    }

    start() {
      if (!this.stopped) return;
      this.stopped = false;
      this.attempt = 0;
      this.connect();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      this.timer = null;
      if (this.controller) this.controller.abort();
      this.controller = null;
      this.onState("stopped");
    }

    get running() { return !this.stopped; }

    async connect() {
      if (this.stopped) return;
      const controller = new AbortController();
      this.controller = controller;
      this.onState(this.attempt ? "reconnecting" : "connecting");
      let finished = false;
      let fatal = null;
      try {
        const key = keyStore.get();
        if (!key) throw new ApiError("Connect Parallel or paste a key to follow this run.", 401);
        const response = await fetch("/console/api/v1/tasks/runs/" + encodeURIComponent(this.runId) + "/events", {
          headers: { "X-Requested-With": "marketlens-console", "X-Parallel-Key": key, "Accept": "text/event-stream" },
          cache: "no-store", credentials: "same-origin", signal: controller.signal,
        });
        if (!response.ok) {
          let data = null;
          try { data = await response.json(); } catch (e) { data = null; }
          const error = new ApiError(errorMessage(data, response.status), response.status,
            data && data.error && data.error.ref_id);
          // A missing run or a refused key will not get better by retrying.
          if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
            fatal = error;
          } else {
            throw error;
          }
        } else {
          this.onState("live");
          const reader = response.body.getReader();
          const decoder = new TextDecoder();
          const parser = new SSEParser((event) => {
            let data;
            try { data = JSON.parse(event.data); } catch (e) { return; }
            if (!data || typeof data.type !== "string") return;
            if (data.type === "task_run.state" && data.run && data.run.is_active === false) finished = true;
            if (this.isNew(data)) this.attempt = 0;
            this.onEvent(data);
          });
          for (;;) {
            const chunk = await reader.read();
            if (chunk.done) break;
            parser.push(decoder.decode(chunk.value, { stream: true }));
          }
        }
      } catch (error) {
        if (this.stopped || (error && error.name === "AbortError")) return;
        if (error instanceof ApiError && error.status === 401) fatal = error;
        else this.onState("interrupted", error && error.message);
      }
      if (this.stopped || controller !== this.controller) return;
      if (finished) {
        this.stopped = true;
        this.onState("finished");
        return;
      }
      if (fatal) {
        this.stopped = true;
        this.onState("failed", fatal);
        return;
      }
      this.attempt += 1;
      const base = Math.min(30000, 1000 * Math.pow(2, Math.min(this.attempt - 1, 5)));
      const delay = Math.round(base * (0.75 + Math.random() * 0.25));
      this.onState("waiting", delay);
      this.timer = setTimeout(() => { this.timer = null; this.connect(); }, delay);
    }
  }

  window.MarketlensConsole = { keyStore, api, ApiError, SSEParser, RunStream };
})();
