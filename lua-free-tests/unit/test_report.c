/*
 * Unit tests: loss report checks and fingerprints, the back office's
 * status rules, report JSON, handoff priority, feedback turns and the
 * statistics aggregation (kefu_report, kefu_stats).
 */

#include "tap.h"
#include "kefu_report.h"
#include "kefu_stats.h"


static kefu_arena_t  arena;


static kefu_json_t *
parse(const char *json)
{
    char                 err[128];
    kefu_json_limits_t   lim = { 8, 64, 65536, 256 };

    return kefu_json_parse(&arena.allocator, (const unsigned char *) json,
                           strlen(json), &lim, err, sizeof(err));
}


static int
lr(const char *json, kefu_lr_req_t *req, char *err)
{
    kefu_json_t  *v;

    v = parse(json);
    if (v == NULL) {
        strcpy(err, "json");
        return -2;
    }

    return kefu_lr_parse(v, req, err, 128);
}


static const char *
fp(const char *json)
{
    char           err[128];
    static char    hex[4][KEFU_LR_FP_LEN + 1];
    static int     slot;
    kefu_lr_req_t  req;

    slot = (slot + 1) % 4;

    if (lr(json, &req, err) != KEFU_OK
        || kefu_lr_fingerprint(&req, &arena.allocator, hex[slot])
           != KEFU_OK)
    {
        return "error";
    }

    return hex[slot];
}


static void
test_idem_key(void)
{
    char  big[300];

    ok(kefu_idem_key_valid((const unsigned char *) "a", 1), "1 char key");
    ok(kefu_idem_key_valid((const unsigned char *) "k 1-_~!{}", 9),
       "printable ASCII with space and braces");
    ok(!kefu_idem_key_valid((const unsigned char *) "", 0), "empty key");
    ok(!kefu_idem_key_valid((const unsigned char *) "a\tb", 3), "tab");
    ok(!kefu_idem_key_valid((const unsigned char *) "a\x7f", 2), "DEL");
    ok(!kefu_idem_key_valid((const unsigned char *) "\xe4\xb8\xad", 3),
       "UTF-8 is not ASCII");

    memset(big, 'k', sizeof(big));
    ok(kefu_idem_key_valid((const unsigned char *) big, 255), "255 chars");
    ok(!kefu_idem_key_valid((const unsigned char *) big, 256), "256 chars");
}


