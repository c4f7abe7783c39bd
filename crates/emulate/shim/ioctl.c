#include "shim.h"

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

