/*
 * ngx_kefu: HS256 JSON Web Tokens (compact JWS, RFC 7515/7519 subset).
 *
 * Verification order: size, shape and alphabet of the three parts, the
 * header (alg must be exactly "HS256"), the MAC over "header.payload"
 * compared in constant time, and only then the payload and its claims.
 */

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kefu_json.h"
#include "kefu_jwt.h"


#define KEFU_JWT_MAC_LEN      32
#define KEFU_JWT_MAC_B64LEN   43       /* 32 bytes, unpadded base64url */


typedef struct {
    const unsigned char  *data[3];      /* header, payload, signature */
    size_t                len[3];
} kefu_jwt_parts_t;


/* the header holds a few short scalars; claims may carry some extras */
static const kefu_json_limits_t  kefu_jwt_header_limits = {
    2, 16, 256, 48
};

static const kefu_json_limits_t  kefu_jwt_payload_limits = {
    4, 64, 2048, 512
};


static int kefu_b64url_value(unsigned char c);
static size_t kefu_b64url_decode(const unsigned char *src, size_t len,
    unsigned char *dst);
static size_t kefu_b64url_encode(const unsigned char *src, size_t len,
    unsigned char *dst);
static size_t kefu_b64url_encoded_len(size_t len);
static kefu_jwt_rc_e kefu_jwt_split(const unsigned char *token, size_t len,
    kefu_jwt_parts_t *parts);
static kefu_jwt_rc_e kefu_jwt_decode_json(kefu_alloc_t *a,
    const unsigned char *src, size_t len, const kefu_json_limits_t *limits,
    kefu_json_t **json);
static kefu_jwt_rc_e kefu_jwt_header(kefu_alloc_t *a,
    const kefu_jwt_parts_t *parts, kefu_str_t *kid);
static kefu_jwt_rc_e kefu_jwt_id(const kefu_json_t *obj, const char *name,
    kefu_str_t *id);
static kefu_jwt_rc_e kefu_jwt_time(const kefu_json_t *obj, const char *name,
    int64_t *t, int *present);
static int kefu_jwt_scope_admin(const kefu_str_t *scope);
static kefu_jwt_rc_e kefu_jwt_check_mac(const kefu_jwt_parts_t *parts,
    const unsigned char *key, size_t keylen);


kefu_jwt_rc_e
kefu_jwt_peek(kefu_alloc_t *a, const unsigned char *token, size_t len,
    kefu_jwt_t *jwt)
{
    kefu_str_t         kid, tid;
    kefu_json_t       *payload;
    kefu_jwt_rc_e      rc;
    kefu_jwt_parts_t   parts;

    memset(jwt, 0, sizeof(kefu_jwt_t));

    rc = kefu_jwt_split(token, len, &parts);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_header(a, &parts, &kid);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    if (kid.data != NULL) {
        jwt->tenant = kid;
        return KEFU_JWT_OK;
    }

    rc = kefu_jwt_decode_json(a, parts.data[1], parts.len[1],
                              &kefu_jwt_payload_limits, &payload);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_id(payload, "tid", &tid);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    if (tid.data == NULL) {
        return KEFU_JWT_NO_TENANT;
    }

    jwt->tenant = tid;

    return KEFU_JWT_OK;
}


