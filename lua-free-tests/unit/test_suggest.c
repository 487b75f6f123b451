/*
 * Unit tests: "猜你关心" ranking (trail or its summary, decay, scene, hot,
 * risk, asked, diversity, welcome).  Run from the repository's top
 * directory.
 */

#include <stdlib.h>
#include <math.h>
#include <time.h>

#include "tap.h"
#include "kefu_core.h"
#include "kefu_kb.h"
#include "kefu_suggest.h"
#include "kefu_trail.h"


#ifndef TEST_LOOPS
#define TEST_LOOPS  200     /* rankings timed on the 10k-FAQ KB */
#endif

#define F(id, topic, extra)                                                   \
    "{\"id\":\"" id "\",\"question\":\"q " id "\",\"answer\":\"a\","          \
    "\"tags\":[\"" topic "\"]" extra "}"

#define EV(name, w)   "{\"event\":\"" name "\",\"weight\":" #w "}"
#define SC(name, w)   "{\"scene\":\"" name "\",\"weight\":" #w "}"

static const char  test_kb[] =
    "{\"version\":\"t\",\"welcome\":[\"repay-how\",\"t-arrive\","
    "\"service-human\",\"coupon-x\",\"bill-min\"],\"faqs\":["
    F("t-failed", "transfer",
      ",\"triggers\":[" EV("transfer_failed", 6) "," SC("transfer", 2) "]")
    "," F("t-refund", "transfer", ",\"triggers\":[" EV("transfer_failed", 5)
          "]")
    "," F("t-arrive", "transfer",
          ",\"triggers\":[" EV("transfer_failed", 3) "," SC("transfer", 3)
          "]")
    "," F("t-fee", "transfer", ",\"triggers\":[" EV("transfer_failed", 2)
          "]")
    "," F("bill-due", "bill",
          ",\"triggers\":[" EV("bill_due", 5) "," SC("bill", 3) "]")
    "," F("bill-min", "bill", ",\"triggers\":[" EV("bill_due", 4) "]")
    "," F("repay-how", "repayment",
          ",\"triggers\":[" EV("bill_due", 5) "," SC("bill", 2) "]")
    "," F("fraud-large", "fraud",
          ",\"triggers\":[" EV("transfer_large", 5) ","
          EV("transfer_new_payee", 4) "],\"risk\":true,"
          "\"actions\":[\"police_report\",\"handoff\"]")
    "," F("fraud-shuadan", "fraud",
          ",\"triggers\":[" EV("keyword_shuadan", 6) "],\"risk\":true,"
          "\"actions\":[\"police_report\"]")
    "," F("sec-new-device", "security",
          ",\"triggers\":[" EV("login_new_device", 5) "],\"risk\":true,"
          "\"actions\":[\"loss_report\",\"handoff\"]")
    "," F("sec-manage", "security",
          ",\"triggers\":[" EV("login_new_device", 3) "]")
    "," F("loss-phone", "loss",
          ",\"triggers\":[" EV("phone_lost_reported", 6) "],\"risk\":true,"
          "\"actions\":[\"loss_report\"]")
    "," F("coupon-x", "coupon", ",\"triggers\":[" EV("coupon_expiring", 2)
          "]")
    "," F("service-human", "service", ",\"triggers\":[" SC("home", 1) "]")
    "," F("plain", "misc", "")
    "]}";


static kefu_kb_t               *kb;
static kefu_trigger_index_t    *idx;
static kefu_suggest_scratch_t  *scr;
static kefu_suggest_params_t    prm;


static uint32_t
faq(const char *id)
{
    long  f;

    f = kefu_kb_find(kb, (const unsigned char *) id, strlen(id));
    if (f < 0) {
        printf("# no FAQ %s\n", id);
        exit(1);
    }

    return (uint32_t) f;
}


static const char *
id_of(const kefu_suggest_out_t *out, size_t i)
{
    static char  buf[4][80];
    static int   k;
    char        *b;

    b = buf[k++ & 3];

    if (i >= out->n) {
        return "(none)";
    }

    snprintf(b, 80, "%.*s", (int) kb->faqs[out->items[i].faq].id.len,
             (char *) kb->faqs[out->items[i].faq].id.data);
    return b;
}


