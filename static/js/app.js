// Marketlens shared browser code. Loaded with `defer`; no inline scripts anywhere (CSP script-src 'self').
// Page-specific behaviour (live progress, console) lives in its own file beside this one.
"use strict";

// Progressive enhancement hook: mark the document so CSS can tell JavaScript is available.
document.documentElement.classList.add("js");
