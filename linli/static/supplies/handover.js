// The volunteer's hand-over page (SPEC S6): scan a label's QR (LLP:<code>) or type the code. Online the
// server records the hand-over at once; offline (or when the request fails) the scan is kept in
// IndexedDB with a uuid and the phone's time and synced later to /api/v1/supplies/handovers/sync,
// which answers each uuid once — so a scan sent twice is never recorded twice. A door photo taken
// without network is kept in IndexedDB too and uploaded once its package's hand-over is recorded.
// 无法送达 (a bag that cannot be delivered, with its reason) goes into the same journal when it cannot
// be sent (kind "undelivered", its own uuid, which the server records once) and is sent in its turn.

import * as store from "./handover_store.js";
import * as camera from "../linli/qrcamera.js";

const config = JSON.parse(document.getElementById("delivery-config").textContent);
const S = config.strings;
const USER = config.user;
const REQUEST_TIMEOUT_MS = 8000;
const SYNC_TIMEOUT_MS = 30000;
const SYNC_BATCH = 100;
// While the server cannot be reached the queue is tried again after 15 s, then 30 s, 1 min, 2 min and
// every 2 min from then on; back to 15 s once the server answers or the browser says it is online
// again. 重试 sends at once.
const RETRY_FIRST_MS = 15000;
const RETRY_MAX_MS = 120000;

const $ = (id) => document.getElementById(id);
const root = $("handover");

let reachable = true;
let authLost = false;
let persistent = true; // the journal survives closing the page (IndexedDB opened)
let syncing = false;
let seq = Date.now();
let queueCount = null; // unknown until the journal is read: never "all synced" before then
let photoCount = 0;
let rejected = [];
let retryDelay = RETRY_FIRST_MS;
let retryTimer = null;
let serverAnswered = false; // the server answered a record in this sync (the backoff starts again)
let lastContactless = null; // the code of the last package left at a door, for the optional photo

const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : root.dataset.csrf;
}

function isOnline() {
  return navigator.onLine && reachable;
}

class NetworkError extends Error {}

async function call(url, { json, form, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: json !== undefined ? JSON.stringify(json) : form,
      signal: controller.signal,
      cache: "no-store",
    });
  } catch (err) {
    reachable = false;
    render();
    throw new NetworkError(String(err));
  } finally {
    clearTimeout(timer);
  }
  reachable = true;
  authLost = response.status === 401 || response.status === 403;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
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

function parseCode(text) {
  let code = (text || "").trim().toUpperCase().replace(/\s+/g, "");
  if (code.startsWith("LLP:")) code = code.slice(4);
  return code;
}

// --- the list on the page -------------------------------------------------------------------------

function markRow(code, status, label) {
  const row = document.querySelector(`.package[data-code="${CSS.escape(code)}"]`);
  if (!row) return;
  row.dataset.status = status;
  row.querySelector(".package-status").textContent = label;
  const form = row.querySelector(".undelivered");
  if (form && status !== "out") form.remove();
}

function showVerdict(kind, text) {
  const section = $("verdict");
  section.dataset.kind = kind; // ok, queued, already, refused
  $("verdict-word").textContent = text;
  $("door-photo").hidden = !((kind === "ok" || kind === "queued") && lastContactless);
  section.hidden = false;
}

function showError(message) {
  $("form-error").textContent = message || "";
}

// --- one scan ---------------------------------------------------------------------------------------

/** Empty the code field after a scan is answered, unless the volunteer (or a scanner typing like a
 * keyboard) has already put the next code in while this one was waiting for the server or the phone. */
function clearCode(text) {
  if ($("code").value === text) $("code").value = "";
}

