/* NVRAM answered from one file per key under /tmp/.nvram/ (see shim.c). */

#include "shim.h"

/* A key's file: NVRAM_DIR + the key with every byte outside [A-Za-z0-9_-] as %XX, so no key
 * can name a path outside the folder. iotassure's Rust side encodes the same way. */
static int keypath(const char *key, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = sizeof NVRAM_DIR - 1, k = 0;
    if (!key || !*key)
        return -1;
    scopy(out, NVRAM_DIR, n);
    for (; key[k]; k++) {
        unsigned char c = (unsigned char)key[k];
        if (k >= MAX_KEY || n + 4 >= cap)
            return -1;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = 0;
    return 0;
}

#define PATH_CAP (sizeof NVRAM_DIR + 3 * MAX_KEY + 16)

/* The value as a fresh NUL-terminated string (callers may keep the pointer as long as they
 * like, as with the device's mapped store), or NULL. */
static char *value_of(const char *key) {
    char path[PATH_CAP];
    char *v;
    off_t size;
    ssize_t got = 0, r;
    int fd;
    if (keypath(key, path, sizeof path))
        return NULL;
    fd = open(path, 0);
    if (fd < 0)
        return NULL;
    size = seek(fd, 0, 2);
    if (size < 0 || size > MAX_VALUE || seek(fd, 0, 0) != 0) {
        close(fd);
        return NULL;
    }
    v = malloc((size_t)size + 1);
    if (!v) {
        close(fd);
        return NULL;
    }
    while (got < size && (r = read(fd, v + got, (size_t)(size - got))) > 0)
        got += r;
    close(fd);
    v[got] = 0;
    return v;
}

EXPORT char *nvram_get(const char *key) {
    char *v = value_of(key);
    if (!v && key && first_miss(key))
        note("nvram-miss", key);
    return v;
}

EXPORT char *nvram_safe_get(const char *key) {
    char *v = nvram_get(key);
    return v ? v : (char *)"";
}

EXPORT int nvram_set(const char *key, const char *value) {
    char path[PATH_CAP], tmp[PATH_CAP + 24];
    size_t n, l, i;
    int fd, pid;
    if (!value)
        value = "";
    l = slen(value);
    if (keypath(key, path, sizeof path) || l > MAX_VALUE)
        return -1;
    /* Written beside and renamed over, so a reader never sees half a value. */
    n = slen(path);
    scopy(tmp, path, n);
    tmp[n++] = '.';
    tmp[n++] = 't';
    pid = getpid();
    for (i = 0; i < 10; i++) {
        tmp[n++] = (char)('0' + pid % 10);
        pid /= 10;
    }
    tmp[n] = 0;
    fd = open(tmp, O_WRONLY_ | O_CREAT_ | O_TRUNC_, 0644);
    if (fd < 0)
        return -1;
    if (l && write(fd, value, l) != (ssize_t)l) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    return rename(tmp, path) == 0 ? 0 : -1;
}

EXPORT int nvram_unset(const char *key) {
    char path[PATH_CAP];
    if (keypath(key, path, sizeof path))
        return -1;
    unlink(path);
    return 0;
}

/* The store is always "committed": there is no flash to write. */
EXPORT int nvram_commit(void) { return 0; }
EXPORT int nvram_init(void *unused) {
    (void)unused;
    return 0;
}
EXPORT int nvram_open(void) { return 0; }
EXPORT int nvram_close(void) { return 0; }

EXPORT int nvram_match(const char *key, const char *match) {
    char *v = nvram_get(key);
    int r = v && match && seq(v, match);
    free(v);
    return r;
}

EXPORT int nvram_invmatch(const char *key, const char *match) {
    char *v = nvram_get(key);
    int r = v && match && !seq(v, match);
    free(v);
    return r;
}

EXPORT int nvram_get_int(const char *key) {
    char *v = nvram_get(key);
    int r = v ? (int)atol_(v) : 0;
    free(v);
    return r;
}

EXPORT int nvram_geti(const char *key) { return nvram_get_int(key); }

EXPORT int nvram_set_int(const char *key, int value) {
    char buf[16];
    int i = 15, neg = value < 0;
    unsigned int u = neg ? 0u - (unsigned int)value : (unsigned int)value;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u && i > 1);
    if (neg)
        buf[--i] = '-';
    return nvram_set(key, buf + i);
}

EXPORT int nvram_seti(const char *key, int value) { return nvram_set_int(key, value); }

EXPORT int nvram_matchi(const char *key, int match) {
    char *v = nvram_get(key);
    int r = v && *v && atol_(v) == match;
    free(v);
    return r;
}

EXPORT int nvram_invmatchi(const char *key, int match) {
    char *v = nvram_get(key);
    int r = v && *v && atol_(v) != match;
    free(v);
    return r;
}

EXPORT int nvram_safe_set(const char *key, const char *value) { return nvram_set(key, value); }
EXPORT int nvram_safe_unset(const char *key) { return nvram_unset(key); }
EXPORT int nvram_immed_set(const char *key, const char *value) { return nvram_set(key, value); }

