/* fuzz_eio: libFuzzer target for the Engine.IO / Socket.IO reader (agent/eio_wire.c).
 *
 * The reader is fed whatever pieces lws hands over, so what must hold is that
 * the split does not matter: a message read whole and read in chunks gives
 * the same verdict, kind, ack id and event data, and that data is the
 * message's own tail (nothing invented, nothing dropped). The same state then
 * reads a ping, so a refusal never leaves it stuck. Input: byte 0 seeds the
 * chunk sizes and picks the namespace and the binary flag, the rest is the
 * message. The reader is pure C with no dependencies: it is compiled in here
 * rather than given a link rule of its own. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/eio_wire.c"

struct fuzz_eio_read {
    int err;
    struct eio_rx_out end;
    size_t n_data, data_at;
    int n_first;
};

static void fuzz_eio_read(struct eio_rx *r, const char *nsp, const uint8_t *msg, size_t len,
                          uint32_t seed, int binary, struct fuzz_eio_read *out)
{
    memset(out, 0, sizeof *out);
    out->data_at = SIZE_MAX;
    size_t off = 0;
    do {
        size_t n = len - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t c = 1 + (seed >> 16) % 19;
            if (c < n)
                n = c;
        }
        struct eio_rx_out o;
        int final = off + n == len;
        out->err = eio_rx_piece(r, nsp, msg + off, n, off == 0, final, binary, &o);
        if (out->err) {
            if (o.len || o.data || o.done)
                abort();                       /* a refusal hands nothing on */
            return;
        }
        if (o.len) {
            size_t at = (size_t)(o.data - msg);
            if (o.data < msg + off || o.data + o.len != msg + off + n)
                abort();                       /* data is the piece's tail */
            if (out->data_at == SIZE_MAX) {
                if (!o.data_first)
                    abort();
                out->data_at = at;
            } else if (o.data_first || out->data_at + out->n_data != at)
                abort();                       /* one span, contiguous */
            out->n_data += o.len;
        }
        out->n_first += o.data_first;
        if (final)
            out->end = o;
        off += n;
    } while (off < len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *nsp = data[0] & 1 ? "/chat" : "/";
    int binary = (data[0] & 0x80) != 0;
    uint32_t seed = data[0] * 2654435761u + 1;
    struct eio_rx a = { 0 }, b = { 0 };
    struct fuzz_eio_read whole, parts;
    fuzz_eio_read(&a, nsp, data + 1, size - 1, 0, binary, &whole);
    fuzz_eio_read(&b, nsp, data + 1, size - 1, seed, binary, &parts);
    if (whole.err != parts.err) {
        fprintf(stderr, "fuzz_eio: whole %d (%s), in chunks %d (%s)\n", whole.err,
                eio_err_name(whole.err), parts.err, eio_err_name(parts.err));
        abort();
    }
    if (!whole.err) {
        if (whole.end.kind != parts.end.kind || whole.end.has_ack != parts.end.has_ack ||
            whole.end.ack_id != parts.end.ack_id || whole.n_data != parts.n_data ||
            whole.data_at != parts.data_at || whole.n_first > 1 || !whole.end.done)
            abort();
        if (whole.end.kind == EIO_K_OPEN &&
            (a.ping_interval_ms != b.ping_interval_ms || a.ping_timeout_ms != b.ping_timeout_ms ||
             a.max_payload != b.max_payload || a.ping_interval_ms == 0 ||
             a.ping_interval_ms > EIO_PING_MAX_MS))
            abort();
        if (whole.n_data && (whole.end.kind != EIO_K_EVENT || data[1 + whole.data_at] != '['))
            abort();
        if (whole.end.has_ack) {                /* what we would answer reads back */
            char ack[64];
            struct eio_rx c = { 0 };
            struct fuzz_eio_read back;
            int n = eio_put_ack(ack, sizeof ack, nsp, whole.end.ack_id);
            if (n < 0)
                abort();
            fuzz_eio_read(&c, nsp, (const uint8_t *)ack, (size_t)n, 0, 0, &back);
            if (back.err || back.end.kind != EIO_K_ACK || back.end.ack_id != whole.end.ack_id)
                abort();
        }
    }
    struct fuzz_eio_read ping;
    fuzz_eio_read(&a, nsp, (const uint8_t *)"2", 1, 0, 0, &ping);
    if (ping.err || ping.end.kind != EIO_K_PING)
        abort();
    return 0;
}
