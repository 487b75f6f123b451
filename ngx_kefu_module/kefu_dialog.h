/*
 * ngx_kefu: one turn of a dialogue (/v1/ask) without nginx or Redis:
 * the question, the session context read from Redis and the tenant's KB in;
 * the reply and the new context out.
 */

#ifndef KEFU_DIALOG_H
#define KEFU_DIALOG_H

#include "kefu_kb.h"
#include "kefu_memo.h"
#include "kefu_session.h"


#define KEFU_DIALOG_MAX_CHOICES   3
#define KEFU_DIALOG_MAX_RELATED   3


typedef enum {
    KEFU_REPLY_ANSWER = 0,
    KEFU_REPLY_CLARIFY,
    KEFU_REPLY_FALLBACK,
    KEFU_REPLY_HANDOFF
} kefu_reply_e;


typedef struct {
    const unsigned char  *question;     /* NULL when faq_id/choice given */
    size_t                qlen;
    const unsigned char  *faq_id;       /* a tapped suggestion */
    size_t                faq_id_len;
    const unsigned char  *choice;       /* an answer to a clarify */
    size_t                choice_len;
    double                high;         /* answer_threshold */
    double                low;          /* clarify_threshold */
    size_t                max_turns;
    int64_t               now;
    kefu_memo_t          *memo;         /* the worker's, or NULL */
} kefu_ask_in_t;


typedef struct {
    kefu_reply_e          type;
    long                  faq;          /* answered FAQ, or -1 */
    double                confidence;
    uint32_t              choices[KEFU_DIALOG_MAX_CHOICES];
    double                choice_conf[KEFU_DIALOG_MAX_CHOICES];
    size_t                nchoices;
    unsigned              actions;      /* KEFU_ACT_* */
    unsigned              intents;      /* KEFU_INTENT_* */
    kefu_emotion_e        emotion;
    kefu_str_t            text;
    int                   handoff_suggested;
    int                   priority;     /* emergency or angry: agents first */
    int                   resolved_by;  /* 0 search, 1 faq_id, 2 choice,
                                           3 ordinal ("第二个") */
    const char           *error;        /* bad faq_id/choice: answer 400 */
} kefu_ask_out_t;


/*
 * Runs one turn.  sess is read and updated in place (strings of the new
 * turn point into in and kb).  Returns KEFU_OK, or KEFU_ERROR with
 * out->error set for a request that must be refused (nothing to write).
 */
int kefu_dialog_ask(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    kefu_session_t *sess, const kefu_ask_in_t *in, kefu_ask_out_t *out);

/* 1..3 for "第一个", "2", "第三条"..., else 0. */
int kefu_dialog_ordinal(const unsigned char *text, size_t len);

#endif /* KEFU_DIALOG_H */
