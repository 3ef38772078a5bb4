#!/usr/bin/env bash
# Real-tree demo: starts one node, or a cluster of N, each with its data in
# a fresh temporary directory, uploads a directory tree nobody here wrote
# (by default the Go distribution's src/, about ten thousand files of
# every kind), uploads it again under other entities, downloads every file
# and compares the bytes, and prints file count, logical bytes, stored
# bytes, the dedup ratio and the bytes on disk, split into chunk packs and
# metadata.
#
#   scripts/demo.sh [--src DIR] [--nodes N] [--keep]
#
# --nodes N (default 1) with N > 1 starts N node processes on free
# loopback ports, from configuration files written into the temporary
# directory, sharing one random JWT secret: node 1 bootstraps the cluster
# and the others join it. Uploads and downloads are spread over all nodes.
# With three nodes or more, one node that is not the metadata leader is
# killed with SIGKILL halfway through the first pass; every byte is still
# verified through the surviving nodes.
# --keep leaves the data directories and node logs in place and prints
# their path.
set -euo pipefail
cd "$(dirname "$0")/.."

src="$(go env GOROOT)/src"
keep=0
nodes=1
usage() { echo "usage: scripts/demo.sh [--src DIR] [--nodes N] [--keep]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--src) [ $# -ge 2 ] || usage; src="$2"; shift 2 ;;
	--nodes) [ $# -ge 2 ] || usage; nodes="$2"; shift 2 ;;
	--keep) keep=1; shift ;;
	*) usage ;;
	esac
done
case "$nodes" in
'' | *[!0-9]*) usage ;;
esac
[ "$nodes" -ge 1 ] || usage

make -s build
work="$(mktemp -d)"
pids=() waiters=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for w in "${waiters[@]}"; do
		wait "$w" 2>/dev/null || true
	done
	if [ "$keep" = 1 ]; then echo "data kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
go build -o "$work/demo" ./scripts/demo

# start_node DIR ARGS...: runs `bin/attachments serve ARGS...` in the
# background, its stderr in DIR/node.log, and appends its pid to pids. A
# wrapper shell waits for it, so the node killed on purpose ends quietly
# instead of bash reporting "Killed" for one of its own jobs.
start_node() {
	local dir="$1"
	shift
	rm -f "$dir/pid"
	(bin/attachments serve "$@" 2>"$dir/node.log" &
		echo $! >"$dir/pid"
		wait $!) 2>/dev/null &
	waiters+=($!)
	until [ -s "$dir/pid" ]; do sleep 0.01; done
	pids+=("$(cat "$dir/pid")")
}

# wait_healthy URL PID LOG: poll /health until it answers 200; fail with
# the node's log if the process dies or a minute passes.
wait_healthy() {
	for _ in $(seq 1 600); do
		curl -fsS -o /dev/null "$1/health" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "node at $1 did not become healthy; its log:" >&2
	cat "$3" >&2
	exit 1
}

if [ "$nodes" = 1 ]; then
	# The node takes port 8090, or the next free one up to 8100, and logs it.
	start_node "$work" --data "$work/data"
	url=""
	for _ in $(seq 1 100); do
		url="$(sed -n 's/.*msg="node started".* addr=\([^ ]*\).*/\1/p' "$work/node.log" | head -n1)"
		[ -n "$url" ] && break
		kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/node.log" >&2; exit 1; }
		sleep 0.1
	done
	[ -n "$url" ] || { echo "node did not start" >&2; cat "$work/node.log" >&2; exit 1; }
	echo "node: $url (data in $work/data)"

	token="$(bin/attachments token --user demo --perms read,write,delete --ttl 2h)"
	"$work/demo" -url "$url" -token "$token" -src "$src" -data "$work/data"
	exit 0
fi

# Cluster: three ports per node (API, Raft, gossip), one shared secret.
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mapfile -t ports < <("$work/demo" -free-ports $((3 * nodes)))
replicas=$((nodes < 3 ? nodes : 3))
urls=() datas=() node1=""
for i in $(seq 1 "$nodes"); do
	api="${ports[$((3 * i - 3))]}" raft="${ports[$((3 * i - 2))]}" gossip="${ports[$((3 * i - 1))]}"
	dir="$work/node-$i"
	mkdir -p "$dir"
	join="[]"
	[ "$i" -gt 1 ] && join="[\"$node1\"]"
	cat >"$dir/config.json" <<-JSON
	{
	  "service": {"port": $api, "port_range": [0, 0], "bind": "127.0.0.1"},
	  "storage": {"endpoints": [{"id": "local-primary", "type": "local",
	    "role": "primary", "adapter_config": {"path": "$dir/data"}}]},
	  "security": {"jwt_secret": "$secret"},
	  "cluster": {"node_id": "node-$i", "raft_port": $raft, "gossip_port": $gossip,
	    "join": $join, "replicas": $replicas}
	}
	JSON
	start_node "$dir" --config "$dir/config.json"
	url="http://127.0.0.1:$api"
	wait_healthy "$url" "${pids[-1]}" "$dir/node.log"
	[ "$i" = 1 ] && node1="$url"
	urls+=("$url") datas+=("$dir/data")
	echo "node-$i: $url (pid ${pids[-1]}, data in $dir/data)"
done

token="$(bin/attachments token --config "$work/node-1/config.json" --user demo \
	--perms read,write,delete,admin --ttl 2h)"
status() { curl -fsS -H "Authorization: Bearer $token" "$node1/v1/admin/cluster"; }

# Wait until node 1 sees every member alive, then name the leader.
for _ in $(seq 1 300); do
	alive="$(status | jq '[.nodes[] | select(.alive)] | length')"
	[ "$alive" = "$nodes" ] && break
	sleep 0.1
done
[ "$alive" = "$nodes" ] || { echo "only $alive of $nodes members alive" >&2; exit 1; }
leader="$(status | jq -r .leader)"
echo "cluster: $nodes nodes, $replicas copies of every chunk, leader $leader"

kill_args=()
if [ "$nodes" -ge 3 ]; then
	# The last node that is not the leader; a majority stays up.
	for i in $(seq "$nodes" -1 1); do
		if [ "node-$i" != "$leader" ]; then
			kill_args=(-kill-pid "${pids[$((i - 1))]}" -kill-url "${urls[$((i - 1))]}")
			break
		fi
	done
fi

IFS=,
"$work/demo" -url "${urls[*]}" -token "$token" -src "$src" -data "${datas[*]}" "${kill_args[@]}"
unset IFS
