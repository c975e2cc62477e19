#!/usr/bin/env bash
# The cluster while it syncs: client write latency during a store sync against idle, the elections
# the sync causes, and the sync's own time (issue 15, "the cluster while it syncs").
#
#   swift build -c release --product monsync            # in the repository's root
#   Benchmarks/sync-under-load.sh [MiB=1024] [value bytes=65536] [writes/s=200] [provider bytes/s=0]
#
# Three `monsync node` processes over ZeroMQ tcp on 127.0.0.1 (plaintext), RocksDB stores in a fresh
# temporary directory: a's store is loaded offline with MiB of VALUE-byte values and b gets a copy;
# a and b form a quorum. Idle: `monsync bench put` at WRITES/S (4 clients, 100-byte values) for
# 15 s. Then c starts empty and syncs while the same load runs in 3-second slices until c reports
# it has rejoined, in 1-second slices (each its own latency summary); the slices that overlap the copy
# count. Elections: a's election epoch before c starts and at the last poll before c's copy is done
# (c's rejoining election comes after, by design, and is not counted); lease expiries from a's and
# b's /metrics.
# The last argument is each node's --sync-max-bytes-per-second (0: no limit).
# Environment: MONSYNC (the binary; default .build/release/monsync), KEEP=1 keeps the directory.
set -euo pipefail
MIB=${1:-1024}; VALUE=${2:-65536}; RATE=${3:-200}; BYTE_RATE=${4:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MONSYNC=${MONSYNC:-$ROOT/.build/release/monsync}
KEYS=$(( MIB * 1048576 / VALUE ))
W=$(mktemp -d /tmp/monsync-sync-under-load.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT

ports=($(python3 -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'))
M="a=tcp://127.0.0.1:${ports[0]},b=tcp://127.0.0.1:${ports[1]},c=tcp://127.0.0.1:${ports[2]}"
CLIENT=(--monmap "$M" --insecure-plaintext)

echo "loading a: $KEYS keys of $VALUE bytes ($MIB MiB)" >&2
"$MONSYNC" store load "$W/a" --keys "$KEYS" --value-size "$VALUE" --keep 5 > /dev/null
cp -a "$W/a" "$W/b"

start() {
  "$MONSYNC" node --name "$1" --monmap "$M" --store "$W/$1" --insecure-plaintext --log-level notice \
    --sync-max-bytes-per-second "$BYTE_RATE" ${2:+--admin-address 127.0.0.1:$2} > "$W/$1.log" 2>&1 &
  PIDS+=($!)
}
status() { "$MONSYNC" status --json --timeout 2 "${CLIENT[@]}" 2>/dev/null || true; }
# Reads one field of the status JSON: quorum | epoch (a's election epoch) | phase (c's copy).
field() {
  python3 -c 'import json,sys
what=sys.argv[1]
try: d=json.loads(sys.stdin.read())
except Exception: print(""); sys.exit()
rows={r.get("name"): r for r in (d.get("monitors", d) if isinstance(d, dict) else d)}
if what=="quorum": print(",".join(sorted(rows.get("a",{}).get("quorum") or [])))
elif what=="epoch": print(rows.get("a",{}).get("electionEpoch",""))
elif what=="phase": print((((rows.get("c",{}).get("sync") or {}).get("requester") or {}).get("phase")) or "")' "$1"
}
bench() { "$MONSYNC" bench put --clients 4 --rate "$RATE" --duration "$1" --value-size 100 --timeout 10 --json "${CLIENT[@]}"; }

# a's and b's /metrics: their lease expiries and elections started.
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m { sum += $2 } END { print sum + 0 }'; }
expiries() { echo $(( $(metric ${ports[3]} monsync_monitor_lease_expiries_total) + $(metric ${ports[4]} monsync_monitor_lease_expiries_total) )); }
start a "${ports[3]}"; start b "${ports[4]}"
for _ in $(seq 1 120); do [ "$(status | field quorum)" = "a,b" ] && break; sleep 0.5; done
[ "$(status | field quorum)" = "a,b" ] || { echo "a and b formed no quorum" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
bench 15 > "$W/idle.json"
epoch_before=$(status | field epoch)
expiries_before=$(expiries)

# A poller records, every 0.25 s: the time, c's copy phase, a's election epoch, a's quorum.
(while true; do
   st=$(status)
   echo "$(date +%s.%N) $(echo "$st" | field phase) $(echo "$st" | field epoch) $(echo "$st" | field quorum)"
   sleep 0.25
 done > "$W/polls" 2>/dev/null) &
PIDS+=($!)
sleep 1
start c
began=$(date +%s.%N)
slice=0
# 1-second slices of the same load, each with its own latency summary, until c has rejoined.
until grep -q " a,b,c$" "$W/polls"; do
  echo "$(date +%s.%N)" > "$W/sync.$slice.start"
  bench 1 > "$W/sync.$slice.json"
  echo "$(date +%s.%N)" > "$W/sync.$slice.end"
  slice=$((slice + 1))
  [ "$slice" -gt 1800 ] && { echo "c never rejoined" >&2; exit 1; }
done
expiries_done=$(expiries)

python3 - "$W" "$slice" "$epoch_before" "$began" "$MIB" "$VALUE" "$RATE" "$BYTE_RATE" "$((expiries_done - expiries_before))" <<'PY'
import json, sys
w, slices, e0, began, mib, value, rate, byte_rate, expiries = sys.argv[1:]
began = float(began)
polls = [line.split() for line in open(f"{w}/polls")]
# The copy: from c's start to the first poll that shows it done (c then rejoins by an election).
done_at = next(float(p[0]) for p in polls if len(p) > 1 and p[1] == "done")
epoch_done = max(int(p[2]) for p in polls if len(p) > 2 and p[2].isdigit() and float(p[0]) < done_at)
idle = json.load(open(f"{w}/idle.json"))
slices = [(float(open(f"{w}/sync.{i}.start").read()), float(open(f"{w}/sync.{i}.end").read()),
           json.load(open(f"{w}/sync.{i}.json"))) for i in range(int(slices))]
during = [s for start, end, s in slices if start < done_at and end > began]
lat = lambda s, k: (s.get("latencyMs") or {}).get(k, float("nan"))
worst = max(during, key=lambda s: lat(s, "p99"))
ops = sum(s["ops"] for s in during); errors = sum(s["errors"] for s in during)
print(f"store {mib} MiB of {value}-byte values; writes {rate}/s (4 clients, 100 B); provider limit {byte_rate} B/s (0: none)")
print(f"copy (c started → its copy done, polled every 0.25 s): {done_at - began:.1f} s; {len(during)} one-second load slices overlap it")
print(f"idle:   ops {idle['ops']}  errors {idle['errors']}  p50 {lat(idle,'p50')} ms  p99 {lat(idle,'p99')} ms  max {lat(idle,'max')} ms")
print(f"during: ops {ops}  errors {errors}  worst slice p50 {lat(worst,'p50')} ms  p99 {lat(worst,'p99')} ms  max {lat(worst,'max')} ms")
print(f"p99 during / idle: {lat(worst,'p99') / lat(idle,'p99'):.2f}x  (worst slice)")
print(f"elections during the copy: {(epoch_done - int(e0)) // 2} (a's epoch {e0} → {epoch_done}); lease expiries on a and b until c rejoined: {expiries}")
PY
