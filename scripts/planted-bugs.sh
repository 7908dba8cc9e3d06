#!/usr/bin/env bash
# Plants, one at a time, the four stage-1 bugs that once passed every test (the MIL hinge
# without max(0, .), no gradient clipping, no dropout in the training step, trainGenerator
# ignoring lossVariant), rebuilds, runs the stage-1 tests and prints which fail, then restores
# the file and the build. Every bug must fail at least one test. Run: scripts/planted-bugs.sh
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -n "$(git status --porcelain native lib)" ]; then echo "planted-bugs: commit or stash native/ and lib/ first" >&2; exit 2; fi
run() {
  local name="$1" file="$2" from="$3" to="$4" native="$5"
  local backup; backup=$(mktemp)
  cp "$file" "$backup"
  python3 - "$file" "$from" "$to" <<'PY'
import sys
p, a, b = sys.argv[1:4]
s = open(p).read()
assert a in s, f"pattern not found in {p}"
open(p, 'w').write(s.replace(a, b, 1))
PY
  if [ "$native" = 1 ]; then npm run build:native > /tmp/plant-build.log 2>&1 || { echo "$name: BUILD FAILED"; cp "$backup" "$file"; return; }; fi
  out=$(node scripts/run-tests.mjs stage1-step-reference stage1-options stage1-native-loss stage1-train stage1-generator-torch 2>&1)
  echo "== $name"
  echo "$out" | grep -E "^# .*test.ts:|^tests:"
  echo "$out" | grep -E "FAIL " | sort | uniq | head -12
  cp "$backup" "$file"
  rm -f "$backup"
  if [ "$native" = 1 ]; then npm run build:native > /tmp/plant-build.log 2>&1; fi
}
run "hinge without max(0, .)" native/mil_loss.cc 'torch::clamp_min(1.0 - sa.view({1, -1}) + sn.view({-1, 1}), 0.0).mean()' '(1.0 - sa.view({1, -1}) + sn.view({-1, 1})).mean()' 1
run "no gradient clipping" native/generator.cc 'r.gradNorm = torch::nn::utils::clip_grad_norm_(net_->parameters(), config_.gradClip);' 'r.gradNorm = torch::nn::utils::clip_grad_norm_(net_->parameters(), 1e30);' 1
run "no dropout in the training step" native/generator.cc 'auto scores = net_->forward(x.to(config_.device), &drop_)' 'auto scores = net_->forward(x.to(config_.device), nullptr)' 1
run "trainGenerator ignores lossVariant" lib/stage1/train.ts 'lossVariant: o.lossVariant,' "lossVariant: 'topk',"  0
git status --short native lib
