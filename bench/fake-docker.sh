#!/usr/bin/env bash
# A scripted `docker` for the benchmark and the call-budget test: put a link named `docker`
# to this file first on PATH. It answers the calls the action makes the way the real CLI
# does, from the output captured in __tests__/fixtures/, after a fixed delay, and logs each
# call; any other call fails with a message on stderr, so an unexpected call shows up.
#
# Environment:
#   FAKE_DOCKER_LOG        file to append one JSON line per call to:
#                          {"argv":[...],"start":<s>,"end":<s>,"exit":<n>,"pid":<n>}
#                          start/end are epoch seconds with microseconds, taken when bash
#                          starts running this script and just before it exits
#   FAKE_DOCKER_DELAY_MS   milliseconds every call waits before answering (default 0)
#   FAKE_DOCKER_FIXTURES   the __tests__/fixtures directory (default: found from this file);
#                          bench/fixtures (bench/capture.sh) is found next to it
#   DOCKER_CONFIG          where builders are recorded, as buildx does (default ~/.docker)
#
# Only bash builtins run on the common path (no jq, sed or cat), so a call costs about what
# starting bash costs; `sleep`, `mkdir` and `rm` are the only programs it starts.
LC_ALL=C
start=$EPOCHREALTIME
set -u

argv=("$@")

json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  REPLY="\"$s\""
}

finish() {
  local code=$1 end=$EPOCHREALTIME line='' sep='' a
  if [[ -n "${FAKE_DOCKER_LOG:-}" ]]; then
    for a in "${argv[@]}"; do
      json_string "$a"
      line+="$sep$REPLY"
      sep=','
    done
    # One write per call, so concurrent calls never interleave within a line.
    printf '{"argv":[%s],"start":%s,"end":%s,"exit":%d,"pid":%d}\n' "$line" "$start" "$end" "$code" "$$" >>"$FAKE_DOCKER_LOG"
  fi
  exit "$code"
}

fail() {
  printf '%s\n' "$@" >&2
  finish 1
}

unexpected() {
  fail "fake docker: unexpected call: docker ${argv[*]}"
}

# Whole file into REPLY without starting cat.
slurp() {
  REPLY=''
  IFS= read -r -d '' REPLY <"$1" || true
}

