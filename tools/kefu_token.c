/*
 * kefu_token: mints an HS256 token for the demo and the tests.
 *
 *   kefu_token --secret-file F --tenant T --user U [--scope S]
 *              [--ttl SECONDS] [--exp-offset N] [--nbf-offset N]
 *              [--iat-offset N] [--now UNIX] [--alg X] [--typ X]
 *              [--no-exp] [--no-iat] [--kid-only | --tid-only]
 *
 * Prints only the token and a newline.  The key is the secret file's
 * content without trailing CR/LF (as ngx_http_kefu_tenant.c reads it).
 * By default the tenant goes into both header kid and claim tid,
 * exp = now + ttl (600), iat = now.
 * --alg writes another alg into the header but still signs with HS256,
 * to make tokens the server must reject.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kefu_json.h"
#include "kefu_jwt.h"


#define KEFU_TOKEN_MAX_SECRET  4096


typedef struct {
    const char     *secret_file;
    const char     *tenant;
    const char     *user;
    const char     *scope;
    const char     *alg;
    const char     *typ;
    int64_t         now;
    int64_t         exp_offset;
    int64_t         nbf_offset;
    int64_t         iat_offset;
    int             has_nbf;
    int             no_exp;
    int             no_iat;
    int             kid_only;
    int             tid_only;
} kefu_token_opts_t;


enum {
    KEFU_OPT_SECRET = 256,
    KEFU_OPT_TENANT,
    KEFU_OPT_USER,
    KEFU_OPT_SCOPE,
    KEFU_OPT_TTL,
    KEFU_OPT_EXP_OFFSET,
    KEFU_OPT_NBF_OFFSET,
    KEFU_OPT_IAT_OFFSET,
    KEFU_OPT_NOW,
    KEFU_OPT_ALG,
    KEFU_OPT_TYP,
    KEFU_OPT_NO_EXP,
    KEFU_OPT_NO_IAT,
    KEFU_OPT_KID_ONLY,
    KEFU_OPT_TID_ONLY,
    KEFU_OPT_HELP
};


static const struct option  kefu_token_options[] = {
    { "secret-file", required_argument, NULL, KEFU_OPT_SECRET },
    { "tenant", required_argument, NULL, KEFU_OPT_TENANT },
    { "user", required_argument, NULL, KEFU_OPT_USER },
    { "scope", required_argument, NULL, KEFU_OPT_SCOPE },
    { "ttl", required_argument, NULL, KEFU_OPT_TTL },
    { "exp-offset", required_argument, NULL, KEFU_OPT_EXP_OFFSET },
    { "nbf-offset", required_argument, NULL, KEFU_OPT_NBF_OFFSET },
    { "iat-offset", required_argument, NULL, KEFU_OPT_IAT_OFFSET },
    { "now", required_argument, NULL, KEFU_OPT_NOW },
    { "alg", required_argument, NULL, KEFU_OPT_ALG },
    { "typ", required_argument, NULL, KEFU_OPT_TYP },
    { "no-exp", no_argument, NULL, KEFU_OPT_NO_EXP },
    { "no-iat", no_argument, NULL, KEFU_OPT_NO_IAT },
    { "kid-only", no_argument, NULL, KEFU_OPT_KID_ONLY },
    { "tid-only", no_argument, NULL, KEFU_OPT_TID_ONLY },
    { "help", no_argument, NULL, KEFU_OPT_HELP },
    { NULL, 0, NULL, 0 }
};


static void kefu_token_usage(FILE *f);
static int kefu_token_number(const char *name, const char *s, int64_t *n);
static int kefu_token_args(int argc, char **argv, kefu_token_opts_t *o);
static unsigned char *kefu_token_secret(kefu_alloc_t *a, const char *path,
    size_t *len);
static int kefu_token_add(const char *name, int64_t base, int64_t off,
    int64_t *out);


int
main(int argc, char **argv)
{
    int                 rc;
    char               *token;
    size_t              keylen;
    kefu_arena_t        arena;
    unsigned char      *key;
    kefu_jwt_claims_t   c;
    kefu_token_opts_t   o;

    /* -1: help was printed; > 0: usage error, exit status */
    rc = kefu_token_args(argc, argv, &o);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }

    kefu_arena_init(&arena);
    rc = 1;

    key = kefu_token_secret(&arena.allocator, o.secret_file, &keylen);
    if (key == NULL) {
        goto done;
    }

    if (keylen < KEFU_JWT_MIN_KEY) {
        fprintf(stderr, "kefu_token: warning: secret is %zu bytes, "
                "RFC 7518 wants at least %d\n", keylen, KEFU_JWT_MIN_KEY);
    }

    memset(&c, 0, sizeof(kefu_jwt_claims_t));

    c.alg = o.alg;
    c.typ = o.typ;
    c.kid = o.tid_only ? NULL : o.tenant;
    c.tid = o.kid_only ? NULL : o.tenant;
    c.sub = o.user;
    c.scope = o.scope;

    if (!o.no_exp) {
        if (kefu_token_add("exp", o.now, o.exp_offset, &c.exp) != 0) {
            goto done;
        }

        c.has_exp = 1;
    }

    if (o.has_nbf) {
        if (kefu_token_add("nbf", o.now, o.nbf_offset, &c.nbf) != 0) {
            goto done;
        }

        c.has_nbf = 1;
    }

    if (!o.no_iat) {
        if (kefu_token_add("iat", o.now, o.iat_offset, &c.iat) != 0) {
            goto done;
        }

        c.has_iat = 1;
    }

    token = kefu_jwt_sign_ex(&arena.allocator, &c, key, keylen);
    if (token == NULL) {
        fprintf(stderr, "kefu_token: signing failed\n");
        goto done;
    }

    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "kefu_token: write failed: %s\n", strerror(errno));
        goto done;
    }

    rc = 0;

