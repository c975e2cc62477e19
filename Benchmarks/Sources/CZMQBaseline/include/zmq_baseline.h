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

#endif