fixtures=${FAKE_DOCKER_FIXTURES:-}
if [[ -z "$fixtures" ]]; then
  self=${BASH_SOURCE[0]}
  [[ -L "$self" ]] && self=$(readlink -f "$self")
  fixtures=${self%/*}/../__tests__/fixtures
fi
[[ -d "$fixtures/buildx" && -d "$fixtures/cli" ]] || fail "fake docker: no captured fixtures under $fixtures"
# The outputs only the benchmark needed, captured by bench/capture.sh.
bench_fixtures=$fixtures/../../bench/fixtures

instances=${DOCKER_CONFIG:-$HOME/.docker}/buildx/instances

delay=${FAKE_DOCKER_DELAY_MS:-0}
if [[ "$delay" != 0 ]]; then
  printf -v seconds '%d.%03d' $((delay / 1000)) $((delay % 1000))
  sleep "$seconds"
fi

# The value of an option given as `--name value` or `--name=value`; empty when absent.
option() {
  local name=$1 i
  REPLY=''
  for ((i = 0; i < ${#argv[@]}; i++)); do
    case "${argv[i]}" in
      "$name") REPLY=${argv[i + 1]:-}; return 0 ;;
      "$name"=*) REPLY=${argv[i]#*=}; return 0 ;;
    esac
  done
  return 1
}

has() {
  local a
  for a in "${argv[@]}"; do [[ "$a" == "$1" ]] && return 0; done
  return 1
}

# Non-attestation platform entries of a captured raw index.
count_platforms() {
  local line n=0
  while IFS= read -r line; do
    [[ "$line" == *'"architecture": "'* && "$line" != *'"unknown"'* ]] && n=$((n + 1))
  done <"$1"
  REPLY=$n
}

# The captured OCI-index build of as many platforms as were requested: <shape>.metadata.json
# whose descriptor is an OCI index, and whose <shape>.raw.json lists that many platforms.
pick_metadata() {
  local want=$1 f
  for f in "$fixtures"/buildx/*.metadata.json; do
    slurp "$f"
    [[ "$REPLY" == *'"mediaType": "application/vnd.oci.image.index.v1+json"'* ]] || continue
    count_platforms "${f%.metadata.json}.raw.json"
    if [[ "$REPLY" == "$want" ]]; then
      REPLY=$f
      return 0
    fi
  done
  return 1
}

# The captured raw manifest whose build's containerimage.digest is this digest.
raw_for_digest() {
  local digest=$1 f
  for f in "$fixtures"/buildx/*.metadata.json; do
    slurp "$f"
    if [[ "$REPLY" == *"\"containerimage.digest\": \"$digest\""* ]]; then
      REPLY=${f%.metadata.json}.raw.json
      return 0
    fi
  done
  return 1
}

case "${argv[0]:-} ${argv[1]:-}" in
  'buildx version')
    [[ ${#argv[@]} == 2 ]] || unexpected
    slurp "$fixtures/cli/buildx-version.stdout.txt"
    printf '%s' "$REPLY"
    ;;

  login\ *)
    has --password-stdin || fail 'fake docker: login without --password-stdin would prompt for a password'
    option --username || option -u || fail 'fake docker: login without --username'
    username=$REPLY
    password=''
    IFS= read -r -d '' password || true
    password=${password%$'\n'}
    [[ -n "$password" ]] || fail 'Error: Password Required'
    # Stored as the CLI stores a login without a credential helper: base64 user:password
    # under auths in config.json, so what reads the registry API afterwards can use it.
    registry=${argv[${#argv[@]} - 1]}
    config=${DOCKER_CONFIG:-$HOME/.docker}/config.json
    printf -v pair '%s:%s' "$username" "$password"
    auth=$(printf '%s' "$pair" | base64 -w0)
    content='{}'
    [[ -f "$config" ]] && slurp "$config" && content=$REPLY
    [[ "$content" == *'"auths"'* ]] && fail 'fake docker: config.json already holds logins; storing another is not scripted'
    content=${content#*\{}
    [[ "$content" =~ ^[[:space:]]*\} ]] && sep='' || sep=','
    printf '{"auths":{"%s":{"auth":"%s"}}%s%s' "$registry" "$auth" "$sep" "$content" >"$config" || fail "fake docker: cannot write $config"
    slurp "$fixtures/cli/login-succeeded.stdout.txt"
    printf '%s' "$REPLY"
    ;;

  logout\ *)
    [[ ${#argv[@]} == 2 ]] || unexpected
    printf 'Removing login credentials for %s\n' "${argv[1]}"
    ;;

  'buildx create')
    has --bootstrap || unexpected
    option --name || REPLY="fake-builder-$$"
    name=$REPLY
    option --driver || REPLY=docker-container
    driver=$REPLY
    [[ -d "$instances" ]] || mkdir -p "$instances" || fail "fake docker: cannot record builder in $instances"
    [[ -e "$instances/$name" ]] && fail "ERROR: existing instance for \"$name\" but no append mode, specify the node name to make changes for existing instances"
    printf '{"Name":"%s","Driver":"%s"}\n' "$name" "$driver" >"$instances/$name"
    printf '#1 [internal] booting buildkit\n#1 DONE 0.0s\n' >&2
    printf '%s\n' "$name"
    ;;

  'buildx build')
    option --builder && builder=$REPLY || builder=default
    if [[ "$builder" != default && ! -e "$instances/$builder" ]]; then
      fail "ERROR: no builder \"$builder\" found"
    fi
    option --platform || REPLY=linux/amd64
    IFS=, read -r -a platforms <<<"$REPLY"
    pick_metadata "${#platforms[@]}" || fail "fake docker: no captured OCI-index build of ${#platforms[@]} platforms in $fixtures/buildx"
    metadata_fixture=$REPLY
    printf '#0 building with "%s" instance using docker-container driver\n' "$builder" >&2
    if option --metadata-file; then
      metadata_file=$REPLY
      slurp "$metadata_fixture"
      printf '%s' "$REPLY" >"$metadata_file" || fail "ERROR: failed to write metadata file $metadata_file"
    fi
    ;;

  'buildx imagetools')
    if [[ "${argv[2]:-}" == create ]]; then
      # Tags a pushed index, as the CLI does for a single source in the same repository:
      # one "pushing" step per tag on stderr, nothing on stdout.
      source='' targets=()
      for ((i = 3; i < ${#argv[@]}; i++)); do
        case "${argv[i]}" in
          --builder) i=$((i + 1)); builder=${argv[i]:-} ;;
          --builder=*) builder=${argv[i]#*=} ;;
          --tag | -t) i=$((i + 1)); targets+=("${argv[i]:-}") ;;
          --tag=*) targets+=("${argv[i]#*=}") ;;
          -*) unexpected ;;
          *) [[ -z "$source" ]] || unexpected; source=${argv[i]} ;;
        esac
      done
      [[ -n "$source" ]] || fail 'ERROR: no sources specified'
      [[ ${#targets[@]} -gt 0 ]] || fail 'ERROR: no repositories specified, please set a reference in tag or source'
      if [[ -n "${builder:-}" && "$builder" != default && ! -e "$instances/$builder" ]]; then
        fail "ERROR: no builder \"$builder\" found"
      fi
      [[ "$source" == *@sha256:* ]] || fail "fake docker: only <image>@<digest> is captured, got $source"
      raw_for_digest "${source##*@}" || fail "ERROR: $source: not found"
      step=0
      for target in "${targets[@]}"; do
        step=$((step + 1))
        printf '#%d [internal] pushing %s\n#%d 0.000 pushing %s to %s\n#%d DONE 0.0s\n\n' "$step" "$target" "$step" "${source##*@}" "$target" "$step" >&2
      done
      finish 0
    fi
    [[ "${argv[2]:-}" == inspect ]] || unexpected
    ref='' format='' raw=''
    for ((i = 3; i < ${#argv[@]}; i++)); do
      case "${argv[i]}" in
        --raw) raw=1 ;;
        --builder) i=$((i + 1)); builder=${argv[i]:-} ;;
        --builder=*) builder=${argv[i]#*=} ;;
        --format) i=$((i + 1)); format=${argv[i]:-} ;;
        --format=*) format=${argv[i]#*=} ;;
        -*) unexpected ;;
        *) [[ -z "$ref" ]] || unexpected; ref=${argv[i]} ;;
      esac
    done
    [[ -n "$ref" ]] || fail 'ERROR: "docker buildx imagetools inspect" requires exactly 1 argument.'
    [[ -n "$raw" && -n "$format" ]] && fail 'ERROR: --format and --raw cannot be used together'
    if [[ -n "${builder:-}" && "$builder" != default && ! -e "$instances/$builder" ]]; then
      fail "ERROR: no builder \"$builder\" found"
    fi
    [[ "$ref" == *@sha256:* ]] || fail "fake docker: only <image>@<digest> is captured, got $ref"
    raw_for_digest "${ref##*@}" || fail "ERROR: $ref: not found"
    raw_file=$REPLY
    if [[ -n "$raw" ]]; then
      slurp "$raw_file"
      printf '%s' "$REPLY"
    elif [[ "$format" == '{{json .}}' ]]; then
      # Captured by bench/capture.sh; the CLI prints the reference it was given as the name.
      shape=${raw_file##*/}
      inspect=$bench_fixtures/${shape%.raw.json}.inspect.json
      [[ -f "$inspect" ]] || fail "fake docker: no captured $inspect (run bench/capture.sh)"
      # Line by line: a pattern substitution over the whole text takes bash seconds.
      out='' renamed='' nl=$'\n'
      while IFS= read -r line || { nl=''; [[ -n "$line" ]]; }; do
        if [[ -z "$renamed" && "$line" == '  "name": '* ]]; then
          line="  \"name\": \"$ref\","
          renamed=1
        fi
        out+=$line$nl
      done <"$inspect"
      printf '%s' "$out"
    else
      unexpected
    fi
    ;;

  'buildx rm')
    name=${argv[${#argv[@]} - 1]}
    if [[ ! -e "$instances/$name" ]]; then
      fail "failed to remove $name: no builder \"$name\" found" 'ERROR: failed to remove one or more builders'
    fi
    rm -f "$instances/$name"
    printf '%s removed\n' "$name" >&2
    ;;

  run\ *)
    # What tonistiigi/binfmt prints when it has installed: the status of binfmt_misc.
    has --privileged && has --install || unexpected
    slurp "$fixtures/cli/binfmt-status.stdout.txt"
    printf '%s' "$REPLY"
    ;;

  *)
    unexpected
    ;;
esac
finish 0
