#!/usr/bin/env bash
# The whole test suite: lint, types, dist check and unit tests, then the
# end-to-end tests that run the bundled action against a real engine and registry.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--experimental-vm-modules"

npm run --silent lint
npm run --silent typecheck
npx jest --selectProjects unit
if [ -z "${CTR_REGISTRY:-}" ]; then
  # No toolchain environment: start throwaway registries on this machine's Docker.
  # shellcheck disable=SC1091
  source scripts/test-registries.sh
fi
npx jest --selectProjects e2e --runInBand
