/*
 * ngx_kefu: the risk patterns, sequences of trail events that signal fraud.
 *
 * They put a KB's risk FAQs ahead of every other suggestion
 * (kefu_suggest()) and decide which event types the trail summary keeps
 * a history of timestamps for (kefu_trail_sum_history()).
 */

#ifndef KEFU_RISK_H
#define KEFU_RISK_H

#include "kefu_core.h"


#define KEFU_RISK_THEN              3


/*
 * With `first`, the pattern needs an event `first` within the risk window
 * followed (same time or later) by one of `then`; without, one of `then`
 * within the window.  `then` ends at KEFU_RISK_THEN or the first NULL.
 */
typedef struct {
    const char             *name;
    const char             *first;
    const char             *then[KEFU_RISK_THEN];
} kefu_risk_pattern_t;


/* The patterns, strongest first; their number in *n. */
const kefu_risk_pattern_t *kefu_risk_patterns(size_t *n);

/* 1 if a pattern starts with this event type (its `first`) */
int kefu_risk_starts(const unsigned char *type, size_t len);

#endif /* KEFU_RISK_H */
