// What training checkpoints share: the hidden temporaries the native atomic writes leave
// behind when a process is killed mid-write, found and removed when a run resumes.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The temporary name native writes use beside `name`: `.<name>.<pid>.<n>.tmp`. */
function temporaryOf(name: string, file: string): number | undefined {
  if (!file.startsWith(`.${name}.`) || !file.endsWith('.tmp')) return undefined;
  const m = /^(\d+)\.\d+$/.exec(file.slice(name.length + 2, -4));
  return m ? Number(m[1]) : undefined;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries of `names` in `dir` left by processes that no longer run (a write
 * killed before its rename); those of live processes stay. Sync; returns the files removed.
 * A folder that cannot be read removes nothing.
 */
export function removeStaleTemporaries(dir: string, names: readonly string[]): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const f of files) {
    for (const name of names) {
      const pid = temporaryOf(name, f);
      if (pid === undefined || alive(pid)) continue;
      rmSync(join(dir, f), { force: true });
      removed.push(f);
    }
  }
  return removed;
}
