#!/usr/bin/env bash
# The house style, checked: ESLint and Prettier for the TypeScript and scripts, clang-format for
# native/. Exits non-zero on the first tool that finds a problem. `--fix` applies all three.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "lint: clang-format is missing (sudo apt-get install -y clang-format)" >&2
  exit 2
fi
if [ "${1:-}" = "--fix" ]; then
  npx eslint --fix .
  npx prettier --write --log-level warn .
  clang-format -i native/*.cc native/*.h
  exit 0
fi
npx eslint .
npx prettier --check --log-level warn .
clang-format --dry-run --Werror native/*.cc native/*.h
echo "lint: ESLint, Prettier and clang-format found nothing"
