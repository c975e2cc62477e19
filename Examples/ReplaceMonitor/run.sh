#!/usr/bin/env bash
# Replace a monitor whose disk was lost, with real processes over ZeroMQ and CURVE keys:
# a, b and c run and hold data; c is killed and its store deleted; the operator removes c from the
# monmap, makes a new key pair for its replacement, lists it in every keyring (SIGHUP), adds c back
# at a new address, and starts it on an empty disk with --join. The new c copies the store and
# joins; the three stores are compared offline at the end. docs/OPERATIONS.md has the procedure.
#
# Usage: Examples/ReplaceMonitor/run.sh [base-port]     (default 7401: uses 7401-7404)
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE_PORT=${1:-7401}
WRITES=${WRITES:-150}

Scripts/ensure-system-packages
if [ -z "${MONSYNC:-}" ]; then   # MONSYNC=path/to/monsync runs another build (e.g. a debug one)
  swift build -c release --product monsync >&2
  MONSYNC=.build/release/monsync
fi
WORK=$(mktemp -d /tmp/monsync-replace.XXXXXX)
A=tcp://127.0.0.1:${BASE_PORT}
B=tcp://127.0.0.1:$((BASE_PORT + 1))
C_OLD=tcp://127.0.0.1:$((BASE_PORT + 2))
C_NEW=tcp://127.0.0.1:$((BASE_PORT + 3))
MONMAP="a=$A,b=$B,c=$C_OLD"
# A short Paxos log, so the cluster trims what an empty monitor would need: the new c must sync.
TUNING="--paxos-min 20 --paxos-trim-min 10 --paxos-trim-max 40"
declare -A PIDS=()

mkdir -p "$WORK/keys"
for name in a b c client; do "$MONSYNC" keygen --out "$WORK/keys/$name" >/dev/null; done
KEYRING="$WORK/keys/keyring"
write_keyring() {   # the monitors' keys (c's current one), the client's, and the operator's admin key (a monitor role)
  {
    for name in a b; do echo "$name monitor $(cat "$WORK/keys/$name.pub")"; done
    echo "c monitor $(cat "$WORK/keys/$1.pub")"
    echo "client.admin write $(cat "$WORK/keys/client.pub")"
  } >"$KEYRING"
}
write_keyring c
CLIENT="--key $WORK/keys/client.key --keyring $KEYRING"
# Membership changes need a key with the monitor role; here the operator uses a's.
ADMIN="--key $WORK/keys/a.key --keyring $KEYRING"

step() { printf '\n== %s\n' "$*"; }
start_node() {   # name, key file, extra arguments
  "$MONSYNC" node --name "$1" --store "$WORK/$3" $TUNING --log-level notice \
    --key "$WORK/keys/$2.key" --keyring "$KEYRING" "${@:4}" >>"$WORK/$3.log" 2>&1 &
  PIDS[$3]=$!
}
stop_node() {
  kill -TERM "${PIDS[$1]}" 2>/dev/null || true
  wait "${PIDS[$1]}" 2>/dev/null || true
  unset "PIDS[$1]"
}
cleanup() {
  for name in "${!PIDS[@]}"; do kill -KILL "${PIDS[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_for_quorum() {   # quorum, monmap, seconds
  local deadline=$((SECONDS + ${3:-60}))
  until "$MONSYNC" status --monmap "$2" $CLIENT --timeout 2 2>/dev/null | grep -q "quorum $1 "; do
    if [ $SECONDS -ge $deadline ]; then
      echo "no quorum $1 after ${3:-60} s; logs are in $WORK" >&2
      "$MONSYNC" status --monmap "$2" $CLIENT --timeout 2 || true
      exit 1
    fi
    sleep 1
  done
}

step "starting a, b and c (stores and logs in $WORK)"
for name in a b c; do start_node "$name" "$name" "$name" --monmap "$MONMAP"; done
wait_for_quorum "a,b,c" "$MONMAP"
for i in $(seq 1 "$WRITES"); do
  "$MONSYNC" put "key-$i" "value $i" --monmap "$MONMAP" $CLIENT --timeout 30 >/dev/null
done
"$MONSYNC" status --monmap "$MONMAP" $CLIENT

step "c's host dies with its disk (SIGKILL, store deleted)"
kill -KILL "${PIDS[c]}"; wait "${PIDS[c]}" 2>/dev/null || true; unset "PIDS[c]"
rm -rf "$WORK/c"

step "removing c from the monmap: a and b are 2 of 2"
"$MONSYNC" mon remove c --monmap "$MONMAP" $ADMIN --timeout 30

step "a new key pair for the new c, listed in every keyring (SIGHUP reloads it)"
"$MONSYNC" keygen --out "$WORK/keys/c-new" >/dev/null
write_keyring c-new
kill -HUP "${PIDS[a]}" "${PIDS[b]}"
sleep 1

step "adding c back at its new address $C_NEW"
"$MONSYNC" mon add c "$C_NEW" --monmap "$MONMAP" $ADMIN --timeout 30
CURRENT="a=$A,b=$B,c=$C_NEW"
"$MONSYNC" mon dump --monmap "$CURRENT" $CLIENT

step "starting the new c on an empty disk with --join: it fetches the monmap, syncs, joins"
start_node c c-new c-new --join "a=$A"   # NAME=URL: with keys, the member's key is known by its name
wait_for_quorum "a,b,c" "$CURRENT" 120
"$MONSYNC" status --monmap "$CURRENT" $CLIENT
grep -E "joining with the monmap|full store sync|store sync finished" "$WORK/c-new.log" | sed 's/^/  c: /' | head -5 || true

step "reading the first write back, then stopping everyone and comparing the stores offline"
"$MONSYNC" get key-1 --monmap "$CURRENT" $CLIENT --timeout 30
sleep 2
for name in a b c-new; do stop_node "$name"; done
digest_of() { "$MONSYNC" store digest "$WORK/$1" | grep '^digest:'; }
for name in a b c-new; do printf '  %-6s %s\n' "$name" "$(digest_of "$name")"; done
if [ "$(for name in a b c-new; do digest_of "$name"; done | sort -u | wc -l)" -eq 1 ]; then
  echo "OK: c was replaced; all three stores hold the same data"
  rm -rf "$WORK"
else
  echo "FAILED: the stores differ (kept in $WORK)"
  exit 1
fi
