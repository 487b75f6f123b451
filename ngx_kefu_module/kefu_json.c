/*
 * ngx_kefu: JSON for untrusted input, and JSON output helpers.
 *
 * yajl's callback parser drives a small DOM builder.  Members of open
 * containers are collected on one shared scratch stack (containers close
 * in LIFO order) and copied into exact arrays when the container closes,
 * so building is O(n).  All memory comes from the caller's allocator
 * except yajl's handle, which is freed before every return.
 *
 * yajl's own UTF-8 check accepts overlong forms, encoded surrogates and
 * code points above U+10FFFF, and its \u decoder turns a lone low
 * surrogate into an encoded surrogate and \u0000 into a NUL byte.  So the
 * raw text is checked strictly first (kefu_json_check_text); yajl's check
 * stays on as a second line.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <yajl/yajl_parse.h>

#include "kefu_json.h"


#define KEFU_JSON_DUP_LINEAR  16    /* objects up to this size: n^2 check */
#define KEFU_JSON_ERR_KEY     32    /* bytes of a key quoted in errors */
#define KEFU_JSON_NUM_STACK   64    /* numbers shorter than this: no alloc */


typedef struct {
    kefu_str_t     key;
    kefu_json_t   *value;
} kefu_json_member_t;


typedef struct {
    kefu_json_t   *node;
    size_t         base;            /* its first member on the scratch */
} kefu_json_frame_t;


typedef struct {
    kefu_alloc_t               *a;
    const kefu_json_limits_t   *limits;
    kefu_json_t                *root;

    kefu_json_frame_t          *frames;
    size_t                      depth;
    size_t                      frames_cap;

    kefu_json_member_t         *scratch;
    size_t                      scratch_len;
    size_t                      scratch_cap;

    kefu_str_t                  key;        /* key of the next value */
    size_t                      nodes;

    char                       *err;
    size_t                      errlen;
} kefu_json_ctx_t;


static const kefu_json_limits_t  kefu_json_default_limits = {
    32,                 /* max_depth */
    10000,              /* max_members */
    64 * 1024,          /* max_string */
    100000              /* max_nodes */
};


