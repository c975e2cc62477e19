#include "zmq_baseline.h"

#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int zmq_baseline_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) == 0 &&
        getsockname(fd, (struct sockaddr *)&address, &length) == 0) {
        port = ntohs(address.sin_port);
    }
    close(fd);
    return port;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    void *router;
    uint64_t expected;
    uint64_t messages;
    uint64_t bytes;
    int error;
} receiver_state;

static void *receive_all(void *argument) {
    receiver_state *state = argument;
    zmq_msg_t message;
    while (state->messages < state->expected) {
        // [connection id, (sender address,) body]: MonSync's DEALERs send [address, body], the bare
        // baseline DEALER [body]; the body is the last part.
        zmq_msg_init(&message);
        if (zmq_msg_recv(&message, state->router, 0) < 0) { state->error = zmq_errno(); zmq_msg_close(&message); return NULL; }
        int more = zmq_msg_more(&message);
        zmq_msg_close(&message);
        if (!more) { state->error = EPROTO; return NULL; }
        size_t size = 0;
        do {
            zmq_msg_init(&message);
            if (zmq_msg_recv(&message, state->router, 0) < 0) { state->error = zmq_errno(); zmq_msg_close(&message); return NULL; }
            size = zmq_msg_size(&message);
            more = zmq_msg_more(&message);
            zmq_msg_close(&message);
        } while (more);
        state->bytes += size;
        state->messages += 1;
    }
    return NULL;
}

static void no_free(void *data, void *hint) { (void)data; (void)hint; }

static int send_one(void *dealer, const unsigned char *payload, size_t size, size_t zero_copy_threshold) {
    if (size < zero_copy_threshold) {
        return zmq_send(dealer, payload, size, 0) < 0 ? zmq_errno() : 0;
    }
    zmq_msg_t message;
    if (zmq_msg_init_data(&message, (void *)payload, size, no_free, NULL) != 0) return zmq_errno();
    if (zmq_msg_send(&message, dealer, 0) < 0) {
        int error = zmq_errno();
        zmq_msg_close(&message);
        return error;
    }
    return 0;
}

zmq_baseline_result zmq_baseline_run(size_t size, uint64_t count, size_t zero_copy_threshold, int hwm) {
    zmq_baseline_result result = {0, 0, 0, 0};
    unsigned char *payload = malloc(size ? size : 1);
    if (!payload) { result.error = ENOMEM; return result; }
    for (size_t i = 0; i < size; i++) payload[i] = (unsigned char)(i * 131 + 7);

    void *context = zmq_ctx_new();
    void *router = zmq_socket(context, ZMQ_ROUTER);
    void *dealer = zmq_socket(context, ZMQ_DEALER);
    int linger = 1000;
    int64_t maxmsgsize = -1;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_MAXMSGSIZE, &maxmsgsize, sizeof maxmsgsize);

    char endpoint[64], identity[64];
    int bound = -1;
    for (int attempt = 0; attempt < 20 && bound != 0; attempt++) {
        int port = zmq_baseline_free_port();
        if (port < 0) continue;
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
        bound = zmq_bind(router, endpoint);
    }
    if (bound != 0) { result.error = zmq_errno(); goto done; }
    snprintf(identity, sizeof identity, "tcp://127.0.0.1:%d", zmq_baseline_free_port());
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, identity, strlen(identity));
    if (zmq_connect(dealer, endpoint) != 0) { result.error = zmq_errno(); goto done; }

    // Warm-up: one message through, so the timed part excludes the connection set-up.
    receiver_state warmup = {router, 1, 0, 0, 0};
    if ((result.error = send_one(dealer, payload, size < 64 ? size : 64, zero_copy_threshold))) goto done;
    receive_all(&warmup);
    if (warmup.error) { result.error = warmup.error; goto done; }

    receiver_state state = {router, count, 0, 0, 0};
    pthread_t receiver;
    double start = now_seconds();
    if (pthread_create(&receiver, NULL, receive_all, &state) != 0) { result.error = errno; goto done; }
    for (uint64_t i = 0; i < count; i++) {
        int error = send_one(dealer, payload, size, zero_copy_threshold);
        if (error) { result.error = error; break; }
    }
    pthread_join(receiver, NULL);
    result.seconds = now_seconds() - start;
    result.messages = state.messages;
    result.bytes = state.bytes;
    if (!result.error) result.error = state.error;

