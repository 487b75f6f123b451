/*
 * ngx_kefu: a dialogue's context as stored in Redis (a small JSON value).
 *
 * Decoding is tolerant: a value that does not parse (older format, manual
 * edits) yields an empty session rather than an error, because a lost
 * context only costs one turn of understanding.
 */

#ifndef KEFU_SESSION_H
#define KEFU_SESSION_H

#include "kefu_json.h"


#define KEFU_SESSION_MAX_TURNS    16
#define KEFU_SESSION_MAX_PENDING   3
#define KEFU_SESSION_MAX_Q       300    /* bytes of a question kept */


typedef struct {
    kefu_str_t   q;             /* the user's text, shortened */
    kefu_str_t   faq;           /* FAQ id answered, or empty */
    char         type;          /* 'a'nswer 'c'larify 'f'allback 'h'andoff */
} kefu_turn_t;


typedef struct {
    int64_t      turn;          /* turns so far */
    kefu_str_t   topic;         /* FAQ id of the last answer */
    kefu_str_t   pending[KEFU_SESSION_MAX_PENDING];   /* clarify choices */
    size_t       npending;
    int64_t      fallbacks;     /* consecutive */
    int64_t      emergency;     /* an emergency was seen in this session */
    int64_t      updated;       /* unix time */
    kefu_turn_t  turns[KEFU_SESSION_MAX_TURNS];      /* oldest first */
    size_t       nturns;
} kefu_session_t;


void kefu_session_init(kefu_session_t *s);
/* Returns KEFU_OK, or KEFU_ERROR (s is then empty) for a bad value. */
int kefu_session_decode(kefu_alloc_t *a, const unsigned char *buf,
    size_t len, kefu_session_t *s);
void kefu_session_encode(const kefu_session_t *s, kefu_buf_t *out);
/* Appends a turn, dropping the oldest beyond max (≤ MAX_TURNS); the
 * question is cut at a character boundary. */
void kefu_session_add_turn(kefu_session_t *s, const unsigned char *q,
    size_t qlen, const kefu_str_t *faq, char type, size_t max);

#endif /* KEFU_SESSION_H */