static void kefu_json_error(kefu_json_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void kefu_json_errorv(char *err, size_t errlen, const char *fmt,
    va_list args) __attribute__((format(printf, 3, 0)));
static void kefu_json_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int kefu_json_hex4(const unsigned char *p, size_t len, uint32_t *cp);
static int kefu_json_check_text(const unsigned char *p, size_t len,
    char *err, size_t errlen);
static int kefu_json_grow(kefu_alloc_t *a, void **p, size_t *cap,
    size_t size, size_t need);
static kefu_json_t *kefu_json_node(kefu_json_ctx_t *ctx,
    kefu_json_type_e type);
static int kefu_json_add(kefu_json_ctx_t *ctx, kefu_json_t *v);
static int kefu_json_push(kefu_json_ctx_t *ctx, kefu_json_type_e type);
static int kefu_json_pop(kefu_json_ctx_t *ctx);
static int kefu_json_key_cmp(const void *one, const void *two);
static int kefu_json_check_dups(kefu_json_ctx_t *ctx, kefu_json_t *obj);
static int kefu_json_parse_int(const char *s, size_t len, int64_t *out);

static int kefu_json_on_null(void *data);
static int kefu_json_on_boolean(void *data, int b);
static int kefu_json_on_number(void *data, const char *s, size_t len);
static int kefu_json_on_string(void *data, const unsigned char *s,
    size_t len);
static int kefu_json_on_start_map(void *data);
static int kefu_json_on_map_key(void *data, const unsigned char *s,
    size_t len);
static int kefu_json_on_end(void *data);
static int kefu_json_on_start_array(void *data);

static unsigned char *kefu_buf_reserve(kefu_buf_t *b, size_t need);


static const yajl_callbacks  kefu_json_callbacks = {
    kefu_json_on_null,
    kefu_json_on_boolean,
    NULL,                           /* integer: yajl_number is used */
    NULL,                           /* double: yajl_number is used */
    kefu_json_on_number,
    kefu_json_on_string,
    kefu_json_on_start_map,
    kefu_json_on_map_key,
    kefu_json_on_end,
    kefu_json_on_start_array,
    kefu_json_on_end
};


kefu_json_t *
kefu_json_parse(kefu_alloc_t *a, const unsigned char *buf, size_t len,
    const kefu_json_limits_t *limits, char *err, size_t errlen)
{
    size_t            pos;
    yajl_handle       h;
    yajl_status       st;
    kefu_json_ctx_t   ctx;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }

    if (len == 0) {
        kefu_json_errorf(err, errlen, "empty JSON document");
        return NULL;
    }

    if (kefu_json_check_text(buf, len, err, errlen) != 0) {
        return NULL;
    }

    memset(&ctx, 0, sizeof(kefu_json_ctx_t));
    ctx.a = a;
    ctx.limits = limits != NULL ? limits : &kefu_json_default_limits;
    ctx.err = err;
    ctx.errlen = errlen;

    /* yajl's buffers live in malloc memory and are freed below */
    h = yajl_alloc(&kefu_json_callbacks, NULL, &ctx);
    if (h == NULL) {
        kefu_json_errorf(err, errlen, "out of memory");
        return NULL;
    }

    /*
     * The defaults are what we want: no comments, UTF-8 validation on,
     * no trailing garbage, one top-level value, no partial values;
     * set them explicitly so a changed default cannot loosen them.
     */
    if (yajl_config(h, yajl_allow_comments, 0) == 0
        || yajl_config(h, yajl_dont_validate_strings, 0) == 0
        || yajl_config(h, yajl_allow_trailing_garbage, 0) == 0
        || yajl_config(h, yajl_allow_multiple_values, 0) == 0
        || yajl_config(h, yajl_allow_partial_values, 0) == 0)
    {
        yajl_free(h);
        kefu_json_errorf(err, errlen, "JSON parser setup failed");
        return NULL;
    }

    st = yajl_parse(h, buf, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);

        if (st == yajl_status_error) {
            /* truncated text, or a value after a top-level number */
            yajl_free(h);
            kefu_json_errorf(err, errlen, "invalid JSON at byte %zu", len);
            return NULL;
        }
    }

    if (st == yajl_status_error) {
        /*
         * yajl counts bytes up to and including the bad token, mostly;
         * a rejected comment leaves 0
         */
        pos = yajl_get_bytes_consumed(h);
        kefu_json_errorf(err, errlen, "invalid JSON at byte %zu",
                         pos ? pos : 1);
        yajl_free(h);
        return NULL;
    }

    yajl_free(h);

    if (st != yajl_status_ok) {
        /* a callback canceled the parse and has written the reason */
        return NULL;
    }

    if (ctx.root == NULL || ctx.depth != 0) {
        kefu_json_errorf(err, errlen, "unexpected end of JSON");
        return NULL;
    }

    return ctx.root;
}


kefu_json_t *
kefu_json_get(const kefu_json_t *obj, const char *key)
{
    size_t  i, len;

    if (obj == NULL || obj->type != KEFU_JSON_OBJECT || key == NULL) {
        return NULL;
    }

    len = strlen(key);

    for (i = 0; i < obj->n; i++) {
        if (obj->keys[i].len == len
            && memcmp(obj->keys[i].data, key, len) == 0)
        {
            return obj->items[i];
        }
    }

    return NULL;
}


static void
kefu_json_errorv(char *err, size_t errlen, const char *fmt, va_list args)
{
    if (err == NULL || errlen == 0) {
        return;
    }

    if (vsnprintf(err, errlen, fmt, args) < 0) {
        err[0] = '\0';
    }
}


static void
kefu_json_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    kefu_json_errorv(err, errlen, fmt, args);
    va_end(args);
}


