/* Small whole-file reads (/proc and /sys files). I/O: built into libarapp, not the
 * pure core. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Reads the file at path whole, up to cap - 1 bytes, NUL-terminated: the bytes
 * read, or a negative errno (retries EINTR). */
ssize_t ar_read_small_file(const char *path, char *buf, size_t cap);
