// Task console: "Connect Parallel" through OAuth 2 with PKCE (RFC 7636) and dynamic client registration.
// The verifier is 64 characters drawn uniformly from the unreserved alphabet with crypto.getRandomValues; the
// challenge is its SHA-256 (crypto.subtle), base64url; `state` is random, kept in sessionStorage and checked on
// the callback page; the scope is Parallel's `key:read`; the server exchanges the code with the console's host
// name as client id (as seed 002 and Parallel's OAuth provider docs do). The key is never logged.
"use strict";

(function () {
  const M = window.MarketlensConsole;
  const PENDING = "marketlens.console.oauth";
  const UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  const MAX_AGE_MS = 10 * 60 * 1000;

  /** `length` characters from the unreserved alphabet; rejection sampling keeps every character equally likely. */
  function randomString(length) {
    const limit = 256 - (256 % UNRESERVED.length);
    let out = "";
    while (out.length < length) {
      const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
      for (const b of bytes) {
        if (b < limit && out.length < length) out += UNRESERVED[b % UNRESERVED.length];
      }
    }
    return out;
  }

  function base64url(bytes) {
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function challengeFor(verifier) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    return base64url(new Uint8Array(digest));
  }

  /** Registers a client through our server, remembers verifier and state, and goes to the authorisation page. */
  async function connect() {
    if (!window.crypto || !crypto.subtle) throw new Error("This browser cannot do PKCE here (it needs HTTPS).");
    const registration = await M.api("/console/oauth/start", { method: "POST", body: "{}" });
    const endpoint = new URL(registration.authorization_endpoint);
    if (endpoint.protocol !== "https:" && endpoint.protocol !== "http:") throw new Error("Unusable authorisation server.");
    const verifier = randomString(64);
    const state = randomString(32);
    const challenge = await challengeFor(verifier);
    sessionStorage.setItem(PENDING, JSON.stringify({
      verifier, state, created: Date.now(),
    }));
    const params = {
      response_type: "code", client_id: registration.client_id, redirect_uri: registration.redirect_uri,
      scope: registration.scope || "key:read", code_challenge: challenge, code_challenge_method: "S256", state,
    };
    for (const name of Object.keys(params)) endpoint.searchParams.set(name, params[name]);
    window.location.assign(endpoint.toString());
  }

  /** The callback page: check `state`, exchange the code, store the key, return to the console. */
  async function finish(statusElement) {
    const params = new URLSearchParams(window.location.search);
    let pending = null;
    try { pending = JSON.parse(sessionStorage.getItem(PENDING) || "null"); } catch (e) { pending = null; }
    sessionStorage.removeItem(PENDING);
    // The code must not stay in the address bar or the history.
    window.history.replaceState(null, "", window.location.pathname);
    const say = (text) => { statusElement.textContent = text; };
    if (params.get("error")) {
      say("Parallel did not connect: " + (params.get("error_description") || params.get("error")) + ".");
      return;
    }
    const code = params.get("code");
    const state = params.get("state");
    if (!pending || !code || !state || state !== pending.state) {
      say("This sign-in answer does not match a connection started here, so it was refused. Please connect again from the console.");
      return;
    }
    if (Date.now() - pending.created > MAX_AGE_MS) {
      say("The connection took too long and expired. Please connect again.");
      return;
    }
    try {
      const token = await M.api("/console/oauth/token", {
        method: "POST",
        body: JSON.stringify({ code, code_verifier: pending.verifier }),
      });
      M.keyStore.set(token.access_token);
      say("Connected. Returning to the console…");
      window.location.replace("/console");
    } catch (error) {
      say("Connecting failed: " + error.message);
    }
  }

  M.oauth = { connect, finish, randomString, challengeFor };

  document.addEventListener("DOMContentLoaded", () => {
    const status = document.getElementById("callback-status");
    if (status) finish(status);
  });
})();