static void
kefu_json_error(kefu_json_ctx_t *ctx, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    kefu_json_errorv(ctx->err, ctx->errlen, fmt, args);
    va_end(args);
}


/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
size_t
kefu_json_utf8_seq(const unsigned char *p, size_t len)
{
    unsigned char  c, lo, hi;
    size_t         n, i;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if (len < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    return n;
}


static int
kefu_json_hex4(const unsigned char *p, size_t len, uint32_t *cp)
{
    size_t         i;
    uint32_t       v;
    unsigned char  c;

    if (len < 4) {
        return 0;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            v = v * 16 + (uint32_t) (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            v = v * 16 + (uint32_t) (c - 'a' + 10);

        } else if (c >= 'A' && c <= 'F') {
            v = v * 16 + (uint32_t) (c - 'A' + 10);

        } else {
            return 0;
        }
    }

    *cp = v;

    return 1;
}


/*
 * Rejects NUL bytes, ill-formed UTF-8, \u0000 and unpaired surrogate
 * escapes.  Strings are tracked only as far as valid JSON needs: text
 * that confuses the tracking is invalid JSON, which yajl rejects anyway.
 */
static int
kefu_json_check_text(const unsigned char *p, size_t len, char *err,
    size_t errlen)
{
    int            in_str;
    size_t         i, n;
    uint32_t       cp, lo;
    unsigned char  c;

    in_str = 0;
    i = 0;

    while (i < len) {
        c = p[i];

        if (c == '\0') {
            kefu_json_errorf(err, errlen, "NUL byte at byte %zu", i + 1);
            return -1;
        }

        if (c >= 0x80) {
            n = kefu_json_utf8_seq(p + i, len - i);
            if (n == 0) {
                kefu_json_errorf(err, errlen, "invalid UTF-8 at byte %zu",
                                 i + 1);
                return -1;
            }

            i += n;
            continue;
        }

        if (!in_str || c != '\\') {
            if (c == '"') {
                in_str = !in_str;
            }

            i++;
            continue;
        }

        if (i + 1 >= len || p[i + 1] != 'u'
            || !kefu_json_hex4(p + i + 2, len - i - 2, &cp))
        {
            /* a simple escape, or a broken one yajl will report */
            i += 2;
            continue;
        }

        if (cp == 0) {
            kefu_json_errorf(err, errlen, "NUL in string at byte %zu",
                             i + 1);
            return -1;
        }

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            kefu_json_errorf(err, errlen, "invalid UTF-8 at byte %zu",
                             i + 1);
            return -1;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (len - i < 12 || p[i + 6] != '\\' || p[i + 7] != 'u'
                || !kefu_json_hex4(p + i + 8, len - i - 8, &lo)
                || lo < 0xdc00 || lo > 0xdfff)
            {
                kefu_json_errorf(err, errlen, "invalid UTF-8 at byte %zu",
                                 i + 1);
                return -1;
            }

            i += 12;
            continue;
        }

        i += 6;
    }

    return 0;
}


/* Grows an array to hold need elements; old storage is abandoned. */
static int
kefu_json_grow(kefu_alloc_t *a, void **p, size_t *cap, size_t size,
    size_t need)
{
    void    *np;
    size_t   ncap;

    if (need <= *cap) {
        return 0;
    }

    ncap = *cap ? *cap : 8;

    while (ncap < need) {
        if (ncap > (size_t) -1 / 2) {
            return -1;
        }

        ncap *= 2;
    }

    if (ncap > (size_t) -1 / size) {
        return -1;
    }

    np = kefu_alloc(a, ncap * size);
    if (np == NULL) {
        return -1;
    }

    if (*cap) {
        memcpy(np, *p, *cap * size);
    }

    *p = np;
    *cap = ncap;

    return 0;
}


