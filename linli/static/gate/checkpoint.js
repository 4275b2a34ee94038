// The checkpoint page (SPEC A3): scan a pass, show the verdict; online the server decides, offline
// the page decides from its cached bundle and queues the scan in IndexedDB until the server has it.
//
// Every scan is written to the journal (pending) before the server is asked, so closing the page or
// losing the network mid-request loses nothing: the sync sends it again under the same uuid and the
// server stores it once. Each queued scan names its checkpoint, and the sync sends it there, whichever
// checkpoint's page is open: a guard moved to another gate before the phone could sync loses nothing.
// A server that fails (a 5xx) is treated as no network: the page says so and decides on the phone.

import { EngineUnavailable, Verifier, isPassText, numberStatus } from "./passes.js";
import { decide, fill, localParts, periodStart, present } from "./rules.js";
import * as store from "./store.js";
import * as camera from "../linli/qrcamera.js";

const config = JSON.parse(document.getElementById("gate-config").textContent);
const S = config.strings;
const TEXT = { strings: S, reasons: config.reasons, holds: config.holds };
const CHECKPOINT = config.checkpoint.id;
const GATE_NAME = `${config.checkpoint.compound} · ${config.checkpoint.name}`;
const SCAN_TIMEOUT_MS = 6000;
const SYNC_TIMEOUT_MS = 30000;
const SYNC_BATCH = 200;
const RETRY_MS = 15000;
const BUNDLE_EVERY_MS = 5 * 60000;
// Acknowledged scans of another checkpoint are kept for that checkpoint's page (its offline quota
// counts them until its next bundle) no longer than the longest quota window.
const KEEP_OTHERS_MS = 31 * 86400000;

const $ = (id) => document.getElementById(id);
const gate = $("gate");

let bundleRecord = null; // {bundle, fetchedAt}
let verifier = null;
let reachable = true; // the last request reached a working server
let serverDown = false; // the last request got the server's failure (a 5xx, the proxy's 502)
let authLost = false;
let syncing = false;
let lastSyncAt = 0; // when the last sync began
let seq = Date.now();
let lastBundleAt = 0;
let persistent = true; // the journal survives closing the page (IndexedDB opened)

// --- network ------------------------------------------------------------------------------------

class NetworkError extends Error {}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : gate.dataset.csrf;
}

function isOnline() {
  return navigator.onLine && reachable;
}

/** ``own``: a request about this page's checkpoint, where a 403 means the sign-in no longer holds
 * (for another checkpoint it means this account may not hand in scans there). */
async function call(method, url, body, timeoutMs, { own = true } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (err) {
    reachable = false;
    serverDown = false;
    render();
    throw new NetworkError(String(err));
  } finally {
    clearTimeout(timer);
  }
  // A 5xx is the server (or the proxy in front of it) failing: no better than no network.
  serverDown = response.status >= 500;
  reachable = !serverDown;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (response.status === 401 || (response.status === 403 && own)) {
    authLost = true;
  } else if (response.ok) {
    authLost = false;
  }
  render();
  return { status: response.status, data };
}

function detailOf(data) {
  if (!data) return "";
  if (typeof data.detail === "string") return data.detail;
  if (Array.isArray(data.detail)) return data.detail.map((item) => item.msg || "").join(S.sentence_separator || "；");
  return "";
}

// --- the bundle ---------------------------------------------------------------------------------

function useBundle(record) {
  bundleRecord = record;
  verifier = record ? new Verifier(record.bundle.keys) : null;
  if (verifier) verifier.ready().catch(() => {}); // load the signature check now, not when offline
  render();
}

async function refreshBundle() {
  if (!navigator.onLine) return;
  const started = Date.now();
  let result;
  try {
    result = await call("GET", config.urls.bundle, undefined, SYNC_TIMEOUT_MS);
  } catch (err) {
    return;
  }
  if (result.status !== 200 || !result.data) return;
  lastBundleAt = started;
  await store.putBundle(CHECKPOINT, result.data, started);
  // Acknowledged scans from before this request are in the bundle's counts now (another
  // checkpoint's, once older than any quota window).
  const journal = await store.allScans();
  const stale = (e) => e.doneAt < (checkpointOf(e) === CHECKPOINT ? started : started - KEEP_OTHERS_MS);
  await store.deleteScans(journal.filter((e) => e.status === "done" && stale(e)).map((e) => e.uuid));
  useBundle({ checkpoint: CHECKPOINT, bundle: result.data, fetchedAt: started });
}

