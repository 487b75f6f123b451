/*
 * ngx_kefu: implicit feedback for the trainer.  A user who taps a choice
 * the previous turn offered (a clarify choice, or a related question of
 * an answer) says which FAQ his previous question meant: the pair
 * (previous question -> chosen FAQ) is a candidate similar question.
 */

#ifndef KEFU_TAP_PAIR_H
#define KEFU_TAP_PAIR_H

#include "kefu_dialog.h"


#define KEFU_TAP_MAX_Q  200   /* bytes of a normalised question kept */


/*
 * Before the turn is applied to sess: when in taps (choice, faq_id, or
 * an ordinal reply to a clarify) a FAQ that the previous turn offered, and
 * that turn's text was the user's own, returns 1 with *faq the chosen
 * FAQ and q the previous question, normalised and cut at a character
 * boundary to KEFU_TAP_MAX_Q bytes (buf needs KEFU_SESSION_MAX_Q
 * bytes).  Otherwise returns 0.
 */
int kefu_tap_pair(const kefu_kb_t *kb, const kefu_session_t *sess,
    const kefu_ask_in_t *in, long *faq, unsigned char *buf, kefu_str_t *q);

#endif /* KEFU_TAP_PAIR_H */