static kefu_json_t *
kefu_json_node(kefu_json_ctx_t *ctx, kefu_json_type_e type)
{
    kefu_json_t  *v;

    if (ctx->nodes >= ctx->limits->max_nodes) {
        kefu_json_error(ctx, "too many values");
        return NULL;
    }

    v = kefu_calloc(ctx->a, sizeof(kefu_json_t));
    if (v == NULL) {
        kefu_json_error(ctx, "out of memory");
        return NULL;
    }

    ctx->nodes++;
    v->type = type;

    return v;
}


/* Attaches a value to the open container, or makes it the root. */
static int
kefu_json_add(kefu_json_ctx_t *ctx, kefu_json_t *v)
{
    kefu_json_frame_t   *f;
    kefu_json_member_t  *m;

    if (ctx->depth == 0) {
        ctx->root = v;
        return 1;
    }

    f = &ctx->frames[ctx->depth - 1];

    if (f->node->n >= ctx->limits->max_members) {
        kefu_json_error(ctx, "too many members");
        return 0;
    }

    if (kefu_json_grow(ctx->a, (void **) &ctx->scratch, &ctx->scratch_cap,
                       sizeof(kefu_json_member_t), ctx->scratch_len + 1)
        != 0)
    {
        kefu_json_error(ctx, "out of memory");
        return 0;
    }

    m = &ctx->scratch[ctx->scratch_len++];
    m->value = v;

    if (f->node->type == KEFU_JSON_OBJECT) {
        m->key = ctx->key;

    } else {
        m->key.len = 0;
        m->key.data = NULL;
    }

    f->node->n++;

    return 1;
}


static int
kefu_json_push(kefu_json_ctx_t *ctx, kefu_json_type_e type)
{
    kefu_json_t        *v;
    kefu_json_frame_t  *f;

    if (ctx->depth >= ctx->limits->max_depth) {
        kefu_json_error(ctx, "nesting too deep");
        return 0;
    }

    v = kefu_json_node(ctx, type);
    if (v == NULL) {
        return 0;
    }

    if (!kefu_json_add(ctx, v)) {
        return 0;
    }

    if (kefu_json_grow(ctx->a, (void **) &ctx->frames, &ctx->frames_cap,
                       sizeof(kefu_json_frame_t), ctx->depth + 1)
        != 0)
    {
        kefu_json_error(ctx, "out of memory");
        return 0;
    }

    f = &ctx->frames[ctx->depth++];
    f->node = v;
    f->base = ctx->scratch_len;

    /* counts members while the container is open */
    v->n = 0;

    return 1;
}


/* Closes the innermost container: copies its members out of scratch. */
static int
kefu_json_pop(kefu_json_ctx_t *ctx)
{
    size_t               i, n;
    kefu_json_t         *v;
    kefu_json_frame_t   *f;
    kefu_json_member_t  *m;

    if (ctx->depth == 0) {
        kefu_json_error(ctx, "unbalanced JSON");
        return 0;
    }

    f = &ctx->frames[--ctx->depth];
    v = f->node;
    n = v->n;

    if (n > 0) {
        m = &ctx->scratch[f->base];

        v->items = kefu_alloc(ctx->a, n * sizeof(kefu_json_t *));
        if (v->items == NULL) {
            kefu_json_error(ctx, "out of memory");
            return 0;
        }

        for (i = 0; i < n; i++) {
            v->items[i] = m[i].value;
        }

        if (v->type == KEFU_JSON_OBJECT) {
            v->keys = kefu_alloc(ctx->a, n * sizeof(kefu_str_t));
            if (v->keys == NULL) {
                kefu_json_error(ctx, "out of memory");
                return 0;
            }

            for (i = 0; i < n; i++) {
                v->keys[i] = m[i].key;
            }

            if (kefu_json_check_dups(ctx, v) != 0) {
                return 0;
            }
        }
    }

    ctx->scratch_len = f->base;

    return 1;
}


