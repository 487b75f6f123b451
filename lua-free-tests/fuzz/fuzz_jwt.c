/*
 * libFuzzer target: kefu_jwt_peek and kefu_jwt_verify.
 *
 * The first byte picks a mode:
 *   even - the rest is a token, checked with a fixed key;
 *   odd  - the rest is "header JSON\npayload JSON", signed with the key
 *          first, so the claim checks behind the MAC are reached too.
 * The byte also moves "now" a little to cross exp/nbf boundaries.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "kefu_jwt.h"
#include "fuzz.h"


#define FUZZ_NOW  1700000000


static const unsigned char  fuzz_key[] = "fuzz-secret-0123456789abcdef0123";
static const unsigned char  fuzz_key2[] = "fuzz-secret-0123456789abcdef0124";


static void
fuzz_token(kefu_alloc_t *a, const unsigned char *t, size_t len, time_t now)
{
    kefu_jwt_t     jwt, peek;
    kefu_jwt_rc_e  rc, prc;

    fuzz_assert(kefu_jwt_strerror(KEFU_JWT_OK) != NULL);

    prc = kefu_jwt_peek(a, t, len, &peek);
    rc = kefu_jwt_verify(a, t, len, fuzz_key, sizeof(fuzz_key) - 1, now,
                         &jwt);

    fuzz_assert(rc <= KEFU_JWT_BAD_CLAIM);
    fuzz_assert(kefu_jwt_strerror(rc) != NULL);

    if (prc == KEFU_JWT_OK) {
        fuzz_assert(kefu_jwt_valid_id(peek.tenant.data, peek.tenant.len));
    }

    if (rc != KEFU_JWT_OK) {
        return;
    }

    /* a verified token: the key must matter, the fields must be clean */
    fuzz_assert(prc == KEFU_JWT_OK);
    fuzz_assert(peek.tenant.len == jwt.tenant.len
                && memcmp(peek.tenant.data, jwt.tenant.data,
                          jwt.tenant.len) == 0);
    fuzz_assert(kefu_jwt_valid_id(jwt.tenant.data, jwt.tenant.len));
    fuzz_assert(kefu_jwt_valid_id(jwt.sub.data, jwt.sub.len));
    fuzz_assert(jwt.admin == 0 || jwt.admin == 1);

    rc = kefu_jwt_verify(a, t, len, fuzz_key2, sizeof(fuzz_key2) - 1, now,
                         &jwt);
    fuzz_assert(rc == KEFU_JWT_BAD_SIGNATURE);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char           *t;
    size_t          hlen;
    time_t          now;
    uint8_t         mode;
    kefu_arena_t    arena;
    const uint8_t  *nl;

    if (size == 0) {
        return 0;
    }

    mode = data[0];
    data++;
    size--;

    now = FUZZ_NOW + (time_t) (mode >> 1) - 64;

    kefu_arena_init(&arena);

    if ((mode & 1) == 0) {
        fuzz_token(&arena.allocator, data, size, now);

    } else {
        nl = memchr(data, '\n', size);
        hlen = nl != NULL ? (size_t) (nl - data) : size;

        t = kefu_jwt_sign_raw(&arena.allocator, data, hlen,
                              nl != NULL ? nl + 1 : data + size,
                              nl != NULL ? size - hlen - 1 : 0,
                              fuzz_key, sizeof(fuzz_key) - 1);

        if (t != NULL) {
            fuzz_token(&arena.allocator, (unsigned char *) t, strlen(t),
                       now);
        }
    }

    kefu_arena_free(&arena);

    return 0;
}