kefu_jwt_rc_e
kefu_jwt_verify(kefu_alloc_t *a, const unsigned char *token, size_t len,
    const unsigned char *key, size_t keylen, time_t now, kefu_jwt_t *jwt)
{
    int                has_exp, has_nbf, has_iat;
    int64_t            exp, nbf, iat;
    kefu_str_t         kid, tid, sub;
    kefu_json_t       *payload, *scope;
    kefu_jwt_rc_e      rc;
    kefu_jwt_parts_t   parts;

    memset(jwt, 0, sizeof(kefu_jwt_t));

    rc = kefu_jwt_split(token, len, &parts);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_header(a, &parts, &kid);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_check_mac(&parts, key, keylen);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    /* from here on the bytes come from the key holder */

    rc = kefu_jwt_decode_json(a, parts.data[1], parts.len[1],
                              &kefu_jwt_payload_limits, &payload);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_time(payload, "exp", &exp, &has_exp);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    if (!has_exp) {
        return KEFU_JWT_NO_EXP;
    }

    rc = kefu_jwt_time(payload, "nbf", &nbf, &has_nbf);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_time(payload, "iat", &iat, &has_iat);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    rc = kefu_jwt_id(payload, "sub", &sub);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    if (sub.data == NULL) {
        return KEFU_JWT_BAD_CLAIM;
    }

    rc = kefu_jwt_id(payload, "tid", &tid);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    if (kid.data != NULL && tid.data != NULL
        && (kid.len != tid.len || memcmp(kid.data, tid.data, kid.len) != 0))
    {
        return KEFU_JWT_BAD_CLAIM;
    }

    if (kid.data == NULL && tid.data == NULL) {
        return KEFU_JWT_NO_TENANT;
    }

    scope = kefu_json_get(payload, "scope");

    if (scope != NULL && scope->type != KEFU_JSON_STRING) {
        return KEFU_JWT_BAD_CLAIM;
    }

    /* unsigned differences: no overflow for any int64 and time_t */

    if (exp < (int64_t) now
        && (uint64_t) now - (uint64_t) exp > KEFU_JWT_LEEWAY)
    {
        return KEFU_JWT_EXPIRED;
    }

    if (has_nbf && nbf > (int64_t) now
        && (uint64_t) nbf - (uint64_t) now > KEFU_JWT_LEEWAY)
    {
        return KEFU_JWT_NOT_YET_VALID;
    }

    jwt->tenant = kid.data != NULL ? kid : tid;
    jwt->sub = sub;
    jwt->admin = scope != NULL && kefu_jwt_scope_admin(&scope->str);
    jwt->exp = exp;
    jwt->iat = has_iat ? iat : 0;

    return KEFU_JWT_OK;
}


char *
kefu_jwt_sign(kefu_alloc_t *a, const char *tenant, const char *sub,
    const char *scope, int64_t iat, int64_t exp, const unsigned char *key,
    size_t keylen)
{
    kefu_jwt_claims_t  c;

    memset(&c, 0, sizeof(kefu_jwt_claims_t));

    c.typ = "JWT";
    c.kid = tenant;
    c.tid = tenant;
    c.sub = sub;
    c.scope = scope;
    c.iat = iat;
    c.has_iat = 1;
    c.exp = exp;
    c.has_exp = 1;

    return kefu_jwt_sign_ex(a, &c, key, keylen);
}


char *
kefu_jwt_sign_ex(kefu_alloc_t *a, const kefu_jwt_claims_t *c,
    const unsigned char *key, size_t keylen)
{
    const char  *sep, *alg;
    kefu_buf_t   h, p;

    alg = c->alg != NULL ? c->alg : "HS256";

    kefu_buf_init(&h, a, 128);
    kefu_buf_adds(&h, "{\"alg\":");
    kefu_buf_add_json_str(&h, (const unsigned char *) alg, strlen(alg));

    if (c->typ != NULL) {
        kefu_buf_adds(&h, ",\"typ\":");
        kefu_buf_add_json_str(&h, (const unsigned char *) c->typ,
                              strlen(c->typ));
    }

    if (c->kid != NULL) {
        kefu_buf_adds(&h, ",\"kid\":");
        kefu_buf_add_json_str(&h, (const unsigned char *) c->kid,
                              strlen(c->kid));
    }

    kefu_buf_adds(&h, "}");

    kefu_buf_init(&p, a, 256);
    kefu_buf_adds(&p, "{");
    sep = "";

    if (c->sub != NULL) {
        kefu_buf_adds(&p, "\"sub\":");
        kefu_buf_add_json_str(&p, (const unsigned char *) c->sub,
                              strlen(c->sub));
        sep = ",";
    }

    if (c->tid != NULL) {
        kefu_buf_addf(&p, "%s\"tid\":", sep);
        kefu_buf_add_json_str(&p, (const unsigned char *) c->tid,
                              strlen(c->tid));
        sep = ",";
    }

    if (c->scope != NULL) {
        kefu_buf_addf(&p, "%s\"scope\":", sep);
        kefu_buf_add_json_str(&p, (const unsigned char *) c->scope,
                              strlen(c->scope));
        sep = ",";
    }

    if (c->has_iat) {
        kefu_buf_addf(&p, "%s\"iat\":%lld", sep, (long long) c->iat);
        sep = ",";
    }

    if (c->has_nbf) {
        kefu_buf_addf(&p, "%s\"nbf\":%lld", sep, (long long) c->nbf);
        sep = ",";
    }

    if (c->has_exp) {
        kefu_buf_addf(&p, "%s\"exp\":%lld", sep, (long long) c->exp);
    }

    kefu_buf_adds(&p, "}");

    if (h.failed || p.failed) {
        return NULL;
    }

    return kefu_jwt_sign_raw(a, h.data, h.len, p.data, p.len, key, keylen);
}