async function process(text) {
  showError("");
  const code = parseCode(text);
  if (!code) return showError(S.need_code);
  const known = config.packages[code];
  const contactless = $("contactless").checked ? true : null;
  lastContactless = null;
  if (known && known.delivered) {
    showVerdict("already", fill(S.already_local, { address: known.address }));
    return;
  }
  if (isOnline()) {
    let result = null;
    try {
      result = await call(config.urls.handover, { json: { code, contactless } });
    } catch (err) {
      result = null;
    }
    if (result && result.status === 200 && result.data) {
      const pkg = result.data.package;
      if (known) known.delivered = true;
      markRow(code, pkg.status, pkg.status_label);
      lastContactless = pkg.status === "left_at_door" && result.data.status === "stored" ? code : null;
      showVerdict(result.data.status === "already" ? "already" : "ok", result.data.message);
      clearCode(text);
      await keepDone([code]);
      return;
    }
    if (result && [400, 404, 422].includes(result.status)) {
      // The server's own refusal (not my package, unknown code) is the volunteer's answer, as it is.
      showVerdict("refused", detailOf(result.data) || fill(S.server_error, { detail: result.status }));
      return;
    }
  }
  // Offline, or the request failed: keep it and sync later.
  const entry = {
    uuid: crypto.randomUUID(),
    user: USER,
    seq: seq++,
    code,
    address: known ? known.address : "", // to name the bag should the server refuse it
    contactless,
    device_time: new Date().toISOString(),
    status: "pending",
  };
  try {
    await store.putScans([entry]);
  } catch (err) {
    // The phone's storage is full (or refuses to keep data): nothing was recorded anywhere.
    showVerdict("refused", S.not_kept);
    return;
  }
  if (known) {
    known.delivered = true;
    markRow(code, "queued", S.pending_row);
    const left = known.contactless || contactless;
    lastContactless = left ? code : null;
    showVerdict("queued", fill(left ? S.queued_contactless : S.queued_ok, { address: known.address }));
  } else {
    showVerdict("queued", S.not_mine_offline);
  }
  clearCode(text);
  await updateQueue();
  planRetry();
}

// --- sync -------------------------------------------------------------------------------------------

function wire(entry) {
  return { uuid: entry.uuid, code: entry.code, device_time: entry.device_time, contactless: entry.contactless };
}

const isUndelivered = (entry) => entry.kind === "undelivered";

function undeliveredUrl(packageId) {
  return config.urls.undelivered.replace("{id}", String(packageId));
}

/** Send hand-overs in one batch; false when the server did not answer them (logged out, in trouble). */
async function sendHandovers(batch) {
  const result = await call(config.urls.sync, { json: { handovers: batch.map(wire) }, timeoutMs: SYNC_TIMEOUT_MS });
  if (result.status !== 200 || !result.data) return false;
  const answers = new Map(result.data.results.map((r) => [r.uuid, r]));
  const answered = [];
  const refused = [];
  for (const entry of batch) {
    const answer = answers.get(entry.uuid);
    if (!answer) continue;
    if (answer.status === "refused") {
      refused.push({ ...entry, status: "rejected", rejection: answer.detail, rejection_code: answer.code || "" });
    } else {
      answered.push(entry.uuid);
      markRow(entry.code, "synced", S.delivered);
    }
  }
  await store.deleteScans(answered);
  await store.putScans(refused);
  serverAnswered = true;
  await keepDone(batch.filter((e) => answers.get(e.uuid)?.status !== "refused").map((e) => e.code));
  return true;
}

/** Send one 无法送达 kept on the phone (its uuid makes a resend one record); false: try later. */
async function sendUndelivered(entry) {
  const url = undeliveredUrl(entry.package_id);
  const result = await call(url, { json: { reason: entry.reason, uuid: entry.uuid }, timeoutMs: SYNC_TIMEOUT_MS });
  if (result.status === 200 && result.data) {
    await store.deleteScans([entry.uuid]);
    markRow(entry.code, result.data.status, result.data.status_label);
    // A uuid answered before is answered with the bag as it is now: maybe handed over since.
    if (result.data.status === "undelivered") await keepDone([entry.code], "undelivered");
    serverAnswered = true;
    return true;
  }
  if ([400, 404, 422].includes(result.status)) {
    const rejection = detailOf(result.data) || fill(S.server_error, { detail: result.status });
    const rejection_code = (result.data && result.data.code) || "";
    await store.putScans([{ ...entry, status: "rejected", rejection, rejection_code }]);
    markRow(entry.code, "rejected", S.rejected_row);
    serverAnswered = true;
    return true;
  }
  return false;
}

