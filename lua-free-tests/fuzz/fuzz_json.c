/*
 * libFuzzer target: kefu_json_parse and kefu_buf_add_json_str.
 *
 * The first byte picks a mode:
 *   0 - parse with tight limits,
 *   1 - parse with the default limits,
 *   2 - escape the bytes as a JSON string and parse that back.
 * A parsed document must satisfy the DOM invariants, and writing it out
 * and parsing it again must give an equal document.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "fuzz.h"


static const kefu_json_limits_t  fuzz_tight = { 8, 64, 256, 1000 };


static int
fuzz_valid_str(const kefu_str_t *s)
{
    size_t  i, n;

    if (s->data == NULL || s->data[s->len] != '\0') {
        return 0;
    }

    for (i = 0; i < s->len; i += n) {
        if (s->data[i] == '\0') {
            return 0;
        }

        n = kefu_json_utf8_seq(s->data + i, s->len - i);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


static void
fuzz_check(const kefu_json_t *j, const kefu_json_limits_t *l, size_t depth)
{
    size_t  i;

    switch (j->type) {

    case KEFU_JSON_STRING:
        fuzz_assert(fuzz_valid_str(&j->str));
        fuzz_assert(j->str.len <= l->max_string);
        break;

    case KEFU_JSON_ARRAY:
    case KEFU_JSON_OBJECT:
        fuzz_assert(depth < l->max_depth);
        fuzz_assert(j->n <= l->max_members);
        fuzz_assert(j->n == 0 || j->items != NULL);

        for (i = 0; i < j->n; i++) {
            if (j->type == KEFU_JSON_OBJECT) {
                fuzz_assert(fuzz_valid_str(&j->keys[i]));
                fuzz_assert(j->keys[i].len <= l->max_string);
            }

            fuzz_check(j->items[i], l, depth + 1);
        }

        break;

    case KEFU_JSON_NUMBER:
        fuzz_assert(!j->is_int || j->number == (double) j->integer);
        break;

    default:
        break;
    }
}


static void
fuzz_write(kefu_buf_t *b, const kefu_json_t *j)
{
    size_t  i;

    switch (j->type) {

    case KEFU_JSON_NULL:
        kefu_buf_adds(b, "null");
        break;

    case KEFU_JSON_BOOL:
        kefu_buf_adds(b, j->boolean ? "true" : "false");
        break;

    case KEFU_JSON_NUMBER:
        if (j->is_int) {
            kefu_buf_addf(b, "%lld", (long long) j->integer);

        } else {
            kefu_buf_addf(b, "%.17g", j->number);
        }

        break;

    case KEFU_JSON_STRING:
        kefu_buf_add_json_str(b, j->str.data, j->str.len);
        break;

    case KEFU_JSON_ARRAY:
    case KEFU_JSON_OBJECT:
        kefu_buf_adds(b, j->type == KEFU_JSON_ARRAY ? "[" : "{");

        for (i = 0; i < j->n; i++) {
            if (i > 0) {
                kefu_buf_adds(b, ",");
            }

            if (j->type == KEFU_JSON_OBJECT) {
                kefu_buf_add_json_str(b, j->keys[i].data, j->keys[i].len);
                kefu_buf_adds(b, ":");
            }

            fuzz_write(b, j->items[i]);
        }

        kefu_buf_adds(b, j->type == KEFU_JSON_ARRAY ? "]" : "}");
        break;
    }
}


static void
fuzz_parse(kefu_alloc_t *a, const uint8_t *data, size_t size,
    const kefu_json_limits_t *limits)
{
    kefu_buf_t    b;
    kefu_json_t  *j, *j2;
    char          err[128];

    static const kefu_json_limits_t  defaults = {
        32, 10000, 64 * 1024, 100000
    };

    j = kefu_json_parse(a, data, size, limits, err, sizeof(err));

    if (j == NULL) {
        fuzz_assert(err[0] != '\0');
        return;
    }

    if (limits == NULL) {
        limits = &defaults;
    }

    fuzz_check(j, limits, 0);

    kefu_buf_init(&b, a, 64);
    fuzz_write(&b, j);
    fuzz_assert(!b.failed);

    j2 = kefu_json_parse(a, b.data, b.len, limits, err, sizeof(err));
    if (j2 == NULL) {
        fprintf(stderr, "reparse failed: %s\n%.*s\n", err, (int) b.len,
                (char *) b.data);
        abort();
    }

    fuzz_assert(fuzz_json_equal(j, j2));
}


static void
fuzz_escape(kefu_alloc_t *a, const uint8_t *data, size_t size)
{
    int           valid;
    size_t        i, n;
    kefu_buf_t    b;
    kefu_json_t  *j;
    char          err[128];

    kefu_buf_init(&b, a, 0);
    kefu_buf_add_json_str(&b, data, size);
    fuzz_assert(!b.failed && b.data[b.len] == '\0');

    valid = 1;

    for (i = 0; i < size; i += n) {
        n = kefu_json_utf8_seq(data + i, size - i);

        if (n == 0) {
            valid = 0;
            n = 1;
        }
    }

    j = kefu_json_parse(a, b.data, b.len, NULL, err, sizeof(err));

    if (memchr(data, '\0', size) != NULL) {
        /* \u0000 is refused by the parser by design */
        fuzz_assert(j == NULL && strncmp(err, "NUL in string", 13) == 0);
        return;
    }

    if (size > 64 * 1024) {
        return;
    }

    if (j == NULL) {
        fprintf(stderr, "escaped string rejected: %s\n", err);
        abort();
    }

    fuzz_assert(j->type == KEFU_JSON_STRING);
    fuzz_assert(fuzz_valid_str(&j->str));

    if (valid) {
        fuzz_assert(j->str.len == size
                    && memcmp(j->str.data, data, size) == 0);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t       mode;
    kefu_arena_t  arena;

    if (size == 0) {
        return 0;
    }

    mode = data[0];
    data++;
    size--;

    kefu_arena_init(&arena);

    switch (mode % 3) {

    case 0:
        fuzz_parse(&arena.allocator, data, size, &fuzz_tight);
        break;

    case 1:
        fuzz_parse(&arena.allocator, data, size, NULL);
        break;

    default:
        fuzz_escape(&arena.allocator, data, size);
        break;
    }

    kefu_arena_free(&arena);

    return 0;
}
