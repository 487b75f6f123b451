/*
 * ngx_kefu: the events codec of POST /v1/events (batch check, stored form).
 */

#ifndef KEFU_EVENT_H
#define KEFU_EVENT_H

#include "kefu_core.h"
#include "kefu_json.h"


#define KEFU_EVENTS_MAX_BATCH       100
#define KEFU_EVENT_MAX_TYPE         40
#define KEFU_EVENT_MAX_ATTRS        8
#define KEFU_EVENT_MAX_ATTR_KEY     32      /* bytes */
#define KEFU_EVENT_MAX_ATTR_STR     64      /* code points */
#define KEFU_EVENT_MAX_SKEW         300     /* seconds into the future */


/* One event of a validated POST /v1/events batch. */
typedef struct {
    kefu_str_t          type;
    int64_t             ts;         /* unix seconds */
    const kefu_json_t  *attrs;      /* flat object or NULL */
} kefu_event_in_t;


/*
 * Events batch {"events": [{type, ts?, attrs?}, ...]}: checks everything
 * (known fields only; 1..KEFU_EVENTS_MAX_BATCH events; type
 * [a-z0-9_.:-]{1,40}; ts integer unix seconds, at most
 * KEFU_EVENT_MAX_SKEW in the future and at most max_age in the past,
 * default now; attrs a flat object of at most KEFU_EVENT_MAX_ATTRS
 * identifier keys with string (<= 64 characters), number or boolean
 * values).  Fills out (KEFU_EVENTS_MAX_BATCH entries) and *n, or writes a
 * message and returns KEFU_ERROR.
 */
int kefu_events_check(const kefu_json_t *body, int64_t now, int64_t max_age,
    kefu_event_in_t *out, size_t *n, char *err, size_t errlen);

/* [a-z0-9_.:-]{1,max} */
int kefu_event_type_valid(const unsigned char *p, size_t len, size_t max);

/*
 * The stored form of one trail event, compact JSON with a fixed key
 * order: {"ts":1717000000,"type":"transfer_failed"[,"attrs":{...}]}.
 */
void kefu_event_encode(kefu_buf_t *b, const kefu_event_in_t *ev);
/* Reads type and ts back (type points into p); KEFU_ERROR if damaged. */
int kefu_event_decode(const unsigned char *p, size_t len, kefu_str_t *type,
    int64_t *ts);

#endif /* KEFU_EVENT_H */