static int
kefu_json_key_cmp(const void *one, const void *two)
{
    int                a;
    const kefu_str_t  *k1, *k2;

    k1 = *(const kefu_str_t * const *) one;
    k2 = *(const kefu_str_t * const *) two;

    a = memcmp(k1->data, k2->data, k1->len < k2->len ? k1->len : k2->len);
    if (a != 0) {
        return a;
    }

    return (k1->len > k2->len) - (k1->len < k2->len);
}


static int
kefu_json_check_dups(kefu_json_ctx_t *ctx, kefu_json_t *obj)
{
    size_t        i, j, n, show;
    kefu_str_t  **sorted;
    kefu_str_t   *dup;

    n = obj->n;
    dup = NULL;

    if (n <= KEFU_JSON_DUP_LINEAR) {
        for (i = 1; i < n && dup == NULL; i++) {
            for (j = 0; j < i; j++) {
                if (obj->keys[i].len == obj->keys[j].len
                    && memcmp(obj->keys[i].data, obj->keys[j].data,
                              obj->keys[i].len) == 0)
                {
                    dup = &obj->keys[i];
                    break;
                }
            }
        }

    } else {
        /* the index is scratch memory, abandoned to the allocator */
        sorted = kefu_alloc(ctx->a, n * sizeof(kefu_str_t *));
        if (sorted == NULL) {
            kefu_json_error(ctx, "out of memory");
            return -1;
        }

        for (i = 0; i < n; i++) {
            sorted[i] = &obj->keys[i];
        }

        qsort(sorted, n, sizeof(kefu_str_t *), kefu_json_key_cmp);

        for (i = 1; i < n; i++) {
            if (kefu_json_key_cmp(&sorted[i - 1], &sorted[i]) == 0) {
                dup = sorted[i];
                break;
            }
        }
    }

    if (dup == NULL) {
        return 0;
    }

    /* quote a prefix that does not split a UTF-8 sequence */
    show = dup->len;

    if (show > KEFU_JSON_ERR_KEY) {
        show = KEFU_JSON_ERR_KEY;

        while (show > 0 && (dup->data[show] & 0xc0) == 0x80) {
            show--;
        }
    }

    kefu_json_error(ctx, "duplicate key \"%.*s%s\"", (int) show,
                    (const char *) dup->data,
                    show < dup->len ? "..." : "");

    return -1;
}


/* Parses an integer literal; -1 if it has a fraction, exponent or is big. */
static int
kefu_json_parse_int(const char *s, size_t len, int64_t *out)
{
    int        neg;
    size_t     i;
    uint64_t   acc, limit, d;

    i = 0;
    neg = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }

    if (i == len) {
        return -1;
    }

    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    acc = 0;

    for ( /* void */ ; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        d = (uint64_t) (s[i] - '0');

        if (acc > (limit - d) / 10) {
            return -1;
        }

        acc = acc * 10 + d;
    }

    if (!neg) {
        *out = (int64_t) acc;

    } else if (acc == (uint64_t) INT64_MAX + 1) {
        *out = INT64_MIN;

    } else {
        *out = -(int64_t) acc;
    }

    return 0;
}


static int
kefu_json_on_null(void *data)
{
    kefu_json_t  *v;

    v = kefu_json_node(data, KEFU_JSON_NULL);
    if (v == NULL) {
        return 0;
    }

    return kefu_json_add(data, v);
}


static int
kefu_json_on_boolean(void *data, int b)
{
    kefu_json_t  *v;

    v = kefu_json_node(data, KEFU_JSON_BOOL);
    if (v == NULL) {
        return 0;
    }

    v->boolean = b ? 1 : 0;

    return kefu_json_add(data, v);
}


