// The libzmq C API (Debian's libzmq3-dev, 4.3.x, stable API only) plus the
// eventfd helpers the ZeroMQ transport's I/O thread uses as its wake-up fd
// (Swift's Glibc module does not export <sys/eventfd.h>).
#ifndef MONSYNC_CZEROMQ_SHIM_H
#define MONSYNC_CZEROMQ_SHIM_H

#include <zmq.h>
#include <stdint.h>
#include <errno.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/// A non-blocking, close-on-exec eventfd, or -1 with errno set.
static inline int monsync_wake_fd_create(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/// Makes the fd readable (adds 1 to its counter). Never blocks: the counter cannot overflow in practice.
static inline void monsync_wake_fd_signal(int fd) {
    uint64_t one = 1;
    ssize_t rc;
    do { rc = write(fd, &one, sizeof one); } while (rc < 0 && errno == EINTR);
}

/// Resets the fd's counter so that it is no longer readable.
static inline void monsync_wake_fd_drain(int fd) {
    uint64_t value;
    ssize_t rc;
    do { rc = read(fd, &value, sizeof value); } while (rc < 0 && errno == EINTR);
}

/// Names the calling thread (shown by top -H, gdb and TSan reports).
static inline void monsync_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/// The errno of the calling thread (Swift reads libzmq's through zmq_errno()).
static inline int monsync_errno(void) { return errno; }

#endif
