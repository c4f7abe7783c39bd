//! The sealed sandbox one emulation run lives in.
//!
//! `setpriv` drops to an unprivileged outer user (no host file is writable by it except the
//! copy, which is chowned to it), then `unshare` makes new user, mount, network and pid
//! namespaces. Inside, a supervisor shell (the host's `/bin/sh`, before any firmware code
//! runs):
//! - mounts a private binfmt_misc instance (Linux ≥ 6.7 gives each user namespace its own)
//!   and registers the QEMU interpreter there, so the host's binfmt settings are never touched
//!   and firmware programs that exec other firmware programs run emulated too;
//! - brings up `lo`, the only interface: there is no route out of the namespace;
//! - mounts proc, a size-capped tmpfs on /tmp and bind-mounts the harmless host device nodes
//!   (null, zero, random, urandom, tty) and a private devpts into the copy;
//! - starts each service with `prlimit` (data segment, process count, CPU seconds) in a chroot
//!   of the copy, recording its exit status and output;
//! - sleeps out the wall-clock cap, then exits: pid 1 of the namespace dying kills every
//!   process in it. The caller kills it sooner when it is done (`--kill-child` makes the
//!   namespace die with the `unshare` process).
//!
//! The probes join only the network namespace (one thread, setns) and reach the services over
//! the namespace's own loopback.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::arch::Arch;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    /// RLIMIT_DATA per process (bytes). The address-space limit is not used: QEMU reserves the
    /// whole guest address space up front.
    pub memory: u64,
    /// RLIMIT_NPROC, counted for the sandbox's own user (so a fork bomb stops there).
    pub nproc: u64,
    /// RLIMIT_CPU per process (seconds).
    pub cpu_secs: u64,
    /// The whole run's wall-clock cap.
    pub wall: Duration,
    /// The unprivileged outer user every sandboxed process runs as.
    pub outer_uid: u32,
    /// Size of the tmpfs mounted on the copy's /tmp (bytes).
    pub tmpfs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 256 << 20,
            nproc: 96,
            cpu_secs: 60,
            wall: Duration::from_secs(60),
            outer_uid: 0x7e00_0000,
            tmpfs: 32 << 20,
        }
    }
}

/// What the sandbox puts in place of the device's kernel and flash ([`crate::standin`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandIn<'a> {
    /// The library preloaded into every job (written to the copy's root).
    pub library: Option<&'a [u8]>,
    /// Copy `state/nvram` (the key files the caller wrote) to the sandbox's /tmp/.nvram.
    pub nvram: bool,
}

/// One program to start in the chroot: `prep` commands run first, in order, then `argv`.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub name: String,
    pub prep: Vec<Vec<String>>,
    pub argv: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0} is needed for the sandbox but was not found (Debian package {1})")]
    Missing(String, &'static str),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("the sandbox did not come up within {secs} s: {log}")]
    NotReady { secs: u64, log: String },
    #[error("the sandbox needs root: it drops to an unprivileged user inside new namespaces, and setting those up takes root")]
    NotRoot,
    #[error("a command line from the image holds a NUL byte: {0:?}")]
    Nul(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Io { what, source }
}

pub fn which(tool: &str) -> Option<PathBuf> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/bin", "/usr/sbin", "/bin", "/sbin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// Single-quotes a word for sh: the image's text is never interpreted by the host shell.
pub fn quote(s: &str) -> Result<String, SandboxError> {
    if s.contains('\0') {
        return Err(SandboxError::Nul(s.to_string()));
    }
    Ok(format!("'{}'", s.replace('\'', "'\\''")))
}

fn quote_all(v: &[String]) -> Result<String, SandboxError> {
    Ok(v.iter()
        .map(|s| quote(s))
        .collect::<Result<Vec<_>, _>>()?
        .join(" "))
}

pub struct Sandbox {
    child: Child,
    pub state: PathBuf,
    pub started: Instant,
    pub limits: Limits,
    pub jobs: Vec<Job>,
}

/// What became of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobState {
    pub name: String,
    /// Exit status, once it exited (a daemon that forked exits 0 at once).
    pub exit: Option<i32>,
    /// The last lines it wrote (stdout and stderr), at most 2 KiB.
    pub output: String,
}