// --- the household's state: the bundle plus the scans it does not include yet --------------------

function inBundle(entry) {
  return entry.status === "done" && bundleRecord && entry.doneAt < bundleRecord.fetchedAt;
}

function householdState(journal, householdId, period, ticketPeriod) {
  const cached = (bundleRecord.bundle.households || {})[String(householdId)] || {};
  let used = (cached.periods || {})[period] || 0;
  // A ticket collected at any gate before the bundle was made is in the bundle; later ones in the journal.
  let ticketUsed = Boolean(ticketPeriod && (cached.tickets_collected || []).includes(ticketPeriod));
  for (const entry of journal) {
    if (entry.householdId !== householdId || inBundle(entry) || entry.status === "rejected") continue;
    if (entry.direction === "out" && entry.verdict === "allowed") {
      if (entry.period === period) used += 1;
      if (ticketPeriod && entry.ticketPeriod === ticketPeriod) ticketUsed = true;
    }
  }
  return { used, hold: cached.hold || null, ticketUsed };
}

function householdView(householdId, memberIds) {
  if (!bundleRecord || householdId === null || householdId === undefined) return null;
  const cached = (bundleRecord.bundle.households || {})[String(householdId)];
  if (!cached) return null;
  const names = cached.members || {};
  const ids = memberIds && memberIds.length ? memberIds.map(String) : Object.keys(names);
  return { room: cached.room, members: ids.filter((id) => id in names).map((id) => names[id]) };
}

// --- the form -----------------------------------------------------------------------------------

function formValue(name) {
  const checked = document.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : "";
}

function showError(message) {
  $("form-error").textContent = message || "";
}

/** The temperature as "36.5", or null after showing why it is not usable. */
function readTemperature() {
  const raw = $("temperature").value.trim();
  if (!raw) {
    showError(S.need_temperature);
    $("temperature").focus();
    return null;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 34 || value > 43 || !/^\d{2}(\.\d)?$/.test(raw)) {
    showError(S.bad_temperature);
    $("temperature").focus();
    return null;
  }
  return value.toFixed(1);
}

/** What the guard had typed when a scan began ({temperature, credential}). */
function typedNow() {
  return { temperature: $("temperature").value, credential: $("credential").value };
}

/** Empty the form for the next person once a scan is answered, but keep what the guard has already
 * typed for the next person while this scan waited for the server or the phone. */
function resetForm(typed) {
  const now = typedNow();
  if (now.temperature === typed.temperature) $("temperature").value = "";
  if (now.credential === typed.credential) $("credential").value = "";
  if (now.temperature !== typed.temperature || now.credential !== typed.credential) return;
  document.querySelector('input[name="mask"][value="yes"]').checked = true;
  const firstCode = document.querySelector('input[name="health_code"]');
  if (firstCode) firstCode.checked = true;
}

// --- one scan -----------------------------------------------------------------------------------

function wire(entry) {
  return {
    uuid: entry.uuid,
    credential: entry.credential,
    direction: entry.direction,
    device_time: entry.device_time,
    temperature: entry.temperature,
    mask: entry.mask,
    health_code: entry.health_code,
    person_id: entry.person_id,
    guard_id: entry.guard_id ?? null,
    verdict: entry.verdict,
    reason: entry.reason,
  };
}

async function localDecision(entry, ms) {
  const bundle = bundleRecord.bundle;
  const presented = await present(bundle, verifier, entry.credential);
  const period = periodStart(bundle.rules || {}, ms, bundle.utc_offset_minutes || 0);
  // Every checkpoint's scans on this phone: an outing queued at the compound's other gate counts
  // here too (a household belongs to one compound; another compound's scans never match it).
  const journal = await store.allScans();
  const hid = presented.householdId ?? null;
  const state = hid === null ? { used: 0, hold: null, ticketUsed: false } : householdState(journal, hid, period, presented.ticketPeriod);
  const decision = decide(
    bundle,
    presented,
    { direction: entry.direction, ms, temperature: entry.temperature, healthCode: entry.health_code, personId: entry.person_id },
    state,
    TEXT,
  );
  return { presented, period, decision, householdId: presented.refusal === "wrong_compound" ? null : hid };
}