char *
kefu_jwt_sign_raw(kefu_alloc_t *a, const unsigned char *header, size_t hlen,
    const unsigned char *payload, size_t plen, const unsigned char *key,
    size_t keylen)
{
    size_t          n, hb, pb;
    unsigned int    maclen;
    unsigned char  *out, *pos;
    unsigned char   mac[EVP_MAX_MD_SIZE];

    if (key == NULL || keylen == 0 || keylen > INT_MAX
        || hlen > KEFU_JWT_MAX_TOKEN || plen > KEFU_JWT_MAX_TOKEN)
    {
        return NULL;
    }

    hb = kefu_b64url_encoded_len(hlen);
    pb = kefu_b64url_encoded_len(plen);
    n = hb + 1 + pb + 1 + KEFU_JWT_MAC_B64LEN + 1;

    out = kefu_alloc(a, n);
    if (out == NULL) {
        return NULL;
    }

    pos = out;
    pos += kefu_b64url_encode(header, hlen, pos);
    *pos++ = '.';
    pos += kefu_b64url_encode(payload, plen, pos);

    if (HMAC(EVP_sha256(), key, (int) keylen, out, (size_t) (pos - out),
             mac, &maclen)
        == NULL
        || maclen != KEFU_JWT_MAC_LEN)
    {
        return NULL;
    }

    *pos++ = '.';
    pos += kefu_b64url_encode(mac, KEFU_JWT_MAC_LEN, pos);
    *pos = '\0';

    return (char *) out;
}


int
kefu_jwt_valid_id(const unsigned char *s, size_t len)
{
    size_t         i, n;
    unsigned char  c;

    if (len == 0 || len > KEFU_JWT_MAX_ID) {
        return 0;
    }

    i = 0;

    while (i < len) {
        c = s[i];

        if (c < 0x20 || c == 0x7f || c == '{' || c == '}') {
            return 0;
        }

        if (c < 0x80) {
            i++;
            continue;
        }

        n = kefu_json_utf8_seq(s + i, len - i);
        if (n == 0) {
            return 0;
        }

        /* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F */
        if (c == 0xc2 && s[i + 1] < 0xa0) {
            return 0;
        }

        i += n;
    }

    return 1;
}


const char *
kefu_jwt_strerror(kefu_jwt_rc_e rc)
{
    switch (rc) {

    case KEFU_JWT_OK:
        return "ok";

    case KEFU_JWT_MALFORMED:
        return "malformed token";

    case KEFU_JWT_TOO_LARGE:
        return "token too large";

    case KEFU_JWT_BAD_ALG:
        return "unsupported token algorithm";

    case KEFU_JWT_NO_TENANT:
        return "token names no tenant";

    case KEFU_JWT_BAD_SIGNATURE:
        return "bad token signature";

    case KEFU_JWT_EXPIRED:
        return "token expired";

    case KEFU_JWT_NOT_YET_VALID:
        return "token not yet valid";

    case KEFU_JWT_NO_EXP:
        return "token has no exp";

    case KEFU_JWT_BAD_CLAIM:
        return "bad token claim";
    }

    return "unknown token error";
}


static int
kefu_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


static size_t
kefu_b64url_encoded_len(size_t len)
{
    return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}


static size_t
kefu_b64url_encode(const unsigned char *src, size_t len, unsigned char *dst)
{
    size_t          i;
    uint32_t        v;
    unsigned char  *d;

    static const char  tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    d = dst;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];
        *d++ = (unsigned char) tab[v >> 18];
        *d++ = (unsigned char) tab[(v >> 12) & 0x3f];
        *d++ = (unsigned char) tab[(v >> 6) & 0x3f];
        *d++ = (unsigned char) tab[v & 0x3f];
    }

    if (len - i == 1) {
        v = (uint32_t) src[i] << 16;
        *d++ = (unsigned char) tab[v >> 18];
        *d++ = (unsigned char) tab[(v >> 12) & 0x3f];

    } else if (len - i == 2) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8;
        *d++ = (unsigned char) tab[v >> 18];
        *d++ = (unsigned char) tab[(v >> 12) & 0x3f];
        *d++ = (unsigned char) tab[(v >> 6) & 0x3f];
    }

    return (size_t) (d - dst);
}


