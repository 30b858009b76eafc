#!/usr/bin/env bash
# The B side of the real-toolchain comparison in bench/run.mjs: the bare docker commands
# that give the same result as one multiarch-release step (log in, create and boot a fresh
# docker-container builder on the host network, build and push every platform under the
# given tags, read the pushed index, log out, remove the builder), with nothing around them.
#
#   BARE_PASSWORD=... bench/bare.sh --registry HOST --username USER --image NAME \
#     --platforms P1,P2 --builder NAME --metadata-file FILE [--tag REF]... [--file DOCKERFILE] CONTEXT
#
# Prints the raw index (`buildx imagetools inspect --raw`) on stdout and one line per command
# with its duration on stderr. Uses DOCKER_CONFIG as given: the caller makes a fresh one.
set -euo pipefail

usage() {
  echo "usage: BARE_PASSWORD=... $0 --registry HOST --username USER --image NAME --platforms LIST --builder NAME --metadata-file FILE [--tag REF]... [--file DOCKERFILE] CONTEXT" >&2
  exit 2
}

registry='' username='' image='' platforms='' builder='' metadata='' file='' context=''
tags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --registry) registry=$2; shift 2 ;;
    --username) username=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --platforms) platforms=$2; shift 2 ;;
    --builder) builder=$2; shift 2 ;;
    --metadata-file) metadata=$2; shift 2 ;;
    --tag) tags+=(--tag "$2"); shift 2 ;;
    --file) file=$2; shift 2 ;;
    -*) usage ;;
    *) context=$1; shift ;;
  esac
done
[[ -n "$registry" && -n "$username" && -n "$image" && -n "$platforms" && -n "$builder" && -n "$metadata" && -n "$context" && ${#tags[@]} -gt 0 ]] || usage
: "${BARE_PASSWORD:?set BARE_PASSWORD}"

timed() {
  local what=$1 started=$EPOCHREALTIME
  shift
  "$@"
  local ended=$EPOCHREALTIME
  printf 'bare: %s %s ms\n' "$what" "$(((${ended/./} - ${started/./}) / 1000))" >&2
}

created=''
logged_in=''
# On failure, undo what was done, as the action's post step would.
cleanup() {
  local code=$?
  if [[ $code -ne 0 ]]; then
    [[ -n "$logged_in" ]] && docker logout "$registry" >/dev/null 2>&1 || true
    [[ -n "$created" ]] && docker buildx rm --force "$builder" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Everything but the raw index goes to stderr; build progress streams there as the action's does.
timed login docker login --username "$username" --password-stdin "$registry" <<<"$BARE_PASSWORD" >&2
logged_in=1
created=1
timed create docker buildx create --name "$builder" --driver docker-container --driver-opt network=host --bootstrap >&2

build=(docker buildx build --builder "$builder" --platform "$platforms")
[[ -n "$file" ]] && build+=(--file "$file")
build+=("${tags[@]}" --push --metadata-file "$metadata" -- "$context")
timed build "${build[@]}" >&2

json=$(<"$metadata")
[[ "$json" =~ \"containerimage.digest\":\ *\"(sha256:[0-9a-f]{64})\" ]] || { echo "bare: no containerimage.digest in $metadata" >&2; exit 1; }
timed inspect docker buildx imagetools inspect --raw "$image@${BASH_REMATCH[1]}"

timed logout docker logout "$registry" >&2
logged_in=''
timed rm docker buildx rm --force "$builder" >&2
created=''