static int
kefu_json_on_number(void *data, const char *s, size_t len)
{
    char              *end, *tmp;
    char               stack[KEFU_JSON_NUM_STACK];
    double             d;
    kefu_json_t       *v;
    kefu_json_ctx_t   *ctx;

    ctx = data;

    v = kefu_json_node(ctx, KEFU_JSON_NUMBER);
    if (v == NULL) {
        return 0;
    }

    if (kefu_json_parse_int(s, len, &v->integer) == 0) {
        v->is_int = 1;
        v->number = (double) v->integer;
        return kefu_json_add(ctx, v);
    }

    /* strtod needs a terminated copy; yajl has checked the grammar */
    if (len < sizeof(stack)) {
        tmp = stack;

    } else {
        tmp = kefu_alloc(ctx->a, len + 1);
        if (tmp == NULL) {
            kefu_json_error(ctx, "out of memory");
            return 0;
        }
    }

    memcpy(tmp, s, len);
    tmp[len] = '\0';

    d = strtod(tmp, &end);

    /* infinity cannot be written back as JSON; underflow to 0 is fine */
    if (end != tmp + len || isinf(d) || isnan(d)) {
        kefu_json_error(ctx, "number out of range");
        return 0;
    }

    v->number = d;

    return kefu_json_add(ctx, v);
}


static int
kefu_json_on_string(void *data, const unsigned char *s, size_t len)
{
    kefu_json_t      *v;
    kefu_json_ctx_t  *ctx;

    ctx = data;

    if (len > ctx->limits->max_string) {
        kefu_json_error(ctx, "string too long");
        return 0;
    }

    v = kefu_json_node(ctx, KEFU_JSON_STRING);
    if (v == NULL) {
        return 0;
    }

    v->str.data = kefu_alloc(ctx->a, len + 1);
    if (v->str.data == NULL) {
        kefu_json_error(ctx, "out of memory");
        return 0;
    }

    if (len > 0) {
        memcpy(v->str.data, s, len);
    }

    v->str.data[len] = '\0';
    v->str.len = len;

    return kefu_json_add(ctx, v);
}


static int
kefu_json_on_map_key(void *data, const unsigned char *s, size_t len)
{
    kefu_json_ctx_t  *ctx;

    ctx = data;

    if (len > ctx->limits->max_string) {
        kefu_json_error(ctx, "key too long");
        return 0;
    }

    ctx->key.data = kefu_alloc(ctx->a, len + 1);
    if (ctx->key.data == NULL) {
        kefu_json_error(ctx, "out of memory");
        return 0;
    }

    if (len > 0) {
        memcpy(ctx->key.data, s, len);
    }

    ctx->key.data[len] = '\0';
    ctx->key.len = len;

    return 1;
}


static int
kefu_json_on_start_map(void *data)
{
    return kefu_json_push(data, KEFU_JSON_OBJECT);
}


static int
kefu_json_on_start_array(void *data)
{
    return kefu_json_push(data, KEFU_JSON_ARRAY);
}


static int
kefu_json_on_end(void *data)
{
    return kefu_json_pop(data);
}


/* Output buffer.  data[len] is kept '\0' so the text can be used as is. */

void
kefu_buf_init(kefu_buf_t *b, kefu_alloc_t *a, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->a = a;
    b->failed = 0;

    if (cap == 0) {
        return;
    }

    if (cap == (size_t) -1) {
        b->failed = 1;
        return;
    }

    b->data = kefu_alloc(a, cap + 1);
    if (b->data == NULL) {
        b->failed = 1;
        return;
    }

    b->data[0] = '\0';
    b->cap = cap;
}


/* Room for need more bytes (plus the terminator), or NULL and failed. */
static unsigned char *
kefu_buf_reserve(kefu_buf_t *b, size_t need)
{
    size_t          ncap;
    unsigned char  *p;

    if (b->failed) {
        return NULL;
    }

    if (b->data != NULL && b->cap - b->len >= need) {
        return b->data + b->len;
    }

    if (need > (size_t) -2 - b->len) {
        b->failed = 1;
        return NULL;
    }

    ncap = b->cap < 64 ? 64 : b->cap;

    while (ncap < b->len + need) {
        if (ncap > ((size_t) -2) / 2) {
            ncap = b->len + need;
            break;
        }

        ncap *= 2;
    }

    p = kefu_alloc(b->a, ncap + 1);
    if (p == NULL) {
        b->failed = 1;
        return NULL;
    }

    if (b->len > 0) {
        memcpy(p, b->data, b->len);
    }

    p[b->len] = '\0';
    b->data = p;
    b->cap = ncap;

    return b->data + b->len;
}


