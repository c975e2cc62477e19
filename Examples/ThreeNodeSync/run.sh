#!/usr/bin/env bash
# Three `monsync node` processes over ZeroMQ on 127.0.0.1: fill the cluster, stop one node, wipe it,
# restart it, and watch it sync the whole store and rejoin. Every link is authenticated and
# encrypted (CURVE keys from `monsync keygen`, docs/SECURITY.md). See README.md beside this script.
#
# Usage: Examples/ThreeNodeSync/run.sh [base-port]     (default 7301: uses 7301-7303)
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_PORT=${1:-7301}
WRITES=${WRITES:-120}

Scripts/ensure-system-packages
swift build -c release --product monsync >&2
MONSYNC=.build/release/monsync
WORK=$(mktemp -d /tmp/monsync-three-node.XXXXXX)
MONMAP="a=tcp://127.0.0.1:${BASE_PORT},b=tcp://127.0.0.1:$((BASE_PORT + 1)),c=tcp://127.0.0.1:$((BASE_PORT + 2))"
# A short Paxos log, so a few hundred writes are enough for the cluster to trim what c would need.
TUNING="--paxos-min 20 --paxos-trim-min 10 --paxos-trim-max 40"
declare -A PIDS=()

# One key pair per monitor and one for this script's client; the keyring names them all.
mkdir -p "$WORK/keys"
for name in a b c client; do "$MONSYNC" keygen --out "$WORK/keys/$name" >/dev/null; done
KEYRING="$WORK/keys/keyring"
{
  for name in a b c; do echo "$name monitor $(cat "$WORK/keys/$name.pub")"; done
  echo "client.admin write $(cat "$WORK/keys/client.pub")"
} >"$KEYRING"
CLIENT="--key $WORK/keys/client.key --keyring $KEYRING"

step() { printf '\n== %s\n' "$*"; }
start_node() {
  "$MONSYNC" node --name "$1" --monmap "$MONMAP" --store "$WORK/$1" $TUNING --log-level notice \
    --key "$WORK/keys/$1.key" --keyring "$KEYRING" \
    >>"$WORK/$1.log" 2>&1 &
  PIDS[$1]=$!
}
stop_node() {
  kill -TERM "${PIDS[$1]}" 2>/dev/null || true
  wait "${PIDS[$1]}" 2>/dev/null || true
  unset "PIDS[$1]"
}
cleanup() {
  for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
# Waits (at most $2 seconds) until `monsync status` reports the quorum $1, e.g. "a,b,c".
wait_for_quorum() {
  local deadline=$((SECONDS + ${2:-60}))
  until "$MONSYNC" status --monmap "$MONMAP" $CLIENT --timeout 2 2>/dev/null | grep -q "quorum $1 "; do
    if [ $SECONDS -ge $deadline ]; then
      echo "no quorum $1 after ${2:-60} s; logs are in $WORK" >&2
      "$MONSYNC" status --monmap "$MONMAP" $CLIENT --timeout 2 || true
      exit 1
    fi
    sleep 1
  done
}
# A write may wait out a re-election: once c stops, the leader's lease goes unacknowledged
# (mon_lease_ack_timeout, 10 s), a and b elect (up to 5 s), and the new quorum serves after one lease
# (5 s) — Ceph's timers. 30 s covers that.
write_keys() {
  for i in $(seq "$1" "$2"); do
    "$MONSYNC" put "key-$i" "value $i written at $(date +%T)" --monmap "$MONMAP" $CLIENT --timeout 30 >/dev/null
  done
}

step "starting a, b and c (stores and logs in $WORK)"
for name in a b c; do start_node "$name"; done
wait_for_quorum "a,b,c"
"$MONSYNC" status --monmap "$MONMAP" $CLIENT

step "filling the cluster with $WRITES writes"
write_keys 1 "$WRITES"
"$MONSYNC" status --monmap "$MONMAP" $CLIENT

step "stopping c and wiping its store"
stop_node c
rm -rf "$WORK/c"

step "writing $WRITES more while c is away: the quorum trims the versions c would need"
write_keys $((WRITES + 1)) $((2 * WRITES))
"$MONSYNC" status --monmap "$MONMAP" $CLIENT

step "restarting c empty: it finds itself oblivious, syncs the whole store, and rejoins"
start_node c
wait_for_quorum "a,b,c" 120
"$MONSYNC" status --monmap "$MONMAP" $CLIENT
grep -E "full store sync|sync granted|store sync finished|sync complete" "$WORK/c.log" | sed 's/^/  c: /' | head -10 || true

step "reading the first write back, then stopping everyone and comparing the stores offline"
"$MONSYNC" get key-1 --monmap "$MONMAP" $CLIENT --timeout 30
sleep 2   # let the last commits reach every member
for name in a b c; do stop_node "$name"; done
digest_of() { "$MONSYNC" store digest "$WORK/$1" | grep '^digest:'; }
for name in a b c; do
  printf '  %s  %s\n' "$name" "$(digest_of "$name")"
done
digests=$(for name in a b c; do digest_of "$name"; done | sort -u | wc -l)
if [ "$digests" -eq 1 ]; then
  echo "OK: all three stores hold the same data"
  echo "(a client without the keys gets nothing from this cluster: \"$MONSYNC get key-1 --monmap $MONMAP --insecure-plaintext\" finds no monitor, exit 3; without that flag it refuses to run in plaintext at all)"
  rm -rf "$WORK"
else
  echo "FAILED: the stores differ (kept in $WORK)"
  exit 1
fi
