/*
 * ngx_kefu: JSON for untrusted input (request bodies, JWT parts, KB files).
 *
 * Parsing goes through yajl's callback API into a small DOM allocated from
 * a kefu_alloc_t, with limits on depth, members, string length and total
 * nodes; duplicate keys, invalid UTF-8 and trailing garbage are rejected.
 * Generation helpers write escaped JSON into a growable buffer.
 */

#ifndef KEFU_JSON_H
#define KEFU_JSON_H

#include "kefu_core.h"


typedef enum {
    KEFU_JSON_NULL = 0,
    KEFU_JSON_BOOL,
    KEFU_JSON_NUMBER,
    KEFU_JSON_STRING,
    KEFU_JSON_ARRAY,
    KEFU_JSON_OBJECT
} kefu_json_type_e;


typedef struct kefu_json_s  kefu_json_t;

struct kefu_json_s {
    kefu_json_type_e   type;
    int                boolean;
    int                is_int;      /* number written without . or e */
    int64_t            integer;     /* valid when is_int */
    double             number;      /* always valid for numbers */
    kefu_str_t         str;         /* string value, NUL-terminated */
    size_t             n;           /* members of an array or object */
    kefu_str_t        *keys;        /* object keys, NUL-terminated */
    kefu_json_t      **items;       /* array items or object values */
};


typedef struct {
    size_t   max_depth;         /* nesting of arrays/objects, e.g. 16 */
    size_t   max_members;       /* members of one array/object */
    size_t   max_string;        /* bytes of one string or key */
    size_t   max_nodes;         /* values in the whole document */
} kefu_json_limits_t;


/*
 * Parses buf/len (need not be NUL-terminated; an embedded NUL is an error).
 * On failure returns NULL and writes a short English reason into err
 * ("invalid JSON at byte 17": positions count from 1, approximate).
 * limits NULL means built-in defaults (depth 32, 10000 members, 64 KiB
 * strings, 100000 values).  Strictly RFC 8259 + RFC 3629: besides yajl's
 * checks, overlong UTF-8, surrogates (raw or unpaired \u escapes), \u0000
 * and numbers that overflow a double are rejected, so every string in the
 * DOM is valid UTF-8 without NUL bytes.
 */
kefu_json_t *kefu_json_parse(kefu_alloc_t *a, const unsigned char *buf,
    size_t len, const kefu_json_limits_t *limits, char *err, size_t errlen);

/* Object member lookup; NULL when absent or obj is not an object. */
kefu_json_t *kefu_json_get(const kefu_json_t *obj, const char *key);

/*
 * Length (1-4) of the well-formed UTF-8 sequence at p, len > 0, or 0 if
 * ill-formed (overlong, surrogate, above U+10FFFF, truncated).
 */
size_t kefu_json_utf8_seq(const unsigned char *p, size_t len);


/*
 * Output buffer: grows through the allocator (old storage is abandoned).
 * Unless failed, data[len] is '\0' whenever data is not NULL.
 */

typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
    kefu_alloc_t   *a;
    int             failed;     /* sticky: an allocation failed */
} kefu_buf_t;


void kefu_buf_init(kefu_buf_t *b, kefu_alloc_t *a, size_t cap);
void kefu_buf_add(kefu_buf_t *b, const void *data, size_t len);
void kefu_buf_adds(kefu_buf_t *b, const char *s);
void kefu_buf_addf(kefu_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends n in decimal: what kefu_buf_addf("%lld") does, without stdio. */
void kefu_buf_add_int(kefu_buf_t *b, long long n);
/*
 * Appends a JSON string literal with quotes; s should be valid UTF-8
 * (an ill-formed byte is written as U+FFFD).  Escapes '"', '\\', control
 * characters as \u00XX and U+2028/U+2029.
 */
void kefu_buf_add_json_str(kefu_buf_t *b, const unsigned char *s, size_t len);

#endif /* KEFU_JSON_H */
