/*
 * Shared by the libFuzzer targets: the entry point and an assertion that
 * stays on in every build (a failed one is a finding, like a crash).
 */

#ifndef KEFU_FUZZ_H
#define KEFU_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kefu_json.h"


#define fuzz_assert(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "assertion failed: %s (line %d)\n", #cond,        \
                    __LINE__);                                                \
            abort();                                                          \
        }                                                                     \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static inline int
fuzz_same_str(const kefu_str_t *x, const kefu_str_t *y)
{
    return x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
}


static inline int
fuzz_str_eq(const kefu_str_t *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->data, lit, s->len) == 0;
}


/* the same JSON value, numbers by value (12.0 is written back as 12) */
static inline int
fuzz_json_equal(const kefu_json_t *x, const kefu_json_t *y)
{
    size_t  i;

    if (x->type != y->type) {
        return 0;
    }

    switch (x->type) {

    case KEFU_JSON_BOOL:
        return x->boolean == y->boolean;

    case KEFU_JSON_NUMBER:
        if (x->is_int && y->is_int) {
            return x->integer == y->integer;
        }

        return x->number == y->number;

    case KEFU_JSON_STRING:
        return fuzz_same_str(&x->str, &y->str);

    case KEFU_JSON_ARRAY:
    case KEFU_JSON_OBJECT:
        if (x->n != y->n) {
            return 0;
        }

        for (i = 0; i < x->n; i++) {
            if (x->type == KEFU_JSON_OBJECT
                && !fuzz_same_str(&x->keys[i], &y->keys[i]))
            {
                return 0;
            }

            if (!fuzz_json_equal(x->items[i], y->items[i])) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;   /* null */
    }
}

#endif /* KEFU_FUZZ_H */
