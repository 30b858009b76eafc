# Sourced by scripts/test.sh on a machine with Docker but without the CTR_*
# test environment: starts throwaway registries and a BuildKit daemon in
# containers and exports the variables the end-to-end tests read.
# (The CI toolchain exports the same variables itself.)
set -euo pipefail

mr_dir=$(mktemp -d)
mr_user=testuser
mr_password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
docker run --rm --entrypoint htpasswd httpd:2 -Bbn "$mr_user" "$mr_password" > "$mr_dir/htpasswd"

mr_start() { # name port extra-args...
  local name=$1 port=$2; shift 2
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" -p "127.0.0.1:$port:5000" "$@" registry:2 >/dev/null
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0; sleep 0.1; done
  echo "registry $name did not start" >&2; return 1
}
mr_start mr-test-registry-auth 5000 -v "$mr_dir:/auth:ro" \
  -e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_REALM=test -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd
mr_start mr-test-registry 5001

docker buildx imagetools create -t 127.0.0.1:5001/busybox:latest docker.io/library/busybox:latest
docker pull tonistiigi/binfmt:latest
docker tag tonistiigi/binfmt:latest 127.0.0.1:5001/binfmt:local
docker push 127.0.0.1:5001/binfmt:local

docker rm -f mr-test-buildkitd >/dev/null 2>&1 || true
docker run -d --name mr-test-buildkitd --privileged --network host moby/buildkit:latest --addr tcp://127.0.0.1:51234 >/dev/null

export CTR_REGISTRY=127.0.0.1:5000
export CTR_REGISTRY_USER=$mr_user
export CTR_REGISTRY_PASSWORD=$mr_password
export CTR_REGISTRY_NOAUTH=127.0.0.1:5001
export CTR_BASE_IMAGE=127.0.0.1:5001/busybox:latest
export CTR_BINFMT_REF=127.0.0.1:5001/binfmt:local
export CTR_BUILDKITD_ADDR=tcp://127.0.0.1:51234
set +euo pipefail
