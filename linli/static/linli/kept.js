// What an offline page keeps on the phone: named stores of records in IndexedDB, each with a key
// field and at most one indexed field. A browser that has no IndexedDB, or refuses to open it (some
// private modes), gets the same stores in memory: the page works while it stays open, and
// persistent() tells it to warn that closing it loses what waits for the network. A write the
// browser refuses (a full phone: QuotaExceededError) still fails, for the page to say so.

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export class Kept {
  /** ``stores``: {name: {key: "field", index: "field" (optional)}}; a store missing from an older
   * version of the database is created on upgrade. */
  constructor(name, version, stores) {
    this.name = name;
    this.version = version;
    this.stores = stores;
    this.opened = null;
    this.memory = null; // {store name: Map} once IndexedDB could not be opened
  }

  open() {
    if (!this.opened) {
      this.opened = new Promise((resolve, reject) => {
        const req = indexedDB.open(this.name, this.version);
        req.onupgradeneeded = () => {
          const db = req.result;
          for (const [name, { key, index }] of Object.entries(this.stores)) {
            if (db.objectStoreNames.contains(name)) continue;
            const store = db.createObjectStore(name, { keyPath: key });
            if (index) store.createIndex(index, index);
          }
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return this.opened;
  }

  /** The database, or null when the browser cannot keep one (the stores live in memory then). */
  async database() {
    if (this.memory) return null;
    try {
      return await this.open();
    } catch (err) {
      this.memory = Object.fromEntries(Object.keys(this.stores).map((name) => [name, new Map()]));
      return null;
    }
  }

  /** Whether what is kept survives closing the page. */
  async persistent() {
    return (await this.database()) !== null;
  }

  async put(store, records) {
    if (!records.length) return;
    const db = await this.database();
    if (!db) {
      const key = this.stores[store].key;
      for (const record of records) this.memory[store].set(record[key], structuredClone(record));
      return;
    }
    const tx = db.transaction(store, "readwrite");
    for (const record of records) tx.objectStore(store).put(record);
    await done(tx);
  }

  async delete(store, keys) {
    if (!keys.length) return;
    const db = await this.database();
    if (!db) {
      for (const key of keys) this.memory[store].delete(key);
      return;
    }
    const tx = db.transaction(store, "readwrite");
    for (const key of keys) tx.objectStore(store).delete(key);
    await done(tx);
  }

  /** The record under ``key``, or null. */
  async get(store, key) {
    const db = await this.database();
    if (!db) {
      const record = this.memory[store].get(key);
      return record === undefined ? null : structuredClone(record);
    }
    const tx = db.transaction(store, "readonly");
    return (await request(tx.objectStore(store).get(key))) || null;
  }

  /** Every record of the store. */
  async all(store) {
    const db = await this.database();
    if (!db) return [...this.memory[store].values()].map((row) => structuredClone(row));
    const tx = db.transaction(store, "readonly");
    return request(tx.objectStore(store).getAll());
  }

  /** Every record whose indexed field is ``value``. */
  async allWith(store, value) {
    const index = this.stores[store].index;
    const db = await this.database();
    if (!db) {
      return [...this.memory[store].values()].filter((row) => row[index] === value).map((row) => structuredClone(row));
    }
    const tx = db.transaction(store, "readonly");
    return request(tx.objectStore(store).index(index).getAll(value));
  }
}
