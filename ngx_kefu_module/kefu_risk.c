/*
 * ngx_kefu: the risk patterns, sequences of trail events that signal fraud.
 */

#include "kefu_risk.h"


static const kefu_risk_pattern_t  kefu_risk_table[] = {
    { "new_device_transfer", "login_new_device",
      { "transfer_large", "transfer_new_payee", NULL } },
    { "fraud_keyword", NULL, { "keyword_shuadan", NULL, NULL } },
    { "phone_lost", NULL, { "phone_lost_reported", NULL, NULL } },
};

#define KEFU_RISK_NPATTERNS                                                  \
    (sizeof(kefu_risk_table) / sizeof(kefu_risk_table[0]))


const kefu_risk_pattern_t *
kefu_risk_patterns(size_t *n)
{
    *n = KEFU_RISK_NPATTERNS;

    return kefu_risk_table;
}


int
kefu_risk_starts(const unsigned char *type, size_t len)
{
    size_t  i;

    for (i = 0; i < KEFU_RISK_NPATTERNS; i++) {
        if (kefu_risk_table[i].first != NULL
            && strlen(kefu_risk_table[i].first) == len
            && memcmp(kefu_risk_table[i].first, type, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
