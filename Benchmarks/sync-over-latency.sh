#!/usr/bin/env bash
# Store sync over links with latency and a bandwidth cap: does the chunk window keep the copy at the
# link's rate? (issue 15, "sync over real latency").
#
#   swift build -c release --product monsync            # in the repository's root
#   Benchmarks/sync-over-latency.sh [MiB=256] [value bytes=65536] [RTTs ms="1 10 50"] [windows="1 8 8-64"] [link bytes/s=52428800]
#
# Three `monsync node` processes on 127.0.0.1 (ZeroMQ tcp, plaintext, RocksDB). Each node listens on
# a private port (`--bind-address`) behind a delay proxy (Benchmarks/delay-proxy.py) at its monmap
# address, so every message to a node crosses a link with RTT/2 of delay and the link rate: a
# message and its answer make one RTT. (This kernel has no netem and no fq qdisc, so the delay
# cannot come from `tc`.) a is loaded offline, b is a copy; for each RTT and window, a fresh c syncs
# and the copy's bytes/s (c's own count, from `status --json`) is compared with the link rate and
# with what stop-and-wait allows (a chunk per RTT: chunk size / RTT). A window `W` is fixed
# (`--sync-window W --sync-max-window W`); `W-M` adapts from W up to M (`--sync-window W
# --sync-max-window M`; 8-64 is the default).
# Environment: MONSYNC (the binary; default .build/release/monsync), KEEP=1 keeps the directory.
set -euo pipefail
MIB=${1:-256}; VALUE=${2:-65536}; RTTS=${3:-"1 10 50"}; WINDOWS=${4:-"1 8 8-64"}; LINK=${5:-52428800}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MONSYNC=${MONSYNC:-$ROOT/.build/release/monsync}
KEYS=$(( MIB * 1048576 / VALUE ))
CHUNK=1048576
W=$(mktemp -d /tmp/monsync-sync-over-latency.XXXXXX)
PIDS=()
stop_all() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
cleanup() { stop_all; [ "${KEEP:-0}" = 1 ] && echo "kept $W" >&2 || rm -rf "$W"; }
trap cleanup EXIT

echo "loading a: $KEYS keys of $VALUE bytes ($MIB MiB)" >&2
"$MONSYNC" store load "$W/a.seed" --keys "$KEYS" --value-size "$VALUE" --keep 5 > /dev/null

echo "| RTT ms | link MB/s | window | copy s | copy MB/s | share of the link | stop-and-wait bound MB/s | load avg |"
echo "|---:|---:|---:|---:|---:|---:|---:|:--|"
for rtt in $RTTS; do
  for window in $WINDOWS; do
    initial=${window%-*}; largest=${window#*-}
    ports=($(python3 -c 'import socket
s=[socket.socket() for _ in range(6)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'))
    M="a=tcp://127.0.0.1:${ports[0]},b=tcp://127.0.0.1:${ports[1]},c=tcp://127.0.0.1:${ports[2]}"
    rm -rf "$W/a" "$W/b" "$W/c"; cp -a "$W/a.seed" "$W/a"; cp -a "$W/a.seed" "$W/b"
    for i in 0 1 2; do
      python3 "$ROOT/Benchmarks/delay-proxy.py" "${ports[$i]}" "${ports[$((i + 3))]}" "$(python3 -c "print($rtt / 2)")" "$LINK" &
      PIDS+=($!)
    done
    node() {
      "$MONSYNC" node --name "$1" --monmap "$M" --store "$W/$1" --bind-address "tcp://127.0.0.1:$2" --insecure-plaintext \
        --log-level notice --sync-window "$initial" --sync-max-window "$largest" --lease-ack-timeout 30 --accept-timeout 30 > "$W/$1.log" 2>&1 &
      PIDS+=($!)
    }
    status() { "$MONSYNC" status --json --timeout 5 --monmap "$M" --insecure-plaintext 2>/dev/null || true; }
    node a "${ports[3]}"; node b "${ports[4]}"
    for _ in $(seq 1 240); do status | grep -q '"leader"' && break; sleep 0.5; done
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    node c "${ports[5]}"
    result=""
    for _ in $(seq 1 1800); do
      result=$(status | python3 -c 'import json,sys
try: d=json.loads(sys.stdin.read())
except Exception: sys.exit()
rows={r.get("name"): r for r in (d.get("monitors", d) if isinstance(d, dict) else d)}
r=((rows.get("c",{}).get("sync") or {}).get("requester") or {})
if r.get("phase")=="done": print(r.get("bytes",0), r.get("elapsedSeconds",0))')
      [ -n "$result" ] && break
      sleep 0.5
    done
    [ -n "$result" ] || { echo "c did not finish its copy (RTT $rtt ms, window $window); logs in $W" >&2; KEEP=1; exit 1; }
    read -r bytes seconds <<< "$result"
    python3 -c "
rtt, window, link, chunk = $rtt, '$window', $LINK, $CHUNK
bytes, seconds = $bytes, $seconds
rate = bytes / seconds / 1e6
print(f'| {rtt} | {link / 1e6:.1f} | {window} | {seconds:.2f} | {rate:.1f} | {rate / (link / 1e6) * 100:.0f} % | {chunk / (rtt / 1000) / 1e6:.1f} | $load |')"
    stop_all
  done
done
