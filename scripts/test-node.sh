#!/usr/bin/env bash
# Runs `npm ci` and `npm test` on another Node.js version, in a fresh worktree of the committed HEAD, as CI does.
#
#   scripts/test-node.sh 24          # the version CI pins for that major (see PINNED below)
#   scripts/test-node.sh 24.22.3     # any exact version published as the npm package node-<os>-<arch>
#
# The Node binary and its headers come from the npm registry's official node-<os>-<arch> package and are
# cached in ${XDG_CACHE_HOME:-~/.cache}/api-tokens/node-<version>. The worktree gets its own node_modules
# (better-sqlite3 is a native module, built here from source against that version's headers) and is
# removed afterwards, with every process the run started. Uncommitted changes are not tested.
set -euo pipefail

# The CI matrix: .ci/run tests the machine's Node 20 in place, then 22 and 24 here (20 is pinned too, for
# developers whose own Node is another). Keep in step with `engines` in package.json and the README.
declare -A PINNED=([20]=20.20.2 [22]=22.23.5 [24]=24.22.3)

usage() {
  echo "usage: $0 <major|x.y.z>   e.g. $0 24 (pinned: 20=${PINNED[20]} 22=${PINNED[22]} 24=${PINNED[24]})" >&2
  exit 2
}
[[ $# -eq 1 ]] || usage
case $1 in
  [0-9]*.[0-9]*.[0-9]*) version=$1 ;;
  [0-9]*) version=${PINNED[$1]:-} && [[ -n $version ]] || {
    echo "test-node: no pinned version for Node $1; give an exact one, e.g. $1.0.0" >&2
    exit 2
  } ;;
  *) usage ;;
esac

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
platform=$(node -p 'process.platform + "-" + process.arch')
cache=${XDG_CACHE_HOME:-$HOME/.cache}/api-tokens
nodedir=$cache/node-$version/node_modules/node-$platform
work=$(mktemp -d "${TMPDIR:-/tmp}/api-tokens-node-$version.XXXXXX")
child=
staging=

cleanup() {
  local status=$?
  # The suite runs in its own process group (setsid below): end the whole group, servers included.
  if [[ -n $child ]]; then kill -TERM -- "-$child" 2>/dev/null || true; fi
  git -C "$root" worktree remove --force "$work/repo" 2>/dev/null || true
  git -C "$root" worktree prune
  rm -rf "$work" ${staging:+"$staging"}
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in its own process group, so cleanup can end everything it started.
run() {
  setsid "$@" </dev/null &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=
  return "$status"
}

seconds() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Run as `npm run test:node`, the outer npm's script environment names its own node, package and
# folders; only the user's npm configuration (npm_config_*) should reach the inner npm.
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(npm_|NODE$|INIT_CWD$)' | grep -v '^npm_config_' || true)

echo "=== Node v$version ==="
start=$SECONDS

if [[ ! -x $nodedir/bin/node ]]; then
  echo "test-node: installing node-$platform@$version into $cache"
  mkdir -p "$cache"
  staging=$(mktemp -d "$cache/.node-$version.XXXXXX")
  npm install --prefix "$staging" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-$platform@$version"
  # Renamed into place only once complete, so an interrupted download is never taken for a cached one.
  rm -rf "$cache/node-$version"
  mv "$staging" "$cache/node-$version"
  staging=
fi
actual=$("$nodedir/bin/node" --version)
[[ $actual == "v$version" ]] || {
  echo "test-node: $nodedir/bin/node is $actual, expected v$version" >&2
  exit 1
}

git -C "$root" worktree add --quiet --detach "$work/repo" HEAD
echo "test-node: $(git -C "$work/repo" log -1 --format='%h %s') in $work/repo"

export PATH=$nodedir/bin:$PATH
export npm_config_nodedir=$nodedir
export TURBO_TELEMETRY_DISABLED=1
# Turbo would otherwise share the main worktree's cache and replay test results another Node version got.
export TURBO_CACHE_DIR=$work/turbo-cache
# Scratch files of tests cut short (turbo ends every task when one fails) go with the worktree.
export TMPDIR=$work/tmp
mkdir "$TMPDIR"
cd "$work/repo"

install_start=$SECONDS
status=0
run npm ci || status=$?
install_time=$((SECONDS - install_start))
suite_time=0
if [[ $status -eq 0 ]]; then
  suite_start=$SECONDS
  run npm test || status=$?
  suite_time=$((SECONDS - suite_start))
fi

result=passed
[[ $status -eq 0 ]] || result="FAILED (exit $status)"
echo "test-node: Node v$version $result; npm ci $(seconds "$install_time"), npm test $(seconds "$suite_time"), total $(seconds $((SECONDS - start)))"
exit "$status"
