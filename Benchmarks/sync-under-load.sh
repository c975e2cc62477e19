#!/usr/bin/env bash
# The cluster while it syncs: client write latency during a store sync against idle, the elections
# the sync causes, and the sync's own time (issue 15, "the cluster while it syncs").
#
#   swift build -c release --product monsync            # in the repository's root
#   Benchmarks/sync-under-load.sh [MiB=1024] [value bytes=65536] [writes/s=200] [provider bytes/s=0]
#
# Three `monsync node` processes over ZeroMQ tcp on 127.0.0.1 (plaintext), RocksDB stores in a fresh
# temporary directory: a's store is loaded offline with MiB of VALUE-byte values, b gets a copy, and
# both are written back to disk before anything is measured; a and b form a quorum. One
# `monsync bench put` runs throughout (4 clients, 100-byte values, WRITES/S on a fixed schedule)
# and logs every request (`--latency-log`). After IDLE seconds (15) c starts empty and copies the
# store; 3 s after c has rejoined the quorum the bench is interrupted. Each request is placed by
# when it was due, against the times in c's log (JSON, milliseconds):
#   idle   — from 1 s after the bench started until c started;
#   copy   — from c's "starting a full store sync" to its "store sync finished";
#   rejoin — from then until 1 s after c "joined the quorum" (the election a finished sync calls,
#            as a Ceph monitor does, and the catch-up of the versions committed meanwhile).
# Elections during the copy come from a's log; lease expiries and slow steps (steps over 100 ms)
# from a's and b's /metrics, from c's start to the end.
# The last argument is each node's --sync-max-bytes-per-second (0: no limit).
# Environment: MONSYNC (the binary; default .build/release/monsync), KEEP=1 keeps the directory,
# IDLE (seconds of idle load, 15), CONTROL=S starts no c: the same load runs S seconds more, and
# those S seconds are measured as "copy" (the control: what the load alone does in a window of the
# copy's length at the same point of the run), C_STORE_DIR puts c's store in that directory instead (another disk
# or a tmpfs: on one machine the requester's writes otherwise share the quorum's disk, which
# separate machines would not), NODE_FLAGS adds flags to every node (e.g. "--sync-chunk-size 262144").
set -euo pipefail
MIB=${1:-1024}; VALUE=${2:-65536}; RATE=${3:-200}; BYTE_RATE=${4:-0}
IDLE=${IDLE:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MONSYNC=${MONSYNC:-$ROOT/.build/release/monsync}
KEYS=$(( MIB * 1048576 / VALUE ))
W=$(mktemp -d /tmp/monsync-sync-under-load.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${C_STORE_DIR:-}" ] && rm -rf "$C_STORE_DIR/c"
  [ "${KEEP:-0}" = 1 ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT

ports=($(python3 -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'))
M="a=tcp://127.0.0.1:${ports[0]},b=tcp://127.0.0.1:${ports[1]},c=tcp://127.0.0.1:${ports[2]}"
CLIENT=(--monmap "$M" --insecure-plaintext)

# The disk's synced-write ceiling, in the same run: MiB bytes of zeros written and fsynced where the
# stores live (what a requester's staging can at best do), three times; the median counts (a VM's
# disk varies from one run to the next).
disk=$(for _ in 1 2 3; do
  { /usr/bin/time -f "%e" dd if=/dev/zero of="$W/disk-ceiling" bs=64M count=$(( (MIB + 63) / 64 )) conv=fsync status=none; } 2>&1 | tail -1
  rm -f "$W/disk-ceiling"
done | sort -n | sed -n 2p)
echo "disk: $(( (MIB + 63) / 64 * 64 )) MiB written and synced in $disk s (median of 3)" >&2
echo "loading a: $KEYS keys of $VALUE bytes ($MIB MiB)" >&2
"$MONSYNC" store load "$W/a" --keys "$KEYS" --value-size "$VALUE" --keep 5 > /dev/null
cp -a "$W/a" "$W/b"
# Written back now, not 30 s later (the kernel's dirty expiry) in the middle of the measured copy.
sync

store_of() { if [ "$1" = c ] && [ -n "${C_STORE_DIR:-}" ]; then echo "$C_STORE_DIR/c"; else echo "$W/$1"; fi; }
start() {
  ${NICE_C:+$( [ "$1" = c ] && echo nice -n "$NICE_C")} "$MONSYNC" node --name "$1" --monmap "$M" --store "$(store_of "$1")" --insecure-plaintext --log-level info --log-format json \
    --sync-max-bytes-per-second "$BYTE_RATE" ${2:+--admin-address 127.0.0.1:$2} ${NODE_FLAGS:-} > "$W/$1.log" 2>&1 &
  PIDS+=($!)
}
status() { "$MONSYNC" status --json --timeout 2 "${CLIENT[@]}" 2>/dev/null || true; }
quorum() {
  python3 -c 'import json,sys
try: d=json.loads(sys.stdin.read())
except Exception: sys.exit()
rows={r.get("name"): r for r in (d.get("monitors", d) if isinstance(d, dict) else d)}
print(",".join(sorted(rows.get("a",{}).get("quorum") or [])))'
}
# a's and b's /metrics: a metric's sum over both.
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m { sum += $2 } END { print sum + 0 }'; }
both() { echo $(( $(metric ${ports[3]} "$1") + $(metric ${ports[4]} "$1") )); }

start a "${ports[3]}"; start b "${ports[4]}"
for _ in $(seq 1 120); do [ "$(status | quorum)" = "a,b" ] && break; sleep 0.5; done
[ "$(status | quorum)" = "a,b" ] || { echo "a and b formed no quorum" >&2; exit 1; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$MONSYNC" bench put --clients 4 --rate "$RATE" --duration 3600 --value-size 100 --timeout 10 --json \
  --latency-log "$W/latency.csv" "${CLIENT[@]}" > "$W/bench.json" 2> "$W/bench.err" &
BENCH=$!
PIDS+=("$BENCH")
bench_started=$(date +%s.%N)
sleep "$IDLE"
expiries_before=$(both monsync_monitor_lease_expiries_total)
slow_before=$(both monsync_monitor_slow_steps_total)
for n in 3 4; do curl -s "http://127.0.0.1:${ports[$n]}/metrics" > "$W/metrics.$n.before"; done
c_started=$(date +%s.%N)
if [ -n "${CONTROL:-}" ]; then
  sleep "$CONTROL"
else
  start c
  # Watched in c's own log, not with `monsync status`: a status process and a python3 every
  # quarter second took about 1 s of CPU in 5 s, on the two cores the cluster runs on, and delayed
  # the monitors' threads by up to 6 ms (`perf sched latency`): they measured the harness.
  rejoined() { awk '/"store sync finished"/ { done = 1 } done && /"joined the quorum as peon"/ { found = 1 } END { exit !found }' "$W/c.log"; }
  for _ in $(seq 1 3600); do rejoined && break; sleep 1; done
  rejoined || { echo "c never rejoined" >&2; exit 1; }
  [ "$(status | quorum)" = "a,b,c" ] || { echo "c is not in the quorum after it rejoined" >&2; exit 1; }
  sleep 3
fi
kill -0 "$BENCH" 2>/dev/null || { echo "the bench ended early:" >&2; cat "$W/bench.err" >&2; exit 1; }
kill -INT "$BENCH"
wait "$BENCH" || { echo "the bench failed:" >&2; tail -5 "$W/bench.err" >&2; exit 1; }
expiries=$(( $(both monsync_monitor_lease_expiries_total) - expiries_before ))
slow=$(( $(both monsync_monitor_slow_steps_total) - slow_before ))
for n in 3 4; do curl -s "http://127.0.0.1:${ports[$n]}/metrics" > "$W/metrics.$n.after"; done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$W" "$bench_started" "$c_started" "$MIB" "$VALUE" "$RATE" "$BYTE_RATE" "$expiries" "$slow" "$disk" "$M" "${CONTROL:-}" <<'PY'
import csv, json, sys, datetime
w, bench_started, c_started, mib, value, rate, byte_rate, expiries, slow, disk, monmap, control = sys.argv[1:]
names = {address: name for name, address in (member.split("=", 1) for member in monmap.split(","))}
disk_mib_s = ((int(mib) + 63) // 64 * 64) / float(disk)
bench_started, c_started = float(bench_started), float(c_started)

def events(name):
    for line in open(f"{w}/{name}.log"):
        try: e = json.loads(line)
        except ValueError: continue
        t = datetime.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp()
        yield t, e.get("message", ""), e
def first(name, message):
    return next(t for t, m, _ in events(name) if m == message)

if control:
    # No c: the window a copy would have had, and nothing after it.
    copy_start, copy_done = c_started, c_started + float(control)
    rejoined, provider = copy_done - 1, "nobody (control run: no c)"
else:
    copy_start = first("c", "starting a full store sync")
    copy_done = first("c", "store sync finished")
    rejoined = next(t for t, m, _ in events("c") if m == "joined the quorum as peon" and t >= copy_done)
    provider = next((e.get("metadata", {}).get("provider") for t, m, e in events("c") if m == "sync granted"), "?")
    provider = names.get(provider, provider)
    provider = f"{provider} ({'the leader' if provider == 'a' else 'a peon'})"
elections = sum(1 for t, m, _ in events("a") if m == "election started" and c_started <= t <= copy_done)

rows = list(csv.DictReader(open(f"{w}/latency.csv")))
def window(lo, hi):
    return [r for r in rows if lo <= float(r["due_unix_s"]) < hi]
def summary(rs):
    ok = sorted(float(r["latency_s"]) * 1000 for r in rs if r["outcome"] in ("ok", "miss"))
    errors = sum(1 for r in rs if r["outcome"] not in ("ok", "miss"))
    if not ok: return {"ops": 0, "errors": errors}
    q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))]
    return {"ops": len(ok), "errors": errors, "p50": q(0.5), "p99": q(0.99), "max": ok[-1]}
def show(label, s, seconds):
    if s["ops"] == 0: return f"{label:7} {seconds:5.1f} s  no answered request  errors {s['errors']}"
    return (f"{label:7} {seconds:5.1f} s  ops {s['ops']:6}  errors {s['errors']}  "
            f"p50 {s['p50']:7.2f} ms  p99 {s['p99']:7.2f} ms  max {s['max']:7.2f} ms")

idle = summary(window(bench_started + 1, c_started))
copy = summary(window(copy_start, copy_done))
rejoin = summary(window(copy_done, rejoined + 1))
print(f"store {mib} MiB of {value}-byte values; writes {rate}/s (4 clients, 100 B, paced); provider limit {byte_rate} B/s (0: none)")
copy_mib_s = int(mib) / (copy_done - copy_start)
print(f"copy: {copy_done - copy_start:.2f} s ({copy_mib_s:.0f} MiB/s, {copy_mib_s / disk_mib_s:.0%} of the disk's synced-write ceiling, "
      f"{disk_mib_s:.0f} MiB/s) from {provider}; c rejoined {rejoined - copy_done:.2f} s after its copy")
print(show("idle", idle, c_started - bench_started - 1))
print(show("copy", copy, copy_done - copy_start))
if not control: print(show("rejoin", rejoin, rejoined + 1 - copy_done))
# RocksDB's flushes and compactions on a and b inside the copy window (from their LOG files).
import re
for name in ("a", "b"):
    jobs = []
    for line in open(f"{w}/{name}/LOG", errors="replace"):
        found = re.search(r"EVENT_LOG_v1 (\{.*\})", line)
        if not found: continue
        event = json.loads(found.group(1))
        at = event.get("time_micros", 0) / 1e6
        if copy_start <= at <= copy_done and event.get("event") in ("flush_finished", "compaction_finished"):
            size = event.get("total_output_size") or 0
            jobs.append(f"{event['event'].split('_')[0]} at +{at - copy_start:.1f} s" + (f" ({size / 1048576:.0f} MiB out)" if size else ""))
    print(f"RocksDB on {name} during the copy window: {', '.join(jobs) or 'nothing'}")
if idle["ops"] and copy["ops"]:
    print(f"copy p99 / idle p99: {copy['p99'] / idle['p99']:.2f}x   copy max / idle max: {copy['max'] / idle['max']:.2f}x")
print(f"elections a started during the copy: {elections}; lease expiries on a and b from c's start to the end: {expiries}; "
      f"slow steps (> 100 ms) on a and b: {slow}")
PY