done:
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(context);
    free(payload);
    return result;
}

double zmq_baseline_now(void) { return now_seconds(); }

struct zmq_baseline_sink {
    void *context;
    void *router;
    pthread_t thread;
    uint64_t count;
    receiver_state state;
    double end;
};

static void *sink_main(void *argument) {
    zmq_baseline_sink *sink = argument;
    receiver_state warmup = {sink->router, 1, 0, 0, 0};
    receive_all(&warmup);
    if (warmup.error) { sink->state.error = warmup.error; return NULL; }
    receive_all(&sink->state);
    sink->end = now_seconds();
    return NULL;
}

zmq_baseline_sink *zmq_baseline_sink_start(uint64_t count, int hwm, char *endpoint, size_t endpoint_capacity) {
    zmq_baseline_sink *sink = calloc(1, sizeof *sink);
    if (!sink) return NULL;
    sink->context = zmq_ctx_new();
    sink->router = zmq_socket(sink->context, ZMQ_ROUTER);
    int linger = 1000;
    int64_t maxmsgsize = -1;
    zmq_setsockopt(sink->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sink->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sink->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sink->router, ZMQ_MAXMSGSIZE, &maxmsgsize, sizeof maxmsgsize);
    int bound = -1;
    for (int attempt = 0; attempt < 20 && bound != 0; attempt++) {
        int port = zmq_baseline_free_port();
        if (port < 0) continue;
        snprintf(endpoint, endpoint_capacity, "tcp://127.0.0.1:%d", port);
        bound = zmq_bind(sink->router, endpoint);
    }
    sink->state = (receiver_state){sink->router, count, 0, 0, 0};
    if (bound != 0 || pthread_create(&sink->thread, NULL, sink_main, sink) != 0) {
        zmq_close(sink->router);
        zmq_ctx_term(sink->context);
        free(sink);
        return NULL;
    }
    return sink;
}

zmq_baseline_result zmq_baseline_sink_finish(zmq_baseline_sink *sink) {
    pthread_join(sink->thread, NULL);
    zmq_baseline_result result = {sink->end, sink->state.messages, sink->state.bytes, sink->state.error};
    zmq_close(sink->router);
    zmq_ctx_term(sink->context);
    free(sink);
    return result;
}

zmq_baseline_result zmq_baseline_source(const char *endpoint, const char *identity, size_t size, uint64_t count,
                                        size_t zero_copy_threshold, int hwm, double pause_seconds) {
    zmq_baseline_result result = {0, 0, 0, 0};
    unsigned char *payload = malloc(size ? size : 1);
    if (!payload) { result.error = ENOMEM; return result; }
    for (size_t i = 0; i < size; i++) payload[i] = (unsigned char)(i * 131 + 7);
    void *context = zmq_ctx_new();
    void *dealer = zmq_socket(context, ZMQ_DEALER);
    int linger = 5000;
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, identity, strlen(identity));
    if (zmq_connect(dealer, endpoint) != 0) { result.error = zmq_errno(); goto done; }
    if ((result.error = send_one(dealer, payload, size < 64 ? size : 64, zero_copy_threshold))) goto done;
    struct timespec pause = {(time_t)pause_seconds, (long)((pause_seconds - (double)(time_t)pause_seconds) * 1e9)};
    nanosleep(&pause, NULL);
    result.seconds = now_seconds();
    for (uint64_t i = 0; i < count; i++) {
        int error = send_one(dealer, payload, size, zero_copy_threshold);
        if (error) { result.error = error; break; }
        result.messages += 1;
        result.bytes += size;
    }
done:
    zmq_close(dealer); // lingers until the queue is flushed
    zmq_ctx_term(context);
    free(payload);
    return result;
}
