/* store_reserve: room kept on the database's disk for the run's last word.
 *
 * When the disk under the results database fills, the write that failed is
 * rolled back and the run's failed status is written on its own. Whether that
 * one small UPDATE (a WAL frame or two and the checkpoint after it) still fits
 * used to depend on where the disk filled: part-way through a WAL commit it
 * usually did, at the first frame of a new one it did not, and the run stayed
 * `running` with exit 2 as the only trace. So a run claims STORE_RESERVE_BYTES
 * of real blocks (posix_fallocate, not a sparse file) beside the database at
 * its start, and gives them back just before its status is written: after a
 * failure the status then has that room, and in a good run the file is gone
 * again before the run ends. A controller killed mid-run leaves the file; the
 * next run takes it over (same name) and removes it. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STORE_RESERVE_BYTES (1 << 20)

static void store_reserve_path(const struct store *s, char *out, size_t len)
{
    snprintf(out, len, "%s-reserve", s->path);
}

/* 0, or -1 when the disk cannot even hold the reserve (the run then starts
 * without it: failing here would refuse a run that may well fit). */
int store_reserve_take(struct store *s)
{
    char path[sizeof s->path + 16];
    store_reserve_path(s, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = posix_fallocate(fd, 0, STORE_RESERVE_BYTES);
    close(fd);
    if (rc != 0) {
        unlink(path);
        return -1;
    }
    s->reserved = 1;
    return 0;
}

void store_reserve_release(struct store *s)
{
    if (!s->reserved)
        return;
    char path[sizeof s->path + 16];
    store_reserve_path(s, path, sizeof path);
    unlink(path);
    s->reserved = 0;
}
