/*
 * Unit tests: UTF-8, normalisation, tokeniser, synonyms.
 */

#include <stdlib.h>

#include "tap.h"
#include "kefu_core.h"
#include "kefu_text.h"


static const char *
norm(const char *in, char *out)
{
    long  n;

    n = kefu_text_normalize((const unsigned char *) in, strlen(in),
                            (unsigned char *) out);
    if (n < 0) {
        return "(invalid)";
    }

    out[n] = '\0';

    return out;
}


/* token strings joined by "|" */
static const char *
toks(const kefu_syn_t *syn, kefu_tokens_t *t, const char *in, char *out,
    size_t size)
{
    size_t  i, n, l;

    if (kefu_tokenize(syn, (const unsigned char *) in, strlen(in), t)
        != KEFU_OK)
    {
        return "(invalid)";
    }

    n = 0;

    for (i = 0; i < t->ntoks; i++) {
        if (n + 2 >= size) {
            break;
        }

        if (i > 0) {
            out[n++] = '|';
        }

        l = kefu_token_text(t, &t->toks[i], (unsigned char *) out + n,
                            size - n - 1);
        n += l;
    }

    out[n] = '\0';

    return out;
}


int
main(void)
{
    char            buf[1024];
    size_t          i;
    uint32_t        cp;
    unsigned char   enc[4];
    kefu_arena_t    arena;
    kefu_tokens_t  *t;
    kefu_syn_t     *syn;
    kefu_syn_pair_t pairs[3];

    kefu_arena_init(&arena);

    /* UTF-8 */
    ok(kefu_utf8_valid((const unsigned char *) "abc中文", 9), "valid utf-8");
    ok(!kefu_utf8_valid((const unsigned char *) "\xc0\xaf", 2),
       "overlong rejected");
    ok(!kefu_utf8_valid((const unsigned char *) "\xed\xa0\x80", 3),
       "surrogate rejected");
    ok(!kefu_utf8_valid((const unsigned char *) "\xf4\x90\x80\x80", 4),
       "above U+10FFFF rejected");
    ok(!kefu_utf8_valid((const unsigned char *) "\xe4\xb8", 2),
       "truncated sequence rejected");
    ok(!kefu_utf8_valid((const unsigned char *) "\x80", 1),
       "lone continuation rejected");

    for (cp = 1; cp < 0x110000; cp += 97) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }

        i = kefu_utf8_encode(cp, enc);

        if (!kefu_utf8_valid(enc, i)) {
            break;
        }
    }

    ok(cp >= 0x110000, "encode/validate round trip");

    /* normalisation */
    is_str(norm("ＡＢＣ１２３", buf), "abc123", "full-width to half-width");
    is_str(norm("Hello World", buf), "helloworld", "case fold, space drop");
    is_str(norm("怎么还款？！。，、", buf), "怎么还款",
           "CJK punctuation drops");
    is_str(norm("a\xe3\x80\x80" "b", buf), "ab", "ideographic space drops");
    is_str(norm("花唄帳戶轉帳與時這麼", buf), "花呗账户转账与时这么",
           "traditional to simplified");
    is_str(norm("信用卡", buf), "信用卡", "simplified unchanged");
    is_str(norm("还款\xf0\x9f\x98\x80\xf0\x9f\x91\x8d!!", buf), "还款",
           "emoji and symbols drop");
    is_str(norm("\xf0\x9f\x98\xad\xf0\x9f\x98\xad", buf), "",
           "emoji-only is empty");
    is_str(norm("花呗\xff", buf), "(invalid)", "invalid utf-8 rejected");
    is_str(norm("100元", buf), "100元", "digits kept");

    /* tokeniser */
    t = kefu_tokens_create(&arena.allocator);
    ok(t != NULL, "tokens created");

    is_str(toks(NULL, t, "怎么还款", buf, sizeof(buf)),
           "怎|怎么|么|么还|还|还款|款", "unigrams and bigrams");
    is_int(kefu_tok_class(t->toks[2].key), KEFU_TOK_STOP,
           "stop character class");
    is_int(kefu_tok_class(t->toks[1].key), KEFU_TOK_BI, "bigram class");
    is_str(toks(NULL, t, "iPhone12换卡", buf, sizeof(buf)),
           "iphone|12|换|换卡|卡", "latin and digit runs are words");
    is_str(toks(NULL, t, "还款，花呗", buf, sizeof(buf)),
           "还|还款|款|花|花呗|呗", "no bigram across punctuation");
    is_str(toks(NULL, t, "!!!", buf, sizeof(buf)), "", "no tokens");
    ok(kefu_tokenize(NULL, (const unsigned char *) "\xe4", 1, t)
       == KEFU_ERROR, "tokenize rejects invalid utf-8");

    /* synonyms: longest match, applied before tokenising */
    pairs[0].from.data = (unsigned char *) "huabei";
    pairs[0].from.len = 6;
    pairs[0].to.data = (unsigned char *) "花呗";
    pairs[0].to.len = 6;
    pairs[1].from.data = (unsigned char *) "hb";
    pairs[1].from.len = 2;
    pairs[1].to.data = (unsigned char *) "花呗";
    pairs[1].to.len = 6;
    pairs[2].from.data = (unsigned char *) "余额宝收益";
    pairs[2].from.len = 15;
    pairs[2].to.data = (unsigned char *) "理财收益";
    pairs[2].to.len = 12;

    syn = kefu_syn_build(&arena.allocator, pairs, 3);
    ok(syn != NULL && kefu_syn_count(syn) == 3, "synonym table");

    is_str(toks(syn, t, "HuaBei还款", buf, sizeof(buf)),
           "花|花呗|呗|呗还|还|还款|款", "latin synonym to canonical");
    is_str(toks(syn, t, "hb", buf, sizeof(buf)), "花|花呗|呗",
           "short synonym");
    is_str(toks(syn, t, "余额宝收益", buf, sizeof(buf)),
           "理|理财|财|财收|收|收益|益", "longest match wins");

    kefu_arena_free(&arena);

    return done_testing();
}
