// An offline page's service worker (rendered by linli.lib.views.offline_worker): the gate's
// checkpoint pages, the volunteer's hand-over page. It keeps the pages and their static files so
// that a reload without network still opens them; what the page records (scans, hand-overs) is the
// page's own business (IndexedDB, static/linli/kept.js), not the worker's.
const VERSION = "{{ version }}";
const SHELL_PREFIX = "linli-{{ name }}-shell-";
const SHELL = SHELL_PREFIX + VERSION;
const PAGES = "linli-{{ name }}-pages";
const SHELL_FILES = {{ shell|safe }};
// The pages kept for offline use (a pattern of their paths), and the start page that redirects to
// one of them (null: none): offline, the start page opens the page last kept.
const KEPT = new RegExp({{ kept|safe }});
const START = {{ start|safe }};
const LAST_PAGE = "{{ scope }}__last__";
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
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith(SHELL_PREFIX) && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isKept(url) {
  return KEPT.test(url.pathname);
}

async function page(request) {
  const url = new URL(request.url);
  const cache = await caches.open(PAGES);
  const cached = (await cache.match(url.pathname)) || (url.pathname === START ? await cache.match(LAST_PAGE) : undefined);
  const network = fetch(request).then(async (response) => {
    if (response.ok && !response.redirected && isKept(url)) {
      await cache.put(url.pathname, response.clone());
      if (START !== null) await cache.put(LAST_PAGE, response.clone());
    }
    return response;
  });
  if (!cached) {
    return network.catch(
      () => new Response(OFFLINE_TEXT, { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } }),
    );
  }
  // A gate's or a stairwell's network may hang rather than fail: after a few seconds, the kept page.
  // A server in trouble (a 502 from the proxy, a 500) is no better than no network: the kept page,
  // which records without it; its other answers (the login page, 404) are the server's word.
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), PAGE_TIMEOUT_MS));
  try {
    const first = await Promise.race([network, timeout]);
    if (first && first.status < 500) return first;
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
  // Only the kept pages and the start page: the other pages under the scope are not made for offline use.
  if (request.mode === "navigate" && (isKept(url) || url.pathname === START)) {
    event.respondWith(page(request));
  } else if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(shell(request));
  }
});
