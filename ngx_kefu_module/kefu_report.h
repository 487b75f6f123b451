/*
 * ngx_kefu: the nginx-free part of the service flows: loss reports
 * (request checks, the canonical form and fingerprint that idempotency
 * compares, the record's JSON, the back office's status rules) and
 * handoff tickets (priority, the turns attached to a ticket) and the
 * turn a piece of feedback refers to.
 */

#ifndef KEFU_REPORT_H
#define KEFU_REPORT_H

#include "kefu_json.h"
#include "kefu_kb.h"
#include "kefu_session.h"

#define KEFU_IDEM_KEY_MAX       255
#define KEFU_LR_NOTE_MAX        500     /* code points */
#define KEFU_LR_FP_LEN          64      /* hex SHA-256 */

#define KEFU_REASON_MAX         200     /* handoff/feedback reason, chars */


typedef enum {
    KEFU_LR_ACCOUNT = 0,
    KEFU_LR_CARD,
    KEFU_LR_PHONE
} kefu_lr_kind_e;


typedef enum {
    KEFU_LR_LOST = 0,
    KEFU_LR_STOLEN,
    KEFU_LR_FRAUD
} kefu_lr_reason_e;


typedef enum {
    KEFU_LR_RECEIVED = 0,
    KEFU_LR_PROCESSING,
    KEFU_LR_CLOSED
} kefu_lr_status_e;


/* a checked POST /v1/loss-reports body; strings point into the DOM */
typedef struct {
    kefu_lr_kind_e      kind;
    kefu_lr_reason_e    reason;
    kefu_str_t          card_last4;     /* len 0 unless kind is card */
    int                 police_report;
    kefu_str_t          note;           /* len 0 when absent */
} kefu_lr_req_t;


/* a report as stored (Redis hash), for replies */
typedef struct {
    kefu_str_t          id;
    kefu_str_t          user;
    kefu_str_t          kind;
    kefu_str_t          reason;
    kefu_str_t          status;
    kefu_str_t          card_last4;
    kefu_str_t          note;
    int64_t             created_at;
    int64_t             updated_at;
    int                 frozen;
    int                 police_report;
} kefu_lr_record_t;


typedef enum {
    KEFU_PRIO_URGENT = 0,       /* theft, loss, fraud */
    KEFU_PRIO_HIGH,             /* angry */
    KEFU_PRIO_ELEVATED,         /* anxious, or the robot failed twice */
    KEFU_PRIO_NORMAL
} kefu_prio_e;


/* 1 for 1..255 printable ASCII characters (0x20..0x7e) */
int kefu_idem_key_valid(const unsigned char *s, size_t len);

/*
 * Checks a loss report body: known fields only, kind and reason from
 * their lists, card_last4 exactly four digits, required for and only
 * allowed with kind "card", note at most KEFU_LR_NOTE_MAX characters.
 * Returns KEFU_OK, or KEFU_ERROR with a message in err.
 */
int kefu_lr_parse(const kefu_json_t *body, kefu_lr_req_t *req, char *err,
    size_t errlen);

/*
 * The canonical form of a request (independent of key order, spacing,
 * escapes and of absent versus default values) and its SHA-256 in hex
 * (KEFU_LR_FP_LEN characters and a NUL).  Returns KEFU_ERROR only when
 * OpenSSL fails.
 */
void kefu_lr_canonical(const kefu_lr_req_t *req, kefu_buf_t *out);
int kefu_lr_fingerprint(const kefu_lr_req_t *req, kefu_alloc_t *a,
    char *hex);

const char *kefu_lr_kind_name(kefu_lr_kind_e kind);
const char *kefu_lr_reason_name(kefu_lr_reason_e reason);
const char *kefu_lr_status_name(kefu_lr_status_e status);
/* index of s in the kind/reason/status names, or -1 */
int kefu_lr_kind(const unsigned char *s, size_t len);
int kefu_lr_reason(const unsigned char *s, size_t len);
int kefu_lr_status(const unsigned char *s, size_t len);

/*
 * The back office's change of a report: status only moves forward
 * (received -> processing -> closed, or received -> closed); a freeze can
 * be lifted and set again while the report is open, except for a card
 * reported lost or stolen, whose freeze is final (the card is replaced,
 * never unblocked).  new_status/new_frozen -1 mean "unchanged".
 * Returns KEFU_OK or KEFU_ERROR with *why set.
 */
int kefu_lr_change_ok(kefu_lr_kind_e kind, kefu_lr_reason_e reason,
    kefu_lr_status_e status, int frozen, int new_status, int new_frozen,
    const char **why);

/*
 * Fills rec from HGETALL's field/value list (2n strings).  Returns
 * KEFU_ERROR when the record lacks its id, user, kind, reason or status.
 */
int kefu_lr_record_from_pairs(kefu_lr_record_t *rec, const kefu_str_t *kv,
    size_t n);
/* The report's JSON object (the user's view; admin adds user). */
void kefu_lr_record_json(const kefu_lr_record_t *rec, int admin,
    kefu_buf_t *b);

/* "2026-11-23T08:00:00Z" (20 characters and a NUL) */
void kefu_iso8601(int64_t t, char *buf);


/*
 * A handoff ticket's priority: urgent when the session saw an emergency
 * or the reason or one of the last turns reads like one, high when they
 * read angry, elevated when anxious or after two fallbacks in a row,
 * else normal.  reason may be NULL.
 */
kefu_prio_e kefu_handoff_priority(const kefu_kb_t *kb,
    const kefu_session_t *s, const unsigned char *reason, size_t len);
const char *kefu_prio_name(kefu_prio_e prio);

/* The last max turns as a JSON array: [{"turn","type","q","faq_id"}]. */
void kefu_handoff_turns_json(const kefu_session_t *s, size_t max,
    kefu_buf_t *b);

/* The kept turn with number `turn` (1-based over the session's life), or
 * NULL when the session never had it or no longer keeps it. */
const kefu_turn_t *kefu_session_turn(const kefu_session_t *s,
    int64_t turn);

#endif /* KEFU_REPORT_H */