static long
pos(const kefu_suggest_out_t *out, const char *id)
{
    size_t  i;

    for (i = 0; i < out->n; i++) {
        if (strcmp(id_of(out, i), id) == 0) {
            return (long) i;
        }
    }

    return -1;
}


static int
event_is(const kefu_suggestion_t *it, const char *name)
{
    return it->event.len == strlen(name)
           && memcmp(it->event.data, name, it->event.len) == 0;
}


typedef struct {
    kefu_suggest_event_t  ev[256];
    size_t                n;
    kefu_suggest_in_t     in;
} trail_t;


static void
trail_init(trail_t *t, size_t limit)
{
    memset(t, 0, sizeof(trail_t));
    t->in.events = t->ev;
    t->in.limit = limit;
}


static void
trail_add(trail_t *t, const char *type, int64_t age)
{
    t->ev[t->n].type.data = (unsigned char *) type;
    t->ev[t->n].type.len = strlen(type);
    t->ev[t->n].age = age;
    t->in.nevents = ++t->n;
}


static void
run(trail_t *t, kefu_suggest_out_t *out)
{
    if (kefu_suggest(idx, scr, &prm, &t->in, out) != KEFU_OK) {
        printf("# kefu_suggest failed\n");
        exit(1);
    }
}


static void
test_ranking(void)
{
    size_t              i, j, n;
    uint32_t            asked[2];
    trail_t             t;
    kefu_suggest_hot_t  hot[2];
    kefu_suggest_out_t  out;

    /* nothing known: the welcome questions in the KB's order */
    trail_init(&t, 5);
    run(&t, &out);
    is_int(out.n, 5, "empty input: 5 items");
    is_str(id_of(&out, 0), "repay-how", "welcome order kept");
    is_str(id_of(&out, 4), "bill-min", "fifth welcome");
    ok(out.items[0].reason == KEFU_REASON_WELCOME, "reason welcome");
    ok(!out.personalized, "not personalized");
    ok(out.risk == NULL && out.actions == 0, "no risk");

    /* a failed transfer just now */
    trail_init(&t, 5);
    trail_add(&t, "transfer_failed", 10);
    run(&t, &out);
    is_str(id_of(&out, 0), "t-failed", "failed transfer: t-failed first");
    ok(out.items[0].reason == KEFU_REASON_EVENT, "reason event");
    ok(event_is(&out.items[0], "transfer_failed"), "names the event");
    is_int(out.items[0].age, 10, "with its age");
    ok(fabs(out.items[0].score - 6 * exp2(-10.0 / 3600)) < 1e-9,
       "score = weight x decay");
    ok(out.personalized, "personalized");
    is_str(id_of(&out, 1), "t-refund", "second by weight");
    /* diversity: only two transfer FAQs while welcome ones remain */
    for (i = 0, n = 0; i < out.n; i++) {
        n += kb->faq_topic[out.items[i].faq] == kb->faq_topic[faq("t-fee")];
    }
    is_int(n, 2, "at most 2 transfer FAQs in the top 5");

    /* without the cap the transfer FAQs fill the list */
    prm.per_topic = 0;
    run(&t, &out);
    is_str(id_of(&out, 3), "t-fee", "no cap: fourth transfer FAQ");
    prm.per_topic = 2;

    /* limit 20: the capped FAQs come back after the welcome questions */
    trail_init(&t, 20);
    trail_add(&t, "transfer_failed", 10);
    run(&t, &out);
    ok(pos(&out, "t-fee") > pos(&out, "coupon-x"), "capped after welcome");
    is_int(out.n, 8, "limit 20: every candidate and welcome once");
    for (i = 0; i < out.n; i++) {
        for (j = i + 1; j < out.n; j++) {
            ok(out.items[i].faq != out.items[j].faq, "no duplicate %zu/%zu",
               i, j);
        }
    }

    /* repeated events add up */
    trail_init(&t, 5);
    trail_add(&t, "bill_due", 100);
    trail_add(&t, "transfer_failed", 100);
    trail_add(&t, "bill_due", 200);
    run(&t, &out);
    is_str(id_of(&out, 0), "bill-due", "two bill_due beat one transfer");

    /* decay: an old event ranks below a new one */
    trail_init(&t, 5);
    trail_add(&t, "transfer_failed", 7200);
    trail_add(&t, "bill_due", 60);
    run(&t, &out);
    is_str(id_of(&out, 0), "bill-due", "new bill_due first");
    ok(pos(&out, "t-failed") > pos(&out, "bill-due"),
       "2 h old failed transfer below");
    ok(pos(&out, "t-failed") >= 0, "but still there");

    trail_init(&t, 5);
    trail_add(&t, "transfer_failed", 13 * 3600);
    run(&t, &out);
    ok(out.items[0].reason == KEFU_REASON_WELCOME && !out.personalized,
       "an event 13 half-lives old is ignored");

    /* scene */
    trail_init(&t, 3);
    t.in.scene.data = (unsigned char *) "bill";
    t.in.scene.len = 4;
    run(&t, &out);
    is_str(id_of(&out, 0), "bill-due", "scene bill: bill-due");
    ok(out.items[0].reason == KEFU_REASON_SCENE, "reason scene");
    ok(event_is(&out.items[0], "bill"), "names the scene");
    ok(!out.personalized, "a scene is not personal");

    prm.scene_weight = 0;
    run(&t, &out);
    ok(out.items[0].reason == KEFU_REASON_WELCOME, "scene weight 0: off");
    prm.scene_weight = 1;

    /* an unknown scene changes nothing */
    t.in.scene.data = (unsigned char *) "nowhere";
    t.in.scene.len = 7;
    run(&t, &out);
    is_str(id_of(&out, 0), "repay-how", "unknown scene: welcome");

    /* hot */
    trail_init(&t, 3);
    hot[0].faq = faq("coupon-x");
    hot[0].count = 5;
    hot[1].faq = faq("plain");
    hot[1].count = 10;
    t.in.hot = hot;
    t.in.nhot = 2;
    run(&t, &out);
    is_str(id_of(&out, 0), "plain", "hottest first");
    ok(out.items[0].reason == KEFU_REASON_HOT, "reason hot");
    ok(fabs(out.items[0].score - 2.0) < 1e-9, "top hot scores 2 x weight");
    is_str(id_of(&out, 1), "coupon-x", "then the next hot");
    ok(!out.personalized, "hot is not personal");

    /* a fresh trail event beats hot */
    trail_add(&t, "transfer_failed", 5);
    run(&t, &out);
    is_str(id_of(&out, 0), "t-failed", "trail beats hot");

    /* recently asked: left out everywhere (candidates and welcome) */
    trail_init(&t, 5);
    trail_add(&t, "transfer_failed", 10);
    asked[0] = faq("t-failed");
    asked[1] = faq("repay-how");
    t.in.asked = asked;
    t.in.nasked = 2;
    run(&t, &out);
    ok(pos(&out, "t-failed") < 0, "asked FAQ not repeated");
    ok(pos(&out, "repay-how") < 0, "asked welcome not repeated");
    is_str(id_of(&out, 0), "t-refund", "next one moves up");
}


