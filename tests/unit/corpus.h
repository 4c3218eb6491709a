/* The corpus logs (fixtures/corpora): every *.log and *.txt file under a directory,
 * handed to a callback, for the unit tests that run each line of them. */
#pragma once
#include <dirent.h>
#include <stdio.h>
#include <string.h>

static inline void corpus_each_file(const char *dir, void (*fn)(const char *path))
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        size_t l = strlen(de->d_name);
        if (de->d_type == DT_DIR)
            corpus_each_file(path, fn);
        else if (l > 4 && (strcmp(de->d_name + l - 4, ".log") == 0 ||
                           strcmp(de->d_name + l - 4, ".txt") == 0))
            fn(path);
    }
    closedir(d);
}