static void
test_parse(void)
{
    char           err[128], note[2100];
    kefu_lr_req_t  req;
    size_t         i;

    is_int(lr("{\"kind\":\"account\",\"reason\":\"fraud\"}", &req, err),
           KEFU_OK, "account fraud");
    is_int(req.kind, KEFU_LR_ACCOUNT, "kind");
    is_int(req.reason, KEFU_LR_FRAUD, "reason");
    is_int(req.police_report, 0, "no police report by default");

    is_int(lr("{\"kind\":\"card\",\"reason\":\"stolen\",\"card_last4\":"
              "\"0427\",\"police_report\":true,\"note\":\"在地铁上\"}",
              &req, err), KEFU_OK, "card with everything");
    is_int(req.card_last4.len, 4, "card_last4 kept");
    is_int(req.police_report, 1, "police report");
    is_int(req.note.len, 12, "note kept");

    is_int(lr("{\"kind\":\"phone\",\"reason\":\"lost\",\"note\":null}",
              &req, err), KEFU_OK, "null is absent");

    is_int(lr("{\"kind\":\"wallet\",\"reason\":\"lost\"}", &req, err),
           KEFU_ERROR, "unknown kind");
    ok(strstr(err, "kind") != NULL, "message names kind: %s", err);
    is_int(lr("{\"kind\":\"card\",\"reason\":\"eaten\","
              "\"card_last4\":\"1234\"}", &req, err),
           KEFU_ERROR, "unknown reason");
    is_int(lr("{\"kind\":\"Card\",\"reason\":\"lost\"}", &req, err),
           KEFU_ERROR, "kind is case-sensitive");
    is_int(lr("{\"reason\":\"lost\"}", &req, err), KEFU_ERROR,
           "kind required");
    is_int(lr("{\"kind\":\"phone\"}", &req, err), KEFU_ERROR,
           "reason required");
    is_int(lr("{\"kind\":\"card\",\"reason\":\"lost\"}", &req, err),
           KEFU_ERROR, "card without card_last4");
    is_int(lr("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":"
              "\"123\"}", &req, err), KEFU_ERROR, "3 digits");
    is_int(lr("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":"
              "\"12345\"}", &req, err), KEFU_ERROR, "5 digits");
    is_int(lr("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":"
              "\"12a4\"}", &req, err), KEFU_ERROR, "a letter");
    ok(strstr(err, "4 digits") != NULL, "message: %s", err);
    is_int(lr("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":"
              "\"１２３４\"}", &req, err), KEFU_ERROR, "full-width digits");
    is_int(lr("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":"
              "1234}", &req, err), KEFU_ERROR, "number, not string");
    is_int(lr("{\"kind\":\"phone\",\"reason\":\"lost\",\"card_last4\":"
              "\"1234\"}", &req, err), KEFU_ERROR,
           "card_last4 with kind phone");
    is_int(lr("{\"kind\":\"phone\",\"reason\":\"lost\",\"police_report\":"
              "\"yes\"}", &req, err), KEFU_ERROR, "police_report string");
    is_int(lr("{\"kind\":\"phone\",\"reason\":\"lost\",\"extra\":1}",
              &req, err), KEFU_ERROR, "unknown field");
    is_int(lr("{\"kind\":1,\"reason\":\"lost\"}", &req, err), KEFU_ERROR,
           "kind number");

    strcpy(note, "{\"kind\":\"phone\",\"reason\":\"lost\",\"note\":\"");
    for (i = 0; i < 500; i++) {
        strcat(note, "a");
    }
    strcat(note, "\"}");
    is_int(lr(note, &req, err), KEFU_OK, "500 character note");
    note[strlen(note) - 2] = '\0';
    strcat(note, "ab\"}");
    is_int(lr(note, &req, err), KEFU_ERROR, "501 character note");
}


static void
test_fingerprint(void)
{
    const char  *a, *b;

    a = fp("{\"kind\":\"phone\",\"reason\":\"lost\"}");
    is_int(strlen(a), 64, "64 hex characters");
    is_str(a, fp("{ \"reason\" : \"lost\", \"kind\" : \"phone\" }"),
           "key order and spacing do not matter");
    is_str(a, fp("{\"kind\":\"ph\\u006fne\",\"reason\":\"lost\"}"),
           "escapes do not matter");
    is_str(a, fp("{\"kind\":\"phone\",\"reason\":\"lost\","
                 "\"police_report\":false}"),
           "explicit default equals absence");
    is_str(a, fp("{\"kind\":\"phone\",\"reason\":\"lost\",\"note\":null}"),
           "null note equals absence");
    ok(strcmp(a, fp("{\"kind\":\"phone\",\"reason\":\"stolen\"}")) != 0,
       "other reason, other fingerprint");
    ok(strcmp(a, fp("{\"kind\":\"phone\",\"reason\":\"lost\","
                    "\"police_report\":true}")) != 0,
       "police report changes it");
    ok(strcmp(a, fp("{\"kind\":\"phone\",\"reason\":\"lost\","
                    "\"note\":\"x\"}")) != 0, "a note changes it");

    /* the note cannot imitate fields that follow it */
    a = fp("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":\"1111\","
           "\"note\":\"a\"}");
    b = fp("{\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":\"1112\","
           "\"note\":\"a\"}");
    ok(strcmp(a, b) != 0, "card digits change it");

    /* a known value, so that the canonical form cannot drift silently */
    is_str(fp("{\"kind\":\"account\",\"reason\":\"fraud\"}"),
           "1da39cc25ecb0f8c46dd4707ec1125de74f2c026927d9df70c6ccb3fb9627a60",
           "stable fingerprint (sha256sum of the canonical form)");
}