static void
test_risk(void)
{
    long                p;
    trail_t             t;
    kefu_suggest_out_t  out;

    /* a login from a new device, then a large transfer */
    trail_init(&t, 5);
    trail_add(&t, "transfer_failed", 5);
    trail_add(&t, "transfer_failed", 6);
    trail_add(&t, "transfer_large", 60);
    trail_add(&t, "login_new_device", 600);
    run(&t, &out);
    is_str(out.risk, "new_device_transfer", "pattern found");
    ok(out.items[0].reason == KEFU_REASON_RISK, "risk first");
    is_str(id_of(&out, 0), "fraud-large", "anti-fraud FAQ on top");
    ok(event_is(&out.items[0], "transfer_large"), "reason names the event");
    is_str(out.items[0].signal, "new_device_transfer", "and the pattern");
    is_str(id_of(&out, 1), "sec-new-device", "then the device alert");
    ok(out.items[1].reason == KEFU_REASON_RISK, "also risk");
    ok(out.actions == (KEFU_ACT_POLICE_REPORT | KEFU_ACT_HANDOFF
                       | KEFU_ACT_LOSS_REPORT), "actions of the risk items");
    is_str(id_of(&out, 2), "t-failed", "then the trail, despite its score");
    ok(out.items[2].score > out.items[0].score, "(higher score)");
    p = pos(&out, "sec-manage");
    ok(p < 0 || out.items[p].reason != KEFU_REASON_RISK,
       "non-risk FAQs of the pattern's events are not risk");

    /* the transfer before the login: no pattern */
    trail_init(&t, 5);
    trail_add(&t, "transfer_large", 600);
    trail_add(&t, "login_new_device", 60);
    run(&t, &out);
    ok(out.risk == NULL, "transfer before the login: no risk");
    ok(out.items[0].reason != KEFU_REASON_RISK, "no risk tier");

    /* the login outside the window */
    trail_init(&t, 5);
    trail_add(&t, "transfer_new_payee", 60);
    trail_add(&t, "login_new_device", 7200);
    run(&t, &out);
    ok(out.risk == NULL, "login 2 h ago, window 1 h: no risk");

    prm.risk_window = 3 * 3600;
    run(&t, &out);
    is_str(out.risk, "new_device_transfer", "window 3 h: risk");
    prm.risk_window = 3600;

    /* a fraud keyword alone */
    trail_init(&t, 5);
    trail_add(&t, "bill_due", 1);
    trail_add(&t, "bill_due", 2);
    trail_add(&t, "keyword_shuadan", 300);
    run(&t, &out);
    is_str(out.risk, "fraud_keyword", "keyword pattern");
    is_str(id_of(&out, 0), "fraud-shuadan", "刷单 FAQ first");
    ok(out.actions == KEFU_ACT_POLICE_REPORT, "its actions");

    trail_init(&t, 5);
    trail_add(&t, "phone_lost_reported", 30);
    run(&t, &out);
    is_str(out.risk, "phone_lost", "phone lost pattern");
    is_str(id_of(&out, 0), "loss-phone", "loss FAQ first");
    ok(out.actions == KEFU_ACT_LOSS_REPORT, "loss_report action");
}


