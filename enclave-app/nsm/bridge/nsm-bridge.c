/*
 * nsm-bridge: carries NSM requests between stdin/stdout and /dev/nsm.
 *
 * Node cannot call ioctl(2), so the enclave app runs this helper and speaks to it
 * in frames: a 4-byte big-endian length, then that many bytes. For each request
 * frame it issues the NSM ioctl of aws-nitro-enclaves-nsm-api
 * (_IOWR(0x0A, 0, struct nsm_message) = 0xC0200A00 on 64-bit Linux) with the
 * request and a 0x3000-byte response buffer, and writes the response back as a
 * frame. It parses nothing: CBOR is encoded and decoded by the enclave app.
 *
 * Exit codes: 2 the device cannot be opened, 3 a frame is too large,
 * 4 the ioctl failed, 0 stdin closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define NSM_DEVICE "/dev/nsm"
#define NSM_REQUEST_MAX_SIZE 0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000

struct nsm_message {
    struct iovec request;
    struct iovec response;
};

#define NSM_IOCTL_REQUEST _IOWR(0x0A, 0, struct nsm_message)

static int read_full(int fd, uint8_t *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n == 0) return 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 1;
}

static int write_full(int fd, const uint8_t *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int main(void) {
    static uint8_t request[NSM_REQUEST_MAX_SIZE];
    static uint8_t response[NSM_RESPONSE_MAX_SIZE];
    uint8_t header[4];

    int dev = open(NSM_DEVICE, O_RDWR | O_CLOEXEC);
    if (dev < 0) {
        fprintf(stderr, "nsm-bridge: cannot open " NSM_DEVICE "\n");
        return 2;
    }
    for (;;) {
        int got = read_full(STDIN_FILENO, header, sizeof header);
        if (got <= 0) return got == 0 ? 0 : 4;
        uint32_t len = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) | ((uint32_t)header[2] << 8) | header[3];
        if (len > sizeof request) return 3;
        if (read_full(STDIN_FILENO, request, len) != 1) return 4;

        struct nsm_message msg = {
            .request = {.iov_base = request, .iov_len = len},
            .response = {.iov_base = response, .iov_len = sizeof response},
        };
        if (ioctl(dev, NSM_IOCTL_REQUEST, &msg) != 0) return 4;
        size_t out = msg.response.iov_len; /* the driver sets the response length */
        if (out > sizeof response) return 3;
        uint8_t out_header[4] = {(uint8_t)(out >> 24), (uint8_t)(out >> 16), (uint8_t)(out >> 8), (uint8_t)out};
        if (write_full(STDOUT_FILENO, out_header, sizeof out_header) != 0) return 4;
        if (write_full(STDOUT_FILENO, response, out) != 0) return 4;
    }
}