/** Decide one presented credential (QR text or pass number) and show the verdict. */
async function process(credential) {
  const typed = typedNow();
  showError("");
  const text = (credential || "").trim();
  if (!text) {
    showError(S.need_credential);
    return;
  }
  if (!isPassText(text)) {
    const { status } = numberStatus(text);
    if (status === "bad_check") return showError(S.bad_number);
    if (status !== "number") return showError(S.need_credential);
  }
  const temperature = readTemperature();
  if (temperature === null) return;
  const ms = Date.now();
  const entry = {
    uuid: crypto.randomUUID(),
    checkpoint: CHECKPOINT,
    checkpointName: GATE_NAME, // for the notice should this checkpoint refuse the sync later
    seq: seq++,
    credential: isPassText(text) ? text.toUpperCase() : numberStatus(text).digits,
    direction: formValue("direction"),
    device_time: new Date(ms).toISOString(),
    temperature,
    mask: formValue("mask") === "yes",
    health_code: formValue("health_code"),
    person_id: null,
    guard_id: config.guard ? config.guard.id : null,
    status: "pending",
    doneAt: null,
  };
  let local = null;
  let noVerifier = false;
  let kept = false;
  if (bundleRecord) {
    try {
      local = await localDecision(entry, ms);
    } catch (err) {
      if (!(err instanceof EngineUnavailable)) throw err;
      noVerifier = true; // the server decides if it can be reached; offline, the guard is told
    }
  }
  if (local) {
    Object.assign(entry, {
      verdict: local.decision.verdict,
      reason: local.decision.reason,
      message: local.decision.message,
      householdId: local.householdId,
      period: local.period,
      ticketPeriod: local.presented.ticketPeriod || null,
    });
    // Written ahead: the sync sends it if the answer never comes. A phone whose storage is full
    // refuses the write; the scan is then kept nowhere unless the server answers, and the guard is told.
    kept = await store.putScan(entry).then(
      () => true,
      () => false,
    );
  }
  if (isOnline()) {
    let result = null;
    try {
      result = await call("POST", config.urls.scan, wire(entry), SCAN_TIMEOUT_MS);
    } catch (err) {
      result = null;
    }
    if (result && result.status === 200 && result.data) {
      const data = result.data;
      const household = data.household || null;
      Object.assign(entry, {
        verdict: data.verdict,
        reason: data.reason,
        message: data.message,
        householdId: household ? household.id : null,
        status: "done",
        doneAt: Date.now(),
      });
      if (bundleRecord) await store.putScan(entry).catch(() => {}); // the server has it either way
      showVerdict(entry, household, false);
      resetForm(typed);
      updateQueue();
      sync();
      return;
    }
    if (result && [400, 404, 422].includes(result.status)) {
      // The server refused the input itself: nothing was recorded, nothing to sync.
      if (bundleRecord) await store.deleteScans([entry.uuid]).catch(() => {});
      showError(detailOf(result.data) || fill(S.server_error, { detail: result.status }));
      return;
    }
  }
  if (!local) {
    showError(noVerifier ? S.no_verifier : S.no_bundle);
    return;
  }
  showVerdict(entry, householdView(local.householdId, local.presented.members), true);
  if (!kept) {
    $("verdict-source").textContent = S.not_kept;
    $("verdict-source").dataset.warn = "yes";
  }
  resetForm(typed);
  updateQueue();
}

function showVerdict(entry, household, isLocal) {
  const section = $("verdict");
  section.dataset.verdict = entry.verdict;
  section.dataset.reason = entry.reason;
  section.dataset.source = isLocal ? "local" : "server";
  $("verdict-word").textContent =
    entry.verdict === "allowed" ? (entry.direction === "in" ? S.allowed_in : S.allowed_out) : S.refused;
  $("verdict-reason").textContent = entry.message || config.reasons[entry.reason] || "";
  if (household) {
    $("verdict-room").textContent = household.room || "";
    $("verdict-members").textContent = (household.members || []).join(S.list_separator || "、");
    $("verdict-household").hidden = false;
  } else {
    $("verdict-household").hidden = true;
  }
  $("verdict-source").textContent = isLocal ? S.local_verdict : S.server_verdict;
  $("verdict-source").dataset.warn = "no";
  section.hidden = false;
  $("verdict-close").focus();
}