/*
 * Decodes unpadded base64url into dst (room for len * 3 / 4 bytes).
 * Returns the decoded length, or (size_t) -1 for a length that cannot
 * occur, a byte outside the alphabet (including '='), or non-zero unused
 * bits in the last character (only the canonical form is accepted).
 */
static size_t
kefu_b64url_decode(const unsigned char *src, size_t len, unsigned char *dst)
{
    int        c;
    size_t     i, n;
    uint32_t   v;

    if (len % 4 == 1) {
        return (size_t) -1;
    }

    n = 0;
    v = 0;

    for (i = 0; i < len; i++) {
        c = kefu_b64url_value(src[i]);
        if (c < 0) {
            return (size_t) -1;
        }

        v = v << 6 | (uint32_t) c;

        if (i % 4 == 3) {
            dst[n++] = (unsigned char) (v >> 16);
            dst[n++] = (unsigned char) (v >> 8);
            dst[n++] = (unsigned char) v;
            v = 0;
        }
    }

    switch (len % 4) {

    case 2:
        if (v & 0x0f) {
            return (size_t) -1;
        }

        dst[n++] = (unsigned char) (v >> 4);
        break;

    case 3:
        if (v & 0x03) {
            return (size_t) -1;
        }

        dst[n++] = (unsigned char) (v >> 10);
        dst[n++] = (unsigned char) (v >> 2);
        break;

    default:
        break;
    }

    return n;
}


static kefu_jwt_rc_e
kefu_jwt_split(const unsigned char *token, size_t len,
    kefu_jwt_parts_t *parts)
{
    size_t  i, k, start;

    if (len > KEFU_JWT_MAX_TOKEN) {
        return KEFU_JWT_TOO_LARGE;
    }

    if (token == NULL || len == 0) {
        return KEFU_JWT_MALFORMED;
    }

    k = 0;
    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && token[i] != '.') {
            if (kefu_b64url_value(token[i]) < 0) {
                return KEFU_JWT_MALFORMED;
            }

            continue;
        }

        if (k == 3) {
            return KEFU_JWT_MALFORMED;
        }

        parts->data[k] = token + start;
        parts->len[k] = i - start;
        k++;
        start = i + 1;
    }

    if (k != 3 || parts->len[0] == 0 || parts->len[1] == 0) {
        return KEFU_JWT_MALFORMED;
    }

    return KEFU_JWT_OK;
}


static kefu_jwt_rc_e
kefu_jwt_decode_json(kefu_alloc_t *a, const unsigned char *src, size_t len,
    const kefu_json_limits_t *limits, kefu_json_t **json)
{
    size_t          n;
    unsigned char  *buf;
    char            err[64];

    buf = kefu_alloc(a, len / 4 * 3 + 3);
    if (buf == NULL) {
        return KEFU_JWT_MALFORMED;
    }

    n = kefu_b64url_decode(src, len, buf);
    if (n == (size_t) -1) {
        return KEFU_JWT_MALFORMED;
    }

    *json = kefu_json_parse(a, buf, n, limits, err, sizeof(err));

    if (*json == NULL || (*json)->type != KEFU_JSON_OBJECT) {
        return KEFU_JWT_MALFORMED;
    }

    return KEFU_JWT_OK;
}


