/*
 * ngx_kefu: the trigger index of a KB, trigger -> FAQs and FAQ -> triggers.
 *
 * Built once per KB (at configuration time) from the FAQs' `triggers`
 * (an event type or a scene, with a weight), read-only afterwards.  The
 * suggestion ranking (kefu_suggest.h) reads it.
 */

#ifndef KEFU_TRIGGER_H
#define KEFU_TRIGGER_H

#include "kefu_core.h"
#include "kefu_kb.h"


/* an event type or scene adds to its strongest FAQs only */
#define KEFU_TRIGGER_MAX_POSTINGS   256


typedef struct kefu_trigger_index_s  kefu_trigger_index_t;


/* One FAQ a trigger names, with the trigger's weight. */
typedef struct {
    uint32_t                faq;
    float                   weight;
} kefu_trigger_posting_t;


/* One distinct trigger of the index: an event type, or a scene. */
typedef struct {
    const unsigned char    *name;
    uint32_t                len;
    uint32_t                hash;
    uint32_t                scene;
    uint32_t                first;      /* postings, strongest first */
    uint32_t                n;
    uint32_t                ncap;       /* min(n, KEFU_TRIGGER_MAX_POSTINGS) */
    uint32_t                rfirst;     /* risk FAQs among them */
    uint32_t                rn;
} kefu_trigger_entry_t;


/* One trigger of a FAQ, seen from the FAQ. */
typedef struct {
    uint32_t                entry;      /* kefu_trigger_entry_at() */
    float                   weight;
    uint32_t                in_cap;     /* among the entry's strongest */
} kefu_trigger_fwd_t;


kefu_trigger_index_t *kefu_trigger_index_build(kefu_alloc_t *a,
    const kefu_kb_t *kb);
const kefu_kb_t *kefu_trigger_index_kb(const kefu_trigger_index_t *idx);

/* The entry of an event type (scene 0) or a scene (scene 1), or NULL. */
const kefu_trigger_entry_t *kefu_trigger_lookup(
    const kefu_trigger_index_t *idx, const unsigned char *name, size_t len,
    uint32_t scene);
const kefu_trigger_entry_t *kefu_trigger_entry_at(
    const kefu_trigger_index_t *idx, uint32_t entry);

/* The entry's strongest FAQs, at most KEFU_TRIGGER_MAX_POSTINGS, in *n. */
const kefu_trigger_posting_t *kefu_trigger_postings(
    const kefu_trigger_index_t *idx, const kefu_trigger_entry_t *e,
    size_t *n);
/* The risk FAQs among all of the entry's FAQs, strongest first. */
const kefu_trigger_posting_t *kefu_trigger_risk(
    const kefu_trigger_index_t *idx, const kefu_trigger_entry_t *e,
    size_t *n);
/* The triggers of a FAQ. */
const kefu_trigger_fwd_t *kefu_trigger_of_faq(
    const kefu_trigger_index_t *idx, uint32_t faq, size_t *n);

/* FNV-1a of a trigger name, seeded with its scene flag */
uint32_t kefu_trigger_hash(const unsigned char *p, size_t len,
    uint32_t seed);

#endif /* KEFU_TRIGGER_H */
