// What every benchmark writes beside its printed table: benchmarks/results/<name>.md, with the
// date, the command, the machine and the load average when it started and ended, so that a
// figure quoted in the README can be traced to the run that measured it.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The machine in one line: CPU model and count, memory, Node. */
export function machine(): string {
  const c = cpus();
  return `${c[0]?.model ?? 'unknown CPU'} x ${c.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Median and minimum of a list of numbers. */
export function stats(values: number[]): { median: number; min: number } {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]! };
}

/** Collects a benchmark's lines (printing them as they come) and writes the results file. */
export class Results {
  readonly #lines: string[] = [];
  readonly #started = new Date();
  readonly #loadAtStart = load();

  constructor(
    readonly name: string,
    readonly title: string,
  ) {}

  /** Prints a line and keeps it for the file. */
  line(text = ''): void {
    console.log(text);
    this.#lines.push(text);
  }

  /** Prints and keeps a Markdown table. */
  table(header: string[], rows: string[][]): void {
    this.line(`| ${header.join(' | ')} |`);
    this.line(`| ${header.map(() => '---').join(' | ')} |`);
    for (const r of rows) this.line(`| ${r.join(' | ')} |`);
  }

  /** Writes benchmarks/results/<name>.md and returns its path relative to the repository. */
  write(): string {
    const path = join(here, 'results', `${this.name}.md`);
    mkdirSync(dirname(path), { recursive: true });
    const head = [
      `# ${this.title}`,
      '',
      `- run: ${this.#started.toISOString()}, \`${['node', ...process.argv.slice(1).map((a) => relative(process.cwd(), a) || a)].join(' ')}\``,
      `- machine: ${machine()}`,
      `- load average (1, 5, 15 min): ${this.#loadAtStart} at the start, ${load()} at the end`,
      '',
    ];
    writeFileSync(path, [...head, ...this.#lines, ''].join('\n'));
    const rel = relative(join(here, '..'), path);
    console.log(`\nwrote ${rel}`);
    return rel;
  }
}

/**
 * A benchmark engine: a child process answering one JSON line per command, run with
 * MIST_NUM_THREADS = threads. `next()` reads its next line; `ask(c)` sends a command and reads
 * the answer.
 */
export function engine<R>(threads: number, cmd: string, args: string[]) {
  const p = spawn(cmd, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, MIST_NUM_THREADS: String(threads) },
  });
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<R> => {
    const l = await lines.next();
    if (l.done) throw new Error(`${cmd} ended early`);
    return JSON.parse(l.value as string) as R;
  };
  return {
    next,
    ask: async (c: string) => {
      p.stdin!.write(`${c}\n`);
      return next();
    },
  };
}