static kefu_jwt_rc_e
kefu_jwt_header(kefu_alloc_t *a, const kefu_jwt_parts_t *parts,
    kefu_str_t *kid)
{
    kefu_json_t    *header, *alg, *typ;
    kefu_jwt_rc_e   rc;

    kid->len = 0;
    kid->data = NULL;

    rc = kefu_jwt_decode_json(a, parts->data[0], parts->len[0],
                              &kefu_jwt_header_limits, &header);
    if (rc != KEFU_JWT_OK) {
        return rc;
    }

    /* exact and case-sensitive (RFC 7515 4.1.1) */
    alg = kefu_json_get(header, "alg");

    if (alg == NULL || alg->type != KEFU_JSON_STRING
        || alg->str.len != 5 || memcmp(alg->str.data, "HS256", 5) != 0)
    {
        return KEFU_JWT_BAD_ALG;
    }

    /* extensions we would have to understand (RFC 7515 4.1.11) */
    if (kefu_json_get(header, "crit") != NULL) {
        return KEFU_JWT_MALFORMED;
    }

    typ = kefu_json_get(header, "typ");

    if (typ != NULL && typ->type != KEFU_JSON_STRING) {
        return KEFU_JWT_MALFORMED;
    }

    return kefu_jwt_id(header, "kid", kid);
}


/* An optional id member: absent leaves id->data NULL. */
static kefu_jwt_rc_e
kefu_jwt_id(const kefu_json_t *obj, const char *name, kefu_str_t *id)
{
    kefu_json_t  *v;

    id->len = 0;
    id->data = NULL;

    v = kefu_json_get(obj, name);
    if (v == NULL) {
        return KEFU_JWT_OK;
    }

    if (v->type != KEFU_JSON_STRING
        || !kefu_jwt_valid_id(v->str.data, v->str.len))
    {
        return KEFU_JWT_BAD_CLAIM;
    }

    *id = v->str;

    return KEFU_JWT_OK;
}


/* An optional NumericDate; fractions are truncated. */
static kefu_jwt_rc_e
kefu_jwt_time(const kefu_json_t *obj, const char *name, int64_t *t,
    int *present)
{
    kefu_json_t  *v;

    *t = 0;
    *present = 0;

    v = kefu_json_get(obj, name);
    if (v == NULL) {
        return KEFU_JWT_OK;
    }

    if (v->type != KEFU_JSON_NUMBER) {
        return KEFU_JWT_BAD_CLAIM;
    }

    if (v->is_int) {
        *t = v->integer;

    } else if (v->number > -9.2e18 && v->number < 9.2e18) {
        *t = (int64_t) v->number;

    } else {
        return KEFU_JWT_BAD_CLAIM;
    }

    *present = 1;

    return KEFU_JWT_OK;
}


/* RFC 8693 scope: space-delimited; admin if any item is "admin". */
static int
kefu_jwt_scope_admin(const kefu_str_t *scope)
{
    size_t  i, start;

    start = 0;

    for (i = 0; i <= scope->len; i++) {
        if (i < scope->len && scope->data[i] != ' ') {
            continue;
        }

        if (i - start == 5 && memcmp(scope->data + start, "admin", 5) == 0) {
            return 1;
        }

        start = i + 1;
    }

    return 0;
}


static kefu_jwt_rc_e
kefu_jwt_check_mac(const kefu_jwt_parts_t *parts, const unsigned char *key,
    size_t keylen)
{
    size_t          n;
    unsigned int    maclen;
    unsigned char   sig[KEFU_JWT_MAC_LEN + 3];
    unsigned char   mac[EVP_MAX_MD_SIZE];

    /* an empty key would let anyone sign; fail closed */
    if (key == NULL || keylen == 0 || keylen > INT_MAX) {
        return KEFU_JWT_BAD_SIGNATURE;
    }

    if (parts->len[2] != KEFU_JWT_MAC_B64LEN) {
        return KEFU_JWT_BAD_SIGNATURE;
    }

    n = kefu_b64url_decode(parts->data[2], parts->len[2], sig);
    if (n == (size_t) -1) {
        return KEFU_JWT_MALFORMED;
    }

    if (n != KEFU_JWT_MAC_LEN) {
        return KEFU_JWT_BAD_SIGNATURE;
    }

    /* the signing input is the token up to the second dot */
    if (HMAC(EVP_sha256(), key, (int) keylen, parts->data[0],
             parts->len[0] + 1 + parts->len[1], mac, &maclen)
        == NULL
        || maclen != KEFU_JWT_MAC_LEN)
    {
        return KEFU_JWT_BAD_SIGNATURE;
    }

    if (CRYPTO_memcmp(mac, sig, KEFU_JWT_MAC_LEN) != 0) {
        return KEFU_JWT_BAD_SIGNATURE;
    }

    return KEFU_JWT_OK;
}
