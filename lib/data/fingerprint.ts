// A run's fingerprint: one SHA-256 over everything that decides its results, so that a run
// resumed with other options, data or starting weights is refused instead of mixing two runs.
import { createHash, type Hash } from 'node:crypto';

function feed(h: Hash, value: unknown): void {
  if (value === undefined) {
    h.update('u;');
  } else if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    h.update(`${JSON.stringify(value)};`);
  } else if (typeof value === 'number') {
    // Object.is keeps -0 apart from 0; String() is exact for doubles.
    h.update(`n${Object.is(value, -0) ? '-0' : String(value)};`);
  } else if (typeof value === 'bigint') {
    h.update(`b${value};`);
  } else if (ArrayBuffer.isView(value)) {
    // The bytes and the element type: a Float32Array and a Uint8Array of the same bytes differ.
    h.update(`t${value.constructor.name}:${value.byteLength}:`);
    h.update(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    h.update(';');
  } else if (Array.isArray(value)) {
    h.update(`a${value.length}[`);
    for (const v of value) feed(h, v);
    h.update(']');
  } else if (value instanceof Map) {
    h.update(`m${value.size}{`);
    for (const [k, v] of value) {
      feed(h, k);
      feed(h, v);
    }
    h.update('}');
  } else if (typeof value === 'object') {
    // Keys sorted: two objects built in another order are the same options. Undefined fields
    // are left out, as JSON leaves them out.
    const keys = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort();
    h.update(`o${keys.length}{`);
    for (const k of keys) {
      h.update(`${JSON.stringify(k)}:`);
      feed(h, (value as Record<string, unknown>)[k]);
    }
    h.update('}');
  } else {
    // Functions and symbols decide nothing a run writes.
    h.update(`${typeof value};`);
  }
}

/**
 * The SHA-256 (hex) of a value of plain data: objects (keys in any order), arrays, Maps (in
 * order), typed arrays (by their bytes), numbers, strings, booleans, null. Sync.
 */
export function fingerprint(value: unknown): string {
  const h = createHash('sha256');
  feed(h, value);
  return h.digest('hex');
}
