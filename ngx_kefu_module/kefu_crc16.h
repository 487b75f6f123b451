/*
 * ngx_kefu: Redis Cluster's hash slot of a key: CRC16 (XMODEM: poly
 * 0x1021, init 0, no reflection) of the key's hash tag, modulo 16384.
 */

#ifndef KEFU_CRC16_H
#define KEFU_CRC16_H

#include <stddef.h>
#include <stdint.h>


#define KEFU_CLUSTER_SLOTS  16384


uint16_t kefu_crc16(const unsigned char *p, size_t len);

/* the part between the first '{' and the next '}' when it is not empty,
 * else the whole key, as Redis Cluster hashes it */
unsigned kefu_cluster_slot(const unsigned char *key, size_t len);

#endif /* KEFU_CRC16_H */
