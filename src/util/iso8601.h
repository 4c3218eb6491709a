/* Time as ISO-8601 / RFC 3339 text, without locale or time zone files. */
#pragma once
#include <stdint.h>

/* Writes an ISO-8601 UTC timestamp with milliseconds ("2026-11-23T10:13:48.123Z",
 * 24 characters and a NUL); past 9999-12-31 it is clamped there. */
void ar_format_iso8601(uint64_t sec, uint32_t msec, char out[32]);
