// dswap's status page: reads the sidecar's API with the session cookie the
// login form set (same origin; the cookie is HttpOnly, so this script never
// sees it) and follows running swaps through their Server-Sent Events.
// It only reads: nothing here starts, rolls back or cancels a swap.
// Every value from the API is put in the page as text, never as HTML.
"use strict";

const refreshEvery = 2000; // ms between two looks at the services and swaps
const historyRows = 8; // newest history entries shown per service
const finishedSwapsShown = 6;

const following = new Map(); // swap id -> EventSource
const $ = (id) => document.getElementById(id);

// el builds an element; children are nodes or strings (as text).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

class LoggedOut extends Error {}

async function api(path) {
  const resp = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (resp.status === 401) throw new LoggedOut();
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(path + ": " + resp.status + " " + (body.error || resp.statusText));
  return body;
}

// versionOf is an image reference's tag, or its digest, or "latest".
function versionOf(image) {
  if (!image) return "";
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1, at + 20);
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? image.slice(colon + 1) : "latest";
}

function when(t) {
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleString();
}

function seconds(ns) {
  return ns ? (ns / 1e9).toFixed(1) + " s" : "";
}

function badge(text) {
  return el("span", { class: "badge " + String(text).replace(/[^a-z-]/g, "") }, text);
}

function showLogin() {
  for (const id of ["live-section", "services-section", "swaps-section", "logout", "error"]) $(id).hidden = true;
  $("login").hidden = false;
  $("login-failed").hidden = new URLSearchParams(location.search).get("login") !== "failed";
}

// members are a service's containers, or a Swarm service's tasks, in one
// shape: name, image, state (a task's state is Swarm's: a task with a
// HEALTHCHECK runs only once healthy), routed, and where it runs.
function members(svc) {
  if (!svc.swarm) {
    return (svc.containers || []).map((c) => ({ name: c.name, image: c.image, state: c.health || c.state, routed: c.routed, where: "" }));
  }
  return (svc.tasks || []).map((t) => ({ name: t.name, image: t.image, state: t.state, routed: t.routed, where: [t.node, t.address].filter(Boolean).join(" ") }));
}

function serviceCard(svc, history, swapping) {
  const all = members(svc);
  const routed = all.filter((m) => m.routed);
  const shown = routed.length ? routed : all;
  const images = [...new Set(shown.map((m) => m.image))];
  const health = [...new Set(shown.map((m) => m.state))];
  const card = el("div", { class: "card service", "data-service": svc.service },
    el("h3", {}, svc.service, svc.swarm ? el("span", { class: "muted" }, " (Swarm service, " + svc.replicas + " replicas)") : null),
    el("dl", { class: "facts" },
      el("dt", {}, "version"), el("dd", { class: "version" }, images.map(versionOf).join(", ") || "none"),
      el("dt", {}, "image"), el("dd", { class: "image" }, el("code", {}, images.join(", ") || "none")),
      el("dt", {}, "health"), el("dd", { class: "health" }, ...health.map(badge)),
      el("dt", {}, "routed"), el("dd", { class: "routed" }, svc.routed.length ? svc.routed.join(", ") : "nothing"),
      el("dt", {}, svc.swarm ? "tasks" : "containers"), el("dd", {}, all.map((m) => m.name + " (" + [m.image, m.state, m.where].filter(Boolean).join(", ") + (m.routed ? ", routed" : "") + ")").join("; ")),
    ),
  );
  // While this sidecar swaps the service, its containers are between
  // versions on purpose: that is the swap above, not an interrupted one.
  if (swapping) card.append(el("p", { class: "running" }, "A swap of this service is in progress (above)."));
  else if (svc.interrupted) card.append(el("p", { class: "error" }, svc.interrupted));
  if (history === null) {
    card.append(el("p", { class: "muted" }, "History could not be read."));
  } else if (!history.length) {
    card.append(el("p", { class: "muted" }, "No swap recorded yet."));
  } else {
    const rows = history.slice(-historyRows).reverse().map((h) =>
      el("tr", {},
        el("td", {}, when(h.started)),
        el("td", {}, (h.from_image ? versionOf(h.from_image) : "(nothing)") + " → " + versionOf(h.to_image)),
        el("td", {}, badge(h.result)),
        el("td", {}, seconds(h.duration_ns)),
        el("td", {}, h.reason || ""),
      ));
    card.append(el("table", { class: "history" },
      el("thead", {}, el("tr", {}, ...["started", "from → to", "result", "took", "reason"].map((t) => el("th", {}, t)))),
      el("tbody", {}, ...rows)));
  }
  return card;
}

