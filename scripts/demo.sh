#!/usr/bin/env bash
# Real-tree demo: starts a node on embedded defaults (its data in a fresh
# temporary directory), uploads a directory tree nobody here wrote (by
# default the Go distribution's src/, about ten thousand files of every
# kind), uploads it again under other entities, downloads every file and
# compares the bytes, and prints file count, logical bytes, stored bytes,
# bytes on disk and the dedup ratio.
#
#   scripts/demo.sh [--src DIR] [--keep]
#
# --keep leaves the node's data directory in place and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."

src="$(go env GOROOT)/src"
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--src) src="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: scripts/demo.sh [--src DIR] [--keep]" >&2; exit 2 ;;
	esac
done

make -s build
work="$(mktemp -d)"
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	if [ "$keep" = 1 ]; then echo "data kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The node takes port 8090, or the next free one up to 8100, and logs it.
bin/attachments serve --data "$work/data" 2>"$work/node.log" &
pid=$!
url=""
for _ in $(seq 1 100); do
	url="$(sed -n 's/.*msg="node started".* addr=\([^ ]*\).*/\1/p' "$work/node.log" | head -n1)"
	[ -n "$url" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/node.log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$url" ] || { echo "node did not start" >&2; cat "$work/node.log" >&2; exit 1; }
echo "node: $url (data in $work/data)"

token="$(bin/attachments token --user demo --perms read,write,delete --ttl 2h)"
go run ./scripts/demo -url "$url" -token "$token" -src "$src" -data "$work/data"
