#!/usr/bin/env bash
# Run a local HelixTrack Attachments cluster of N real processes on 127.0.0.1.
#
# Usage:
#   scripts/cluster.sh up N DIR [serve flags...]   start N nodes with state under DIR
#   scripts/cluster.sh down DIR                    stop them, keeping their data
#
# up builds bin/attachments when it is missing (make build), writes one
# configuration per node to DIR/nodeK/config.json (free API, Raft and gossip
# ports on 127.0.0.1, no port fallback, one random JWT secret shared by all),
# starts node 1, which bootstraps the metadata group, and nodes 2..N, which
# --join node 1, each with its data in DIR/nodeK/data and its log in
# DIR/nodeK/log, and passes the extra flags to every serve. It returns once
# every node answers GET /health with 200 and `cluster status` lists N live
# members, and leaves:
#   DIR/nodes.txt   the API URL of each node, one per line
#   DIR/nodeK.pid   the process id of node K
#   DIR/env         ATTACHMENTS_URL (node 1) and ATTACHMENTS_TOKEN (an admin
#                   token valid 24 h): `. DIR/env` and the client commands work
# Running up again on a DIR that down stopped restarts the same nodes on
# their old ports and data; a larger N adds nodes to them. A node removed
# with `attachments node remove` would rejoin on such a restart: delete its
# DIR/nodeK (the highest K) after removing it.
#
# What it proves: the binary as shipped forms a cluster from nothing but
# configuration files, on ports of its own choosing, with no shared
# state but the JWT secret, and every member reports healthy and alive.
#
# down sends SIGTERM to every node, waits up to 10 s for each to stop
# gracefully, then SIGKILLs what is left, and removes the pid files.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly BIN="$ROOT/bin/attachments"
readonly FIRST_PORT=18090 # ports are probed upwards from here
readonly WAIT_SECONDS=60  # for the whole cluster to come up
readonly STOP_SECONDS=10  # for one node to stop after SIGTERM

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: scripts/cluster.sh up N DIR [serve flags...] | down DIR" >&2
	exit 2
}

# port_free PORT: true when nothing accepts TCP connections on PORT.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# alloc_port: sets port to the first free port at or after next_port
# that no node of this run has been given, and moves next_port past it.
alloc_port() {
	while ! port_free "$next_port" || [[ " ${taken[*]} " == *" $next_port "* ]]; do
		next_port=$((next_port + 1))
		((next_port < 65000)) || die "no free port found from $FIRST_PORT"
	done
	port=$next_port
	taken+=("$port")
	next_port=$((next_port + 1))
}

# config_value FILE KEY: the number or first string after "KEY": in FILE.
config_value() {
	sed -n "s/.*\"$2\": *\\[\\{0,1\\}\"\\{0,1\\}\\([^\",]*\\).*/\\1/p" "$1" | head -n 1
}

