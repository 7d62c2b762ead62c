/* refpush ticket key: the key TLS session tickets are sealed with, shared
 * across restarts.
 *
 * Without it OpenSSL draws a random ticket key per process, so after a
 * restart no client can resume: a reconnect storm is all full handshakes.
 * Real deployments keep the key in a file (nginx ssl_session_ticket_key);
 * --tls-ticket-key FILE does the same, with the 80 bytes OpenSSL's
 * SSL_CTX_set_tlsext_ticket_keys takes, laid out as nginx's 80-byte files
 * (name, HMAC key, AES key), so one file can serve both.
 *
 * The file is read once, at option parsing, so a bad one stops refpush before
 * it listens. It is a secret (whoever has it can decrypt every resumed
 * session's ticket): a file that group or others may read is refused, as ssh
 * refuses a readable private key. */
#include "ticket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

int refpush_ticket_read(const char *path, struct refpush_ticket_key *k)
{
    memset(k, 0, sizeof *k);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "refpush: --tls-ticket-key %.200s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st)) {
        fprintf(stderr, "refpush: --tls-ticket-key %.200s: %s\n", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "refpush: --tls-ticket-key %.200s: not a regular file\n", path);
    } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        fprintf(stderr, "refpush: --tls-ticket-key %.200s: mode %03o lets group or others at the "
                        "key; chmod 600 it\n", path, (unsigned)(st.st_mode & 0777));
    } else if (st.st_size != REFPUSH_TICKET_KEY_LEN) {
        fprintf(stderr, "refpush: --tls-ticket-key %.200s: %lld bytes, expected %d (e.g. "
                        "openssl rand 80 > FILE)\n", path, (long long)st.st_size,
                REFPUSH_TICKET_KEY_LEN);
    } else {
        ssize_t n = read(fd, k->bytes, sizeof k->bytes);
        if (n == (ssize_t)sizeof k->bytes) {
            k->set = 1;
            rc = 0;
        } else {
            fprintf(stderr, "refpush: --tls-ticket-key %.200s: short read (%s)\n", path,
                    n < 0 ? strerror(errno) : "file changed while read");
        }
    }
    close(fd);
    if (rc)
        refpush_ticket_wipe(k);
    return rc;
}

int refpush_ticket_apply(SSL_CTX *ctx, const struct refpush_ticket_key *k)
{
    if (!k->set)
        return 0;
    /* OpenSSL copies the bytes; it takes them as non-const */
    unsigned char copy[REFPUSH_TICKET_KEY_LEN];
    memcpy(copy, k->bytes, sizeof copy);
    long ok = SSL_CTX_set_tlsext_ticket_keys(ctx, copy, sizeof copy);
    OPENSSL_cleanse(copy, sizeof copy);
    if (ok != 1) {
        fprintf(stderr, "refpush: --tls-ticket-key: OpenSSL refused the key\n");
        return -1;
    }
    return 0;
}

void refpush_ticket_wipe(struct refpush_ticket_key *k)
{
    OPENSSL_cleanse(k, sizeof *k);
}