/* A synthetic 10k-FAQ KB with 40 event types: correctness and speed. */

static void
test_large(void)
{
    char                   err[512], *buf, *p;
    size_t                 i, k, n;
    double                 ms;
    clock_t                c0;
    trail_t                t;
    kefu_kb_t             *big;
    kefu_arena_t           a;
    kefu_suggest_out_t     out;
    kefu_trigger_index_t  *bidx;
    kefu_suggest_scratch_t  *bs;

    static char  names[40][16];

    kefu_arena_init(&a);
    n = 10000;
    buf = malloc(n * 200 + 100);
    if (buf == NULL) {
        ok(0, "malloc");
        return;
    }

    p = buf + sprintf(buf, "{\"version\":\"big\",\"welcome\":[\"f0\"],"
                      "\"faqs\":[");

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s{\"id\":\"f%zu\",\"question\":\"问题%zu\","
                     "\"answer\":\"答\",\"tags\":[\"t%zu\"],\"triggers\":["
                     "{\"event\":\"e%zu\",\"weight\":%zu},"
                     "{\"event\":\"e%zu\",\"weight\":1},"
                     "{\"scene\":\"s%zu\",\"weight\":2}]%s}",
                     i ? "," : "", i, i, i % 50, i % 40, 1 + i % 6,
                     (i / 40) % 40, i % 15,
                     i % 97 == 0 ? ",\"risk\":true" : "");
    }

    strcpy(p, "]}");

    big = kefu_kb_load_buf(&a.allocator, (unsigned char *) buf, strlen(buf),
                           "big", err, sizeof(err));
    free(buf);
    ok(big != NULL, "10k-FAQ KB loads: %s", big ? "" : err);
    if (big == NULL) {
        kefu_arena_free(&a);
        return;
    }

    bidx = kefu_trigger_index_build(&a.allocator, big);
    bs = kefu_suggest_scratch_create(&a.allocator, big->nfaqs);
    ok(bidx != NULL && bs != NULL, "index and scratch");

    ok(kefu_suggest(bidx, scr, &prm, &t.in, &out) == KEFU_ERROR,
       "a scratch too small is refused");

    for (i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "e%zu", i);
    }

    trail_init(&t, 10);
    for (i = 0; i < 200; i++) {
        trail_add(&t, names[(i * 7) % 40], (int64_t) (i * 60));
    }
    t.in.scene.data = (unsigned char *) "s3";
    t.in.scene.len = 2;

    c0 = clock();
    for (k = 0; k < TEST_LOOPS; k++) {
        if (kefu_suggest(bidx, bs, &prm, &t.in, &out) != KEFU_OK) {
            break;
        }
    }
    ms = (double) (clock() - c0) * 1000 / CLOCKS_PER_SEC / TEST_LOOPS;

    is_int(k, TEST_LOOPS, "rankings");
    is_int(out.n, 10, "10 items");
    for (i = 1, k = 1; i < out.n; i++) {
        k &= out.items[i].score <= out.items[i - 1].score
             || out.items[i - 1].reason == KEFU_REASON_RISK;
    }
    ok(k, "ordered by score below the risk tier");
    printf("# 10k FAQs, 200 events: %.3f ms per ranking (this build)\n", ms);

    kefu_arena_free(&a);
}


