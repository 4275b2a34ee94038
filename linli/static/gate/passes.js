// Signed passes on the phone: the same layout as linli/gate/passes.py, verified with the cached public
// keys so that a gate decides without the network.
//
//   byte 0 kind (1 household pass, 2 outing ticket, 3 exempt pass) | bytes 1–2 key id | bytes 3–6
//   subject | bytes 7–8 issue number | bytes 9–10 first valid day | bytes 11–12 last valid day
//   (days since 2020-01-01) | byte 13 member count n | 4·n bytes member ids | 64 bytes Ed25519 signature
//
// Ed25519: WebCrypto where the browser has it (Chromium 137+, Safari 17+, Firefox 129+), otherwise
// the vendored @noble/ed25519 (older phones), which hashes with WebCrypto's SHA-512.

export const PREFIX = "LL1";
export const KIND = { HOUSEHOLD: 1, TICKET: 2, EXEMPT: 3 };
const HEADER_SIZE = 14;
const SIGNATURE_SIZE = 64;
const MAX_MEMBERS = 8;
const EPOCH_MS = Date.UTC(2020, 0, 1);
const DAY_MS = 86400000;
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export class PassError extends Error {}

export function base32Decode(text) {
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = B32.indexOf(ch);
    if (index < 0) throw new PassError("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

export function dayToIso(days) {
  return new Date(EPOCH_MS + days * DAY_MS).toISOString().slice(0, 10);
}

export function isPassText(text) {
  return (text || "").trim().toUpperCase().startsWith(PREFIX);
}

/** The payload of a pass text, unverified: {kind, kid, subject, issueNo, validFrom, validUntil, members, body, signature}. */
export function parsePass(text) {
  const clean = (text || "").trim().toUpperCase();
  if (!clean.startsWith(PREFIX)) throw new PassError("not a linli pass");
  const raw = base32Decode(clean.slice(PREFIX.length).replace(/=+$/, ""));
  if (raw.length < HEADER_SIZE + SIGNATURE_SIZE) throw new PassError("too short");
  const view = new DataView(raw.buffer);
  const count = raw[13];
  if (count > MAX_MEMBERS) throw new PassError("too many members");
  const bodySize = HEADER_SIZE + 4 * count;
  if (raw.length !== bodySize + SIGNATURE_SIZE) throw new PassError("wrong length");
  const kind = raw[0];
  if (![KIND.HOUSEHOLD, KIND.TICKET, KIND.EXEMPT].includes(kind)) throw new PassError("unknown kind");
  const members = [];
  for (let i = 0; i < count; i++) members.push(view.getUint32(HEADER_SIZE + 4 * i));
  return {
    kind,
    kid: view.getUint16(1),
    subject: view.getUint32(3),
    issueNo: view.getUint16(7),
    validFrom: dayToIso(view.getUint16(9)),
    validUntil: dayToIso(view.getUint16(11)),
    members,
    body: raw.slice(0, bodySize),
    signature: raw.slice(bodySize),
  };
}

// --- pass numbers: 9 digits and a Luhn check digit ---------------------------------------------

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** "number" for a valid pass number, "bad_check" for ten digits that fail the check, "" otherwise. */
export function numberStatus(value) {
  const digits = (value || "").replace(/[\s-]/g, "");
  if (!/^[0-9]{10}$/.test(digits)) return { status: "", digits };
  return { status: luhnValid(digits) ? "number" : "bad_check", digits };
}

// --- signatures ---------------------------------------------------------------------------------

function b64ToBytes(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The phone cannot check signatures: neither WebCrypto Ed25519 nor the vendored module could be loaded. */
export class EngineUnavailable extends Error {}

export class Verifier {
  constructor(keys) {
    this.raw = {};
    for (const [kid, b64] of Object.entries(keys || {})) this.raw[kid] = b64ToBytes(b64);
    this.imported = {};
    this.engine = null; // "webcrypto" or "noble", decided on first use
    this.noble = null; // the vendored module, loaded as soon as the engine is decided
    this.readying = null;
  }

  async _webcrypto(kid) {
    if (!(kid in this.imported)) {
      this.imported[kid] = await crypto.subtle.importKey("raw", this.raw[kid], { name: "Ed25519" }, false, ["verify"]);
    }
    return this.imported[kid];
  }

  async _decide(kid) {
    if (this.engine) return this.engine;
    try {
      await this._webcrypto(kid);
      this.engine = "webcrypto";
    } catch (err) {
      this.engine = "noble";
    }
    return this.engine;
  }

  async _loadNoble() {
    if (!this.noble) {
      try {
        this.noble = await import("./vendor/noble-ed25519.js");
      } catch (err) {
        throw new EngineUnavailable(String(err));
      }
    }
    return this.noble;
  }

  /**
   * Decide the engine and load what it needs now, while the page is likely online: a phone without
   * WebCrypto Ed25519 that first needs the vendored module after the network dropped could not fetch it
   * (unless the service worker already controls the page). Safe to call more than once.
   */
  ready() {
    if (!this.readying) {
      const kids = Object.keys(this.raw);
      this.readying = (async () => {
        if (!kids.length) return null;
        const engine = await this._decide(kids[0]);
        if (engine === "noble") await this._loadNoble();
        return engine;
      })();
      // A failed load is tried again on the next call (the network may be back).
      this.readying.catch(() => {
        this.readying = null;
      });
    }
    return this.readying;
  }

  /**
   * Whether the pass is signed by one of the keys; false for an unknown key. Throws EngineUnavailable
   * when the phone has no way to check a signature (never a false "forged").
   */
  async verify(pass) {
    const kid = String(pass.kid);
    if (!(kid in this.raw)) return false;
    const engine = await this._decide(kid);
    if (engine === "webcrypto") {
      const key = await this._webcrypto(kid);
      return crypto.subtle.verify({ name: "Ed25519" }, key, pass.signature, pass.body);
    }
    const ed = await this._loadNoble();
    try {
      // zip215: false is RFC 8032 verification, as the server's (OpenSSL) is.
      return await ed.verifyAsync(pass.signature, pass.body, this.raw[kid], { zip215: false });
    } catch (err) {
      return false;
    }
  }
}