// --- sync ---------------------------------------------------------------------------------------

/** The checkpoint a queued scan was taken at (entries from before scans named it: this page's). */
function checkpointOf(entry) {
  return entry.checkpoint ?? CHECKPOINT;
}

function syncUrl(checkpoint) {
  return checkpoint === CHECKPOINT ? config.urls.sync : fill(config.urls.sync_of, { id: checkpoint });
}

/** "阳光小区 · 东门" for the guard: as the scans recorded it, else from that checkpoint's offline list. */
async function gateName(checkpoint, entries) {
  const named = entries.find((e) => e.checkpointName);
  if (named) return named.checkpointName;
  if (checkpoint === CHECKPOINT) return GATE_NAME;
  const record = await store.getBundle(checkpoint).catch(() => null);
  const info = record && record.bundle && record.bundle.checkpoint;
  return info ? `${info.compound} · ${info.name}` : fill(S.gate_number, { id: checkpoint });
}

async function sendBatch(checkpoint, batch) {
  const own = checkpoint === CHECKPOINT;
  const result = await call("POST", syncUrl(checkpoint), { scans: batch.map(wire) }, SYNC_TIMEOUT_MS, { own });
  if (result.status === 200 && result.data) {
    const acknowledged = new Set(
      (result.data.results || [])
        .filter((item) => item.status === "stored" || item.status === "duplicate")
        .map((item) => item.uuid),
    );
    const now = Date.now();
    const done = batch.filter((e) => acknowledged.has(e.uuid)).map((e) => ({ ...e, status: "done", doneAt: now }));
    await store.updateScans(done);
    return { ok: true, acknowledged: done.length };
  }
  return { ok: false, status: result.status, detail: detailOf(result.data) };
}

// Checkpoints whose sync the server refused for this account (403/404: moved out of that compound,
// say), with what the guard is told: {n, gate, reason}. Their scans stay queued and are offered again.
const refused = new Map();

/** Send every pending scan, each to its own checkpoint; only what the server acknowledged leaves the queue. */
async function sync() {
  if (syncing || !navigator.onLine) return;
  syncing = true;
  lastSyncAt = Date.now();
  let acknowledged = 0;
  try {
    const pending = (await store.allScans()).filter((e) => e.status === "pending" && e.verdict);
    const groups = new Map([[CHECKPOINT, []]]); // this page's checkpoint first
    for (const entry of pending) {
      const checkpoint = checkpointOf(entry);
      if (!groups.has(checkpoint)) groups.set(checkpoint, []);
      groups.get(checkpoint).push(entry);
    }
    for (const checkpoint of [...refused.keys()]) {
      if (!(groups.get(checkpoint) || []).length) refused.delete(checkpoint);
    }
    every: for (const [checkpoint, entries] of groups) {
      for (let i = 0; i < entries.length; i += SYNC_BATCH) {
        const batch = entries.slice(i, i + SYNC_BATCH);
        const sent = await sendBatch(checkpoint, batch);
        if (sent.ok) {
          acknowledged += sent.acknowledged;
          refused.delete(checkpoint);
          continue;
        }
        if (sent.status === 404 || (sent.status === 403 && checkpoint !== CHECKPOINT)) {
          // Not this account's to hand in there: kept on the phone, and the guard is told; the others go on.
          const reason = sent.status === 404 ? S.sync_not_found : sent.detail || S.sync_forbidden;
          refused.set(checkpoint, { n: entries.length, gate: await gateName(checkpoint, entries), reason });
          continue every;
        }
        if (sent.status !== 400 && sent.status !== 422) break every; // offline, logged out, server trouble: later
        // The server refuses the batch: send one by one so that one bad record holds up no other.
        for (const entry of batch) {
          const single = await sendBatch(checkpoint, [entry]);
          if (single.ok) {
            acknowledged += single.acknowledged;
          } else if (single.status === 400 || single.status === 422) {
            await store.putScan({ ...entry, status: "rejected", rejection: single.detail });
          } else {
            break every;
          }
        }
      }
    }
  } catch (err) {
    // NetworkError: try again on the next "online" event or timer tick.
  } finally {
    syncing = false;
    await updateQueue();
  }
  if (acknowledged) refreshBundle();
}

