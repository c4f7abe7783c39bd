/*
 * iotassure's stand-in for what a router's kernel and flash give its programs, preloaded
 * (LD_PRELOAD) into every firmware process that `iotassure emulate` starts under QEMU user
 * mode. Written for this project; no code of FirmAE's libnvram or any other stand-in is used.
 *
 * It must load under the firmware's own dynamic linker (uClibc, musl or glibc, old or new),
 * so it is built freestanding: no libc headers, no TLS, no atomics, no floating point.
 * Functions of the C library that every libc has (open, read, write, malloc, vsnprintf,
 * syscall ...) are left undefined and bound by the firmware's loader to the firmware's libc.
 *
 * 1. NVRAM. The configuration store of Broadcom-style routers is a kernel driver
 *    (/dev/nvram) that does not exist here. nvram_get and its kin are answered from one file
 *    per key under /tmp/.nvram/, which iotassure seeds before start from the image's own
 *    default table; writes go to the same files, so every process sees them. A key read that
 *    has neither a value nor a default is logged as evidence ("nvram-miss KEY").
 * 2. SysV shared memory at a fixed address. QEMU user mode (7.2) reserves the guest's whole
 *    address space and then asks the host for the segment at the fixed address without
 *    SHM_REMAP, so shmat(id, 0x58800000, 0) fails with EINVAL where the device succeeds
 *    (TP-Link's configuration daemon `cos`). A failed fixed-address shmat is retried once
 *    with SHM_REMAP, which replaces QEMU's reservation only.
 *
 * Everything this library does is logged, one line per event, to /.iotassure/shim.log (the
 * sandbox's state folder), capped in size; iotassure reads it back into emulation.json.
 */

typedef unsigned long size_t;
typedef long ssize_t;
typedef long off_t;
typedef __builtin_va_list va_list;
#define va_start(v, l) __builtin_va_start(v, l)
#define va_end(v) __builtin_va_end(v)
#define NULL ((void *)0)
#define EXPORT __attribute__((visibility("default")))

/* open(2) flags differ on MIPS. */
#if defined(__mips__)
#define O_WRONLY_ 0x1
#define O_CREAT_ 0x100
#define O_TRUNC_ 0x200
#define O_APPEND_ 0x8
#define O_DIRECTORY_ 0x10000
#else
#define O_WRONLY_ 01
#define O_CREAT_ 0100
#define O_TRUNC_ 01000
#define O_APPEND_ 02000
#if defined(__arm__) || defined(__aarch64__)
#define O_DIRECTORY_ 040000
#else
#define O_DIRECTORY_ 0200000
#endif
#endif

/* System call numbers for the calls the C libraries do not all wrap the same way (lseek's
 * off_t is 64 bits in musl and 32 in uClibc on the same CPU, so it goes through syscall()). */
