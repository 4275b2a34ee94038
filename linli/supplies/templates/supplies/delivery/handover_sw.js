// The hand-over page's service worker (served by linli.supplies.views_delivery.service_worker).
// It keeps the page and its static files so that a reload without network still opens the page;
// the scans themselves are the page's business (IndexedDB), as on the gate's checkpoint page.
const VERSION = "{{ version }}";
const SHELL = "linli-delivery-shell-" + VERSION;
const PAGES = "linli-delivery-pages";
const SHELL_FILES = {{ shell|safe }};
const PAGE = "{{ page }}";
const OFFLINE_TEXT = {{ offline_text|safe }};
const PAGE_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("linli-delivery-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function page(request) {
  const url = new URL(request.url);
  const cache = await caches.open(PAGES);
  const cached = await cache.match(url.pathname);
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected) await cache.put(url.pathname, response.clone());
    return response;
  });
  if (!cached) {
    return network.catch(() => new Response(OFFLINE_TEXT, { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } }));
  }
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
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(page(request));
  } else if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(shell(request));
  }
});
