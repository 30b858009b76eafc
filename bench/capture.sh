#!/usr/bin/env bash
# Captures, for bench/fake-docker.sh, what the real CLI prints for
#   docker buildx imagetools inspect --format '{{json .}}' <image>@<digest>
# for every build captured in __tests__/fixtures/buildx/ (its <shape>.metadata.json names the
# image and the digest), into bench/fixtures/<shape>.inspect.json.
#
# The images must still be in the registry __tests__/fixtures/capture.sh pushed them to; after
# a new run of capture.sh (new digests), run this again. Needs docker with buildx and jq; no
# builder and no login (the fixture registry is CTR_REGISTRY_NOAUTH).
set -euo pipefail

for tool in docker jq; do
  command -v "$tool" >/dev/null || { echo "capture.sh: $tool is required" >&2; exit 1; }
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../__tests__/fixtures/buildx"
out="$here/fixtures"
mkdir -p "$out"

for metadata in "$fixtures"/*.metadata.json; do
  shape="$(basename "$metadata" .metadata.json)"
  name="$(jq -r '."image.name"' "$metadata")"
  digest="$(jq -r '."containerimage.digest"' "$metadata")"
  repository="${name%:*}"
  docker buildx imagetools inspect --format '{{json .}}' "$repository@$digest" >"$out/$shape.inspect.json"
  echo "captured $shape.inspect.json ($repository@$digest)"
done
