/* Shared by the parts of iotassure's stand-in (see shim.c for what it is and why). */
#ifndef IOTASSURE_SHIM_H
#define IOTASSURE_SHIM_H

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


#define NVRAM_DIR "/tmp/.nvram/"
#define LOG_PATH "/.iotassure/shim.log"
/* Bounds: a key is a short identifier on every device; values hold at most a certificate. */
#define MAX_KEY 80
#define MAX_VALUE (64 * 1024)
#define MAX_LOG (256 * 1024)
#define MAX_GETALL (1024 * 1024)

/* Helpers of shim.c, hidden (the build gives everything hidden visibility but EXPORT). */
off_t seek(int fd, off_t off, int whence);
size_t slen(const char *s);
int seq(const char *a, const char *b);
void scopy(char *to, const char *from, size_t n);
long atol_(const char *s);
void note(const char *event, const char *detail);
int first_miss(const char *key);

#endif
