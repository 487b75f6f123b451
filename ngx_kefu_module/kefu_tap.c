/*
 * ngx_kefu: implicit feedback, the pair a tap makes (see kefu_tap.h).
 */

#include <string.h>

#include "kefu_tap.h"
#include "kefu_text.h"


int
kefu_tap_pair(const kefu_kb_t *kb, const kefu_session_t *sess,
    const kefu_ask_in_t *in, long *faq, unsigned char *buf, kefu_str_t *q)
{
    int                 ord;
    long                chosen, prev, n;
    size_t              i, len;
    const kefu_turn_t  *last;
    const kefu_faq_t   *f;

    if (sess->nturns == 0) {
        return 0;
    }

    last = &sess->turns[sess->nturns - 1];
    chosen = -1;

    if (in->choice != NULL) {
        chosen = kefu_kb_find(kb, in->choice, in->choice_len);

    } else if (in->faq_id != NULL) {
        /* the chat page sends a tapped related question as faq_id; it
         * counts only if the previous turn offered it (below) */
        chosen = kefu_kb_find(kb, in->faq_id, in->faq_id_len);

    } else if (in->question != NULL && in->faq_id == NULL
               && sess->npending > 0)
    {
        ord = kefu_dialog_ordinal(in->question, in->qlen);

        if (ord > 0 && (size_t) ord <= sess->npending) {
            chosen = kefu_kb_find(kb, sess->pending[ord - 1].data,
                                  sess->pending[ord - 1].len);
        }
    }

    /* "第二个" picked a choice: the words are no question of the user's */
    if (chosen < 0 || last->q.len == 0
        || kefu_dialog_ordinal(last->q.data, last->q.len) > 0)
    {
        return 0;
    }

    if (last->type == 'c') {
        /* one of the choices the clarify offered */
        for (i = 0; i < sess->npending; i++) {
            if (sess->pending[i].len == kb->faqs[chosen].id.len
                && memcmp(sess->pending[i].data, kb->faqs[chosen].id.data,
                          sess->pending[i].len) == 0)
            {
                break;
            }
        }

        if (i == sess->npending) {
            return 0;
        }

    } else if (last->type == 'a') {
        /* a related question of the answer */
        prev = kefu_kb_find(kb, last->faq.data, last->faq.len);
        if (prev < 0 || prev == chosen) {
            return 0;
        }

        f = &kb->faqs[prev];

        /* the answer came from a tap itself: its text is the FAQ's own
         * question, not the user's words */
        if (last->q.len == f->question.len
            && memcmp(last->q.data, f->question.data, last->q.len) == 0)
        {
            return 0;
        }

        for (i = 0; i < f->nfollow_ups && i < KEFU_DIALOG_MAX_RELATED; i++) {
            if ((long) f->follow_ups[i] == chosen) {
                break;
            }
        }

        if (i == f->nfollow_ups || i == KEFU_DIALOG_MAX_RELATED) {
            return 0;
        }

    } else {
        return 0;
    }

    n = kefu_text_normalize(last->q.data, last->q.len, buf);
    if (n <= 0) {
        return 0;
    }

    len = (size_t) n;

    if (len > KEFU_TAP_MAX_Q) {
        len = KEFU_TAP_MAX_Q;

        /* back to the start of a character */
        while (len > 0 && (buf[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    *faq = chosen;
    q->data = buf;
    q->len = len;

    return 1;
}
