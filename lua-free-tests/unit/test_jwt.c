/*
 * Unit tests: kefu_jwt_peek, kefu_jwt_verify, kefu_jwt_sign*.
 */

#include <stdint.h>
#include <stdlib.h>

#include "kefu_json.h"
#include "kefu_jwt.h"
#include "tap.h"


#define TEST_NOW  1700000000


static kefu_arena_t  test_arena;

static const unsigned char  test_key[] = "k3fu-test-secret-0123456789abcdef";
static const unsigned char  test_key2[] = "k3fu-test-secret-0123456789abcdeX";


static kefu_alloc_t *
test_a(void)
{
    return &test_arena.allocator;
}


static kefu_jwt_rc_e
test_verify(const char *token, kefu_jwt_t *jwt)
{
    return kefu_jwt_verify(test_a(), (const unsigned char *) token,
                           token ? strlen(token) : 0, test_key,
                           sizeof(test_key) - 1, TEST_NOW, jwt);
}


static kefu_jwt_rc_e
test_verify_rc(const char *token)
{
    kefu_jwt_t  jwt;

    return test_verify(token, &jwt);
}


static char *
test_raw(const char *header, const char *payload)
{
    return kefu_jwt_sign_raw(test_a(), (const unsigned char *) header,
                             strlen(header), (const unsigned char *) payload,
                             strlen(payload), test_key, sizeof(test_key) - 1);
}


/* verify result for a token with the standard header and this payload */
static kefu_jwt_rc_e
test_payload_rc(const char *payload)
{
    return test_verify_rc(test_raw("{\"alg\":\"HS256\",\"kid\":\"acme\"}",
                                   payload));
}


static kefu_jwt_claims_t
test_claims(void)
{
    kefu_jwt_claims_t  c;

    memset(&c, 0, sizeof(kefu_jwt_claims_t));
    c.typ = "JWT";
    c.kid = "acme";
    c.tid = "acme";
    c.sub = "u1";
    c.iat = TEST_NOW;
    c.has_iat = 1;
    c.exp = TEST_NOW + 600;
    c.has_exp = 1;

    return c;
}


static char *
test_sign(const kefu_jwt_claims_t *c)
{
    return kefu_jwt_sign_ex(test_a(), c, test_key, sizeof(test_key) - 1);
}


static char *
test_dup(const char *s)
{
    char  *p;

    p = kefu_alloc(test_a(), strlen(s) + 1);
    if (p != NULL) {
        memcpy(p, s, strlen(s) + 1);
    }

    return p;
}


static void
test_good(void)
{
    char           *t;
    kefu_jwt_t      jwt;
    kefu_jwt_rc_e   rc;

    t = kefu_jwt_sign(test_a(), "acme", "user-1", NULL, TEST_NOW,
                      TEST_NOW + 600, test_key, sizeof(test_key) - 1);
    ok(t != NULL, "sign");

    rc = test_verify(t, &jwt);
    is_int(rc, KEFU_JWT_OK, "verify good token");
    ok(jwt.tenant.len == 4 && memcmp(jwt.tenant.data, "acme", 4) == 0,
       "tenant");
    ok(jwt.sub.len == 6 && memcmp(jwt.sub.data, "user-1", 6) == 0, "sub");
    is_int(jwt.admin, 0, "not admin");
    is_int(jwt.exp, TEST_NOW + 600, "exp");
    is_int(jwt.iat, TEST_NOW, "iat");

    rc = kefu_jwt_peek(test_a(), (const unsigned char *) t, strlen(t), &jwt);
    is_int(rc, KEFU_JWT_OK, "peek");
    ok(jwt.tenant.len == 4 && memcmp(jwt.tenant.data, "acme", 4) == 0,
       "peek tenant");
    ok(jwt.sub.data == NULL, "peek fills only tenant");

    t = kefu_jwt_sign(test_a(), "\xe6\x94\xaf\xe4\xbb\x98", "\xe5\xbc\xa0",
                      "admin", TEST_NOW, TEST_NOW + 600, test_key,
                      sizeof(test_key) - 1);
    rc = test_verify(t, &jwt);
    is_int(rc, KEFU_JWT_OK, "Chinese tenant and sub");
    ok(jwt.tenant.len == 6 && jwt.sub.len == 3 && jwt.admin == 1,
       "Chinese fields, admin");
}


