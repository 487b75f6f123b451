/*
 * ngx_kefu: request body checks.
 */

#include <stdio.h>

#include "kefu_validate.h"


static const char  *kefu_type_names[] = {
    "a string", "an identifier", "a boolean", "an integer", "an array",
    "an object"
};


size_t
kefu_utf8_length(const unsigned char *s, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        /* count every byte that does not continue a sequence */
        if ((s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


int
kefu_is_ident(const unsigned char *s, size_t len, size_t max)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':'
              || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


int
kefu_validate(const kefu_json_t *obj, const kefu_field_t *fields,
    const kefu_json_t **out, char *err, size_t errlen)
{
    size_t               i, j, n;
    const kefu_json_t   *v;
    const kefu_field_t  *f;

    if (obj == NULL || obj->type != KEFU_JSON_OBJECT) {
        snprintf(err, errlen, "body must be a JSON object");
        return KEFU_ERROR;
    }

    for (i = 0; i < obj->n; i++) {
        for (f = fields; f->name; f++) {
            if (strcmp(f->name, (const char *) obj->keys[i].data) == 0) {
                break;
            }
        }

        if (f->name == NULL) {
            /* the key may hold anything: show only a safe prefix */
            n = obj->keys[i].len < 32 ? obj->keys[i].len : 32;
            for (j = 0; j < n; j++) {
                if (obj->keys[i].data[j] < 0x20
                    || obj->keys[i].data[j] >= 0x7f)
                {
                    break;
                }
            }

            snprintf(err, errlen, "unknown field \"%.*s\"", (int) j,
                     (const char *) obj->keys[i].data);
            return KEFU_ERROR;
        }
    }

    for (f = fields, i = 0; f->name; f++, i++) {
        v = kefu_json_get(obj, f->name);
        out[i] = NULL;

        if (v == NULL || v->type == KEFU_JSON_NULL) {
            if (f->required) {
                snprintf(err, errlen, "field \"%s\" is required", f->name);
                return KEFU_ERROR;
            }

            continue;
        }

        switch (f->type) {

        case KEFU_F_STRING:
            if (v->type != KEFU_JSON_STRING) {
                goto type;
            }

            n = kefu_utf8_length(v->str.data, v->str.len);
            if ((int64_t) n < f->min || (int64_t) n > f->max) {
                snprintf(err, errlen, "field \"%s\" must have %lld to %lld "
                         "characters", f->name, (long long) f->min,
                         (long long) f->max);
                return KEFU_ERROR;
            }

            break;

        case KEFU_F_IDENT:
            if (v->type != KEFU_JSON_STRING) {
                goto type;
            }

            if (!kefu_is_ident(v->str.data, v->str.len, (size_t) f->max)) {
                snprintf(err, errlen, "field \"%s\" must be 1 to %lld "
                         "letters, digits or \"_.:-\"", f->name,
                         (long long) f->max);
                return KEFU_ERROR;
            }

            break;

        case KEFU_F_BOOL:
            if (v->type != KEFU_JSON_BOOL) {
                goto type;
            }

            break;

        case KEFU_F_INT:
            if (v->type != KEFU_JSON_NUMBER || !v->is_int) {
                goto type;
            }

            if (v->integer < f->min || v->integer > f->max) {
                snprintf(err, errlen, "field \"%s\" must be from %lld to "
                         "%lld", f->name, (long long) f->min,
                         (long long) f->max);
                return KEFU_ERROR;
            }

            break;

        case KEFU_F_ARRAY:
            if (v->type != KEFU_JSON_ARRAY) {
                goto type;
            }

            if ((int64_t) v->n < f->min || (int64_t) v->n > f->max) {
                snprintf(err, errlen, "field \"%s\" must have %lld to %lld "
                         "items", f->name, (long long) f->min,
                         (long long) f->max);
                return KEFU_ERROR;
            }

            break;

        default: /* KEFU_F_OBJECT */
            if (v->type != KEFU_JSON_OBJECT) {
                goto type;
            }

            break;
        }

        out[i] = v;
    }

    return KEFU_OK;

type:

    snprintf(err, errlen, "field \"%s\" must be %s", f->name,
             kefu_type_names[f->type]);
    return KEFU_ERROR;
}