// --- status line --------------------------------------------------------------------------------

let queueCount = null; // unknown until the journal is read: never "all synced" before then
let rejectedCount = 0;

async function updateQueue() {
  const journal = await store.allScans(); // every checkpoint's: all of it waits on this phone
  queueCount = journal.filter((e) => e.status === "pending").length;
  rejectedCount = journal.filter((e) => e.status === "rejected").length;
  render();
}

function render() {
  const online = isOnline();
  const net = $("net");
  net.dataset.online = online ? "yes" : "no";
  net.textContent = online ? S.online : navigator.onLine && serverDown ? S.server_down : S.offline;
  const queue = $("queue");
  if (queueCount !== null) {
    queue.dataset.count = String(queueCount);
    queue.textContent = queueCount ? fill(S.queued, { n: queueCount }) : S.synced;
  }
  if (bundleRecord) {
    const at = localParts(bundleRecord.fetchedAt, bundleRecord.bundle.utc_offset_minutes || 0);
    $("bundle-age").textContent = fill(S.bundle_at, { time: `${at.mmdd} ${at.hhmm}` });
  } else {
    $("bundle-age").textContent = S.no_bundle;
  }
  const notices = [];
  if (!persistent) notices.push(S.not_persistent);
  if (authLost) notices.push(S.login_needed);
  if (rejectedCount) notices.push(fill(S.rejected, { n: rejectedCount }));
  for (const item of refused.values()) notices.push(fill(S.sync_refused, item));
  $("notice").textContent = notices.join(" ");
  $("notice").hidden = !notices.length;
  $("relogin").hidden = !authLost; // an installed app has no address bar to reach the login page
}

// --- camera and photo ---------------------------------------------------------------------------

async function openCamera() {
  showError("");
  if (readTemperature() === null) return;
  if (!(await camera.startCamera({ hint: S.camera_hint, onText: process }))) showError(S.camera_failed);
}

// --- start --------------------------------------------------------------------------------------

async function cacheThisPage() {
  // The service worker keeps each checkpoint page it serves; the first visit happens before it
  // controls the page, so put this one in its cache here.
  if (!("caches" in window) || navigator.serviceWorker?.controller) return;
  try {
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok || response.redirected) return;
    const cache = await caches.open("linli-gate-pages");
    await cache.put(location.pathname, response.clone());
    await cache.put(`${config.urls.service_worker.replace(/sw\.js$/, "")}__last__`, response);
  } catch (err) {
    // offline on the very first visit: nothing to keep yet
  }
}

function wireUp() {
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    process($("credential").value);
  });
  $("camera-start").addEventListener("click", openCamera);
  $("camera-stop").addEventListener("click", camera.stopCamera);
  $("photo").addEventListener("change", async (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (!file) return;
    showError("");
    if (readTemperature() === null) return;
    let text = null;
    try {
      text = await camera.decodePhoto(file);
    } catch (err) {
      text = null;
    }
    if (!text) return showError(S.no_qr_in_photo);
    process(text);
  });
  $("verdict-close").addEventListener("click", () => {
    $("verdict").hidden = true;
    $("temperature").focus();
  });
  window.addEventListener("online", () => {
    reachable = true;
    render();
    sync().then(() => refreshBundle());
  });
  window.addEventListener("offline", render);
  setInterval(() => {
    if (!navigator.onLine) return;
    // Not right after another try (the network's return, a scan): one try a period at most.
    if (Date.now() - lastSyncAt >= RETRY_MS / 2) sync();
    // A failed request marks the server unreachable; asking for the bundle finds out when it is back.
    if (!reachable || Date.now() - lastBundleAt > BUNDLE_EVERY_MS) refreshBundle();
  }, RETRY_MS);
}

async function start() {
  wireUp();
  persistent = await store.isPersistent();
  useBundle(await store.getBundle(CHECKPOINT));
  await updateQueue();
  let kept = Promise.resolve();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.urls.service_worker).catch(() => {});
    kept = cacheThisPage();
  }
  await Promise.all([kept, refreshBundle()]);
  if (verifier) await verifier.ready().catch(() => {});
  await sync();
  gate.dataset.ready = "yes";
}

start();
