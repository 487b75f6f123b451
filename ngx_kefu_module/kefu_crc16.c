/*
 * ngx_kefu: CRC16 and the Redis Cluster hash slot (see kefu_crc16.h).
 */

#include <string.h>

#include "kefu_crc16.h"


/* bit by bit: a slot is computed once per command, on keys of a few
 * dozen bytes; no table to get wrong */
uint16_t
kefu_crc16(const unsigned char *p, size_t len)
{
    int       bit;
    size_t    i;
    uint16_t  crc;

    crc = 0;

    for (i = 0; i < len; i++) {
        crc ^= (uint16_t) (p[i] << 8);

        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                 : (uint16_t) (crc << 1);
        }
    }

    return crc;
}


unsigned
kefu_cluster_slot(const unsigned char *key, size_t len)
{
    const unsigned char  *open, *close;

    open = memchr(key, '{', len);

    if (open != NULL) {
        close = memchr(open + 1, '}', len - (open + 1 - key));

        if (close != NULL && close > open + 1) {
            key = open + 1;
            len = close - key;
        }
    }

    return kefu_crc16(key, len) & (KEFU_CLUSTER_SLOTS - 1);
}