#if defined(__mips__)
#define SYS_IPC 4117 /* shmat through ipc(2) on o32 */
#define SYS_GETDENTS64 4219
#define SYS_LSEEK 4019
#define SYS_IOCTL 4054
#define ENOSYS_ 89
#define SYS_GETTID 4222
#define SYS_GETPID 4020
#define SYS_GETPPID 4064
#define SYS_KILL 4037
#define SYS_TGKILL 4266
#define SYS_MMAP2 4210
#define SYS_MUNMAP 4091
#define MAP_PRIVATE_ANON 0x802
#elif defined(__arm__)
#define SYS_SHMAT 305
#define SYS_GETDENTS64 217
#define SYS_LSEEK 19
#define SYS_IOCTL 54
#define ENOSYS_ 38
#define SYS_GETTID 224
#define SYS_GETPID 20
#define SYS_GETPPID 64
#define SYS_KILL 37
#define SYS_TGKILL 268
#define SYS_MMAP2 192
#define SYS_MUNMAP 91
#define MAP_PRIVATE_ANON 0x22
#elif defined(__aarch64__)
#define SYS_SHMAT 196
#define SYS_GETDENTS64 61
#define SYS_LSEEK 62
#define SYS_IOCTL 29
#define ENOSYS_ 38
#define SYS_GETTID 178
#define SYS_GETPID 172
#define SYS_GETPPID 173
#define SYS_KILL 129
#define SYS_TGKILL 131
#elif defined(__i386__)
#define SYS_IPC 117
#define SYS_GETDENTS64 220
#define SYS_LSEEK 19
#define SYS_IOCTL 54
#define ENOSYS_ 38
#define SYS_GETTID 224
#define SYS_GETPID 20
#define SYS_GETPPID 64
#define SYS_KILL 37
#define SYS_TGKILL 270
#define SYS_MMAP2 192
#define SYS_MUNMAP 91
#define MAP_PRIVATE_ANON 0x22
#elif defined(__x86_64__)
#define SYS_SHMAT 30
#define SYS_GETDENTS64 217
#define SYS_LSEEK 8
#define SYS_IOCTL 16
#define ENOSYS_ 38
#define SYS_GETTID 186
#define SYS_GETPID 39
#define SYS_GETPPID 110
#define SYS_KILL 62
#define SYS_TGKILL 234
#else
#error "unsupported CPU"
#endif
#define IPC_SHMAT 21
#define SHM_REMAP 040000

/* The C library's, bound by the firmware's loader. */
extern int open(const char *, int, ...);
extern ssize_t read(int, void *, size_t);
extern ssize_t write(int, const void *, size_t);
extern int close(int);
extern int rename(const char *, const char *);
extern int unlink(const char *);
extern int getpid(void);
extern void *malloc(size_t);
extern void free(void *);
extern char *getenv(const char *);
extern long syscall(long, ...);
extern int vsnprintf(char *, size_t, const char *, va_list);
/* Weak: a libc without threads may lack it, and the library must still load there. */
extern int *__errno_location(void) __attribute__((weak));
/* uClibc and glibc export it beside clone(); musl does not (and has no LinuxThreads). */
extern int __clone(int (*)(void *), void *, int, void *, ...) __attribute__((weak));

static off_t seek(int fd, off_t off, int whence) { return syscall(SYS_LSEEK, fd, off, whence); }

#define NVRAM_DIR "/tmp/.nvram/"
#define LOG_PATH "/.iotassure/shim.log"
/* Bounds: a key is a short identifier on every device; values hold at most a certificate. */
#define MAX_KEY 80
#define MAX_VALUE (64 * 1024)
#define MAX_LOG (256 * 1024)
#define MAX_GETALL (1024 * 1024)

static size_t slen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int seq(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void scopy(char *to, const char *from, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        to[i] = from[i];
}

static long atol_(const char *s) {
    long v = 0;
    int neg = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}

/* The program's name (argv[0]'s last part), from /proc/self/cmdline, which QEMU answers with
 * the guest's own command line. */
static void progname(char *out, size_t cap) {
    char buf[128];
    int fd = open("/proc/self/cmdline", 0);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    size_t i, start = 0, len;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        scopy(out, "?", 2);
        return;
    }
    buf[n] = 0;
    for (i = 0; buf[i]; i++)
        if (buf[i] == '/')
            start = i + 1;
    len = slen(buf + start);
    if (len >= cap)
        len = cap - 1;
    scopy(out, buf + start, len);
    out[len] = 0;
}

/* Appends "PROGRAM EVENT DETAIL\n" to the log, while it is under its cap. */
static void note(const char *event, const char *detail) {
    char line[256], prog[40];
    size_t n = 0, l;
    int fd = open(LOG_PATH, O_WRONLY_ | O_CREAT_ | O_APPEND_, 0644);
    if (fd < 0)
        return;
    if (seek(fd, 0, 2) > MAX_LOG) {
        close(fd);
        return;
    }
    progname(prog, sizeof prog);
    l = slen(prog);
    scopy(line, prog, l);
    n = l;
    line[n++] = ' ';
    l = slen(event);
    if (l > 40)
        l = 40;
    scopy(line + n, event, l);
    n += l;
    line[n++] = ' ';
    l = slen(detail);
    if (l > sizeof line - n - 1)
        l = sizeof line - n - 1;
    scopy(line + n, detail, l);
    n += l;
    line[n++] = '\n';
    write(fd, line, n);
    close(fd);
}

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