impl Sandbox {
    /// Starts the sandbox on the copy `root` and launches `jobs` in it. `state` is a folder
    /// (outside the copy) for the supervisor's script, logs and exit statuses.
    pub fn start(
        root: &Path,
        state: &Path,
        arch: Arch,
        jobs: Vec<Job>,
        seeds: &[crate::firstboot::Seed],
        limits: Limits,
    ) -> Result<Sandbox, SandboxError> {
        Self::start_with(root, state, arch, jobs, seeds, limits, StandIn::default())
    }

    /// [`Sandbox::start`], with the stand-in library and NVRAM store in place.
    pub fn start_with(
        root: &Path,
        state: &Path,
        arch: Arch,
        jobs: Vec<Job>,
        seeds: &[crate::firstboot::Seed],
        limits: Limits,
        standin: StandIn<'_>,
    ) -> Result<Sandbox, SandboxError> {
        if !rustix::process::geteuid().is_root() {
            return Err(SandboxError::NotRoot);
        }
        for (tool, pkg) in [
            ("setpriv", "util-linux"),
            ("unshare", "util-linux"),
            ("pivot_root", "util-linux"),
            ("dash", "dash"),
            ("ip", "iproute2"),
        ] {
            if which(tool).is_none() {
                return Err(SandboxError::Missing(tool.into(), pkg));
            }
        }
        let qemu = if arch.is_native() {
            None
        } else {
            Some(
                which(arch.qemu())
                    .ok_or_else(|| SandboxError::Missing(arch.qemu().into(), "qemu-user-static"))?,
            )
        };
        fs::create_dir_all(state.join("out"))
            .map_err(io(format!("creating {}", state.display())))?;
        let mut seeded = Vec::new();
        for (i, sd) in seeds.iter().enumerate() {
            // Only plain paths under the fresh tmpfs: nothing there can be a symlink yet.
            let rel = sd.path.trim_start_matches('/');
            let ok = rel.starts_with("tmp/")
                && rel
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != "..");
            if ok {
                let f = state.join(format!("seed{i}"));
                fs::write(&f, &sd.data).map_err(io(format!("writing {}", f.display())))?;
                seeded.push((format!("seed{i}"), rel.to_string()));
            }
        }
        // Static (Debian's busybox is): it runs after the host's libraries are detached.
        let busybox =
            which("busybox").ok_or(SandboxError::Missing("busybox".into(), "busybox-static"))?;
        let busybox = busybox.canonicalize().unwrap_or(busybox);
        let head = iotassure_core::tree::read_limited(&busybox, 4096).unwrap_or_default();
        if head
            .windows(8)
            .any(|w| w == b"/lib64/l" || w == b"/lib/ld-")
        {
            return Err(SandboxError::Missing(
                format!(
                    "a static busybox ({} is dynamically linked)",
                    busybox.display()
                ),
                "busybox-static",
            ));
        }
        if let Some(lib) = standin.library {
            // create_new: never through a link or over a file the image put there.
            let p = root.join(crate::standin::PRELOAD_PATH.trim_start_matches('/'));
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o755)
                .open(&p)
                .map_err(io(format!(
                    "placing the stand-in library at {}",
                    p.display()
                )))?;
            std::io::Write::write_all(&mut f, lib)
                .map_err(io(format!("writing {}", p.display())))?;
        }
        let script = supervisor(
            root,
            state,
            qemu.as_deref().map(|q| (q, arch)),
            &jobs,
            &seeded,
            &busybox,
            &limits,
            standin,
        )?;
        let sp = state.join("supervisor.sh");
        fs::write(&sp, script).map_err(io(format!("writing {}", sp.display())))?;
        crate::rootcopy::chown_tree(root, limits.outer_uid).map_err(io(format!(
            "handing {} to the sandbox user",
            root.display()
        )))?;
        crate::rootcopy::chown_tree(state, limits.outer_uid).map_err(io(format!(
            "handing {} to the sandbox user",
            state.display()
        )))?;
        let uid = limits.outer_uid.to_string();
        let log = fs::File::create(state.join("supervisor.log"))
            .map_err(io("creating the supervisor log"))?;
        let child = Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
                "--",
                "unshare",
                "--user",
                "--mount",
                "--net",
                "--pid",
                "--ipc",
                "--uts",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--",
                "/bin/dash",
            ])
            .arg(&sp)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().map_err(io("supervisor log"))?)
            .stderr(log)
            .spawn()
            .map_err(io("starting setpriv/unshare"))?;
        let mut sb = Sandbox {
            child,
            state: state.to_path_buf(),
            started: Instant::now(),
            limits,
            jobs,
        };
        sb.map_ids().inspect_err(|_| sb.stop())?;
        let wait = Duration::from_secs(10);
        while !state.join("out/ready").exists() {
            if sb.started.elapsed() > wait || sb.child.try_wait().ok().flatten().is_some() {
                let log = fs::read_to_string(state.join("supervisor.log")).unwrap_or_default();
                sb.stop();
                return Err(SandboxError::NotReady {
                    secs: wait.as_secs(),
                    log: tail(&log, 1000),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(sb)
    }

    /// Maps root inside the new user namespace to the outer user, written from here (a
    /// privileged writer) rather than by `unshare --map-root-user`, so `setgroups` stays
    /// allowed inside: `login` calls it, and an unprivileged mapping would have to deny it.
    fn map_ids(&mut self) -> Result<(), SandboxError> {
        let ours = fs::read_link("/proc/self/ns/user").map_err(io("reading our user namespace"))?;
        let pid = self.child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match fs::read_link(format!("/proc/{pid}/ns/user")) {
                Ok(ns) if ns != ours => break,
                _ if Instant::now() > deadline
                    || self.child.try_wait().ok().flatten().is_some() =>
                {
                    return Err(SandboxError::NotReady {
                        secs: 5,
                        log: "unshare did not make a user namespace".into(),
                    })
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let line = format!("0 {} 1\n", self.limits.outer_uid);
        for f in ["uid_map", "gid_map"] {
            fs::write(format!("/proc/{pid}/{f}"), &line)
                .map_err(io(format!("writing /proc/{pid}/{f}")))?;
        }
        fs::write(self.state.join("mapped"), b"").map_err(io("signalling the mapping"))?;
        Ok(())
    }

    /// The network namespace the services live in.
    pub fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.child.id()))
    }

    /// TCP ports in LISTEN state and bound UDP ports, inside the sandbox.
    pub fn listening(&self) -> (Vec<u16>, Vec<u16>) {
        let base = format!("/proc/{}/net", self.child.id());
        let mut tcp = Vec::new();
        let mut udp = Vec::new();
        for (f, is_tcp) in [
            ("tcp", true),
            ("tcp6", true),
            ("udp", false),
            ("udp6", false),
        ] {
            let (list, want) = if is_tcp {
                (&mut tcp, Some("0A"))
            } else {
                (&mut udp, None)
            };
            let Ok(text) = fs::read_to_string(format!("{base}/{f}")) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.len() < 4 || want.is_some_and(|s| w[3] != s) {
                    continue;
                }
                if let Some(port) = w[1]
                    .rsplit(':')
                    .next()
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
                {
                    if !list.contains(&port) {
                        list.push(port);
                    }
                }
            }
        }
        tcp.sort_unstable();
        udp.sort_unstable();
        (tcp, udp)
    }

    pub fn job(&self, i: usize) -> JobState {
        // The sandbox writes these files: never follow a link it may have put there.
        let read = |name: String| {
            iotassure_core::tree::read_limited(&self.state.join("out").join(name), 1 << 20)
                .unwrap_or_default()
        };
        let exit = String::from_utf8_lossy(&read(format!("job{i}.exit")))
            .trim()
            .parse()
            .ok();
        let raw = read(format!("job{i}.log"));
        let text = String::from_utf8_lossy(&raw[raw.len().saturating_sub(2048)..]).into_owned();
        JobState {
            name: self.jobs[i].name.clone(),
            exit,
            output: text,
        }
    }

    /// Runs `f` on a thread that has joined the sandbox's network namespace (only that one).
    pub fn in_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, SandboxError> {
        let ns = self.netns();
        let file = fs::File::open(&ns).map_err(io(format!("opening {}", ns.display())))?;
        std::thread::scope(|s| {
            s.spawn(move || {
                rustix::thread::move_into_link_name_space(
                    std::os::fd::AsFd::as_fd(&file),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .map_err(|e| SandboxError::Io {
                    what: "joining the sandbox's network namespace".into(),
                    source: e.into(),
                })?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| {
                Err(SandboxError::Io {
                    what: "the probing thread".into(),
                    source: std::io::Error::other("panicked"),
                })
            })
        })
    }

    pub fn remaining(&self) -> Duration {
        self.limits.wall.saturating_sub(self.started.elapsed())
    }

    /// Kills every process of the sandbox and waits for the namespace to go.
    pub fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tail(s: &str, n: usize) -> String {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].trim().to_string()
}

// One call site; the arguments are the run's parts, not options to bundle.
#[allow(clippy::too_many_arguments)]
fn supervisor(
    root: &Path,
    state: &Path,
    emulator: Option<(&Path, Arch)>,
    jobs: &[Job],
    seeds: &[(String, String)],
    busybox: &Path,
    l: &Limits,
    standin: StandIn<'_>,
) -> Result<String, SandboxError> {
    let r = quote(&root.to_string_lossy())?;
    let st = quote(&state.to_string_lossy())?;
    let mut s = String::from("#!/bin/dash\n# Written by iotassure emulate: runs inside fresh user, mount, net, pid, ipc and uts namespaces.\n");
    let _ = writeln!(
        s,
        "R={r}\nS={st}\nfail() {{ echo \"sandbox set-up: $*\" >&2; exit 1; }}"
    );
    // The caller maps our user ids once the namespace exists; nothing runs before that.
    let _ = writeln!(s, "n=0; while [ ! -e \"$S/mapped\" ]; do n=$((n+1)); [ $n -gt 500 ] && fail 'no id mapping'; sleep 0.01; done");
    if let Some((q, arch)) = emulator {
        let rule = arch.binfmt_rule("iotassure-emulate", &q.to_string_lossy());
        // F: the kernel opens the interpreter now, so it still runs after the host's
        // filesystem is gone from this namespace.
        let _ = writeln!(
            s,
            "mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || fail 'no private binfmt_misc (needs Linux >= 6.7)'\nprintf '%s\\n' {} > /proc/sys/fs/binfmt_misc/register || fail 'binfmt register'",
            quote(&rule)?
        );
    }
    let _ = writeln!(
        s,
        r#"ip link set lo up || fail 'lo'
# Writes land in a size-capped tmpfs above the copy (overlayfs), never on the host's disk.
mkdir -p "$S/ovl" && mount -t tmpfs -o size={tmpfs} tmpfs "$S/ovl" && mkdir -p "$S/ovl/up" "$S/ovl/work" || fail 'overlay tmpfs'
mount -t overlay overlay -o "lowerdir=$R,upperdir=$S/ovl/up,workdir=$S/ovl/work" "$R" || mount --bind "$R" "$R" || fail 'bind the root'
mount -t proc proc "$R/proc" || fail proc
# The binfmt_misc instance lives while one of its mounts does: keep one inside the copy, or
# detaching the host's filesystem would drop the QEMU entry.
if [ -e /proc/sys/fs/binfmt_misc/iotassure-emulate ]; then mount -t binfmt_misc binfmt_misc "$R/proc/sys/fs/binfmt_misc" || fail binfmt_misc-in-the-copy; fi
mount -t tmpfs -o size={tmpfs},mode=1777 tmpfs "$R/tmp" || fail tmpfs
mkdir -p "$R/tmp/var/run" "$R/tmp/var/lock" "$R/tmp/var/log" "$R/tmp/run" "$R/tmp/lock" "$R/tmp/log" "$R/tmp/etc" "$R/dev/pts" "$R/.iotassure" "$R/.oldroot" || fail mount-points
mount --bind "$S/out" "$R/.iotassure" || fail 'bind the state folder'
for n in null zero random urandom tty; do
  [ -L "$R/dev/$n" ] && rm -f "$R/dev/$n"
  : > "$R/dev/$n" 2>/dev/null; mount --bind "/dev/$n" "$R/dev/$n" 2>/dev/null
done
if mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts" 2>/dev/null; then
  [ -L "$R/dev/ptmx" ] && rm -f "$R/dev/ptmx"
  : > "$R/dev/ptmx" 2>/dev/null; mount --bind "$R/dev/pts/ptmx" "$R/dev/ptmx" 2>/dev/null
fi"#,
        tmpfs = l.tmpfs
    );
    for (file, rel) in seeds {
        let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("tmp");
        let _ = writeln!(
            s,
            "mkdir -p \"$R\"/{} && cp \"$S\"/{} \"$R\"/{}",
            quote(dir)?,
            quote(file)?,
            quote(rel)?
        );
    }
    if standin.nvram {
        // The store lives in the sandbox's /tmp, so firmware writes stay in its tmpfs.
        let _ = writeln!(
            s,
            "cp -R \"$S\"/{nv} \"$R/tmp/.nvram\" || fail 'nvram store'",
            nv = crate::standin::NVRAM_DIR
        );
    }
    // The copy becomes this namespace's root and the host's filesystem is detached (by the
    // host's static busybox, which needs no library from the old root): a
    // process that leaves its chroot or reads /proc/1/root finds only the copy. From here on
    // only dash builtins run on the host side (the script is already open).
    let _ = writeln!(
        s,
        r#"cd "$R" || fail cd
pivot_root . .oldroot || fail pivot_root
{bb} umount -l /.oldroot || fail 'detach the host filesystem'
cd /
: > /.iotassure/ready"#,
        bb = quote(&format!("/.oldroot{}", busybox.to_string_lossy()))?
    );
    let lim = format!(
        "ulimit -d {}; ulimit -p {}; ulimit -t {}; ulimit -c 0; ulimit -f 32768",
        l.memory / 1024,
        l.nproc,
        l.cpu_secs
    );
    // A 64 MiB guest stack: LinuxThreads puts thread stacks in 2 MiB slots below the main
    // thread's, and with QEMU's default 8 MiB the slots run into the libraries QEMU maps just
    // under the stack (see shim/qemu.c). QEMU passes the variable on to the programs
    // a firmware program starts.
    let preload = if standin.library.is_some() {
        format!(
            "export LD_PRELOAD={} QEMU_STACK_SIZE=67108864; ",
            quote(crate::standin::PRELOAD_PATH)?
        )
    } else {
        String::new()
    };
    for (i, j) in jobs.iter().enumerate() {
        let mut body = preload.clone();
        for p in &j.prep {
            let _ = write!(body, "{}; ", quote_all(p)?);
        }
        let _ = writeln!(
            s,
            "( ( {lim}; {body}exec {} ) < /dev/null > /.iotassure/job{i}.log 2>&1; echo $? > /.iotassure/job{i}.exit ) &",
            quote_all(&j.argv)?
        );
    }
    // Pid 1 stays until the caller closes our standard input (or dies): then every process of
    // the namespace is killed with it.
    let _ = writeln!(s, ": > /.iotassure/started\nread _ || true\n");
    Ok(s)
}