static void
test_tenant(void)
{
    char               *t;
    kefu_jwt_t          jwt;
    kefu_jwt_rc_e       rc;
    kefu_jwt_claims_t   c;

    c = test_claims();
    c.tid = NULL;
    t = test_sign(&c);
    rc = test_verify(t, &jwt);
    is_int(rc, KEFU_JWT_OK, "kid only");
    is_str(jwt.tenant.data, "acme", "tenant from kid");

    c = test_claims();
    c.kid = NULL;
    t = test_sign(&c);
    rc = test_verify(t, &jwt);
    is_int(rc, KEFU_JWT_OK, "tid only");
    is_str(jwt.tenant.data, "acme", "tenant from tid");
    rc = kefu_jwt_peek(test_a(), (const unsigned char *) t, strlen(t), &jwt);
    is_int(rc, KEFU_JWT_OK, "peek tid only");
    is_str(jwt.tenant.data, "acme", "peek tenant from tid");

    c = test_claims();
    c.tid = "other";
    t = test_sign(&c);
    is_int(test_verify_rc(t), KEFU_JWT_BAD_CLAIM, "kid and tid differ");

    c = test_claims();
    c.kid = NULL;
    c.tid = NULL;
    t = test_sign(&c);
    is_int(test_verify_rc(t), KEFU_JWT_NO_TENANT, "no tenant");
    is_int(kefu_jwt_peek(test_a(), (const unsigned char *) t, strlen(t),
                         &jwt),
           KEFU_JWT_NO_TENANT, "peek: no tenant");

    c = test_claims();
    c.kid = "ac{me}";
    t = test_sign(&c);
    is_int(test_verify_rc(t), KEFU_JWT_BAD_CLAIM, "kid with braces");
    is_int(kefu_jwt_peek(test_a(), (const unsigned char *) t, strlen(t),
                         &jwt),
           KEFU_JWT_BAD_CLAIM, "peek: kid with braces");

    c = test_claims();
    c.kid = "";
    c.tid = NULL;
    t = test_sign(&c);
    is_int(test_verify_rc(t), KEFU_JWT_BAD_CLAIM, "empty kid");

    t = test_raw("{\"alg\":\"HS256\",\"kid\":7}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_BAD_CLAIM, "numeric kid");

    t = test_raw("{\"alg\":\"HS256\"}",
                 "{\"sub\":\"u\",\"tid\":[\"a\"],\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_BAD_CLAIM, "array tid");
}


static void
test_alg(void)
{
    char               *t, *p;
    kefu_jwt_t          jwt;
    kefu_jwt_claims_t   c;

    c = test_claims();
    c.alg = "none";
    t = test_sign(&c);
    is_int(test_verify_rc(t), KEFU_JWT_BAD_ALG, "alg none (signed)");
    is_int(kefu_jwt_peek(test_a(), (const unsigned char *) t, strlen(t),
                         &jwt),
           KEFU_JWT_BAD_ALG, "peek: alg none");

    /* the classic unsigned token: "header.payload." */
    p = strrchr(t, '.');
    p[1] = '\0';
    is_int(test_verify_rc(t), KEFU_JWT_BAD_ALG, "alg none, empty signature");

    c.alg = "HS512";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_ALG, "alg HS512");

    c.alg = "hs256";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_ALG, "alg hs256");

    c.alg = "HS256 ";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_ALG, "alg 'HS256 '");

    c.alg = "RS256";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_ALG, "alg RS256");

    t = test_raw("{\"typ\":\"JWT\",\"kid\":\"acme\"}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_BAD_ALG, "missing alg");

    t = test_raw("{\"alg\":null,\"kid\":\"acme\"}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_BAD_ALG, "alg null");

    t = test_raw("{\"alg\":[\"HS256\"],\"kid\":\"acme\"}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_BAD_ALG, "alg array");

    t = test_raw("{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"acme\"}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_MALFORMED, "duplicate alg");

    t = test_raw("{\"alg\":\"HS256\",\"kid\":\"acme\",\"crit\":[\"b64\"],"
                 "\"b64\":false}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_MALFORMED, "crit header");

    t = test_raw("{\"alg\":\"HS256\",\"kid\":\"acme\",\"typ\":1}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_MALFORMED, "numeric typ");

    t = test_raw("{\"alg\":\"HS256\",\"kid\":\"acme\"}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    is_int(test_verify_rc(t), KEFU_JWT_OK, "no typ is fine");
}


static void
test_signature(void)
{
    char               *t, *p;
    size_t              n;
    kefu_jwt_t          jwt;
    kefu_jwt_claims_t   c;

    c = test_claims();
    t = test_sign(&c);

    is_int(kefu_jwt_verify(test_a(), (const unsigned char *) t, strlen(t),
                           test_key2, sizeof(test_key2) - 1, TEST_NOW, &jwt),
           KEFU_JWT_BAD_SIGNATURE, "wrong key");
    is_int(kefu_jwt_verify(test_a(), (const unsigned char *) t, strlen(t),
                           test_key, 0, TEST_NOW, &jwt),
           KEFU_JWT_BAD_SIGNATURE, "empty key never verifies");
    ok(kefu_jwt_sign(test_a(), "a", "u", NULL, 0, 1, test_key, 0) == NULL,
       "empty key never signs");

    /* flip one payload character */
    p = test_dup(t);
    n = strchr(p, '.') - p + 5;
    p[n] = p[n] == 'A' ? 'B' : 'A';
    is_int(test_verify_rc(p), KEFU_JWT_BAD_SIGNATURE, "tampered payload");

    /* flip the first signature character */
    p = test_dup(t);
    n = strrchr(p, '.') - p + 1;
    p[n] = p[n] == 'A' ? 'B' : 'A';
    is_int(test_verify_rc(p), KEFU_JWT_BAD_SIGNATURE, "tampered signature");

    /* swap in the payload of another user */
    c.sub = "admin";
    p = test_sign(&c);
    n = strrchr(t, '.') - t;
    memcpy(strrchr(p, '.'), t + n, strlen(t + n) + 1);
    is_int(test_verify_rc(p), KEFU_JWT_BAD_SIGNATURE, "spliced signature");

    p = test_dup(t);
    p[strlen(p) - 1] = '\0';
    is_int(test_verify_rc(p), KEFU_JWT_BAD_SIGNATURE, "short signature");

    p = kefu_alloc(test_a(), strlen(t) + 3);
    memcpy(p, t, strlen(t));
    memcpy(p + strlen(t), "AA", 3);
    is_int(test_verify_rc(p), KEFU_JWT_BAD_SIGNATURE, "long signature");

    /* last character with non-zero unused bits: same bytes, other text */
    p = test_dup(t);
    n = strlen(p) - 1;
    p[n] = (char) (strchr("AEIMQUYcgkosw048", p[n]) ? p[n] + 1 : p[n]);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED,
           "non-canonical signature");
}


static void
test_malformed(void)
{
    char           *t, *p, *q;
    size_t          n;
    kefu_jwt_t      jwt;
    char            big[KEFU_JWT_MAX_TOKEN + 100];

    is_int(test_verify_rc(""), KEFU_JWT_MALFORMED, "empty");
    is_int(test_verify_rc("garbage"), KEFU_JWT_MALFORMED, "garbage");
    is_int(test_verify_rc("a.b"), KEFU_JWT_MALFORMED, "2 parts");
    is_int(test_verify_rc(".."), KEFU_JWT_MALFORMED, "empty parts");
    is_int(test_verify_rc("e30.e30.e30"), KEFU_JWT_BAD_ALG,
           "{} header has no alg");
    is_int(test_verify_rc("W10.e30.AAAA"), KEFU_JWT_MALFORMED,
           "array header");
    is_int(test_verify_rc("eyJ.e30.AAAA"), KEFU_JWT_MALFORMED,
           "truncated JSON header");
    is_int(test_verify_rc("e.e30.AAAA"), KEFU_JWT_MALFORMED,
           "impossible base64 length");
    is_int(kefu_jwt_peek(test_a(), (const unsigned char *) "x", 1, &jwt),
           KEFU_JWT_MALFORMED, "peek garbage");

    t = test_sign(&(kefu_jwt_claims_t) { .kid = "acme", .sub = "u",
                  .exp = TEST_NOW, .has_exp = 1 });
    is_int(test_verify_rc(t), KEFU_JWT_OK, "compound claims token");

    p = kefu_alloc(test_a(), strlen(t) + 8);
    snprintf(p, strlen(t) + 8, "%s.e30", t);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "4 parts");

    snprintf(p, strlen(t) + 8, "%s.", t);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "trailing dot");

    snprintf(p, strlen(t) + 8, " %s", t);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "leading space");

    snprintf(p, strlen(t) + 8, "%s\n", t);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "trailing newline");

    /* standard base64 characters are not base64url */
    p = test_dup(t);
    p[2] = '+';
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "'+' in token");
    p[2] = '/';
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "'/' in token");

    /* padding: {"alg":"HS256","kid":"acme"} is 28 bytes, 38 chars + "==" */
    t = test_raw("{\"alg\":\"HS256\",\"kid\":\"acme\"}",
                 "{\"sub\":\"u\",\"exp\":1700000600}");
    q = strchr(t, '.');
    ok(q != NULL && (q - t) % 4 == 2, "header needs padding");
    p = kefu_alloc(test_a(), strlen(t) + 3);
    n = q - t;
    memcpy(p, t, n);
    memcpy(p + n, "==", 2);
    memcpy(p + n + 2, q, strlen(q) + 1);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "padded header");
    is_int(kefu_jwt_peek(test_a(), (const unsigned char *) p, strlen(p),
                         &jwt),
           KEFU_JWT_MALFORMED, "peek: padded header");

    p = kefu_alloc(test_a(), strlen(t) + 2);
    snprintf(p, strlen(t) + 2, "%s=", t);
    is_int(test_verify_rc(p), KEFU_JWT_MALFORMED, "padded signature");

    /* size cap */
    memset(big, 'A', sizeof(big));
    big[10] = '.';
    big[20] = '.';
    is_int(kefu_jwt_verify(test_a(), (unsigned char *) big,
                           KEFU_JWT_MAX_TOKEN + 1, test_key,
                           sizeof(test_key) - 1, TEST_NOW, &jwt),
           KEFU_JWT_TOO_LARGE, "oversize");
    is_int(kefu_jwt_peek(test_a(), (unsigned char *) big,
                         KEFU_JWT_MAX_TOKEN + 1, &jwt),
           KEFU_JWT_TOO_LARGE, "peek: oversize");
    is_int(kefu_jwt_verify(test_a(), (unsigned char *) big,
                           KEFU_JWT_MAX_TOKEN, test_key,
                           sizeof(test_key) - 1, TEST_NOW, &jwt),
           KEFU_JWT_MALFORMED, "at the cap: not too large");

    /* a real signed token just over the cap */
    memset(big, 'x', 3100);
    memcpy(big, "{\"sub\":\"u\",\"exp\":1700000600,\"pad\":\"", 35);
    memcpy(big + 3098, "\"}", 3);
    t = test_raw("{\"alg\":\"HS256\",\"kid\":\"acme\"}", big);
    ok(t != NULL && strlen(t) > KEFU_JWT_MAX_TOKEN, "big token signed");
    is_int(test_verify_rc(t), KEFU_JWT_TOO_LARGE, "big token too large");

    /* duplicate claims would be read differently by other parsers */
    is_int(test_payload_rc("{\"sub\":\"u\",\"sub\":\"admin\","
                           "\"exp\":1700000600}"),
           KEFU_JWT_MALFORMED, "duplicate sub");
    is_int(test_payload_rc("[1]"), KEFU_JWT_MALFORMED, "array payload");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1700000600} x"),
           KEFU_JWT_MALFORMED, "payload trailing garbage");
    is_int(test_payload_rc("{\"sub\":\"\xc0\xaf\",\"exp\":1700000600}"),
           KEFU_JWT_MALFORMED, "payload invalid UTF-8");
}


