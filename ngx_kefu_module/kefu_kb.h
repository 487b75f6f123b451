/*
 * ngx_kefu: knowledge base (SPEC §5): loader, validator, index, FAQ
 * lookup, search with multi-turn context, intents and tone variants.
 *
 * A KB is built once (at nginx configuration time) into the caller's
 * allocator and is read-only afterwards; per-query state lives in a
 * kefu_search_scratch_t.  Temporary memory of the build (file, JSON tree,
 * index builder) is taken from a private malloc arena and released before
 * kefu_kb_load() returns.
 */

#ifndef KEFU_KB_H
#define KEFU_KB_H

#include "kefu_core.h"
#include "kefu_text.h"
#include "kefu_index.h"


#define KEFU_KB_MAX_FILE        (64 * 1024 * 1024)
#define KEFU_KB_MAX_ID          64

/* FAQ actions */
#define KEFU_ACT_LOSS_REPORT    0x01
#define KEFU_ACT_POLICE_REPORT  0x02
#define KEFU_ACT_HANDOFF        0x04

/* intent bits of kefu_kb_intents() */
#define KEFU_INTENT_HUMAN       0x01    /* asks for a human agent */
#define KEFU_INTENT_EMERGENCY   0x02    /* theft, loss, fraud */
#define KEFU_INTENT_ANGRY       0x04
#define KEFU_INTENT_ANXIOUS     0x08


typedef enum {
    KEFU_EMOTION_CALM = 0,
    KEFU_EMOTION_ANXIOUS,
    KEFU_EMOTION_ANGRY
} kefu_emotion_e;


typedef struct {
    kefu_str_t      name;           /* event type or scene name */
    double          weight;         /* > 0 */
    unsigned        scene:1;        /* 0: {"event": ...}, 1: {"scene": ...} */
} kefu_trigger_t;


typedef struct {
    kefu_str_t      id;
    kefu_str_t      question;
    kefu_str_t      answer;         /* default tone */
    kefu_str_t      calm;           /* optional tone variants (len 0) */
    kefu_str_t      soothing;
    kefu_str_t      reassuring;
    kefu_str_t     *similar;
    size_t          nsimilar;
    kefu_trigger_t *triggers;
    size_t          ntriggers;
    uint32_t       *follow_ups;     /* FAQ indexes */
    size_t          nfollow_ups;
    kefu_str_t     *tags;           /* tags[0] is the topic */
    size_t          ntags;
    unsigned        actions;        /* KEFU_ACT_* */
    unsigned        risk:1;
} kefu_faq_t;


typedef struct {
    kefu_str_t     *words;          /* normalised */
    size_t          n;
} kefu_wordlist_t;


typedef struct {
    kefu_str_t      file;           /* name used in messages */
    kefu_str_t      version;
    kefu_faq_t     *faqs;
    size_t          nfaqs;
    uint32_t       *welcome;        /* FAQ indexes */
    size_t          nwelcome;
    uint32_t       *faq_topic;      /* topic number per FAQ, 0 = none */
    uint32_t        ntopics;
    kefu_wordlist_t human;
    kefu_wordlist_t emergency;
    kefu_wordlist_t angry;
    kefu_wordlist_t anxious;
    kefu_syn_t     *syn;
    kefu_index_t   *index;
    uint32_t       *id_slots;       /* FAQ index + 1 by id hash */
    uint32_t        id_mask;
    size_t          text_bytes;     /* questions, paraphrases, answers */
    uint64_t        generation;     /* 0: the file; else learned questions
                                       merged (kefu_learn.h) */
} kefu_kb_t;


/*
 * Loads and validates a KB file (at most KEFU_KB_MAX_FILE bytes).  On
 * failure returns NULL and writes "file: [faq "id" (#n): ]reason" to err.
 */
kefu_kb_t *kefu_kb_load(kefu_alloc_t *a, const char *path, char *err,
    size_t errlen);
/* The same from memory; name is used in messages. */
kefu_kb_t *kefu_kb_load_buf(kefu_alloc_t *a, const unsigned char *buf,
    size_t len, const char *name, char *err, size_t errlen);

/* FAQ index of an id, or -1. */
long kefu_kb_find(const kefu_kb_t *kb, const unsigned char *id, size_t len);

/* A scratch good for this KB (or any KB with no more documents). */
kefu_search_scratch_t *kefu_kb_scratch_create(kefu_alloc_t *a,
    const kefu_kb_t *kb);
uint32_t kefu_kb_ndocs(const kefu_kb_t *kb);

/*
 * Ranks FAQs for a question.  prev_faq is the previous turn's FAQ (-1 for
 * none): an elliptic follow-up is read together with that FAQ's question
 * and FAQs of its topic or among its follow-ups are favoured.  The trainer
 * console and /v1/ask call this same function.  Returns the number of
 * hits or KEFU_ERROR (invalid UTF-8).
 */
int kefu_kb_search(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const unsigned char *q, size_t len, long prev_faq, kefu_hit_t *hits,
    size_t k);

/* KEFU_INTENT_* bits of a raw question. */
unsigned kefu_kb_intents(const kefu_kb_t *kb, const unsigned char *text,
    size_t len);
kefu_emotion_e kefu_kb_emotion(unsigned intents);
/* Answer for an emotion: angry -> soothing, anxious -> reassuring (else
 * soothing), calm -> calm; the default answer when a variant is absent. */
const kefu_str_t *kefu_kb_answer(const kefu_kb_t *kb, uint32_t faq,
    kefu_emotion_e emotion);
/* "loss_report" etc. for one KEFU_ACT_* bit, NULL for others. */
const char *kefu_kb_action_name(unsigned action);

#endif /* KEFU_KB_H */