# write_config K SECRET JOIN_URL: writes DIR/nodeK/config.json.
write_config() {
	local k=$1 secret=$2 join=${3:+\"$3\"} api raft gossip
	alloc_port
	api=$port
	alloc_port
	raft=$port
	alloc_port
	gossip=$port
	mkdir -p "$dir/node$k"
	(
		umask 077 # the file holds the JWT secret
		cat >"$dir/node$k/config.json" <<-EOF
			{
			  "service": {"bind": "127.0.0.1", "port": $api, "port_range": [0, 0]},
			  "security": {"jwt_secret": "$secret"},
			  "cluster": {"raft_port": $raft, "gossip_port": $gossip,
			              "join": [$join]}
			}
		EOF
	)
}

# node_pid_alive FILE: true when the pid in FILE is a running attachments.
node_pid_alive() {
	local pid
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	kill -0 "$pid" 2>/dev/null || return 1
	# A pid left from an earlier boot may belong to another program now.
	[[ ! -r /proc/$pid/cmdline ]] || grep -q attachments "/proc/$pid/cmdline"
}

# healthy URL: true when URL/health answers 200.
healthy() {
	[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1/health") == 200 ]]
}

# members_alive: prints how many members cluster status reports alive.
members_alive() {
	"$BIN" cluster status --json 2>/dev/null | grep -c '"alive": true' || true
}

up() {
	(($# >= 2)) || usage
	local n=$1 k first_url existing=0
	dir=$2
	shift 2
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number, got '$n'"
	command -v curl >/dev/null || die "curl is needed to poll /health"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[[ -x $BIN ]] || make -C "$ROOT" build >&2

	while [[ -f $dir/node$((existing + 1))/config.json ]]; do
		existing=$((existing + 1))
	done
	((n >= existing)) || die "$dir holds $existing nodes; up with N of at least $existing"
	for k in "$dir"/node*/config.json; do
		[[ -e $k ]] || continue
		k=${k%/config.json}
		((${k##*/node} <= existing)) ||
			die "$k exists but node$((existing + 1)) does not; nodes must be numbered 1..N"
	done
	for ((k = 1; k <= existing; k++)); do
		! node_pid_alive "$dir/node$k.pid" ||
			die "node $k is running already (pid $(<"$dir/node$k.pid")); run down first"
	done

	write_configs "$n" "$existing"
	first_url="http://127.0.0.1:$(config_value "$dir/node1/config.json" port)"

	: >"$dir/nodes.txt"
	for ((k = 1; k <= n; k++)); do
		start_node "$k" "$@"
		echo "http://127.0.0.1:$(config_value "$dir/node$k/config.json" port)" >>"$dir/nodes.txt"
	done
	write_env "$first_url"
	wait_up "$n"
	echo "cluster of $n nodes up; state in $dir, nodes in $dir/nodes.txt"
	echo "use it with:  . $dir/env && $BIN cluster status"
}

# write_configs N EXISTING: writes the configurations of nodes
# EXISTING+1..N, with ports no existing node uses and the cluster's secret.
write_configs() {
	local n=$1 existing=$2 k secret first_url
	# One secret per cluster: kept from node 1 when the cluster exists.
	if ((existing > 0)); then
		secret=$(config_value "$dir/node1/config.json" jwt_secret)
	else
		secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	fi
	next_port=$FIRST_PORT
	taken=()
	port=0
	for ((k = 1; k <= existing; k++)); do
		taken+=("$(config_value "$dir/node$k/config.json" port)")
		taken+=("$(config_value "$dir/node$k/config.json" raft_port)")
		taken+=("$(config_value "$dir/node$k/config.json" gossip_port)")
	done
	((existing > 0)) || write_config 1 "$secret" ""
	first_url="http://127.0.0.1:$(config_value "$dir/node1/config.json" port)"
	for ((k = 2; k <= n; k++)); do
		((k <= existing)) || write_config "$k" "$secret" "$first_url"
	done
}

# start_node K [serve flags...]: starts node K in the background.
start_node() {
	local k=$1
	shift
	mkdir -p "$dir/node$k/data"
	nohup "$BIN" serve --config "$dir/node$k/config.json" --data "$dir/node$k/data" "$@" \
		</dev/null >>"$dir/node$k/log" 2>&1 &
	echo $! >"$dir/node$k.pid"
}

# write_env URL: writes DIR/env with URL and an admin token.
write_env() {
	local token
	token=$("$BIN" token --config "$dir/node1/config.json" --user admin \
		--perms read,write,delete,admin --ttl 24h)
	(
		umask 077 # the file holds an admin token
		printf 'export ATTACHMENTS_URL=%s\nexport ATTACHMENTS_TOKEN=%s\n' "$1" "$token" \
			>"$dir/env"
	)
}

# wait_up N: waits until every node is healthy and N members are alive;
# on failure prints the logs' last lines, stops the nodes and fails.
wait_up() {
	local n=$1 deadline=$((SECONDS + WAIT_SECONDS)) k url pending
	# shellcheck source=/dev/null
	. "$dir/env"
	while :; do
		pending=""
		k=0
		while read -r url; do
			k=$((k + 1))
			node_pid_alive "$dir/node$k.pid" || fail_up "node $k exited" "$k"
			healthy "$url" || pending="$pending $k"
		done <"$dir/nodes.txt"
		if [[ -z $pending ]] && (($(members_alive) == n)); then
			return 0
		fi
		((SECONDS < deadline)) ||
			fail_up "not up within ${WAIT_SECONDS}s (unhealthy:${pending:- none})" "${pending:-1}"
		sleep 0.2
	done
}

# fail_up MESSAGE NODES: shows the end of the listed nodes' logs, stops
# the cluster and fails with MESSAGE.
fail_up() {
	local k
	for k in $2; do
		echo "--- last lines of $dir/node$k/log" >&2
		tail -n 20 "$dir/node$k/log" >&2 || true
	done
	down "$dir" >&2
	die "$1"
}

# down DIR: stops every node of DIR: SIGTERM to all at once, so that
# they shut down in parallel, then SIGKILL to any still running after
# STOP_SECONDS.
down() {
	(($# == 1)) || usage
	local d=$1 pidfile pid pids=() deadline
	[[ -d $d ]] || die "no cluster directory $d"
	for pidfile in "$d"/node*.pid; do
		[[ -e $pidfile ]] || continue
		if node_pid_alive "$pidfile"; then
			pid=$(<"$pidfile")
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done

	deadline=$((SECONDS + STOP_SECONDS))
	for pid in "${pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "cluster.sh: pid $pid still running after ${STOP_SECONDS}s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	rm -f "$d"/node*.pid
	echo "stopped ${#pids[@]} nodes; data kept in $d"
}

case "${1:-}" in
up)
	shift
	up "$@"
	;;
down)
	shift
	down "$@"
	;;
*) usage ;;
esac