static void
test_time(void)
{
    kefu_jwt_claims_t  c;

    c = test_claims();
    c.exp = TEST_NOW - KEFU_JWT_LEEWAY - 1;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_EXPIRED, "expired");

    c.exp = TEST_NOW - KEFU_JWT_LEEWAY;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK,
           "expired within leeway");

    c.exp = TEST_NOW;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK, "exp == now");

    c.exp = INT64_MIN;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_EXPIRED, "exp INT64_MIN");

    c.exp = INT64_MAX;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK, "exp INT64_MAX");

    c = test_claims();
    c.nbf = TEST_NOW + KEFU_JWT_LEEWAY + 1;
    c.has_nbf = 1;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_NOT_YET_VALID,
           "nbf in the future");

    c.nbf = TEST_NOW + KEFU_JWT_LEEWAY;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK, "nbf within leeway");

    c.nbf = INT64_MAX;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_NOT_YET_VALID,
           "nbf INT64_MAX");

    c.nbf = INT64_MIN;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK, "nbf INT64_MIN");

    c = test_claims();
    c.has_exp = 0;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_NO_EXP, "missing exp");

    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":\"1700000600\"}"),
           KEFU_JWT_BAD_CLAIM, "string exp");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":null}"),
           KEFU_JWT_BAD_CLAIM, "null exp");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1700000600.5}"),
           KEFU_JWT_OK, "fractional exp");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1.6e9}"),
           KEFU_JWT_EXPIRED, "exp 1.6e9 is in the past");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1e300}"),
           KEFU_JWT_BAD_CLAIM, "exp out of range");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":99999999999999999999}"),
           KEFU_JWT_BAD_CLAIM, "exp beyond int64");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1700000600,"
                           "\"nbf\":\"x\"}"),
           KEFU_JWT_BAD_CLAIM, "string nbf");
    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1700000600,"
                           "\"iat\":true}"),
           KEFU_JWT_BAD_CLAIM, "bool iat");
}


