#!/usr/bin/env bash
# npm run bench: the overhead benchmark writes bench/RESULTS.md; the retry, archive
# and verify benchmarks append their tables to it (they need the toolchain's CTR_* environment).
set -euo pipefail
cd "$(dirname "$0")/.."
node bench/run.mjs
if [ -n "${CTR_REGISTRY_NOAUTH:-}" ]; then
  { echo; node bench/retries.mjs; echo; node bench/archive.mjs; echo; node bench/verify.mjs; } >> bench/RESULTS.md
fi
