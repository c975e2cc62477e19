#!/usr/bin/env bash
# Acknowledged writes under kill -9: a write load runs while monitors are killed and restarted;
# afterwards every store must hold the same key-value data, and the load must have seen no error.
#
#   swift build -c release --product monsync            # in the repository's root
#   Benchmarks/kill9-under-load.sh [seconds=40] [clients=256] [kills=6] [seed=7]
#
# Three `monsync node` processes over ZeroMQ tcp on 127.0.0.1 (plaintext), RocksDB stores in a fresh
# temporary directory. One `monsync bench put` (CLIENTS clients on one connection, 100-byte values,
# as fast as possible, each request's deadline 10 s) runs for SECONDS; meanwhile KILLS times, 3–5 s
# apart, a monitor chosen at random (SEED) gets SIGKILL and is started again 1 s later on the same
# store. Then the cluster settles, the nodes stop (SIGTERM), and `monsync store digest --prefix kv`
# of the three stores is compared. Exits 0 only with no bench error and three equal digests.
# Environment: MONSYNC (the binary; default .build/release/monsync), KEEP=1 keeps the directory,
# PORT (the first of three ports, 17601).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-40} clients=${2:-256} kills=${3:-6} seed=${4:-7}
monsync=$(realpath "${MONSYNC:-.build/release/monsync}")
port=${PORT:-17601}
dir=$(mktemp -d /tmp/monsync-kill9.XXXXXX)
monmap="a=tcp://127.0.0.1:$port,b=tcp://127.0.0.1:$((port + 1)),c=tcp://127.0.0.1:$((port + 2))"
declare -A pid
start() { "$monsync" node --name "$1" --monmap "$monmap" --store "$dir/$1" --insecure-plaintext --log-level warning >> "$dir/$1.log" 2>&1 & pid[$1]=$!; }
cleanup() {
    for n in a b c; do kill -9 "${pid[$n]:-0}" 2>/dev/null || true; done
    [ "${KEEP:-0}" = 1 ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
for n in a b c; do start $n; done
for _ in $(seq 1 60); do
    "$monsync" status --monmap "$monmap" --insecure-plaintext --json --timeout 2 2>/dev/null | grep -q '"leader"' && break
    sleep 0.5
done
"$monsync" bench put --clients "$clients" --connections 1 --duration "$seconds" --timeout 10 --json \
    --monmap "$monmap" --insecure-plaintext > "$dir/bench.json" 2> "$dir/bench.err" &
bench=$!
RANDOM=$seed
for round in $(seq 1 "$kills"); do
    sleep $((3 + RANDOM % 3))
    victim=$(echo a b c | cut -d' ' -f$((1 + RANDOM % 3)))
    kill -9 "${pid[$victim]}"; wait "${pid[$victim]}" 2>/dev/null || true
    echo "kill $round: kill -9 mon.$victim at $(date -u +%H:%M:%S)"
    sleep 1
    start "$victim"
done
wait $bench
python3 - "$dir/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
errors = sum(d['errorsByKind'].values())
print(f"bench: {d['ops']} writes acknowledged, {d['opsPerSecond']:.0f}/s, p99 {d['latencyMs']['p99']} ms, errors {d['errorsByKind']}")
sys.exit(1 if errors else 0)
PY
sleep 8
"$monsync" status --monmap "$monmap" --insecure-plaintext --json --timeout 3 > "$dir/status.json" || true
for n in a b c; do kill -TERM "${pid[$n]}"; done
for n in a b c; do wait "${pid[$n]}" 2>/dev/null || true; done
digests=()
for n in a b c; do
    digest=$("$monsync" store digest "$dir/$n" --prefix kv | tail -1)
    echo "mon.$n $digest"
    digests+=("${digest#*: }")
done
if [ "${digests[0]}" = "${digests[1]}" ] && [ "${digests[1]}" = "${digests[2]}" ]; then
    echo "OK: the three stores hold the same key-value data"
else
    echo "FAIL: the stores differ"; exit 1
fi