static void
test_sub(void)
{
    char               id[KEFU_JWT_MAX_ID + 2];
    kefu_jwt_claims_t  c;

    c = test_claims();
    c.sub = NULL;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_CLAIM, "missing sub");

    c.sub = "";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_CLAIM, "empty sub");

    memset(id, 'u', sizeof(id));
    id[KEFU_JWT_MAX_ID] = '\0';
    c.sub = id;
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK, "sub at max length");

    id[KEFU_JWT_MAX_ID] = 'u';
    id[KEFU_JWT_MAX_ID + 1] = '\0';
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_CLAIM,
           "sub too long");

    c.sub = "a\nb";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_CLAIM,
           "sub with newline");

    c.sub = "{u}";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_BAD_CLAIM,
           "sub with braces");

    c.sub = "user@example.com";
    is_int(test_verify_rc(test_sign(&c)), KEFU_JWT_OK, "sub e-mail");

    is_int(test_payload_rc("{\"sub\":42,\"exp\":1700000600}"),
           KEFU_JWT_BAD_CLAIM, "numeric sub");
    is_int(test_payload_rc("{\"sub\":\"a\\u0085b\",\"exp\":1700000600}"),
           KEFU_JWT_BAD_CLAIM, "sub with C1 control");

    ok(kefu_jwt_valid_id((const unsigned char *) "acme", 4), "id acme");
    ok(!kefu_jwt_valid_id((const unsigned char *) "", 0), "id empty");
    ok(!kefu_jwt_valid_id((const unsigned char *) "a\x7f", 2), "id DEL");
    ok(!kefu_jwt_valid_id((const unsigned char *) "a\0b", 3), "id NUL");
    ok(!kefu_jwt_valid_id((const unsigned char *) "a\xc2\x9f", 3), "id C1");
    ok(kefu_jwt_valid_id((const unsigned char *) "a\xc2\xa0", 3),
       "id NBSP");
    ok(!kefu_jwt_valid_id((const unsigned char *) "a\xe4\xb8", 3),
       "id truncated UTF-8");
    ok(!kefu_jwt_valid_id((const unsigned char *) "\xed\xa0\x80", 3),
       "id surrogate");
    ok(kefu_jwt_valid_id((const unsigned char *) "\xe5\xae\xa2\xe6\x9c\x8d",
                         6), "id Chinese");
}


