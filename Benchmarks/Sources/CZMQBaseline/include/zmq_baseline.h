// Bare libzmq DEALER -> ROUTER throughput, the baseline of the transport benchmark
// (BENCHMARKS.md, "Transport throughput"). Plain C: no Swift layer in the measured path.
#ifndef MONSYNC_ZMQ_BASELINE_H
#define MONSYNC_ZMQ_BASELINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double seconds;      // first send to last byte received (connection set up before)
    uint64_t messages;   // bodies the ROUTER received
    uint64_t bytes;      // body bytes the ROUTER received
    int error;           // 0, or an errno / zmq_errno() value
} zmq_baseline_result;

/// One DEALER (routing id "tcp://127.0.0.1:<dealer-port>") connected to one ROUTER bound on
/// tcp://127.0.0.1:<free port>, in a fresh context. The calling thread sends `count` messages of
/// `size` bytes (zmq_send below `zero_copy_threshold`, zmq_msg_init_data over one shared buffer
/// at or above it); a receiver thread drains the ROUTER with zmq_msg_recv and counts.
/// `hwm` sets ZMQ_SNDHWM/ZMQ_RCVHWM on both sockets (as the transport does from queueCapacity).
zmq_baseline_result zmq_baseline_run(size_t size, uint64_t count, size_t zero_copy_threshold, int hwm);

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed), or -1.
int zmq_baseline_free_port(void);

/// CLOCK_MONOTONIC in seconds (the clock of the times below and of Swift's ContinuousClock on Linux).
double zmq_baseline_now(void);

/// A bare ROUTER bound on tcp://127.0.0.1:<free port> in its own context, with a thread that
/// drains `count` messages after one warm-up message (diagnostic half of the baseline: our
/// transport sends, bare libzmq receives).
typedef struct zmq_baseline_sink zmq_baseline_sink;
zmq_baseline_sink *zmq_baseline_sink_start(uint64_t count, int hwm, char *endpoint, size_t endpoint_capacity);
/// Waits for the drain; `seconds` holds the CLOCK_MONOTONIC time the last message arrived.
zmq_baseline_result zmq_baseline_sink_finish(zmq_baseline_sink *sink);

/// A bare DEALER (routing id `identity`) in its own context that connects to `endpoint`, sends one
/// 64-byte warm-up message, waits `pause_seconds`, then sends `count` messages of `size` bytes like
/// zmq_baseline_run (the other diagnostic half: bare libzmq sends, our transport receives).
/// `seconds` holds the CLOCK_MONOTONIC time of the first timed send.
zmq_baseline_result zmq_baseline_source(const char *endpoint, const char *identity, size_t size, uint64_t count,
                                        size_t zero_copy_threshold, int hwm, double pause_seconds);

#endif
