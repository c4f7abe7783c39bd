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
 * 3. LinuxThreads (old uClibc), whose process-per-thread clone QEMU refuses.
 * 4. Device-private ioctls (switch, Wi-Fi), which QEMU answers with ENOSYS.
 *
 * Its parts: nvram.c (1), qemu.c (2, 3), ioctl.c (4); this file holds the log and the small
 * string helpers they share, shim.h the declarations and each CPU's numbers.
 *
 * Everything this library does is logged, one line per event, to /.iotassure/shim.log (the
 * sandbox's state folder), capped in size; iotassure reads it back into emulation.json.
 */

#include "shim.h"

off_t seek(int fd, off_t off, int whence) { return syscall(SYS_LSEEK, fd, off, whence); }


size_t slen(const char *s) {
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int seq(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

void scopy(char *to, const char *from, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        to[i] = from[i];
}

long atol_(const char *s) {
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
void note(const char *event, const char *detail) {
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

/* Misses already logged by this process (FNV-1a hashes): a daemon that asks for the same
 * absent key on every request logs it once. */
static unsigned int logged[128];
static unsigned int nlogged;

int first_miss(const char *key) {
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

