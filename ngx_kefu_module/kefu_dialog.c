/*
 * ngx_kefu: dialogue turns.
 */

#include "kefu_dialog.h"


#define KEFU_TEXT(s)  { sizeof(s) - 1, (unsigned char *) (s) }

static const kefu_str_t  kefu_text_clarify =
    KEFU_TEXT("您想问的是下面哪一个问题?");
static const kefu_str_t  kefu_text_fallback =
    KEFU_TEXT("抱歉,我还在学习中。您可以换个说法,或者转人工客服。");
static const kefu_str_t  kefu_text_handoff =
    KEFU_TEXT("好的,正在为您转接人工客服,请稍候。");
static const kefu_str_t  kefu_text_emergency =
    KEFU_TEXT("检测到您可能遇到了账户或资金安全问题。请立即点击“一键挂失”"
              "冻结账户,如已被骗或被盗请“一键报案”,人工客服将优先为您"
              "处理。");


/* Ordinal replies to a clarify question, normalised (no punctuation). */
static const char  *kefu_ordinals[][8] = {
    { "1", "一", "第一", "第一个", "第一条", "第1个", "第一项", NULL },
    { "2", "二", "第二", "第二个", "第二条", "第2个", "第二项", NULL },
    { "3", "三", "第三", "第三个", "第三条", "第3个", "第三项", NULL }
};

/* polite words around an ordinal: "我选第二个吧", "就第一个" */
static const char  *kefu_ordinal_prefix[] = {
    "我选", "选择", "选", "就是", "就", "要", "是", NULL
};

static const char  *kefu_ordinal_suffix[] = {
    "吧", "呢", "啊", "好了", "就行", "谢谢", NULL
};


static size_t
kefu_strip(const unsigned char *p, size_t len, const char **words,
    int suffix)
{
    size_t  i, wlen;

    for (i = 0; words[i]; i++) {
        wlen = strlen(words[i]);

        if (wlen < len
            && memcmp(suffix ? p + len - wlen : p, words[i], wlen) == 0)
        {
            return wlen;
        }
    }

    return 0;
}


int
kefu_dialog_ordinal(const unsigned char *text, size_t len)
{
    long            n;
    size_t          i, j, k, cut;
    unsigned char   buf[64], *p;

    if (text == NULL || len >= sizeof(buf)) {
        return 0;
    }

    n = kefu_text_normalize(text, len, buf);
    if (n <= 0) {
        return 0;
    }

    p = buf;
    k = (size_t) n;

    cut = kefu_strip(p, k, kefu_ordinal_prefix, 0);
    p += cut;
    k -= cut;
    k -= kefu_strip(p, k, kefu_ordinal_suffix, 1);

    for (i = 0; i < 3; i++) {
        for (j = 0; kefu_ordinals[i][j]; j++) {
            if (strlen(kefu_ordinals[i][j]) == k
                && memcmp(p, kefu_ordinals[i][j], k) == 0)
            {
                return (int) i + 1;
            }
        }
    }

    return 0;
}


static void
kefu_dialog_answer(const kefu_kb_t *kb, long faq, double confidence,
    kefu_ask_out_t *out)
{
    out->type = KEFU_REPLY_ANSWER;
    out->faq = faq;
    out->confidence = confidence;
    out->actions |= kb->faqs[faq].actions;
    out->text = *kefu_kb_answer(kb, (uint32_t) faq, out->emotion);
}