done:

    kefu_arena_free(&arena);

    return rc;
}


static void
kefu_token_usage(FILE *f)
{
    fprintf(f,
        "usage: kefu_token --secret-file F --tenant T --user U [--scope S]\n"
        "           [--ttl SECONDS] [--exp-offset N] [--nbf-offset N]\n"
        "           [--iat-offset N] [--now UNIX] [--alg X] [--typ X]\n"
        "           [--no-exp] [--no-iat] [--kid-only | --tid-only]\n"
        "Prints an HS256 token.  Defaults: exp = now + 600, iat = now,\n"
        "tenant in header kid and claim tid, typ JWT.  --alg only changes\n"
        "the header (the MAC stays HS256), to make bad tokens for tests.\n");
}


static int
kefu_token_number(const char *name, const char *s, int64_t *n)
{
    char       *end;
    long long   v;

    errno = 0;
    v = strtoll(s, &end, 10);

    if (*s == '\0' || *end != '\0' || errno != 0) {
        fprintf(stderr, "kefu_token: --%s: not an integer: \"%s\"\n", name,
                s);
        return -1;
    }

    *n = (int64_t) v;

    return 0;
}


static int
kefu_token_add(const char *name, int64_t base, int64_t off, int64_t *out)
{
    if ((off > 0 && base > INT64_MAX - off)
        || (off < 0 && base < INT64_MIN - off))
    {
        fprintf(stderr, "kefu_token: %s out of range\n", name);
        return -1;
    }

    *out = base + off;

    return 0;
}