static void
test_change(void)
{
    const char  *why;

    why = NULL;
    is_int(kefu_lr_change_ok(KEFU_LR_PHONE, KEFU_LR_LOST, KEFU_LR_RECEIVED,
                             1, KEFU_LR_PROCESSING, -1, &why),
           KEFU_OK, "received -> processing");
    is_int(kefu_lr_change_ok(KEFU_LR_PHONE, KEFU_LR_LOST, KEFU_LR_RECEIVED,
                             1, KEFU_LR_CLOSED, -1, &why),
           KEFU_OK, "received -> closed");
    is_int(kefu_lr_change_ok(KEFU_LR_PHONE, KEFU_LR_LOST,
                             KEFU_LR_PROCESSING, 1, KEFU_LR_RECEIVED, -1,
                             &why),
           KEFU_ERROR, "processing -> received refused");
    ok(why != NULL, "why: %s", why ? why : "");
    is_int(kefu_lr_change_ok(KEFU_LR_PHONE, KEFU_LR_LOST, KEFU_LR_CLOSED,
                             1, KEFU_LR_PROCESSING, -1, &why),
           KEFU_ERROR, "closed is final");
    is_int(kefu_lr_change_ok(KEFU_LR_PHONE, KEFU_LR_LOST, KEFU_LR_CLOSED,
                             1, KEFU_LR_CLOSED, -1, &why),
           KEFU_OK, "closed -> closed is a no-op");
    is_int(kefu_lr_change_ok(KEFU_LR_ACCOUNT, KEFU_LR_STOLEN,
                             KEFU_LR_PROCESSING, 1, -1, 0, &why),
           KEFU_OK, "an account freeze is reversible");
    is_int(kefu_lr_change_ok(KEFU_LR_ACCOUNT, KEFU_LR_STOLEN,
                             KEFU_LR_PROCESSING, 0, -1, 1, &why),
           KEFU_OK, "and can be set again");
    is_int(kefu_lr_change_ok(KEFU_LR_ACCOUNT, KEFU_LR_STOLEN,
                             KEFU_LR_CLOSED, 1, -1, 0, &why),
           KEFU_OK, "a closed report can still be unfrozen");
    is_int(kefu_lr_change_ok(KEFU_LR_ACCOUNT, KEFU_LR_STOLEN,
                             KEFU_LR_CLOSED, 0, -1, 1, &why),
           KEFU_ERROR, "but not frozen again");
    is_int(kefu_lr_change_ok(KEFU_LR_CARD, KEFU_LR_LOST,
                             KEFU_LR_PROCESSING, 1, -1, 0, &why),
           KEFU_ERROR, "a lost card stays blocked");
    is_int(kefu_lr_change_ok(KEFU_LR_CARD, KEFU_LR_STOLEN,
                             KEFU_LR_PROCESSING, 1, KEFU_LR_CLOSED, 0, &why),
           KEFU_ERROR, "a stolen card stays blocked");
    is_int(kefu_lr_change_ok(KEFU_LR_CARD, KEFU_LR_FRAUD,
                             KEFU_LR_PROCESSING, 1, -1, 0, &why),
           KEFU_OK, "a card frozen for fraud can be released");
}


static void
test_record(void)
{
    char              ts[24];
    kefu_buf_t        b;
    kefu_lr_record_t  rec;
    kefu_str_t        kv[20];
    size_t            n;
    const char       *pairs[] = {
        "id", "abc", "user", "u1", "kind", "card", "reason", "lost",
        "status", "received", "frozen", "1", "card_last4", "0427",
        "police_report", "0", "created_at", "1700000000", "note", "x\"y",
        NULL
    };

    for (n = 0; pairs[n]; n++) {
        kv[n].data = (unsigned char *) pairs[n];
        kv[n].len = strlen(pairs[n]);
    }

    is_int(kefu_lr_record_from_pairs(&rec, kv, n / 2), KEFU_OK, "record");
    kefu_buf_init(&b, &arena.allocator, 16);
    kefu_lr_record_json(&rec, 0, &b);
    is_str(b.data, "{\"id\":\"abc\",\"status\":\"received\",\"frozen\":true,"
           "\"kind\":\"card\",\"reason\":\"lost\",\"card_last4\":\"0427\","
           "\"police_report\":false,\"note\":\"x\\\"y\","
           "\"created_at\":\"2023-11-14T22:13:20Z\","
           "\"updated_at\":\"2023-11-14T22:13:20Z\"}", "user view");

    kefu_buf_init(&b, &arena.allocator, 16);
    kefu_lr_record_json(&rec, 1, &b);
    ok(strstr((char *) b.data, "\"user\":\"u1\"") != NULL,
       "admin view names the user");

    is_int(kefu_lr_record_from_pairs(&rec, kv, 2), KEFU_ERROR,
           "a partial record is refused");

    kefu_iso8601(0, ts);
    is_str(ts, "1970-01-01T00:00:00Z", "epoch");
}


