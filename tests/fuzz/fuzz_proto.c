/* fuzz_proto: libFuzzer target for the wire decoders (proto/ps_proto.c on the
 * bounded reader of proto/ps_mpack.c).
 *
 * Every input goes to every decoder, as a hostile peer's bytes would (the
 * controller decodes whatever arrives on its sockets). Besides ASan/UBSan the
 * target checks one property the decoders promise: what one accepts survives a
 * round trip, i.e. encoding the decoded struct gives bytes that decode again and
 * encode to the very same bytes. A decoder that accepts a value its encoder
 * cannot write back (or writes back differently) fails here with abort().
 * A refusal must come with a message: a silent -1 is a defect too.
 *
 * Seeds (tests/fuzz/corpus/proto/) are the encodings of the messages of
 * tests/unit/proto_make.h's makers (every field filled) and of small everyday
 * messages, plus the hand-written hostile headers of test_proto_hostile.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_mpack.h"
#include "ps_proto.h"

/* The decoded messages are large (a REPLY with an ASSIGN is ~100 KB), so each
 * lives once for the whole process instead of on the stack; libFuzzer runs
 * inputs one at a time. */
struct fuzz_proto_bufs {
    struct ps_hello hello[2];
    struct ps_welcome welcome[2];
    struct ps_tick tick[2];
    struct ps_reply reply[2];
    struct ps_events events[2];
    msgpack_sbuffer once, twice;
};

static struct fuzz_proto_bufs *fuzz_proto_bufs(void)
{
    static struct fuzz_proto_bufs *b;
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            abort();
        msgpack_sbuffer_init(&b->once);
        msgpack_sbuffer_init(&b->twice);
    }
    return b;
}

static void fuzz_proto_fail(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_proto: %s: %s\n", what, why);
    abort();
}

/* Decodes with dec into m[0]; when accepted, checks the round trip via m[1]. */
#define FUZZ_PROTO_ONE(s, data, size, b)                                                   \
    do {                                                                                   \
        char err[256] = "";                                                                \
        if (ps_proto_decode_##s(data, size, &(b)->s[0], err, sizeof err) != 0) {           \
            if (!err[0])                                                                   \
                fuzz_proto_fail(#s, "refused without a message");                          \
            break;                                                                         \
        }                                                                                  \
        msgpack_sbuffer_clear(&(b)->once);                                                 \
        if (ps_proto_encode_##s(&(b)->once, &(b)->s[0]) != 0)                              \
            fuzz_proto_fail(#s, "accepted but cannot be encoded again");                   \
        if (ps_proto_decode_##s((b)->once.data, (b)->once.size, &(b)->s[1], err,           \
                                sizeof err) != 0)                                          \
            fuzz_proto_fail(#s " (re-encoded)", err);                                      \
        msgpack_sbuffer_clear(&(b)->twice);                                                \
        if (ps_proto_encode_##s(&(b)->twice, &(b)->s[1]) != 0)                             \
            fuzz_proto_fail(#s, "second encoding failed");                                 \
        if ((b)->once.size != (b)->twice.size ||                                           \
            memcmp((b)->once.data, (b)->twice.data, (b)->once.size) != 0)                  \
            fuzz_proto_fail(#s, "the round trip changed the message");                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_proto_bufs *b = fuzz_proto_bufs();
    char err[256] = "";
    uint32_t type;

    if (ps_mpack_precheck(data, size, err, sizeof err) != 0 && !err[0])
        fuzz_proto_fail("precheck", "refused without a message");
    if (ps_proto_peek_type(data, size, &type, err, sizeof err) != 0 && !err[0])
        fuzz_proto_fail("peek_type", "refused without a message");
    FUZZ_PROTO_ONE(hello, data, size, b);
    FUZZ_PROTO_ONE(welcome, data, size, b);
    FUZZ_PROTO_ONE(tick, data, size, b);
    FUZZ_PROTO_ONE(reply, data, size, b);
    FUZZ_PROTO_ONE(events, data, size, b);
    return 0;
}
