/*
 * Unit tests: CRC16 (XMODEM) and the Redis Cluster hash slot of a key,
 * against the values redis-server 7.0 gives with CLUSTER KEYSLOT.
 */

#include "tap.h"
#include "kefu_crc16.h"


static unsigned
slot(const char *key)
{
    return kefu_cluster_slot((const unsigned char *) key, strlen(key));
}


int
main(void)
{
    is_int(kefu_crc16((const unsigned char *) "123456789", 9), 0x31c3,
           "CRC16/XMODEM check value");
    is_int(kefu_crc16((const unsigned char *) "", 0), 0, "empty input");

    is_int(slot("somekey"), 11058, "a key without a tag");
    is_int(slot("foo"), 12182, "foo");
    is_int(slot(""), 0, "the empty key");
    is_int(slot("{user1000}.following"), 3443, "a tag");
    is_int(slot("{user1000}.followers"), slot("user1000"),
           "keys of one tag share its slot");
    is_int(slot("foo{}{bar}"), 8363, "an empty tag: the whole key");
    is_int(slot("foo{{bar}}zap"), 4015, "the tag starts at the first {");
    is_int(slot("foo{bar}{zap}"), 5061, "only the first tag counts");
    is_int(slot("{"), 4092, "a lone {");
    is_int(slot("}{a}"), 15495, "a } before the {");
    is_int(slot("a{b"), 13340, "an unclosed tag: the whole key");
    is_int(slot("kefu:{acme:u1}:s"), 5128, "a user's key");
    is_int(slot("kefu:{acme}:day"), 11304, "a tenant's key");

    return done_testing();
}
