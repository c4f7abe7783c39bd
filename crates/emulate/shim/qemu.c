/* What QEMU user mode does differently from the device's kernel (see shim.c). */

#include "shim.h"

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