/* DD-WRT: the value, or `def` (stored) when the key is unset or empty. */
EXPORT char *nvram_default_get(const char *key, const char *def) {
    char *v = nvram_get(key);
    if (v && *v)
        return v;
    free(v);
    if (def)
        nvram_set(key, def);
    return (char *)(def ? def : "");
}

EXPORT int nvram_default_geti(const char *key, int def) {
    char *v = nvram_get(key);
    int r = def;
    if (v && *v)
        r = (int)atol_(v);
    else
        nvram_set_int(key, def);
    free(v);
    return r;
}

EXPORT int nvram_default_match(const char *key, const char *match, const char *def) {
    char *v = nvram_default_get(key, def);
    return match && seq(v, match);
}

/* DD-WRT's printf-style key variants: nvram_nget("wl%d_ssid", 0). */
static int fmtkey(char *out, size_t cap, const char *fmt, va_list ap) {
    int n = vsnprintf(out, cap, fmt, ap);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

EXPORT char *nvram_nget(const char *fmt, ...) {
    char key[MAX_KEY + 1];
    va_list ap;
    int bad;
    va_start(ap, fmt);
    bad = fmtkey(key, sizeof key, fmt, ap);
    va_end(ap);
    if (bad)
        return (char *)"";
    return nvram_safe_get(key);
}

EXPORT int nvram_ngeti(const char *fmt, ...) {
    char key[MAX_KEY + 1];
    va_list ap;
    int bad;
    va_start(ap, fmt);
    bad = fmtkey(key, sizeof key, fmt, ap);
    va_end(ap);
    return bad ? 0 : nvram_get_int(key);
}

EXPORT int nvram_nset(const char *value, const char *fmt, ...) {
    char key[MAX_KEY + 1];
    va_list ap;
    int bad;
    va_start(ap, fmt);
    bad = fmtkey(key, sizeof key, fmt, ap);
    va_end(ap);
    return bad ? -1 : nvram_set(key, value);
}

EXPORT int nvram_nmatch(const char *match, const char *fmt, ...) {
    char key[MAX_KEY + 1];
    va_list ap;
    int bad;
    va_start(ap, fmt);
    bad = fmtkey(key, sizeof key, fmt, ap);
    va_end(ap);
    return bad ? 0 : nvram_match(key, match);
}

/* "key=value\0key=value\0\0" for every key, into `buf`, as the device's driver returns it. */
struct dirent64_ {
    unsigned long long ino;
    long long off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static int unhex(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

EXPORT int nvram_getall(char *buf, int count) {
    char ents[4096], key[MAX_KEY + 1];
    size_t used = 0, cap;
    long n;
    int dir;
    if (!buf || count < 2)
        return -1;
    cap = (size_t)count > MAX_GETALL ? MAX_GETALL : (size_t)count;
    buf[0] = buf[1] = 0;
    dir = open(NVRAM_DIR, O_DIRECTORY_);
    if (dir < 0)
        return 0;
    while ((n = syscall(SYS_GETDENTS64, dir, ents, sizeof ents)) > 0) {
        long off = 0;
        while (off < n) {
            struct dirent64_ *d = (struct dirent64_ *)(ents + off);
            const char *s = d->name;
            size_t k = 0, vl;
            char *v;
            int bad = 0;
            off += d->reclen;
            if (s[0] == '.' || d->reclen == 0)
                continue;
            for (; *s && k < MAX_KEY; s++) {
                if (*s == '.') { /* a half-written ".t<pid>" file */
                    bad = 1;
                    break;
                }
                if (*s == '%' && unhex(s[1]) >= 0 && unhex(s[2]) >= 0) {
                    key[k++] = (char)(unhex(s[1]) * 16 + unhex(s[2]));
                    s += 2;
                } else {
                    key[k++] = *s;
                }
            }
            key[k] = 0;
            if (bad || *s)
                continue;
            v = value_of(key);
            if (!v)
                continue;
            vl = slen(v);
            if (used + k + 1 + vl + 2 <= cap) {
                scopy(buf + used, key, k);
                buf[used + k] = '=';
                scopy(buf + used + k + 1, v, vl);
                used += k + 1 + vl;
                buf[used++] = 0;
                buf[used] = 0;
            }
            free(v);
        }
    }
    close(dir);
    return 0;
}

/* A self-check: with IOTASSURE_SHIM_GET=key in the environment, any dynamically linked
 * program of the image prints "key=value" (or "key unset") at load, through the same lookup
 * the firmware's own calls take. The tests use it to prove the library loads and answers
 * under each CPU's emulator and each C library. */
/* Run through DT_INIT (build.rs passes -init), not .init_array: uClibc 0.9.2x's loader knows
 * only DT_INIT. Not static, so the linker can name it; hidden, so nothing else can. */
void iotassure_shim_init(void);
void iotassure_shim_init(void) {
    const char *key = getenv("IOTASSURE_SHIM_GET");
    char *v;
    if (!key)
        return;
    v = nvram_get(key);
    write(1, "iotassure-shim: ", 16);
    write(1, key, slen(key));
    if (v) {
        write(1, "=", 1);
        write(1, v, slen(v));
    } else {
        write(1, " unset", 6);
    }
    write(1, "\n", 1);
    free(v);
}