int
kefu_dialog_ask(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    kefu_session_t *sess, const kefu_ask_in_t *in, kefu_ask_out_t *out)
{
    int                n, ord;
    long               faq, prev;
    size_t             i, choices[KEFU_DIALOG_MAX_CHOICES], nchoices;
    kefu_hit_t         hits[8];
    kefu_str_t         none = { 0, (unsigned char *) "" };
    kefu_decision_e    d;
    const kefu_str_t  *id;

    memset(out, 0, sizeof(kefu_ask_out_t));
    out->faq = -1;
    n = 0;

    if (in->question != NULL) {
        out->intents = kefu_kb_intents(kb, in->question, in->qlen);
        out->emotion = kefu_kb_emotion(out->intents);
    }

    if (in->faq_id != NULL) {
        faq = kefu_kb_find(kb, in->faq_id, in->faq_id_len);
        if (faq < 0) {
            out->error = "unknown faq_id";
            return KEFU_ERROR;
        }

        out->resolved_by = 1;
        kefu_dialog_answer(kb, faq, 1.0, out);
        goto done;
    }

    if (in->choice != NULL) {
        faq = kefu_kb_find(kb, in->choice, in->choice_len);
        if (faq < 0) {
            out->error = "unknown choice";
            return KEFU_ERROR;
        }

        out->resolved_by = 2;
        kefu_dialog_answer(kb, faq, 1.0, out);
        goto done;
    }

    if (sess->npending > 0) {
        ord = kefu_dialog_ordinal(in->question, in->qlen);

        if (ord > 0 && (size_t) ord <= sess->npending) {
            faq = kefu_kb_find(kb, sess->pending[ord - 1].data,
                               sess->pending[ord - 1].len);
            if (faq >= 0) {
                out->resolved_by = 3;
                kefu_dialog_answer(kb, faq, 1.0, out);
                goto done;
            }
        }
    }

    prev = -1;
    if (sess->topic.len) {
        prev = kefu_kb_find(kb, sess->topic.data, sess->topic.len);
    }

    n = -1;

    if (in->memo != NULL) {
        n = kefu_memo_get(in->memo, kb, prev, in->question, in->qlen, hits,
                          8);
    }

    if (n < 0) {
        n = kefu_kb_search(kb, s, in->question, in->qlen, prev, hits, 8);

        if (n >= 0 && in->memo != NULL) {
            kefu_memo_put(in->memo, kb, prev, in->question, in->qlen, hits,
                          n, 8);
        }
    }

    if (n < 0) {
        out->error = "question is not valid UTF-8";
        return KEFU_ERROR;
    }

    nchoices = 0;
    d = kefu_decide(hits, (size_t) n, in->high, in->low, choices, &nchoices);

    if ((out->intents & KEFU_INTENT_HUMAN) && d != KEFU_DECIDE_ANSWER) {
        out->type = KEFU_REPLY_HANDOFF;
        out->actions |= KEFU_ACT_HANDOFF;
        out->text = kefu_text_handoff;
        out->handoff_suggested = 1;
        out->confidence = n > 0 ? hits[0].confidence : 0;

    } else if (d == KEFU_DECIDE_ANSWER) {
        kefu_dialog_answer(kb, hits[0].faq, hits[0].confidence, out);

    } else if (d == KEFU_DECIDE_CLARIFY) {
        out->type = KEFU_REPLY_CLARIFY;
        out->text = kefu_text_clarify;
        out->confidence = hits[0].confidence;

        for (i = 0; i < nchoices && i < KEFU_DIALOG_MAX_CHOICES; i++) {
            out->choices[i] = hits[choices[i]].faq;
            out->choice_conf[i] = hits[choices[i]].confidence;
        }

        out->nchoices = i;

    } else {
        out->type = KEFU_REPLY_FALLBACK;
        out->text = kefu_text_fallback;
        out->confidence = n > 0 ? hits[0].confidence : 0;
    }

done:

    if (out->intents & KEFU_INTENT_EMERGENCY) {
        out->actions |= KEFU_ACT_LOSS_REPORT | KEFU_ACT_POLICE_REPORT
                        | KEFU_ACT_HANDOFF;
        out->priority = 1;
        sess->emergency = 1;

        if (out->type != KEFU_REPLY_ANSWER) {
            out->nchoices = 0;

            if (n > 0 && (kb->faqs[hits[0].faq].risk
                          || (kb->faqs[hits[0].faq].actions
                              & (KEFU_ACT_LOSS_REPORT
                                 |KEFU_ACT_POLICE_REPORT))))
            {
                /* an emergency FAQ ranked first: better than any menu */
                kefu_dialog_answer(kb, hits[0].faq, hits[0].confidence,
                                   out);

            } else {
                /* no FAQ fits, but the user must not wait for a human */
                out->type = KEFU_REPLY_ANSWER;
                out->text = kefu_text_emergency;
            }
        }
    }

    if (out->emotion == KEFU_EMOTION_ANGRY
        || (out->actions & (KEFU_ACT_LOSS_REPORT|KEFU_ACT_POLICE_REPORT)))
    {
        out->priority = 1;
    }

    if (out->actions & (KEFU_ACT_LOSS_REPORT|KEFU_ACT_POLICE_REPORT)) {
        sess->emergency = 1;
    }

    /* the new context */
    sess->turn++;
    sess->updated = in->now;
    sess->npending = 0;

    switch (out->type) {

    case KEFU_REPLY_ANSWER:
        sess->fallbacks = 0;
        if (out->faq >= 0) {
            sess->topic = kb->faqs[out->faq].id;
        }
        break;

    case KEFU_REPLY_CLARIFY:
        sess->fallbacks = 0;
        for (i = 0; i < out->nchoices; i++) {
            sess->pending[i] = kb->faqs[out->choices[i]].id;
        }
        sess->npending = out->nchoices;
        break;

    case KEFU_REPLY_FALLBACK:
        sess->fallbacks++;
        break;

    default: /* KEFU_REPLY_HANDOFF */
        sess->fallbacks = 0;
        break;
    }

    if (sess->fallbacks >= 2) {
        out->handoff_suggested = 1;
        out->actions |= KEFU_ACT_HANDOFF;
    }

    id = out->faq >= 0 ? &kb->faqs[out->faq].id : &none;

    if (in->question != NULL) {
        kefu_session_add_turn(sess, in->question, in->qlen, id,
                              "acfh"[out->type], in->max_turns);

    } else {
        kefu_session_add_turn(sess, kb->faqs[out->faq].question.data,
                              kb->faqs[out->faq].question.len, id,
                              "acfh"[out->type], in->max_turns);
    }

    return KEFU_OK;
}
