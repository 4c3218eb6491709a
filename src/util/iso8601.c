#include "util/iso8601.h"

static void put2(char *o, uint32_t v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

void ar_format_iso8601(uint64_t sec, uint32_t msec, char out[32])
{
    /* Past 9999-12-31 the format has no room: clamp rather than print garbage. */
    if (sec > UINT64_C(253402300799))
        sec = UINT64_C(253402300799);
    /* Days to civil date (Howard Hinnant's algorithm): no locale, no tz files. */
    int64_t z = (int64_t)(sec / 86400) + 719468;
    uint32_t sod = (uint32_t)(sec % 86400);
    int64_t era = z / 146097;
    uint32_t doe = (uint32_t)(z - era * 146097);
    uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint32_t y = (uint32_t)((int64_t)yoe + era * 400);
    uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint32_t mp = (5 * doy + 2) / 153;
    uint32_t d = doy - (153 * mp + 2) / 5 + 1;
    uint32_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    msec %= 1000;
    put2(out, y / 100 % 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, sod / 3600);
    out[13] = ':';
    put2(out + 14, sod / 60 % 60);
    out[16] = ':';
    put2(out + 17, sod % 60);
    out[19] = '.';
    out[20] = (char)('0' + msec / 100);
    put2(out + 21, msec % 100);
    out[23] = 'Z';
    out[24] = '\0';
}
