// A small seeded random generator. Training must be reproducible from one integer seed
// across Node versions, which Math.random() cannot give; mulberry32 is fast, has a 2^32
// period (plenty for shuffles and sampling offsets) and is easy to port when a reference
// run in another language has to draw the same numbers.
import { ErrorCode, MistError } from './errors.js';

/** A seeded source of random numbers; every draw advances one shared state. */
export interface Rng {
  /** Uniform float in [0, 1), with 32 bits of randomness. */
  float(): number;
  /** Uniform integer in [lo, hi): hi is exclusive, as Python's randrange and numpy's randint. */
  int(lo: number, hi: number): number;
  /** Standard normal draw (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** The current 32-bit state, to resume a generator with createRng(state) (a cached second normal draw is not part of it). */
  state(): number;
}

/**
 * Creates a mulberry32 generator. Sync. `seed` is any integer (taken modulo 2^32). Throws
 * ERR_MIST_ARG for a seed that is not a finite integer.
 */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) {
    throw new MistError(ErrorCode.ARG, `seed must be an integer (got ${String(seed)})`);
  }
  let a = seed >>> 0;
  let spare: number | undefined;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    float: next,
    int(lo, hi) {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) {
        throw new MistError(ErrorCode.ARG, `int(lo, hi) needs integers with lo < hi (got ${lo}, ${hi})`);
      }
      return lo + Math.floor(next() * (hi - lo));
    },
    normal() {
      // Box–Muller gives two draws per pair of uniforms; keep the second for the next call.
      if (spare !== undefined) {
        const z = spare;
        spare = undefined;
        return z;
      }
      // 1 - u keeps log() away from 0.
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const phi = 2 * Math.PI * next();
      spare = r * Math.sin(phi);
      return r * Math.cos(phi);
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = items[i] as (typeof items)[number];
        items[i] = items[j] as (typeof items)[number];
        items[j] = tmp;
      }
      return items;
    },
    state: () => a,
  };
  return rng;
}
