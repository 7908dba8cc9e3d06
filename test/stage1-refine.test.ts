import * as assert from 'uvu/assert';
import { refinePseudoLabels } from '../lib/index.js';
import { expectCode, test } from './helpers.js';

function close(actual: Float32Array, expected: number[], what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < 1e-6, `${what}[${i}]: ${actual[i]} vs ${e}`));
}

test('a single spike spreads into a triangle; anomalous videos are then stretched to [0, 1]', () => {
  // x = [0,0,0,0,10,0,0,0,0]. Pass 1: the 10 adds 10/5 = 2 to the five windows that hold it
  //   (i = 2..6): y1 = [0,0,2,2,2,2,2,0,0].
  // Pass 2 (edges repeat y1[0] = y1[8] = 0): window sums 2,4,6,8,10,8,6,4,2, /5:
  //   y2 = [0.4,0.8,1.2,1.6,2.0,1.6,1.2,0.8,0.4].
  // Anomalous: min 0.4, max 2.0, (y - 0.4) / 1.6 = [0,0.25,0.5,0.75,1,0.75,0.5,0.25,0].
  const x = [0, 0, 0, 0, 10, 0, 0, 0, 0];
  close(refinePseudoLabels(x, { anomalous: false }), [0.4, 0.8, 1.2, 1.6, 2.0, 1.6, 1.2, 0.8, 0.4], 'normal');
  close(refinePseudoLabels(x, { anomalous: true }), [0, 0.25, 0.5, 0.75, 1, 0.75, 0.5, 0.25, 0], 'anomalous');
});

test('edges are padded by repeating the edge value (not zeros), twice', () => {
  // x = [1,0,0,0]. Pass 1 pads to [1,1 | 1,0,0,0 | 0,0]:
  //   y1 = [(1+1+1+0+0)/5, (1+1+0+0+0)/5, (1+0+0+0+0)/5, 0] = [0.6,0.4,0.2,0].
  // Pass 2 pads to [.6,.6 | .6,.4,.2,0 | 0,0]:
  //   y2 = [2.4/5, 1.8/5, 1.2/5, 0.6/5] = [0.48,0.36,0.24,0.12].
  // (Zero padding would give pass 1 = [0.2, 0.2, 0.2, 0] instead.)
  // Anomalous: min 0.12, range 0.36 -> [1, 2/3, 1/3, 0].
  close(refinePseudoLabels([1, 0, 0, 0], { anomalous: false }), [0.48, 0.36, 0.24, 0.12], 'normal');
  close(refinePseudoLabels([1, 0, 0, 0], { anomalous: true }), [1, 2 / 3, 1 / 3, 0], 'anomalous');
});

test('two clips: windows are all edge padding', () => {
  // x = [0,1]. Pass 1: i=0 window x0,x0,x0,x1,x1 = 2/5 = 0.4; i=1 window x0,x0,x1,x1,x1 = 0.6.
  // Pass 2: i=0: .4,.4,.4,.6,.6 = 2.4/5 = 0.48; i=1: .4,.4,.6,.6,.6 = 2.6/5 = 0.52.
  close(refinePseudoLabels([0, 1], { anomalous: false }), [0.48, 0.52], 'normal');
  close(refinePseudoLabels([0, 1], { anomalous: true }), [0, 1], 'anomalous');
});

test('min-max is skipped for one clip, for a constant video, and for normal videos', () => {
  close(refinePseudoLabels([0.7], { anomalous: true }), [0.7], 'one clip');
  close(refinePseudoLabels([0.3, 0.3, 0.3], { anomalous: true }), [0.3, 0.3, 0.3], 'constant');
  assert.is(refinePseudoLabels([], { anomalous: true }).length, 0);
  const y = refinePseudoLabels(Float32Array.from([0.2, 0.9, 0.1]), { anomalous: false });
  assert.instance(y, Float32Array);
  // Normal: the smoothed mean is kept (the filter preserves a constant, not a scale): all values
  // stay inside [min x, max x] and no value is stretched to 0 or 1.
  assert.ok(y.every((v) => v > 0.1 && v < 0.9));
});

test('bad input fails with ERR_MIST_ARG', async () => {
  await expectCode(() => refinePseudoLabels([0, NaN], { anomalous: true }), 'ERR_MIST_ARG');
  await expectCode(() => refinePseudoLabels([0, 1], {} as never), 'ERR_MIST_ARG');
  await expectCode(() => refinePseudoLabels([0, 1], { anomalous: 'yes' } as never), 'ERR_MIST_ARG');
  const messages: [() => unknown, RegExp][] = [
    [() => refinePseudoLabels([0, Infinity], { anomalous: false }), /^scores must be finite numbers$/],
    [
      () => refinePseudoLabels([0, 1], { anomalous: 'yes' } as never),
      /^invalid refine options: anomalous: must be true or false \(got "yes"\)$/,
    ],
    [
      () => refinePseudoLabels([0, 1], {} as never),
      /^invalid refine options: anomalous: must be true or false \(got nothing\)$/,
    ],
  ];
  for (const [fn, re] of messages) assert.match((await expectCode(fn, 'ERR_MIST_ARG')).message, re);
  // No clips: no labels, for both classes.
  assert.equal(Array.from(refinePseudoLabels([], { anomalous: true })), []);
  assert.equal(Array.from(refinePseudoLabels([], { anomalous: false })), []);
});

test.run();