static void
test_scope(void)
{
    kefu_jwt_t         jwt;
    kefu_jwt_claims_t  c;

    static const struct {
        const char  *scope;
        int          admin;
    } cases[] = {
        { "admin", 1 },
        { "read admin write", 1 },
        { "read write admin", 1 },
        { " admin ", 1 },
        { "administrator", 0 },
        { "Admin", 0 },
        { "read", 0 },
        { "", 0 },
        { "admin-lite", 0 },
        { "xadmin", 0 },
    };

    size_t  i;

    c = test_claims();

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c.scope = cases[i].scope;
        jwt.admin = -1;
        is_int(test_verify(test_sign(&c), &jwt), KEFU_JWT_OK,
               "scope '%s' verifies", cases[i].scope);
        is_int(jwt.admin, cases[i].admin, "scope '%s' admin %d",
               cases[i].scope, cases[i].admin);
    }

    c.scope = NULL;
    is_int(test_verify(test_sign(&c), &jwt), KEFU_JWT_OK, "no scope");
    is_int(jwt.admin, 0, "no scope: not admin");

    is_int(test_payload_rc("{\"sub\":\"u\",\"exp\":1700000600,"
                           "\"scope\":[\"admin\"]}"),
           KEFU_JWT_BAD_CLAIM, "array scope");
}


static void
test_strerror(void)
{
    int  i, good;

    good = 1;

    for (i = KEFU_JWT_OK; i <= KEFU_JWT_BAD_CLAIM; i++) {
        if (kefu_jwt_strerror((kefu_jwt_rc_e) i) == NULL) {
            good = 0;
        }
    }

    ok(good, "strerror covers every code");
    is_str(kefu_jwt_strerror(KEFU_JWT_EXPIRED), "token expired",
           "strerror expired");
}


int
main(void)
{
    kefu_arena_init(&test_arena);

    test_good();
    test_tenant();
    test_alg();
    test_signature();
    test_malformed();
    test_time();
    test_sub();
    test_scope();
    test_strerror();

    kefu_arena_free(&test_arena);

    return done_testing();
}