function swapCard(sw) {
  const out = sw.outcome || {};
  const card = el("div", { class: "card swap", "data-swap": sw.id },
    el("h3", {}, sw.kind + " of " + sw.service + " ", badge(out.result || sw.state)),
    el("dl", { class: "facts" },
      el("dt", {}, "to"), el("dd", {}, el("code", {}, sw.image || out.to || "")),
      el("dt", {}, "started"), el("dd", {}, when(sw.started) + " by " + sw.trigger),
      out.total_seconds ? el("dt", {}, "took") : null, out.total_seconds ? el("dd", {}, out.total_seconds.toFixed(1) + " s") : null,
      out.error ? el("dt", {}, "error") : null, out.error ? el("dd", { class: "error" }, out.error) : null,
    ),
  );
  const pic = el("div", { class: "timeline" });
  const img = el("img", { alt: "timeline of swap " + sw.id, loading: "lazy" });
  img.addEventListener("error", () => pic.replaceChildren(el("p", { class: "muted" }, "No timeline: this swap recorded no phases.")));
  img.src = "/v1/swaps/" + encodeURIComponent(sw.id) + "/timeline.svg";
  pic.append(img);
  card.append(pic);
  return card;
}

// describe turns one progress record into a line, as dswap prints it.
function describe(rec) {
  const t = new Date(rec.time);
  const parts = [isNaN(t) ? "" : t.toLocaleTimeString(), rec.phase ? "[" + rec.phase + "]" : "", rec.msg];
  for (const [k, v] of Object.entries(rec)) {
    if (["time", "level", "msg", "phase", "swap"].includes(k)) continue;
    parts.push(k + "=" + (typeof v === "string" ? v : JSON.stringify(v)));
  }
  return parts.filter(Boolean).join(" ");
}

// follow shows a running swap's progress as its events arrive. The stream
// resumes by itself after a dropped connection (EventSource sends
// Last-Event-ID); it is closed once the swap's result has come.
function follow(sw) {
  if (following.has(sw.id)) return;
  const phase = el("span", { class: "phase" }, "starting");
  const log = el("pre", { class: "log" });
  const result = el("p", { class: "result" });
  const card = el("div", { class: "card live", "data-swap": sw.id },
    el("h3", {}, sw.kind + " of " + sw.service + " to ", el("code", {}, sw.image || ""), " — phase: ", phase),
    log, result);
  $("live").prepend(card);
  $("live-section").hidden = false;
  const es = new EventSource("/v1/swaps/" + encodeURIComponent(sw.id) + "/events?format=sse", { withCredentials: true });
  following.set(sw.id, es);
  es.addEventListener("log", (ev) => {
    let rec;
    try { rec = JSON.parse(ev.data); } catch { return; }
    if (rec.phase) phase.textContent = rec.phase;
    log.append(describe(rec) + "\n");
    log.scrollTop = log.scrollHeight;
  });
  es.addEventListener("result", (ev) => {
    es.close();
    let out = {};
    try { out = JSON.parse(ev.data); } catch { /* shown as unknown */ }
    phase.textContent = "ended";
    card.dataset.result = out.result || "unknown";
    result.replaceChildren("Result: ", badge(out.result || "unknown"),
      out.error ? " " + out.error : " " + (out.from ? versionOf(out.from) + " → " : "") + versionOf(out.to || sw.image));
    refresh();
  });
  es.addEventListener("error", () => {
    if (es.readyState === EventSource.CLOSED) result.textContent = "The event stream was closed; the swaps list below shows how it ended.";
  });
}

let timer = null;

async function refresh() {
  clearTimeout(timer);
  try {
    const [services, swaps] = await Promise.all([api("/v1/services"), api("/v1/swaps")]);
    const histories = await Promise.all(services.map((s) =>
      api("/v1/services/" + encodeURIComponent(s.service) + "/history").catch((e) => { if (e instanceof LoggedOut) throw e; return null; })));
    $("login").hidden = true;
    $("logout").hidden = false;
    $("error").hidden = true;
    const swapping = new Set(swaps.filter((sw) => sw.state === "running").map((sw) => sw.service));
    $("services").replaceChildren(...services.map((s, i) => serviceCard(s, histories[i], swapping.has(s.service))));
    if (!services.length) $("services").replaceChildren(el("p", { class: "muted" }, "No service is managed by dswap on this Engine."));
    $("services-section").hidden = false;
    for (const sw of swaps) if (sw.state === "running") follow(sw);
    const done = swaps.filter((sw) => sw.state === "done").slice(0, finishedSwapsShown);
    const known = new Set([...$("swaps").children].map((c) => c.dataset.swap));
    if (done.length !== known.size || done.some((sw) => !known.has(sw.id))) {
      $("swaps").replaceChildren(...done.map(swapCard));
    }
    $("swaps-section").hidden = done.length === 0;
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e instanceof LoggedOut) {
      showLogin();
      return; // nothing to refresh until the form is posted
    }
    $("error").textContent = "Could not read the sidecar: " + e.message + " (retrying)";
    $("error").hidden = false;
  }
  timer = setTimeout(refresh, refreshEvery);
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
refresh();
