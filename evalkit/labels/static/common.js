// Shared by the labelling page (app.js) and the rating page (rate.js). Plain JS, no build step.
"use strict";

const EK = (() => {
  const token = new URLSearchParams(location.search).get("token") || "";

  // Requests that change labels go through one queue, in order, so that an undo can never
  // overtake the label it undoes.
  let chain = Promise.resolve();

  async function api(path, body) {
    const init = { headers: { "X-Evalkit-Token": token }, cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new Error("the evalkit server is not answering (was it stopped?)");
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`);
    return data;
  }

  function send(path, body) {
    const p = chain.then(() => {
      const t0 = performance.now();
      return api(path, body).then((data) => ({ data, ms: performance.now() - t0 }));
    });
    chain = p.catch(() => {});
    return p;
  }

  function frameUrl(id, size) {
    return `/api/frame/${id}?size=${size || "full"}&token=${encodeURIComponent(token)}`;
  }

  const $ = (sel) => document.querySelector(sel);

  let toastTimer = null;
  function status(msg, kind) {
    const el = $("#status");
    if (!el) return;
    el.textContent = msg;
    el.className = "status " + (kind || "");
    clearTimeout(toastTimer);
    if (kind !== "error") toastTimer = setTimeout(() => { el.className = "status fade"; }, 2500);
  }

  function pageUrl(path) {
    return `${path}?token=${encodeURIComponent(token)}`;
  }

  function isTyping(ev) {
    const t = ev.target;
    return t && (t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "range" || t.tagName === "TEXTAREA");
  }

  return { token, api, send, frameUrl, pageUrl, $, status, isTyping };
})();