static void
add_turn(kefu_session_t *s, const char *q, char type)
{
    kefu_str_t  none = { 0, (unsigned char *) "" };

    s->turn++;
    kefu_session_add_turn(s, (const unsigned char *) q, strlen(q), &none,
                          type, 6);
}


static void
test_priority(const kefu_kb_t *kb)
{
    size_t          i;
    kefu_buf_t      b;
    kefu_session_t  s;

    kefu_session_init(&s);
    add_turn(&s, "怎么还款", 'a');
    is_int(kefu_handoff_priority(kb, &s, NULL, 0), KEFU_PRIO_NORMAL,
           "a calm session is normal");
    is_str(kefu_prio_name(KEFU_PRIO_NORMAL), "normal", "name");

    is_int(kefu_handoff_priority(kb, &s, (const unsigned char *) "气死了",
                                 strlen("气死了")),
           KEFU_PRIO_HIGH, "an angry reason is high");

    s.emergency = 1;
    is_int(kefu_handoff_priority(kb, &s, NULL, 0), KEFU_PRIO_URGENT,
           "the session's emergency flag is urgent");
    s.emergency = 0;

    add_turn(&s, "我的银行卡被盗了", 'a');
    is_int(kefu_handoff_priority(kb, &s, NULL, 0), KEFU_PRIO_URGENT,
           "an emergency in the last turns is urgent");

    for (i = 0; i < 3; i++) {
        add_turn(&s, "怎么还款", 'a');
    }
    is_int(kefu_handoff_priority(kb, &s, NULL, 0), KEFU_PRIO_NORMAL,
           "only the last three turns count");

    s.fallbacks = 2;
    is_int(kefu_handoff_priority(kb, &s, NULL, 0), KEFU_PRIO_ELEVATED,
           "two fallbacks in a row are elevated");

    kefu_buf_init(&b, &arena.allocator, 64);
    kefu_handoff_turns_json(&s, 2, &b);
    is_str(b.data, "[{\"turn\":4,\"type\":\"answer\",\"q\":\"怎么还款\"},"
           "{\"turn\":5,\"type\":\"answer\",\"q\":\"怎么还款\"}]",
           "last turns as JSON, numbered over the session");

    ok(kefu_session_turn(&s, 5) == &s.turns[4], "turn 5 kept");
    ok(kefu_session_turn(&s, 1) == &s.turns[0], "turn 1 kept");
    ok(kefu_session_turn(&s, 6) == NULL, "turn 6 does not exist yet");
    ok(kefu_session_turn(&s, 0) == NULL, "turn 0 never exists");

    for (i = 0; i < 3; i++) {
        add_turn(&s, "x", 'f');
    }
    ok(kefu_session_turn(&s, 1) == NULL, "turn 1 no longer kept");
    ok(kefu_session_turn(&s, 3) == &s.turns[0], "turn 3 is the oldest");
}


static void
set(kefu_stats_t *st, const char *k, const char *v)
{
    (void) kefu_stats_set(st, (const unsigned char *) k, strlen(k),
                          (const unsigned char *) v, strlen(v));
}


