/*
 * ngx_kefu: HS256 JSON Web Token verification (RFC 7519 subset).
 *
 * Only HS256 is accepted; alg "none" and every other alg are rejected.
 * The MAC is compared in constant time.  The caller resolves the tenant
 * from the unverified kid/tid (kefu_jwt_peek) to pick the key, then
 * verifies with that key (kefu_jwt_verify).
 *
 * Parts are base64url without padding (RFC 7515 section 2): '=' is
 * rejected, as are non-canonical encodings (non-zero unused bits), so a
 * token has exactly one textual form.  A header with "crit" is rejected
 * (no extensions are understood).  The signature is checked before the
 * payload is even parsed.
 *
 * tenant (kid/tid) and sub end up in Redis keys: they must be 1 to
 * KEFU_JWT_MAX_ID bytes of UTF-8 without control characters (C0, DEL,
 * C1) and without '{' or '}' (Redis Cluster hash tags use braces).
 */

#ifndef KEFU_JWT_H
#define KEFU_JWT_H

#include <time.h>

#include "kefu_core.h"


#define KEFU_JWT_MAX_TOKEN  4096        /* bytes of the compact form */
#define KEFU_JWT_MAX_ID      128        /* bytes of sub / tid / kid */
#define KEFU_JWT_LEEWAY       30        /* seconds of allowed clock skew */
#define KEFU_JWT_MIN_KEY      32        /* RFC 7518 3.2; enforce at config */


typedef enum {
    KEFU_JWT_OK = 0,
    KEFU_JWT_MALFORMED,         /* not three base64url parts, bad JSON... */
    KEFU_JWT_TOO_LARGE,
    KEFU_JWT_BAD_ALG,           /* alg missing or not HS256 */
    KEFU_JWT_NO_TENANT,         /* neither kid nor tid */
    KEFU_JWT_BAD_SIGNATURE,
    KEFU_JWT_EXPIRED,
    KEFU_JWT_NOT_YET_VALID,
    KEFU_JWT_NO_EXP,
    KEFU_JWT_BAD_CLAIM          /* sub missing/empty/too long, wrong types */
} kefu_jwt_rc_e;


typedef struct {
    kefu_str_t  tenant;         /* header kid, else claim tid */
    kefu_str_t  sub;
    int         admin;          /* scope == "admin" (or contains "admin") */
    int64_t     exp;
    int64_t     iat;
} kefu_jwt_t;


/*
 * Decodes the header and payload without checking the signature, only to
 * learn the tenant name.  Fills jwt->tenant (allocated from a).
 */
kefu_jwt_rc_e kefu_jwt_peek(kefu_alloc_t *a, const unsigned char *token,
    size_t len, kefu_jwt_t *jwt);

/*
 * Full verification with the tenant's secret; fills every field of jwt.
 * An empty key never verifies.  Valid while exp >= now - KEFU_JWT_LEEWAY
 * and nbf <= now + KEFU_JWT_LEEWAY; exp/nbf/iat may be integers or
 * fractional NumericDates (truncated).
 */
kefu_jwt_rc_e kefu_jwt_verify(kefu_alloc_t *a, const unsigned char *token,
    size_t len, const unsigned char *key, size_t keylen, time_t now,
    kefu_jwt_t *jwt);

/*
 * Mints a token (tools and tests); returns NUL-terminated string or NULL.
 * The tenant goes into both header kid and claim tid; scope may be NULL.
 */
char *kefu_jwt_sign(kefu_alloc_t *a, const char *tenant, const char *sub,
    const char *scope, int64_t iat, int64_t exp, const unsigned char *key,
    size_t keylen);


/* Everything kefu_jwt_sign_ex can put into a token; NULL strings omitted. */

typedef struct {
    const char  *alg;           /* NULL: "HS256"; the MAC is HS256 always */
    const char  *typ;
    const char  *kid;
    const char  *tid;
    const char  *sub;
    const char  *scope;
    int64_t      exp;
    int64_t      nbf;
    int64_t      iat;
    int          has_exp;
    int          has_nbf;
    int          has_iat;
} kefu_jwt_claims_t;


char *kefu_jwt_sign_ex(kefu_alloc_t *a, const kefu_jwt_claims_t *claims,
    const unsigned char *key, size_t keylen);

/* Signs arbitrary header and payload bytes (tests and fuzzing). */
char *kefu_jwt_sign_raw(kefu_alloc_t *a, const unsigned char *header,
    size_t hlen, const unsigned char *payload, size_t plen,
    const unsigned char *key, size_t keylen);

/* 1 if s/len is acceptable as tenant or user id (see above), else 0. */
int kefu_jwt_valid_id(const unsigned char *s, size_t len);

const char *kefu_jwt_strerror(kefu_jwt_rc_e rc);

#endif /* KEFU_JWT_H */
