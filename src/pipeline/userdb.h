/* The host's user database as the id cache's resolver (an ar_id_lookup_fn). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "enrich/ids.h"

/* The name of a user or group id through getpwuid_r/getgrgid_r: its length, or
 * -ENOENT (no such id), -ENAMETOOLONG. */
int ar_userdb_lookup(enum ar_id_kind kind, uint32_t id, char *buf, size_t size);