static int
kefu_token_args(int argc, char **argv, kefu_token_opts_t *o)
{
    int      ch;
    int64_t  n;

    memset(o, 0, sizeof(kefu_token_opts_t));
    o->typ = "JWT";
    o->now = (int64_t) time(NULL);
    o->exp_offset = 600;

    for ( ;; ) {
        ch = getopt_long(argc, argv, "h", kefu_token_options, NULL);
        if (ch == -1) {
            break;
        }

        switch (ch) {

        case KEFU_OPT_SECRET:
            o->secret_file = optarg;
            break;

        case KEFU_OPT_TENANT:
            o->tenant = optarg;
            break;

        case KEFU_OPT_USER:
            o->user = optarg;
            break;

        case KEFU_OPT_SCOPE:
            o->scope = optarg;
            break;

        case KEFU_OPT_TTL:
            if (kefu_token_number("ttl", optarg, &n) != 0) {
                return 2;
            }

            if (n <= 0) {
                fprintf(stderr, "kefu_token: --ttl must be positive "
                        "(use --exp-offset for expired tokens)\n");
                return 2;
            }

            o->exp_offset = n;
            break;

        case KEFU_OPT_EXP_OFFSET:
            if (kefu_token_number("exp-offset", optarg, &o->exp_offset)
                != 0)
            {
                return 2;
            }

            break;

        case KEFU_OPT_NBF_OFFSET:
            if (kefu_token_number("nbf-offset", optarg, &o->nbf_offset)
                != 0)
            {
                return 2;
            }

            o->has_nbf = 1;
            break;

        case KEFU_OPT_IAT_OFFSET:
            if (kefu_token_number("iat-offset", optarg, &o->iat_offset)
                != 0)
            {
                return 2;
            }

            break;

        case KEFU_OPT_NOW:
            if (kefu_token_number("now", optarg, &o->now) != 0) {
                return 2;
            }

            break;

        case KEFU_OPT_ALG:
            o->alg = optarg;
            break;

        case KEFU_OPT_TYP:
            o->typ = optarg;
            break;

        case KEFU_OPT_NO_EXP:
            o->no_exp = 1;
            break;

        case KEFU_OPT_NO_IAT:
            o->no_iat = 1;
            break;

        case KEFU_OPT_KID_ONLY:
            o->kid_only = 1;
            break;

        case KEFU_OPT_TID_ONLY:
            o->tid_only = 1;
            break;

        case 'h':
        case KEFU_OPT_HELP:
            kefu_token_usage(stdout);
            return -1;

        default:
            kefu_token_usage(stderr);
            return 2;
        }
    }

    if (optind != argc) {
        fprintf(stderr, "kefu_token: unexpected argument \"%s\"\n",
                argv[optind]);
        kefu_token_usage(stderr);
        return 2;
    }

    if (o->secret_file == NULL || o->tenant == NULL || o->user == NULL) {
        fprintf(stderr, "kefu_token: --secret-file, --tenant and --user "
                "are required\n");
        kefu_token_usage(stderr);
        return 2;
    }

    if (o->kid_only && o->tid_only) {
        fprintf(stderr, "kefu_token: --kid-only and --tid-only exclude "
                "each other\n");
        return 2;
    }

    return 0;
}


static unsigned char *
kefu_token_secret(kefu_alloc_t *a, const char *path, size_t *len)
{
    FILE           *f;
    size_t          n;
    unsigned char  *buf;

    buf = kefu_alloc(a, KEFU_TOKEN_MAX_SECRET + 1);
    if (buf == NULL) {
        fprintf(stderr, "kefu_token: out of memory\n");
        return NULL;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "kefu_token: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    n = fread(buf, 1, KEFU_TOKEN_MAX_SECRET + 1, f);

    if (ferror(f)) {
        fprintf(stderr, "kefu_token: %s: read error\n", path);
        (void) fclose(f);
        return NULL;
    }

    if (fclose(f) != 0) {
        fprintf(stderr, "kefu_token: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    if (n > KEFU_TOKEN_MAX_SECRET) {
        fprintf(stderr, "kefu_token: %s: secret larger than %d bytes\n",
                path, KEFU_TOKEN_MAX_SECRET);
        return NULL;
    }

    /*
     * editors add a final newline; it is not part of the key.  Trailing
     * CR/LF are all dropped, exactly as the module reads jwt_secret_file.
     */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (n == 0) {
        fprintf(stderr, "kefu_token: %s: empty secret\n", path);
        return NULL;
    }

    *len = n;

    return buf;
}
