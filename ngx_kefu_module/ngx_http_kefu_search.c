/*
 * ngx_kefu: POST /v1/admin/search, the trainer's test console: the top-k
 * FAQs for a question with scores and matched terms, ranked by the same
 * call as /v1/ask, touching no session and no counter.
 */

#include "ngx_http_kefu_endpoints.h"
#include "ngx_http_kefu_handler.h"
#include "kefu_kb.h"
#include "kefu_validate.h"


#define NGX_HTTP_KEFU_SEARCH_MAX_K      20
#define NGX_HTTP_KEFU_SEARCH_MAX_TERMS  32


static const kefu_field_t  ngx_http_kefu_search_fields[] = {
    { "question", KEFU_F_STRING, 1, 1, 500 },
    { "k", KEFU_F_INT, 0, 1, NGX_HTTP_KEFU_SEARCH_MAX_K },
    { NULL, 0, 0, 0, 0 }
};


static ngx_int_t ngx_http_kefu_admin_search(ngx_http_request_t *r,
    ngx_http_kefu_ctx_t *ctx);


static ngx_http_kefu_route_t  ngx_http_kefu_search_routes[] = {
    { ngx_string("admin/search"), NGX_HTTP_POST, ngx_http_kefu_admin_search,
      1, 1, 0 },
    { ngx_null_string, 0, NULL, 0, 0, 0 }
};


const ngx_http_kefu_endpoint_t  ngx_http_kefu_search_endpoint = {
    ngx_http_kefu_search_routes,
    NULL, 0,
    NULL, NULL, NULL
};


static ngx_int_t
ngx_http_kefu_admin_search(ngx_http_request_t *r, ngx_http_kefu_ctx_t *ctx)
{
    int                         n;
    char                        err[128];
    size_t                      k, i, j, nterms, choices[3], nchoices;
    kefu_buf_t                  b;
    kefu_str_t                  terms[NGX_HTTP_KEFU_SEARCH_MAX_TERMS];
    kefu_hit_t                  hits[NGX_HTTP_KEFU_SEARCH_MAX_K];
    const kefu_kb_t            *kb;
    const kefu_faq_t           *faq;
    const kefu_json_t          *v[2];
    kefu_decision_e             d;
    ngx_http_kefu_main_conf_t  *kmcf;

    static const char  *decisions[] = { "fallback", "clarify", "answer" };

    if (kefu_validate(ctx->body, ngx_http_kefu_search_fields, v, err,
                      sizeof(err))
        != KEFU_OK)
    {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request", err);
    }

    k = v[1] ? (size_t) v[1]->integer : 5;
    kb = ctx->tenant->kb;
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kefu_module);

    n = kefu_kb_search(kb, kmcf->scratch, v[0]->str.data, v[0]->str.len, -1,
                       hits, k);
    if (n < 0) {
        return ngx_http_kefu_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "invalid_request",
                                        "question is not valid UTF-8");
    }

    d = kefu_decide(hits, (size_t) n, ctx->tenant->answer_threshold,
                    ctx->tenant->clarify_threshold, choices, &nchoices);

    kefu_buf_init(&b, &ctx->alloc, 2048);
    kefu_buf_addf(&b, "{\"decision\":\"%s\",\"answer_threshold\":%.3f,"
                  "\"clarify_threshold\":%.3f,\"kb_version\":",
                  decisions[d], ctx->tenant->answer_threshold,
                  ctx->tenant->clarify_threshold);
    kefu_buf_add_json_str(&b, kb->version.data, kb->version.len);
    kefu_buf_adds(&b, ",\"items\":[");

    for (i = 0; i < (size_t) n; i++) {
        faq = &kb->faqs[hits[i].faq];

        kefu_buf_adds(&b, i ? ",{\"faq_id\":" : "{\"faq_id\":");
        kefu_buf_add_json_str(&b, faq->id.data, faq->id.len);
        kefu_buf_adds(&b, ",\"question\":");
        kefu_buf_add_json_str(&b, faq->question.data, faq->question.len);
        kefu_buf_addf(&b, ",\"score\":%.4f,\"confidence\":%.4f,"
                      "\"coverage\":%.4f,\"matched\":[",
                      hits[i].score, hits[i].confidence, hits[i].coverage);

        nterms = kefu_index_matched_terms(kb->index, kmcf->scratch, &hits[i],
                                          terms,
                                          NGX_HTTP_KEFU_SEARCH_MAX_TERMS);

        for (j = 0; j < nterms; j++) {
            if (j) {
                kefu_buf_adds(&b, ",");
            }

            kefu_buf_add_json_str(&b, terms[j].data, terms[j].len);
        }

        kefu_buf_adds(&b, "]}");
    }

    kefu_buf_adds(&b, "]}\n");

    return ngx_http_kefu_send_json(r, NGX_HTTP_OK, &b);
}
