/*
 * ngx_kefu: declarative checks of a request body (a parsed JSON object):
 * known fields only, types, required fields, lengths in code points.
 */

#ifndef KEFU_VALIDATE_H
#define KEFU_VALIDATE_H

#include "kefu_json.h"


typedef enum {
    KEFU_F_STRING = 0,      /* valid UTF-8, min..max code points */
    KEFU_F_IDENT,           /* [A-Za-z0-9_.:-], min..max bytes */
    KEFU_F_BOOL,
    KEFU_F_INT,             /* integer in min..max */
    KEFU_F_ARRAY,           /* min..max items, checked by the caller */
    KEFU_F_OBJECT           /* checked by the caller */
} kefu_field_type_e;


typedef struct {
    const char          *name;
    kefu_field_type_e    type;
    int                  required;
    int64_t              min;
    int64_t              max;
} kefu_field_t;


/*
 * Checks obj against fields (terminated by a NULL name) and stores each
 * present value in out[i] (NULL when absent).  On failure writes a short
 * message naming the field and returns KEFU_ERROR.
 */
int kefu_validate(const kefu_json_t *obj, const kefu_field_t *fields,
    const kefu_json_t **out, char *err, size_t errlen);

/* Code points of valid UTF-8 text. */
size_t kefu_utf8_length(const unsigned char *s, size_t len);

/* Letters, digits and "_.:-" only, 1..max bytes. */
int kefu_is_ident(const unsigned char *s, size_t len, size_t max);

#endif /* KEFU_VALIDATE_H */