/* the trail summary of /v1/events ranks like the trail itself */

static void
test_summary(void)
{
    char                 rec[256];
    size_t               i, n;
    trail_t              t;
    kefu_suggest_in_t    in;
    kefu_suggest_out_t   a, b;
    kefu_trail_sum_t     sm[16];

    /* events at now - 60, now - 7200 (x 2), now - 30 vs their summary */
    trail_init(&t, 5);
    trail_add(&t, "transfer_failed", 7200);
    trail_add(&t, "transfer_failed", 7200);
    trail_add(&t, "bill_due", 60);
    trail_add(&t, "transfer_large", 30);
    trail_add(&t, "login_new_device", 600);
    run(&t, &a);

    memset(&in, 0, sizeof(in));
    in.limit = 5;
    in.now = 100000;
    n = 0;

    /* counts as of R = now - 3600: 2 x 2^-1, 2^(59/60) ... */
    snprintf(rec, sizeof(rec),
             "96400;transfer_failed %.9g 92800;bill_due %.9g 99940;"
             "transfer_large %.9g 99970;login_new_device %.9g 99400",
             2 * exp2(-1.0), exp2(3540.0 / 3600),
             exp2(3570.0 / 3600), exp2(3000.0 / 3600));
    ok(kefu_trail_sum_record((unsigned char *) rec, strlen(rec), sm, 16,
                             &n) == KEFU_OK && n == 4,
       "summary of the same trail");

    in.sums = sm;
    in.nsums = n;
    ok(kefu_suggest(idx, scr, &prm, &in, &b) == KEFU_OK, "ranks");
    ok(a.n == b.n && a.n > 0, "as many items");

    for (i = 0; i < a.n && i < b.n; i++) {
        ok(a.items[i].faq == b.items[i].faq
           && a.items[i].reason == b.items[i].reason
           && fabs(a.items[i].score - b.items[i].score) < 1e-6
           && a.items[i].age == b.items[i].age,
           "item %zu the same from the summary", i);
    }

    ok(b.risk != NULL && strcmp(b.risk, "new_device_transfer") == 0,
       "risk from the summary");

    /* a type whose newest event is past 12 half-lives counts nothing */
    in.now = 92800 + 13 * 3600;
    in.nsums = 1;
    ok(kefu_suggest(idx, scr, &prm, &in, &b) == KEFU_OK
       && b.items[0].reason == KEFU_REASON_WELCOME && !b.personalized,
       "past the horizon: welcome");
}


int
main(void)
{
    char           err[512];
    kefu_arena_t   arena;

    kefu_arena_init(&arena);

    kb = kefu_kb_load_buf(&arena.allocator, (const unsigned char *) test_kb,
                          sizeof(test_kb) - 1, "test", err, sizeof(err));
    ok(kb != NULL, "test KB loads %s", kb ? "" : err);
    if (kb == NULL) {
        return done_testing();
    }

    idx = kefu_trigger_index_build(&arena.allocator, kb);
    scr = kefu_suggest_scratch_create(&arena.allocator, kb->nfaqs);
    ok(idx != NULL && scr != NULL, "index built");
    ok(kefu_suggest_scratch_capacity(scr) == kb->nfaqs, "scratch capacity");

    prm.half_life = 3600;
    prm.scene_weight = 1;
    prm.hot_weight = 1;
    prm.risk_window = 3600;
    prm.per_topic = 2;

    test_ranking();
    test_risk();
    test_large();
    test_summary();

    is_str(kefu_suggest_reason_name(KEFU_REASON_RISK), "risk", "names");

    kefu_arena_free(&arena);

    return done_testing();
}
