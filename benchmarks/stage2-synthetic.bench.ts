// MIST end to end on the synthetic surveillance set (runSyntheticMist): frame AUC of the test
// videos from the untrained encoder's own head, from stage 1 on its features, and from the
// encoder after stage-2 fine-tuning (last epoch, no model selection), over several seeds.
// Run: npm run bench:stage2-synthetic [-- EPOCHS SEEDS]; writes benchmarks/results/stage2-synthetic.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runSyntheticMist } from '../lib/index.js';
import { Results } from './results.js';

const epochs = Number(process.argv[2] ?? 60);
const seeds = (process.argv[3] ?? '0,1,2').split(',').map(Number);
const res = new Results('stage2-synthetic', 'MIST end to end on the synthetic surveillance set');
const dir = mkdtempSync(join(tmpdir(), 'mist-synthetic-'));
res.line(
  `Per seed: 16 + 16 training and 12 + 12 test videos (64 x 64, 96-160 frames, 3 fixed cameras), a C3D of width 1/8 ` +
    `at 16 x 32 x 32 (PyTorch's default initialisation), stage 1 300 steps on its features, stage 2 ${epochs} epochs ` +
    `(4 + 4 videos per step, lr 1e-3, dropout 0.5, the backbone trained from the first epoch, frames cached).`,
);
res.line();
const rows: string[][] = [];
const auc = { untrained: [] as number[], stage1: [] as number[], finetuned: [] as number[] };
for (const seed of seeds) {
  const r = await runSyntheticMist({ dir, seed, epochs });
  auc.untrained.push(r.untrained.auc);
  auc.stage1.push(r.stage1.auc);
  auc.finetuned.push(r.finetuned.auc);
  rows.push([
    String(seed),
    r.untrained.auc.toFixed(4),
    r.stage1.auc.toFixed(4),
    r.finetuned.auc.toFixed(4),
    `${r.seconds.total.toFixed(0)} s`,
  ]);
  console.log(rows[rows.length - 1]!.join('  '));
}
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
rows.push(['mean', mean(auc.untrained).toFixed(4), mean(auc.stage1).toFixed(4), mean(auc.finetuned).toFixed(4), '']);
res.table(['seed', 'untrained encoder', 'stage 1 (generator)', 'stage 2 (fine-tuned encoder)', 'time'], rows);
res.write();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
