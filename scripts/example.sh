#!/usr/bin/env bash
# The main job on the example project: runs the bundled action as a release of v1.0.0 on
# examples/hello for three platforms. It pushes to a throwaway local registry and prints the
# per-platform digests; where no registry image can be had, it builds locally instead
# (push: false) and writes one loadable archive per platform. Needs Docker with buildx.
set -euo pipefail
cd "$(dirname "$0")/.."

registry="${EXAMPLE_REGISTRY:-${CTR_REGISTRY_NOAUTH:-}}"
started=''
if [ -z "$registry" ] && started=$(docker run -d --rm -p 127.0.0.1::5000 registry:2 2>/dev/null); then
  trap 'docker rm -f "$started" >/dev/null' EXIT
  registry="127.0.0.1:$(docker port "$started" 5000/tcp | head -n 1 | sed 's/.*://')"
  for _ in $(seq 50); do curl -fs "http://$registry/v2/" >/dev/null && break; sleep 0.1; done
fi

node scripts/example.js "$registry" "${CTR_BASE_IMAGE:-busybox:latest}"