static void
test_stats(void)
{
    kefu_buf_t    b;
    kefu_stats_t  d1, d2, tot;
    char          day[16];

    memset(&d1, 0, sizeof(d1));
    memset(&d2, 0, sizeof(d2));
    memset(&tot, 0, sizeof(tot));

    set(&d1, "asked", "10");
    set(&d1, "answered", "7");
    set(&d1, "clarified", "1");
    set(&d1, "fallback", "2");
    set(&d1, "unhelpful", "2");
    set(&d1, "helpful", "3");
    set(&d1, "loss_reports", "1");
    is_int(kefu_stats_set(&d1, (const unsigned char *) "bogus", 5,
                          (const unsigned char *) "1", 1),
           KEFU_ERROR, "unknown field ignored");
    is_int(kefu_stats_set(&d1, (const unsigned char *) "asked", 5,
                          (const unsigned char *) "1x", 2),
           KEFU_ERROR, "non-integer ignored");
    is_int(d1.v[KEFU_ST_ASKED], 10, "asked kept");
    set(&d2, "asked", "5");
    set(&d2, "answered", "1");
    set(&d2, "unhelpful", "3");
    set(&d2, "handoffs", "2");
    set(&d2, "helpful", "-1");
    is_int(d2.v[KEFU_ST_HELPFUL], -1,
           "a counter taken back below 0 reads so in its hash");
    {
        kefu_stats_t  b;

        /* a bucket's hash took back what the tenant's hash counted */
        memset(&b, 0, sizeof(b));
        set(&b, "unhelpful", "-1");
        set(&b, "helpful", "-4");
        kefu_stats_add(&b, &d1);
        kefu_stats_floor(&b);
        is_int(b.v[KEFU_ST_UNHELPFUL], 1, "netted over the day's hashes");
        is_int(b.v[KEFU_ST_HELPFUL], 0, "a day's sum never below 0");
    }
    kefu_stats_floor(&d2);
    is_int(d2.v[KEFU_ST_HELPFUL], 0, "floored: 0");

    is_int(kefu_stats_resolved(&d1), 5, "resolved = answered - unhelpful");
    ok(kefu_stats_rate(&d1) > 0.4999 && kefu_stats_rate(&d1) < 0.5001,
       "rate 0.5");
    is_int(kefu_stats_resolved(&d2), 0, "resolved never below 0");

    kefu_stats_add(&tot, &d1);
    kefu_stats_add(&tot, &d2);
    is_int(tot.v[KEFU_ST_ASKED], 15, "sum asked");
    is_int(tot.v[KEFU_ST_UNHELPFUL], 5, "sum unhelpful");
    is_int(kefu_stats_resolved(&tot), 3, "total resolved");

    memset(&d2, 0, sizeof(d2));
    ok(kefu_stats_rate(&d2) == 0.0, "no questions, rate 0");

    kefu_buf_init(&b, &arena.allocator, 16);
    kefu_stats_json(&d1, "20231114", &b);
    is_str(b.data, "{\"date\":\"2023-11-14\",\"asked\":10,\"answered\":7,"
           "\"clarified\":1,\"fallback\":2,\"handoff\":0,\"handoffs\":0,"
           "\"helpful\":3,\"unhelpful\":2,\"loss_reports\":1,"
           "\"police_reports\":0,\"resolved\":5,\"unresolved\":5,"
           "\"resolution_rate\":0.5000}",
           "JSON");

    kefu_stats_day(1700000000, 0, day);
    is_str(day, "20231114", "day");
    kefu_stats_day(1700000000, 14, day);
    is_str(day, "20231031", "14 days back");
}


int
main(void)
{
    char        err[256];
    kefu_kb_t  *kb;
    const char  *kbjson =
        "{\"version\":\"1\",\"faqs\":[{\"id\":\"repay-how\","
        "\"question\":\"怎么还款\",\"answer\":\"在账单页还款\"}]}";

    kefu_arena_init(&arena);

    test_idem_key();
    test_parse();
    test_fingerprint();
    test_change();
    test_record();

    kb = kefu_kb_load_buf(&arena.allocator, (const unsigned char *) kbjson,
                          strlen(kbjson), "test", err, sizeof(err));
    ok(kb != NULL, "kb loads: %s", kb ? "" : err);
    if (kb != NULL) {
        test_priority(kb);
    }

    test_stats();

    kefu_arena_free(&arena);

    return done_testing();
}
