// A one-line progress bar on stderr for the CLI (plain lines when stderr is not a terminal):
// done/total, the rate in units per second, the elapsed time and the time left.
export interface ProgressBar {
  update(done: number, note?: string): void;
  finish(note?: string): void;
}

/** Sync: a progress bar for `total` units of work labelled `label`. */
export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true;
  const t0 = Date.now();
  let lastPlain = -1;
  const render = (done: number, note = '') => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const secs = (Date.now() - t0) / 1000;
    const eta = done > 0 ? (secs / done) * (total - done) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const rate = secs > 0 ? done / secs : 0;
    const perSecond = rate >= 10 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toFixed(2);
    return `${label} [${bar}] ${done}/${total} ${perSecond}/s ${secs.toFixed(0)}s${done < total ? ` eta ${eta.toFixed(0)}s` : ''} ${note}`;
  };
  return {
    update(done, note) {
      if (tty) {
        stream.write(`\r${render(done, note)}\x1b[K`);
      } else {
        // Without a terminal, one line per 10 % keeps logs readable.
        const decile = Math.floor((done / Math.max(total, 1)) * 10);
        if (decile !== lastPlain) {
          lastPlain = decile;
          stream.write(`${render(done, note)}\n`);
        }
      }
    },
    finish(note) {
      if (tty) stream.write(`\r${render(total, note)}\x1b[K\n`);
      else if (note) stream.write(`${render(total, note)}\n`);
    },
  };
}
