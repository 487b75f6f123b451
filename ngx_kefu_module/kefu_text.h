/*
 * ngx_kefu: text normalisation and tokenising for retrieval.
 *
 * Normalisation works per code point: full-width ASCII to half-width,
 * ASCII/Latin-1 case folding, Traditional to Simplified for common
 * characters, and punctuation, symbols, whitespace and emoji dropped.
 *
 * Tokens need no dictionary: CJK unigrams and bigrams inside a run of
 * characters, one word token per Latin or digit run.  Synonyms (longest
 * match) are rewritten to their canonical form before tokenising, so the
 * same function serves indexing and queries.
 */

#ifndef KEFU_TEXT_H
#define KEFU_TEXT_H

#include "kefu_core.h"


/* longest text (in code points) that is tokenised; the rest is ignored */
#define KEFU_TEXT_MAX_CPS     1024

/* token classes, kept in the top two bits of a token key */
#define KEFU_TOK_UNI          0     /* CJK unigram */
#define KEFU_TOK_STOP         1     /* unigram of a stop character */
#define KEFU_TOK_BI           2     /* CJK bigram */
#define KEFU_TOK_WORD         3     /* Latin or digit run */

#define kefu_tok_class(key)   ((key) >> 30)


typedef struct {
    uint32_t    key;        /* class << 30 | 30-bit hash */
    uint16_t    start;      /* first code point in kefu_tokens_t.cps */
    uint16_t    len;        /* code points */
} kefu_token_t;


typedef struct {
    uint32_t       *cps;    /* normalised text; 0 marks a word boundary */
    size_t          ncps;
    kefu_token_t   *toks;   /* in text order, duplicates kept */
    size_t          ntoks;
} kefu_tokens_t;


typedef struct kefu_syn_s  kefu_syn_t;

typedef struct {
    kefu_str_t      from;   /* raw UTF-8 */
    kefu_str_t      to;     /* canonical form, raw UTF-8 */
} kefu_syn_pair_t;


/* UTF-8: strict (no overlongs, surrogates or values above U+10FFFF). */
int kefu_utf8_valid(const unsigned char *s, size_t len);
/* Decodes one code point; returns its byte length or 0 when invalid. */
size_t kefu_utf8_decode(const unsigned char *p, const unsigned char *end,
    uint32_t *cp);
/* Encodes cp into out (room for 4 bytes); returns the byte length. */
size_t kefu_utf8_encode(uint32_t cp, unsigned char *out);

/* One code point through the normaliser; 0 means "drop it". */
uint32_t kefu_text_fold(uint32_t cp);
/* Traditional to Simplified for the characters in the table, else cp. */
uint32_t kefu_text_t2s(uint32_t cp);
int kefu_text_is_cjk(uint32_t cp);

/*
 * Normalises UTF-8 text into out, which needs room for len bytes (the
 * result is never longer).  Returns the output length, or -1 when the
 * input is not valid UTF-8.
 */
long kefu_text_normalize(const unsigned char *in, size_t len,
    unsigned char *out);

/*
 * Synonym table: pairs are normalised; an empty or identical normalised
 * pair is ignored.  Returns NULL on allocation failure.
 */
kefu_syn_t *kefu_syn_build(kefu_alloc_t *a, const kefu_syn_pair_t *pairs,
    size_t n);
size_t kefu_syn_count(const kefu_syn_t *syn);

/*
 * Token buffers for texts up to KEFU_TEXT_MAX_CPS code points; one per
 * caller, reused for every text.
 */
kefu_tokens_t *kefu_tokens_create(kefu_alloc_t *a);

/*
 * Normalises, applies synonyms (syn may be NULL) and tokenises.
 * Returns KEFU_ERROR for invalid UTF-8, else KEFU_OK.
 */
int kefu_tokenize(const kefu_syn_t *syn, const unsigned char *text,
    size_t len, kefu_tokens_t *out);

/* Writes the UTF-8 form of a token into out; returns its length. */
size_t kefu_token_text(const kefu_tokens_t *t, const kefu_token_t *tok,
    unsigned char *out, size_t size);

#endif /* KEFU_TEXT_H */
