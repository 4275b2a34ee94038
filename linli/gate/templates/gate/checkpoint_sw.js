// The checkpoint page's service worker (served by linli.gate.views_checkpoint.service_worker).
// It keeps the page and its static files so that a reload without network still opens the page;
// scans and the offline bundle are the page's own business (IndexedDB), not the worker's.
const VERSION = "{{ version }}";
const SHELL = "linli-gate-shell-" + VERSION;
const PAGES = "linli-gate-pages";
const SHELL_FILES = {{ shell|safe }};
const SCOPE = "{{ scope }}";
const LAST_PAGE = SCOPE + "__last__";
const OFFLINE_TEXT = {{ offline_text|safe }};
const PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(SHELL_FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("linli-gate-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isCheckpointPage(url) {
  return /\/checkpoints\/\d+\/$/.test(url.pathname);
}

async function page(request) {
  const url = new URL(request.url);
  const cache = await caches.open(PAGES);
  // The start page (/gate/) redirects a guard to their checkpoint: offline, the last checkpoint page.
  const cached = (await cache.match(url.pathname)) || (url.pathname === SCOPE ? await cache.match(LAST_PAGE) : undefined);
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected && isCheckpointPage(url)) {
      await cache.put(url.pathname, response.clone());
      await cache.put(LAST_PAGE, response.clone());
    }
    return response;
  });
  if (!cached) {
    return network.catch(
      () => new Response(OFFLINE_TEXT, { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } }),
    );
  }
  // A gate's network may hang rather than fail: after a few seconds, the kept page.
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), PAGE_TIMEOUT_MS));
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
  } catch (err) {
    // offline
  }
  network.catch(() => {});
  return cached;
}

async function shell(request) {
  const cache = await caches.open(SHELL);
  const hit = await cache.match(request, { ignoreSearch: true });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Only the checkpoint pages and the start page: the gate's other pages are not made for offline use.
  if (request.mode === "navigate" && (isCheckpointPage(url) || url.pathname === SCOPE)) {
    event.respondWith(page(request));
  } else if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(shell(request));
  }
});
