/*
 * libFuzzer target: the dialogue context read back from Redis
 * (kefu_session_decode), which a damaged or hostile value must never turn
 * into a crash, and the ordinal reader of clarify answers
 * (kefu_dialog_ordinal), which sees the user's raw text.
 *
 * The first byte picks a mode:
 *   0 - decode; a decoded session must keep its bounds, and encoding it
 *       must give a value that decodes to the same encoding;
 *   1 - add the bytes as a turn to a decoded session, then round-trip;
 *   2 - kefu_dialog_ordinal on the bytes.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_dialog.h"
#include "kefu_session.h"
#include "fuzz.h"


static void
fuzz_bounds(const kefu_session_t *s)
{
    size_t  i;

    fuzz_assert(s->nturns <= KEFU_SESSION_MAX_TURNS);
    fuzz_assert(s->npending <= KEFU_SESSION_MAX_PENDING);

    for (i = 0; i < s->nturns; i++) {
        fuzz_assert(s->turns[i].q.len == 0 || s->turns[i].q.data != NULL);
        fuzz_assert(s->turns[i].faq.len == 0
                    || s->turns[i].faq.data != NULL);
    }

    for (i = 0; i < s->npending; i++) {
        fuzz_assert(s->pending[i].len == 0 || s->pending[i].data != NULL);
    }
}


static void
fuzz_roundtrip(kefu_alloc_t *a, const kefu_session_t *s)
{
    kefu_buf_t      b1, b2;
    kefu_session_t  s2;

    kefu_buf_init(&b1, a, 256);
    kefu_session_encode(s, &b1);
    fuzz_assert(!b1.failed);

    if (kefu_session_decode(a, b1.data, b1.len, &s2) != KEFU_OK) {
        fprintf(stderr, "encoded session does not decode: %.*s\n",
                (int) b1.len, (char *) b1.data);
        abort();
    }

    fuzz_bounds(&s2);

    kefu_buf_init(&b2, a, 256);
    kefu_session_encode(&s2, &b2);
    fuzz_assert(!b2.failed);

    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
        fprintf(stderr, "re-encoding differs:\n%.*s\n%.*s\n",
                (int) b1.len, (char *) b1.data, (int) b2.len,
                (char *) b2.data);
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              n;
    uint8_t          mode;
    size_t           cut;
    kefu_str_t       faq;
    kefu_arena_t     arena;
    kefu_session_t   s;

    static const unsigned char  base[] =
        "{\"turn\":2,\"topic\":\"repay-how\",\"pending\":[],\"fb\":0,"
        "\"em\":0,\"ts\":1700000000,\"turns\":[]}";

    if (size == 0) {
        return 0;
    }

    mode = data[0];
    data++;
    size--;

    kefu_arena_init(&arena);

    switch (mode % 3) {

    case 0:
        if (kefu_session_decode(&arena.allocator, data, size, &s)
            == KEFU_OK)
        {
            fuzz_bounds(&s);
            fuzz_roundtrip(&arena.allocator, &s);

        } else {
            /* a refused value leaves an empty session */
            fuzz_assert(s.turn == 0 && s.nturns == 0 && s.npending == 0);
        }

        break;

    case 1:
        /* a question comes from the JSON parser, which refuses NUL */
        if (memchr(data, '\0', size) != NULL) {
            break;
        }

        (void) kefu_session_decode(&arena.allocator, base, sizeof(base) - 1,
                                   &s);

        /* the first half is the question, the rest the FAQ id */
        cut = size / 2;
        faq.data = (unsigned char *) data + cut;
        faq.len = size - cut;

        kefu_session_add_turn(&s, data, cut, &faq, "acfh"[mode % 4],
                              1 + mode % KEFU_SESSION_MAX_TURNS);
        fuzz_bounds(&s);
        fuzz_assert(s.nturns >= 1);
        fuzz_assert(s.turns[s.nturns - 1].q.len <= KEFU_SESSION_MAX_Q);

        /* the encoder must escape whatever the user typed */
        {
            kefu_buf_t      b;
            kefu_session_t  s2;

            kefu_buf_init(&b, &arena.allocator, 256);
            kefu_session_encode(&s, &b);
            fuzz_assert(!b.failed);
            fuzz_assert(kefu_session_decode(&arena.allocator, b.data, b.len,
                                            &s2) == KEFU_OK);
            fuzz_bounds(&s2);
        }

        break;

    default:
        n = kefu_dialog_ordinal(data, size);
        fuzz_assert(n >= 0 && n <= 3);
        break;
    }

    kefu_arena_free(&arena);

    return 0;
}
