/* ps_auth: key files, nonces and the HMACs of the agent/controller handshake.
 * The protocol itself is described in ps_auth.h; this file knows OpenSSL. */
#include "ps_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char *const ps_auth_labels[] = {
    [PS_AUTH_CONTROLLER] = "pushstorm-3 controller",
    [PS_AUTH_AGENT]      = "pushstorm-3 agent",
    [PS_AUTH_SESSION]    = "pushstorm-3 session",
};

int ps_auth_key_load(struct ps_auth_key *key, const char *path, char *err, size_t errlen)
{
    memset(key, 0, sizeof *key);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key file %s: not a regular file", path);
    } else if (st.st_mode & 077) {
        snprintf(err, errlen, "key file %s: readable or writable by others (mode %04o); "
                              "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
    } else if (st.st_size > PS_AUTH_KEY_MAX + 64) {
        snprintf(err, errlen, "key file %s: %lld bytes, at most %d", path,
                 (long long)st.st_size, PS_AUTH_KEY_MAX);
    } else {
        ssize_t n = read(fd, key->k, sizeof key->k);
        if (n < 0) {
            snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        } else {
            while (n > 0 && strchr(" \t\r\n", key->k[n - 1]))
                n--;
            if (n < PS_AUTH_KEY_MIN) {
                snprintf(err, errlen, "key file %s: %zd bytes of key, at least %d wanted "
                                      "(e.g. head -c 32 /dev/urandom | base64 >FILE)",
                         path, n, PS_AUTH_KEY_MIN);
            } else {
                key->len = (size_t)n;
                rc = 0;
            }
        }
    }
    close(fd);
    if (rc)
        memset(key, 0, sizeof *key);
    return rc;
}

static void ps_auth_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

int ps_auth_nonce(char out[PS_AUTH_HEX])
{
    unsigned char b[PS_AUTH_NONCE_LEN];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        out[0] = 0;
        return -1;
    }
    ps_auth_hex(b, sizeof b, out);
    return 0;
}

int ps_auth_nonce_ok(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == 2 * PS_AUTH_NONCE_LEN && !s[n];
}

void ps_auth_mac(const struct ps_auth_key *key, enum ps_auth_role role, const char *na,
                 const char *nc, char out[PS_AUTH_HEX])
{
    /* label, na and nc are NUL-separated so no two inputs concatenate alike */
    char msg[64 + 2 * PS_AUTH_HEX];
    const char *label = ps_auth_labels[role];
    size_t ll = strlen(label) + 1, la = strnlen(na, PS_AUTH_HEX - 1) + 1,
           lc = strnlen(nc, PS_AUTH_HEX - 1);
    memcpy(msg, label, ll);
    memcpy(msg + ll, na, la - 1);
    msg[ll + la - 1] = 0;
    memcpy(msg + ll + la, nc, lc);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    static const unsigned char none[1];
    if (!HMAC(EVP_sha256(), key && key->len ? key->k : none, key ? (int)key->len : 0,
              (const unsigned char *)msg, ll + la + lc, mac, &maclen) || maclen != 32) {
        out[0] = 0;   /* never equal to anything: ps_auth_equal wants non-empty */
        return;
    }
    ps_auth_hex(mac, maclen, out);
}

int ps_auth_equal(const char *a, const char *b)
{
    size_t la = strnlen(a, PS_AUTH_HEX), lb = strnlen(b, PS_AUTH_HEX);
    return la && la == lb && CRYPTO_memcmp(a, b, la) == 0;
}