/* Misses already logged by this process (FNV-1a hashes): a daemon that asks for the same
 * absent key on every request logs it once. */
static unsigned int logged[128];
static unsigned int nlogged;

static int first_miss(const char *key) {
    unsigned int h = 2166136261u, i;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    h |= 1;
    for (i = 0; i < nlogged && i < 128; i++)
        if (logged[i] == h)
            return 0;
    logged[nlogged++ % 128] = h;
    return 1;
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

/* ---- SysV shared memory at a fixed address ---- */

static long raw_shmat(int id, const void *addr, int flags) {
#if defined(SYS_IPC)
    unsigned long result = 0;
    long r = syscall(SYS_IPC, IPC_SHMAT, id, flags, &result, addr, 0);
    return r == 0 ? (long)result : -1;
#else
    return syscall(SYS_SHMAT, id, addr, flags);
#endif
}

EXPORT void *shmat(int id, const void *addr, int flags) {
    long r = raw_shmat(id, addr, flags);
    if (r == -1 && addr && !(flags & SHM_REMAP)) {
        char detail[24];
        unsigned long a = (unsigned long)addr;
        int i;
        r = raw_shmat(id, addr, flags | SHM_REMAP);
        detail[0] = '0';
        detail[1] = 'x';
        for (i = 0; i < 8; i++)
            detail[2 + i] = "0123456789abcdef"[(a >> (28 - 4 * i)) & 15];
        scopy(detail + 10, r == -1 ? " failed" : " ok", r == -1 ? 8 : 4);
        note("shmat-fixed-address", detail);
    }
    return (void *)r;
}

/* ---- Device ioctls QEMU does not know ----
 * QEMU user mode answers ENOSYS for an ioctl it has no table entry for. The device-private
 * socket ioctls (SIOCDEVPRIVATE..+15) are how router programs reach their switch and Wi-Fi
 * drivers; with ENOSYS TP-Link's `cos` polls a switch register forever. Those, and only
 * those, are answered "done" (0): the program goes on as with a switch that has nothing to
 * report. Buffers are left as they were, except for the one read whose layout is known:
 * Ralink/MediaTek's switch register read (SIOCDEVPRIVATE+1 on an ethN interface, ifr_data
 * -> {u32 offset; u32 value}). Its callers poll a register until a "done" bit is set or a
 * "busy" bit is clear, and retry forever (TP-Link's swClear restarts its wait endlessly), so
 * reads alternate between all-zero and all-one: both kinds of wait end by the second read.
 * The values mean nothing; the switch's configuration is not emulated. Every other ioctl is
 * passed through. */
#define SIOCDEVPRIVATE 0x89F0
#define IFR_DATA_OFFSET 16

EXPORT int ioctl(int fd, unsigned long request, void *arg) {
    long r = syscall(SYS_IOCTL, fd, request, arg);
    if (r == -1 && (request & 0xffff) >= SIOCDEVPRIVATE && (request & 0xffff) <= SIOCDEVPRIVATE + 15 &&
        __errno_location && *__errno_location() == ENOSYS_) {
        char detail[64];
        static const char hex[] = "0123456789abcdef";
        size_t n = 0, l;
        int i;
        detail[n++] = '0';
        detail[n++] = 'x';
        for (i = 12; i >= 0; i -= 4)
            detail[n++] = hex[(request >> i) & 15];
        detail[n++] = ' ';
        /* struct ifreq starts with the interface name. */
        for (l = 0; arg && l < 15 && ((const char *)arg)[l]; l++)
            detail[n++] = ((const char *)arg)[l];
        detail[n] = 0;
        if (first_miss(detail))
            note("ioctl-stub", detail);
        if ((request & 0xffff) == SIOCDEVPRIVATE + 1 && arg && ((const char *)arg)[0] == 'e' &&
            ((const char *)arg)[1] == 't' && ((const char *)arg)[2] == 'h') {
            unsigned int *reg = *(unsigned int **)((char *)arg + IFR_DATA_OFFSET);
            static unsigned int reads;
            if (reg)
                reg[1] = (reads++ & 1) ? 0xffffffffu : 0;
        }
        return 0;
    }
    return (int)r;
}

/* ---- LinuxThreads under QEMU ----
 * Old uClibc's LinuxThreads makes each thread a process sharing the address space:
 * clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND). QEMU user mode runs a CLONE_VM child
 * only as a host thread of the same thread group, so it refuses that with EINVAL and every
 * pthread_create fails (TP-Link's `cos`: "os_threadCreate: Invalid argument"). The clone is
 * made a thread-group member instead, and the two places where LinuxThreads relies on a
 * thread being its own process are kept true: its manager watches getppid() to learn that
 * the main thread died (a thread is told its process is its parent), and it wakes one
 * thread with kill(thread_pid, sig) (sent to that very thread with tgkill).
 * LinuxThreads also maps each thread's stack as 16 KiB with MAP_GROWSDOWN and lets the kernel
 * grow it; under QEMU the pages below are QEMU's reservation, so the stack never grows and
 * the thread dies at its first deep call. The stack gets 1 MiB below it, where free (its
 * slot is 2 MiB). */
#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000

static int threads_converted;

#if defined(SYS_MMAP2)
#define THREAD_STACK (1UL << 20)
static void grow_stack(void *stack) {
    unsigned long top = ((unsigned long)stack + 4095) & ~4095UL;
    unsigned long want = top - 4 * 4096 - THREAD_STACK;
    long got = syscall(SYS_MMAP2, want, THREAD_STACK, 7, MAP_PRIVATE_ANON, -1, 0);
    /* Only a hint: somewhere else means the slot is taken, and the mapping is not wanted. */
    if (got != -1 && (unsigned long)got != want)
        syscall(SYS_MUNMAP, got, THREAD_STACK);
}
#else
static void grow_stack(void *stack) { (void)stack; }
#endif

EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...) {
    va_list ap;
    void *ptid, *tls, *ctid;
    if (!__clone)
        return -1;
    if ((flags & CLONE_VM) && !(flags & CLONE_THREAD)) {
        if (!threads_converted)
            note("clone-as-thread", "LinuxThreads clone made a thread-group member");
        threads_converted = 1;
        /* Threads ask for an exit signal; the manager (on a static stack) does not. */
        if (flags & 0xff)
            grow_stack(stack);
        flags |= CLONE_THREAD | CLONE_SIGHAND | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM;
    }
    va_start(ap, arg);
    ptid = __builtin_va_arg(ap, void *);
    tls = __builtin_va_arg(ap, void *);
    ctid = __builtin_va_arg(ap, void *);
    va_end(ap);
    return __clone(fn, stack, flags, arg, ptid, tls, ctid);
}

EXPORT int getppid(void) {
    if (threads_converted) {
        long pid = syscall(SYS_GETPID), tid = syscall(SYS_GETTID);
        if (tid != pid)
            return (int)pid;
    }
    return (int)syscall(SYS_GETPPID);
}

EXPORT int kill(int pid, int sig) {
    if (threads_converted && pid > 0) {
        long self = syscall(SYS_GETPID);
        if (syscall(SYS_TGKILL, self, pid, sig) == 0)
            return 0;
    }
    return (int)syscall(SYS_KILL, pid, sig);
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