/** Try the queue again later: after the current delay, which doubles each time up to RETRY_MAX_MS. */
function scheduleRetry() {
  clearTimeout(retryTimer);
  retryTimer = null;
  if (!queueCount && !photoCount) {
    retryDelay = RETRY_FIRST_MS;
    delete root.dataset.retry;
    return;
  }
  root.dataset.retry = String(retryDelay); // for the tests: when the next try is
  retryTimer = setTimeout(() => {
    retryTimer = null;
    sync();
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
}

/** Something new waits: make sure a try is planned (an existing plan keeps its time). */
function planRetry() {
  if (!retryTimer && !syncing) scheduleRetry();
}

/** Send now, and start the backoff again: the volunteer's 重试, or the browser back online. */
function syncNow() {
  retryDelay = RETRY_FIRST_MS;
  sync({ now: true });
}

/** Send what waits. Unless asked to send ``now`` (重试), nothing is tried while the browser says it is
 * offline: its "online" event sends. */
async function sync({ now = false } = {}) {
  if (syncing || (!navigator.onLine && !now)) return;
  syncing = true;
  serverAnswered = false;
  try {
    // In the order they were recorded: a bag marked 无法送达 and handed over later ends delivered.
    const pending = (await store.scansOf(USER)).filter((e) => e.status === "pending");
    let i = 0;
    while (i < pending.length) {
      if (isUndelivered(pending[i])) {
        if (!(await sendUndelivered(pending[i]))) break; // logged out or server trouble: later
        i += 1;
        continue;
      }
      const batch = [];
      while (i < pending.length && !isUndelivered(pending[i]) && batch.length < SYNC_BATCH) batch.push(pending[i++]);
      if (!(await sendHandovers(batch))) break; // logged out or server trouble: later
    }
    await syncPhotos();
  } catch (err) {
    // NetworkError: the next "online" event, 重试 or the backoff's timer tries again.
  } finally {
    syncing = false;
    if (serverAnswered) retryDelay = RETRY_FIRST_MS;
    await updateQueue();
    scheduleRetry();
  }
}

async function syncPhotos() {
  const journal = await store.scansOf(USER);
  const waiting = new Set(journal.filter((e) => e.status === "pending" && !isUndelivered(e)).map((e) => e.code));
  for (const photo of await store.photosOf(USER)) {
    if (waiting.has(photo.code)) continue; // its hand-over is not recorded yet
    const result = await call(config.urls.photo, { form: photoForm(photo.code, photo.blob), timeoutMs: SYNC_TIMEOUT_MS });
    if (result.status === 401 || result.status === 403 || result.status >= 500) break; // later
    if (result.status !== 200) showError(fill(S.photo_refused, { detail: detailOf(result.data) || result.status }));
    await store.deletePhoto(photo.code);
    serverAnswered = true;
  }
}

// --- status line ------------------------------------------------------------------------------------

async function updateQueue() {
  const journal = await store.scansOf(USER);
  queueCount = journal.filter((e) => e.status === "pending").length;
  photoCount = (await store.photosOf(USER)).length;
  rejected = journal.filter((e) => e.status === "rejected");
  render();
}

function render() {
  const online = isOnline();
  $("net").dataset.online = online ? "yes" : "no";
  $("net").textContent = online ? S.online : S.offline;
  const waiting = [];
  if (queueCount) waiting.push(fill(S.queued, { n: queueCount }));
  if (photoCount) waiting.push(fill(S.photos_queued, { n: photoCount }));
  if (queueCount !== null) {
    $("queue").dataset.count = String(queueCount);
    $("queue").textContent = waiting.length ? waiting.join(" · ") : S.synced;
  }
  $("retry").hidden = !waiting.length;
  const notices = [];
  if (!persistent) notices.push(S.not_persistent);
  if (authLost) notices.push(S.login_needed);
  $("notice").textContent = notices.join(" ");
  $("notice").hidden = !notices.length;
  $("relogin").hidden = !authLost; // an installed app has no address bar to reach the login page
  renderRejected();
}

/** Why a refusal kept on the phone was refused: worded by its code in the page's language when the
 * page knows the code (it may have been answered while the page was read in another language). */
function reasonOf(entry) {
  return config.refusals[entry.rejection_code] || entry.rejection || "";
}

/** Every record the server refused, each with its bag (address and code) and its reason. */
function renderRejected() {
  $("rejected").hidden = !rejected.length;
  $("rejected-title").textContent = fill(S.rejected_title, { n: rejected.length });
  $("rejected-list").replaceChildren(
    ...rejected.map((entry) => {
      const known = config.packages[entry.code];
      // The bag's address as recorded: a run finished since is no longer on the page.
      const address = known ? known.address : entry.address;
      const bag = [address, entry.code, isUndelivered(entry) ? S.undelivered_label : null];
      const item = document.createElement("li");
      item.dataset.code = entry.code;
      item.textContent = fill(S.rejected_item, { bag: bag.filter(Boolean).join(" · "), reason: reasonOf(entry) });
      return item;
    }),
  );
}

/** The volunteer has checked the refused bags: forget them. */
async function clearRejected() {
  await store.deleteScans(rejected.map((entry) => entry.uuid));
  await updateQueue();
}

// --- camera, photo of a label, photo of the door ----------------------------------------------------

async function openCamera() {
  showError("");
  if (!(await camera.startCamera({ hint: S.camera_hint, onText: process }))) showError(S.camera_failed);
}

function photoForm(code, blob) {
  const form = new FormData();
  form.append("code", code);
  form.append("contactless", "true");
  form.append("photo", blob, `${code}.jpg`);
  return form;
}

async function keepDoorPhoto(code, file) {
  try {
    await store.putPhoto({ code, user: USER, blob: file, at: Date.now() });
  } catch (err) {
    showError(S.photo_not_kept);
    return;
  }
  $("door-photo").hidden = true;
  showError("");
  $("verdict-word").textContent += ` · ${S.photo_kept}`;
  await updateQueue();
  planRetry();
}

async function uploadDoorPhoto(file) {
  const code = lastContactless;
  if (!code) return;
  const pending = (await store.scansOf(USER)).some(
    (e) => e.code === code && e.status === "pending" && !isUndelivered(e),
  );
  if (!isOnline() || pending) return keepDoorPhoto(code, file);
  let result;
  try {
    result = await call(config.urls.photo, { form: photoForm(code, file), timeoutMs: SYNC_TIMEOUT_MS });
  } catch (err) {
    return keepDoorPhoto(code, file); // the network went: upload it later
  }
  if (result.status === 200) {
    $("door-photo").hidden = true;
    showError("");
    $("verdict-word").textContent += ` · ${S.photo_saved}`;
  } else {
    showError(fill(S.server_error, { detail: detailOf(result.data) || result.status }));
  }
}

// --- undelivered ------------------------------------------------------------------------------------

// 无法送达 is sent from the page (a plain form post would leave the volunteer on the browser's error page
// without network). Without network, or when the request fails, it is kept in the journal with its own
// uuid and sent with the hand-overs: the server records a uuid once, so a resend is one record.
async function markUndelivered(form) {
  const row = form.closest(".package");
  const code = row.dataset.code;
  const known = config.packages[code];
  const error = form.querySelector(".undelivered-error");
  error.textContent = "";
  const reason = form.elements.reason.value.trim();
  if (!known) return;
  if (!reason) {
    error.textContent = S.undelivered_reason;
    return;
  }
  const entry = {
    uuid: crypto.randomUUID(),
    user: USER,
    seq: seq++,
    kind: "undelivered",
    code,
    package_id: known.id,
    address: known.address,
    reason,
    device_time: new Date().toISOString(),
    status: "pending",
  };
  if (isOnline()) {
    let result = null;
    try {
      result = await call(undeliveredUrl(known.id), { json: { reason, uuid: entry.uuid } });
    } catch (err) {
      result = null; // the network went: keep it (the same uuid, in case the server got it)
    }
    if (result && result.status === 200 && result.data) {
      markRow(code, result.data.status, result.data.status_label);
      await keepDone([code], "undelivered");
      return;
    }
    if (result && [400, 404, 422].includes(result.status)) {
      error.textContent = detailOf(result.data) || fill(S.server_error, { detail: result.status });
      return;
    }
  }
  try {
    await store.putScans([entry]);
  } catch (err) {
    error.textContent = S.undelivered_not_kept; // a full phone: nothing was recorded
    return;
  }
  markRow(code, "undelivered-queued", S.undelivered_pending_row);
  lastContactless = null;
  showVerdict("queued", fill(S.undelivered_queued, { address: known.address }));
  await updateQueue();
  planRetry();
}

// --- start ------------------------------------------------------------------------------------------

/** Remember the packages of this page the server has answered as delivered (or as undelivered, with
 * ``status``): offline, the service worker opens the copy of the page kept at its last load, which
 * still lists them as to hand over. A later answer for the same package replaces the earlier one. */
async function keepDone(codes, status = "delivered") {
  const mine = codes.filter((code) => config.packages[code]);
  try {
    await store.putDone(mine.map((code) => ({ code, user: USER, status, at: Date.now() })));
  } catch (err) {
    // a full phone: the server still answers a second scan (or 无法送达) by the package as it is
  }
}

/** Mark what this page's copy may not know yet: hand-overs and 无法送达 waiting in the journal, and
 * those the server answered after the copy was made. A record is no longer needed once the page
 * shows the package delivered, or (无法送达) no longer on the way: the copy is as new as the record. */
async function markJournal() {
  const stale = [];
  for (const { code, status } of await store.doneOf(USER)) {
    const known = config.packages[code];
    const undelivered = status === "undelivered";
    if (!known || known.delivered || (undelivered && !known.on_the_way)) {
      stale.push(code);
      continue;
    }
    if (undelivered) {
      markRow(code, "undelivered", S.undelivered_row);
      continue;
    }
    known.delivered = true;
    markRow(code, "synced", S.delivered);
  }
  await store.deleteDone(stale).catch(() => {});
  for (const entry of await store.scansOf(USER)) {
    const known = config.packages[entry.code];
    if (!known) continue;
    if (entry.status === "rejected" && isUndelivered(entry)) {
      markRow(entry.code, "rejected", S.rejected_row);
      continue;
    }
    if (entry.status !== "pending") continue;
    if (isUndelivered(entry)) {
      markRow(entry.code, "undelivered-queued", S.undelivered_pending_row);
      continue;
    }
    known.delivered = true;
    markRow(entry.code, "queued", S.pending_row);
  }
}

async function cacheThisPage() {
  if (!("caches" in window) || navigator.serviceWorker?.controller) return;
  try {
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok || response.redirected) return;
    const cache = await caches.open("linli-delivery-pages");
    await cache.put(location.pathname, response);
  } catch (err) {
    // offline on the very first visit
  }
}

function wireUp() {
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    process($("code").value);
  });
  root.addEventListener("submit", (event) => {
    const form = event.target.closest(".undelivered form");
    if (!form) return;
    event.preventDefault();
    markUndelivered(form);
  });
  $("rejected-clear").addEventListener("click", clearRejected);
  $("camera-start").addEventListener("click", openCamera);
  $("camera-stop").addEventListener("click", camera.stopCamera);
  $("scan-photo").addEventListener("change", async (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (!file) return;
    let text = null;
    try {
      text = await camera.decodePhoto(file);
    } catch (err) {
      text = null;
    }
    if (!text) return showError(S.no_qr_in_photo);
    process(text);
  });
  $("door-photo-input").addEventListener("change", (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (file) uploadDoorPhoto(file);
  });
  window.addEventListener("online", () => {
    reachable = true;
    render();
    syncNow();
  });
  window.addEventListener("offline", render);
  $("retry").addEventListener("click", syncNow);
}

async function start() {
  wireUp();
  persistent = await store.isPersistent();
  await updateQueue();
  await markJournal();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.urls.service_worker).catch(() => {});
    await cacheThisPage();
  }
  await sync();
  root.dataset.ready = "yes";
}

start();