void
kefu_buf_add(kefu_buf_t *b, const void *data, size_t len)
{
    unsigned char  *p;

    if (len == 0) {
        return;
    }

    p = kefu_buf_reserve(b, len);
    if (p == NULL) {
        return;
    }

    memcpy(p, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}


void
kefu_buf_adds(kefu_buf_t *b, const char *s)
{
    kefu_buf_add(b, s, strlen(s));
}


void
kefu_buf_add_int(kefu_buf_t *b, long long n)
{
    char                 tmp[24], *p;
    unsigned long long   u;

    /* the magnitude as unsigned: -LLONG_MIN does not fit a long long */
    u = n < 0 ? 0ULL - (unsigned long long) n : (unsigned long long) n;
    p = tmp + sizeof(tmp);

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    kefu_buf_add(b, p, (size_t) (tmp + sizeof(tmp) - p));
}


void
kefu_buf_addf(kefu_buf_t *b, const char *fmt, ...)
{
    int             n;
    size_t          room;
    va_list         args;
    unsigned char  *p;

    if (b->failed) {
        return;
    }

    room = b->data != NULL ? b->cap - b->len + 1 : 0;

    va_start(args, fmt);
    n = vsnprintf(room ? (char *) b->data + b->len : NULL, room, fmt, args);
    va_end(args);

    if (n < 0) {
        b->failed = 1;
        goto restore;
    }

    if ((size_t) n < room) {
        b->len += (size_t) n;
        return;
    }

    p = kefu_buf_reserve(b, (size_t) n);
    if (p == NULL) {
        goto restore;
    }

    va_start(args, fmt);
    n = vsnprintf((char *) p, b->cap - b->len + 1, fmt, args);
    va_end(args);

    if (n < 0 || (size_t) n > b->cap - b->len) {
        b->failed = 1;
        goto restore;
    }

    b->len += (size_t) n;

    return;

restore:

    /* a truncated vsnprintf may have overwritten the terminator */
    if (b->data != NULL) {
        b->data[b->len] = '\0';
    }
}


/*
 * Escapes '"', '\\', control characters (as \u00XX) and U+2028/U+2029
 * (line terminators for JavaScript).  Other UTF-8 is copied as is; an
 * ill-formed byte becomes U+FFFD so the output is always valid JSON.
 */
void
kefu_buf_add_json_str(kefu_buf_t *b, const unsigned char *s, size_t len)
{
    size_t          i, run, n;
    unsigned char   c;
    unsigned char   esc[6];

    static const char  hex[] = "0123456789abcdef";

    kefu_buf_add(b, "\"", 1);

    run = 0;
    i = 0;

    while (i < len) {
        c = s[i];

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }

        if (c >= 0x80) {
            n = kefu_json_utf8_seq(s + i, len - i);

            if (n == 3 && c == 0xe2 && s[i + 1] == 0x80
                && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
            {
                kefu_buf_add(b, s + run, i - run);
                kefu_buf_add(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                i += 3;
                run = i;
                continue;
            }

            if (n > 0) {
                i += n;
                continue;
            }

            kefu_buf_add(b, s + run, i - run);
            kefu_buf_add(b, "\xef\xbf\xbd", 3);
            i++;
            run = i;
            continue;
        }

        kefu_buf_add(b, s + run, i - run);

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = c;
            kefu_buf_add(b, esc, 2);

        } else {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = (unsigned char) hex[c >> 4];
            esc[5] = (unsigned char) hex[c & 0x0f];
            kefu_buf_add(b, esc, 6);
        }

        i++;
        run = i;
    }

    if (i > run) {
        kefu_buf_add(b, s + run, i - run);
    }

    kefu_buf_add(b, "\"", 1);
}
