//! Fixture builders for the device tests: real daemons (busybox telnetd, dropbear, lighttpd,
//! mosquitto, openssl s_server, an SSDP responder, miniupnpd), each on a loopback address of its
//! own (127.x.y.z, so scans of it see only that test's daemons) or inside a network namespace
//! the test creates (a veth pair in 10.250.0.0/24). Everything started is stopped on drop, and
//! namespaces are deleted on drop, also when the test fails.
//!
//! Accounts for telnetd and dropbear live in a private mount namespace (`unshare -m`) where
//! temporary passwd/shadow/group files are bind-mounted over /etc: the host's accounts are never
//! touched. Hashes are SHA-512 crypt (`openssl passwd -6`), because busybox login cannot read
//! yescrypt.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::require_tool;

/// The password of the accounts the hardened variants use (not in any list).
pub const STRONG_PASSWORD: &str = "Vq7-tUw2-Zr9k-Lp4x";
/// The account of the lockout variant of telnetd.
pub const LOCKOUT_USER: &str = "operator";

/// Fails loudly unless running as root (namespaces, bind mounts and low ports need it).
pub fn require_root() {
    let out = Command::new("id").arg("-u").output().expect("id");
    let uid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(uid, "0", "the device tests start daemons in private mount and network namespaces and need root (CI runs as root)");
}

/// A temporary folder removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "iotassure-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, data).expect("write fixture");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where daemons run: a loopback address of its own, or the device end of a namespace.
#[derive(Clone)]
pub struct Host {
    pub ip: IpAddr,
    /// The network namespace to run daemons in (None: the test's own).
    pub netns: Option<String>,
}

/// A fresh loopback address, distinct per test and per test process.
pub fn loopback() -> Host {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let ip = Ipv4Addr::new(
        127,
        100 + (pid % 100) as u8,
        (pid / 100 % 200) as u8 + (n / 250) as u8,
        (n % 250) as u8 + 2,
    );
    Host {
        ip: IpAddr::V4(ip),
        netns: None,
    }
}

/// A running daemon; killed on drop.
pub struct Daemon {
    pub name: String,
    pub ip: IpAddr,
    pub port: u16,
    child: Option<Child>,
    stop: Option<Arc<AtomicBool>>,
    _dir: Option<TempDir>,
    log: PathBuf,
}

impl Daemon {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }

    /// The daemon's output so far (for test failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(s) = &self.stop {
            s.store(true, Ordering::Relaxed);
        }
    }
}

/// Runs `script` with `sh -c` (in `host`'s namespace; with private mounts if asked), waits for
/// `port` to accept TCP connections, and panics with the daemon's output if it never does.
fn spawn(
    host: &Host,
    name: &str,
    script: &str,
    dir: TempDir,
    port: u16,
    private_mounts: bool,
) -> Daemon {
    let log = dir.path().join(format!("{name}.log"));
    let logf = std::fs::File::create(&log).expect("log file");
    let mut cmd = match &host.netns {
        Some(ns) => {
            let mut c = Command::new(require_tool("ip", "iproute2"));
            c.args(["netns", "exec", ns]);
            c
        }
        None => Command::new("env"),
    };
    if private_mounts {
        cmd.arg(require_tool("unshare", "util-linux"))
            .args(["-m", "--propagation", "private"]);
    }
    cmd.args(["sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(logf.try_clone().expect("log"))
        .stderr(logf);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut d = Daemon {
        name: name.into(),
        ip: host.ip,
        port,
        child: Some(child),
        stop: None,
        _dir: Some(dir),
        log,
    };
    wait_tcp(&mut d, Duration::from_secs(10));
    d
}

fn wait_tcp(d: &mut Daemon, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect_timeout(&d.addr(), Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Some(c) = &mut d.child {
            if let Ok(Some(st)) = c.try_wait() {
                panic!(
                    "{} exited ({st}) before listening on {}:\n{}",
                    d.name,
                    d.addr(),
                    d.log()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{} did not listen on {} within {limit:?}:\n{}",
        d.name,
        d.addr(),
        d.log()
    );
}

/// SHA-512 crypt of `pass` (busybox login and dropbear both read it).
pub fn sha512_crypt(pass: &str) -> String {
    let out = crate::run(Command::new(require_tool("openssl", "openssl")).args([
        "passwd",
        "-6",
        "-salt",
        "iotassureSalt",
        pass,
    ]));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// passwd/shadow/group with `accounts` (user, password), and the bind-mount prefix that puts
/// them in place inside a private mount namespace.
fn accounts(dir: &TempDir, accounts: &[(&str, &str)]) -> String {
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
    let mut shadow = String::from("root:*:19000:0:99999:7:::\n");
    let mut group = String::from("root:x:0:\n");
    for (i, (u, p)) in accounts.iter().enumerate() {
        let uid = 1000 + i;
        passwd.push_str(&format!("{u}:x:{uid}:{uid}:{u}:/tmp:/bin/sh\n"));
        shadow.push_str(&format!("{u}:{}:19000:0:99999:7:::\n", sha512_crypt(p)));
        group.push_str(&format!("{u}:x:{uid}:\n"));
    }
    let d = dir.path().display();
    dir.write("passwd", passwd);
    dir.write("shadow", shadow);
    dir.write("group", group);
    format!("mount --bind {d}/passwd /etc/passwd && mount --bind {d}/shadow /etc/shadow && mount --bind {d}/group /etc/group && ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telnet {
    /// busybox login with the account admin/admin.
    Weak,
    /// A login script that locks an account after 3 failures; account `operator` with a strong
    /// password.
    Lockout,
    /// A shell with no login at all.
    NoLogin,
}

/// busybox-static's telnetd (Debian's dynamic busybox lacks it).
pub fn telnetd(host: &Host, port: u16, kind: Telnet) -> Daemon {
    let bb = require_tool("busybox", "busybox-static");
    let has_telnetd = Command::new(&bb)
        .arg("--list")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == "telnetd")
        })
        .unwrap_or(false);
    assert!(
        has_telnetd,
        "{} has no telnetd applet: apt-get install busybox-static",
        bb.display()
    );
    let dir = TempDir::new("telnetd");
    let d = dir.path().display().to_string();
    dir.write("issue", "Welcome to a test device\n");
    let (mounts, login) = match kind {
        Telnet::Weak => {
            let m = accounts(&dir, &[("admin", "admin")]);
            std::os::unix::fs::symlink(&bb, dir.path().join("login")).expect("symlink");
            (m, format!("{d}/login"))
        }
        Telnet::Lockout => {
            let script = format!(
                r#"#!/bin/sh
# A login that locks an account after 3 failed passwords (counter per user, kept in {d}).
tries=0
while [ $tries -lt 3 ]; do
  printf 'device login: '
  read -r user || exit 1
  printf 'Password: '
  stty -echo 2>/dev/null
  read -r pass || exit 1
  stty echo 2>/dev/null
  echo
  user=$(printf '%s' "$user" | tr -cd 'A-Za-z0-9_.-')
  f=$(cat "{d}/fail.$user" 2>/dev/null || echo 0)
  if [ "$f" -ge 3 ]; then
    echo "Account locked: too many failed logins"
    exit 1
  fi
  if [ "$user" = "{LOCKOUT_USER}" ] && [ "$pass" = "{STRONG_PASSWORD}" ]; then
    echo 0 > "{d}/fail.$user"
    exec /bin/sh -i
  fi
  echo $((f + 1)) > "{d}/fail.$user"
  echo "Login incorrect"
  tries=$((tries + 1))
done
exit 1
"#
            );
            let p = dir.write("login.sh", script);
            make_executable(&p);
            (String::new(), p.display().to_string())
        }
        Telnet::NoLogin => (String::new(), "/bin/sh".into()),
    };
    let script = format!(
        "{mounts}exec {} telnetd -F -b {}:{port} -l {login} -f {d}/issue",
        bb.display(),
        host.ip
    );
    spawn(
        host,
        "telnetd",
        &script,
        dir,
        port,
        matches!(kind, Telnet::Weak),
    )
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// dropbear with the account admin/admin; `password_auth: false` turns password logins off (-s).
pub fn dropbear(host: &Host, port: u16, password_auth: bool) -> Daemon {
    dropbear_keyed(host, port, password_auth, None)
}

/// A fresh ed25519 dropbear host key at `path` (to give several "units" the same key).
pub fn dropbear_key(path: &Path) {
    let dk = require_tool("dropbearkey", "dropbear-bin");
    crate::run(Command::new(dk).args(["-t", "ed25519", "-f"]).arg(path));
}

/// dropbear with the given host key, or a fresh one.
pub fn dropbear_keyed(host: &Host, port: u16, password_auth: bool, key: Option<&Path>) -> Daemon {
    let db = require_tool("dropbear", "dropbear-bin");
    let dir = TempDir::new("dropbear");
    let key = match key {
        Some(k) => k.to_path_buf(),
        None => {
            let k = dir.path().join("host_key");
            dropbear_key(&k);
            k
        }
    };
    let mounts = accounts(&dir, &[("admin", "admin")]);
    let script = format!(
        "{mounts}exec {} -F -E {} -p {}:{port} -r {}",
        db.display(),
        if password_auth { "" } else { "-s" },
        host.ip,
        key.display()
    );
    spawn(host, "dropbear", &script, dir, port, true)
}

/// OpenSSH's sshd with the account admin/admin and exactly the given algorithms, to check the
/// probe's SSH client against a second implementation (and every cipher it speaks).
pub fn openssh(host: &Host, port: u16, cipher: &str, mac: &str, kex: &str) -> Daemon {
    let sshd = require_tool("sshd", "openssh-server");
    let keygen = require_tool("ssh-keygen", "openssh-client");
    let dir = TempDir::new("sshd");
    let key = dir.path().join("host_key");
    crate::run(
        Command::new(keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key),
    );
    let mounts = accounts(&dir, &[("admin", "admin")]);
    // sshd needs its privilege-separation user and directory.
    let mut passwd = std::fs::read_to_string(dir.path().join("passwd")).expect("passwd");
    passwd.push_str("sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n");
    dir.write("passwd", passwd);
    let script = format!(
        "mkdir -p /run/sshd && {mounts}exec {} -D -e -p {port} -o ListenAddress={} -h {} -o UsePAM=no -o PasswordAuthentication=yes -o PidFile=none -o Ciphers={cipher} -o MACs={mac} -o KexAlgorithms={kex}",
        sshd.display(),
        host.ip,
        key.display()
    );
    spawn(host, "sshd", &script, dir, port, true)
}

/// lighttpd. Weak: Basic auth admin:admin on /admin, the default Server tag (with its version),
/// an expired security.txt without a policy, a configuration backup in the web root, and a CGI
/// that reflects its query. Hardened: a strong password on /admin, a Server tag without version,
/// a proper security.txt, nothing else.
pub fn lighttpd(host: &Host, port: u16, weak: bool) -> Daemon {
    let lt = require_tool("lighttpd", "lighttpd");
    let dir = TempDir::new("lighttpd");
    let d = dir.path().display().to_string();
    dir.write("www/index.html", if weak {
        "<html><head><title>Router</title></head><body><a href=\"/cgi-bin/search.cgi?q=x\">search</a> <a href=\"/admin/\">admin</a></body></html>\n"
    } else {
        "<html><head><title>Router</title></head><body><a href=\"/admin/\">admin</a></body></html>\n"
    });
    dir.write("www/admin/index.html", "<html><form action=\"/admin/save\" method=\"post\"><input name=\"ssid\"><input type=\"submit\"></form></html>\n");
    if weak {
        dir.write(
            "www/.well-known/security.txt",
            "Contact: mailto:security@example.invalid\nExpires: 2021-01-01T00:00:00.000Z\n",
        );
        dir.write(
            "www/backup.cfg",
            "wifi_password=hunter2\nadmin_pass=admin\n",
        );
        let cgi = dir.write(
            "www/cgi-bin/search.cgi",
            "#!/bin/sh\n# Echoes the query back, decoded and unescaped (a reflected-input bug, on purpose).\nq=$(printf '%s' \"$QUERY_STRING\" | sed 's/^q=//; s/+/ /g; s/%\\([0-9A-Fa-f][0-9A-Fa-f]\\)/\\\\x\\1/g')\nprintf 'Content-Type: text/html\\r\\n\\r\\n<html><body>Results for: '\nbusybox printf \"$q\"\nprintf '</body></html>\\n'\n",
        );
        make_executable(&cgi);
        dir.write("users", "admin:admin\n");
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let next_year = 1970 + now / 31_556_952 + 1;
        dir.write(
            "www/.well-known/security.txt",
            format!("Contact: mailto:security@example.invalid\nExpires: {next_year}-12-31T23:59:59.000Z\nPolicy: https://example.invalid/security-policy\nPreferred-Languages: en\n"),
        );
        dir.write("users", format!("admin:{STRONG_PASSWORD}\n"));
    }
    let conf = format!(
        r#"server.modules = ("mod_auth", "mod_authn_file"{cgi_mod})
server.document-root = "{d}/www"
server.bind = "{ip}"
server.port = {port}
server.errorlog = "{d}/error.log"
{tag}
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".txt" => "text/plain", ".cfg" => "text/plain")
auth.backend = "plain"
auth.backend.plain.userfile = "{d}/users"
auth.require = ("/admin" => ("method" => "basic", "realm" => "Router admin", "require" => "valid-user"))
{cgi}
"#,
        ip = host.ip,
        cgi_mod = if weak { ", \"mod_cgi\"" } else { "" },
        tag = if weak {
            ""
        } else {
            "server.tag = \"lighttpd\""
        },
        cgi = if weak {
            "cgi.assign = (\".cgi\" => \"\")"
        } else {
            ""
        },
    );
    let c = dir.write("lighttpd.conf", conf);
    let script = format!("exec {} -D -f {}", lt.display(), c.display());
    spawn(host, "lighttpd", &script, dir, port, false)
}

/// mosquitto: anonymous access allowed, or only the account `iotuser` with a strong password.
pub fn mosquitto(host: &Host, port: u16, anonymous: bool) -> Daemon {
    let mq = require_tool("mosquitto", "mosquitto");
    let dir = TempDir::new("mosquitto");
    let d = dir.path().display().to_string();
    let mut conf = format!(
        "listener {port} {}\npersistence false\nlog_dest stderr\n",
        host.ip
    );
    if anonymous {
        conf.push_str("allow_anonymous true\n");
    } else {
        let pw = dir.path().join("passwords");
        crate::run(
            Command::new(require_tool("mosquitto_passwd", "mosquitto"))
                .args(["-b", "-c"])
                .arg(&pw)
                .args(["iotuser", STRONG_PASSWORD]),
        );
        conf.push_str(&format!(
            "allow_anonymous false\npassword_file {d}/passwords\n"
        ));
    }
    let c = dir.write("mosquitto.conf", conf);
    let script = format!("exec {} -c {}", mq.display(), c.display());
    spawn(host, "mosquitto", &script, dir, port, false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS 1.0 only, RSA-1024 certificate signed with SHA-1.
    Tls10Rsa1024Sha1,
    /// Every suite OpenSSL has, NULL and anonymous ones included.
    NullAnon,
    /// TLS 1.2+ with ECDHE-AEAD suites and an RSA-2048 SHA-256 certificate.
    Modern,
}

/// `openssl s_server -www` in one of three configurations.
pub fn s_server(host: &Host, port: u16, kind: Tls) -> Daemon {
    let ossl = require_tool("openssl", "openssl");
    let dir = TempDir::new("s_server");
    let (bits, md) = if kind == Tls::Tls10Rsa1024Sha1 {
        ("rsa:1024", "-sha1")
    } else {
        ("rsa:2048", "-sha256")
    };
    let key = dir.path().join("key.pem");
    let crt = dir.path().join("cert.pem");
    crate::run(
        Command::new(&ossl)
            .args([
                "req",
                "-x509",
                "-newkey",
                bits,
                md,
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=device.test",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&crt),
    );
    let opts = match kind {
        Tls::Tls10Rsa1024Sha1 => "-tls1 -cipher DEFAULT:@SECLEVEL=0",
        Tls::NullAnon => "-cipher ALL:COMPLEMENTOFALL:@SECLEVEL=0",
        Tls::Modern => "-no_ssl3 -no_tls1 -no_tls1_1 -cipher ECDHE+AESGCM:ECDHE+CHACHA20",
    };
    let script = format!(
        "exec {} s_server -quiet -www -accept {}:{port} -cert {} -key {} {opts}",
        ossl.display(),
        host.ip,
        crt.display(),
        key.display()
    );
    spawn(host, "s_server", &script, dir, port, false)
}

/// A minimal SSDP responder (UDP 1900 on the host's address, unicast replies) with a description
/// served over HTTP on `http_port`. Its SERVER header carries an OS and version, like many devices.
pub fn ssdp_responder(host: &Host, http_port: u16) -> Daemon {
    assert!(
        host.netns.is_none(),
        "the built-in responder runs on loopback; use miniupnpd in a namespace"
    );
    let ip = host.ip;
    let server = "Linux/5.10.0-iot UPnP/1.0 TestResponder/1.2";
    let udp = UdpSocket::bind(SocketAddr::new(ip, 1900))
        .unwrap_or_else(|e| panic!("bind {ip}:1900: {e}"));
    udp.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let http = TcpListener::bind(SocketAddr::new(ip, http_port))
        .unwrap_or_else(|e| panic!("bind {ip}:{http_port}: {e}"));
    http.set_nonblocking(true).expect("nonblocking");
    let stop = Arc::new(AtomicBool::new(false));
    let (s1, s2) = (stop.clone(), stop.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !s1.load(Ordering::Relaxed) {
            if let Ok((n, from)) = udp.recv_from(&mut buf) {
                if String::from_utf8_lossy(&buf[..n]).starts_with("M-SEARCH") {
                    let reply = format!("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\nLOCATION: http://{ip}:{http_port}/desc.xml\r\nSERVER: {server}\r\nST: upnp:rootdevice\r\nUSN: uuid:1f2e3d4c-0000-1000-8000-001122334455::upnp:rootdevice\r\n\r\n");
                    let _ = udp.send_to(reply.as_bytes(), from);
                }
            }
        }
    });
    std::thread::spawn(move || {
        let desc = "<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType><friendlyName>Test Camera</friendlyName><manufacturer>Example</manufacturer><modelName>Cam-100</modelName><modelNumber>FW 4.2.1</modelNumber><serialNumber>SN000123</serialNumber><UDN>uuid:1f2e3d4c-0000-1000-8000-001122334455</UDN></device></root>";
        while !s2.load(Ordering::Relaxed) {
            match http.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).ok();
                    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
                    let mut r = BufReader::new(s.try_clone().expect("clone"));
                    let mut line = String::new();
                    while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line != "\r\n" {
                        line.clear();
                    }
                    let _ = write!(s, "HTTP/1.1 200 OK\r\nServer: {server}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{desc}", desc.len());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    Daemon {
        name: "ssdp-responder".into(),
        ip,
        port: http_port,
        child: None,
        stop: Some(stop),
        _dir: None,
        log: PathBuf::new(),
    }
}

/// A network namespace holding the "device", joined to the test by a veth pair in a /30 of
/// 10.250.0.0/24: the host end is 10.250.0.(4·slot+1), the device 10.250.0.(4·slot+2).
/// Slots keep parallel tests apart (slot 0 is the merged-assessment test's 10.250.0.2).
pub struct Netns {
    pub name: String,
    pub host_ip: Ipv4Addr,
    pub device_ip: Ipv4Addr,
    host_if: String,
    pub device_if: String,
}

fn ip_cmd(args: &[&str]) -> Result<(), String> {
    let out = Command::new(require_tool("ip", "iproute2"))
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    /// Creates the namespace, or panics saying why (a test that needs it must not pass without it).
    pub fn new(slot: u8) -> Netns {
        require_root();
        assert!(slot < 31, "slots 0-30 fit 10.250.0.0/24 with the WAN pairs");
        let pid = std::process::id() % 100_000;
        let name = format!("iota{pid}s{slot}");
        let host_if = format!("iv{pid}h{slot}");
        let device_if = format!("iv{pid}d{slot}");
        let host_ip = Ipv4Addr::new(10, 250, 0, 4 * slot + 1);
        let device_ip = Ipv4Addr::new(10, 250, 0, 4 * slot + 2);
        // Leftovers of an earlier run that was killed: our prefix, the same addresses.
        remove_stale(&[host_ip, device_ip]);
        let _ = ip_cmd(&["netns", "del", &name]);
        if let Err(e) = ip_cmd(&["netns", "add", &name]) {
            panic!("cannot create network namespace {name}: {e}\nThe device tests need `ip netns` (iproute2) and root; they do not pass without it.");
        }
        let ns = Netns {
            name: name.clone(),
            host_ip,
            device_ip,
            host_if: host_if.clone(),
            device_if: device_if.clone(),
        };
        let steps: Vec<Vec<String>> = vec![
            vec![
                "link".into(),
                "add".into(),
                host_if.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                device_if.clone(),
            ],
            vec![
                "link".into(),
                "set".into(),
                device_if.clone(),
                "netns".into(),
                name.clone(),
            ],
            vec![
                "addr".into(),
                "add".into(),
                format!("{host_ip}/30"),
                "dev".into(),
                host_if.clone(),
            ],
            vec!["link".into(), "set".into(), host_if.clone(), "up".into()],
            vec![
                "-n".into(),
                name.clone(),
                "addr".into(),
                "add".into(),
                format!("{device_ip}/30"),
                "dev".into(),
                device_if.clone(),
            ],
            vec![
                "-n".into(),
                name.clone(),
                "link".into(),
                "set".into(),
                device_if.clone(),
                "up".into(),
            ],
            vec![
                "-n".into(),
                name.clone(),
                "link".into(),
                "set".into(),
                "lo".into(),
                "up".into(),
            ],
        ];
        for s in steps {
            let a: Vec<&str> = s.iter().map(String::as_str).collect();
            if let Err(e) = ip_cmd(&a) {
                panic!("setting up namespace {name}: {e}");
            }
        }
        ns
    }

    pub fn device(&self) -> Host {
        Host {
            ip: IpAddr::V4(self.device_ip),
            netns: Some(self.name.clone()),
        }
    }

    /// A second veth pair inside the namespace, for daemons that need a "WAN" interface
    /// (miniupnpd): `wan0` at 10.250.0.(4·(slot+32)+1) with a default route through its peer.
    pub fn add_wan(&self, slot: u8) -> String {
        let a = Ipv4Addr::new(10, 250, 0, 4 * (slot + 32) + 1);
        let b = Ipv4Addr::new(10, 250, 0, 4 * (slot + 32) + 2);
        let n = self.name.as_str();
        for s in [
            vec![
                "-n", n, "link", "add", "wan0", "type", "veth", "peer", "name", "wan1",
            ],
            vec!["-n", n, "addr", "add", &format!("{a}/30"), "dev", "wan0"],
            vec!["-n", n, "addr", "add", &format!("{b}/30"), "dev", "wan1"],
            vec!["-n", n, "link", "set", "wan0", "up"],
            vec!["-n", n, "link", "set", "wan1", "up"],
            vec![
                "-n",
                n,
                "route",
                "add",
                "default",
                "via",
                &b.to_string(),
                "dev",
                "wan0",
            ],
        ] {
            let owned: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let a: Vec<&str> = owned.iter().map(String::as_str).collect();
            if let Err(e) = ip_cmd(&a) {
                panic!("adding the WAN pair to {n}: {e}");
            }
        }
        "wan0".into()
    }
}

fn remove_stale(addrs: &[Ipv4Addr]) {
    let Ok(out) = Command::new(require_tool("ip", "iproute2"))
        .args(["-o", "-4", "addr", "show"])
        .output()
    else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 3
            && f[1].starts_with("iv")
            && addrs.iter().any(|a| f[3].starts_with(&format!("{a}/")))
        {
            let _ = ip_cmd(&["link", "del", f[1].split('@').next().unwrap_or(f[1])]);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Stop whatever still runs inside, then remove the namespace (its veth end goes with it).
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = ip_cmd(&["netns", "del", &self.name]);
        let _ = ip_cmd(&["link", "del", &self.host_if]);
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.name));
    }
}

impl Netns {
    /// The test's end of the veth pair, for daemons the "device" talks to.
    pub fn host(&self) -> Host {
        Host {
            ip: IpAddr::V4(self.host_ip),
            netns: None,
        }
    }

    /// Programs run with `ip netns exec` in this namespace resolve names through `server`
    /// (/etc/netns/NAME/resolv.conf, removed with the namespace).
    pub fn set_resolver(&self, server: Ipv4Addr) {
        let d = Path::new("/etc/netns").join(&self.name);
        std::fs::create_dir_all(&d).expect("/etc/netns");
        std::fs::write(d.join("resolv.conf"), format!("nameserver {server}\n"))
            .expect("resolv.conf");
    }

    /// Runs `sh -c script` inside the namespace and returns its output (not checked).
    pub fn sh(&self, script: &str) -> std::process::Output {
        netns_sh(&self.name, script)
    }
}

/// Runs `sh -c script` inside namespace `ns` (output not checked).
pub fn netns_sh(ns: &str, script: &str) -> std::process::Output {
    Command::new(require_tool("ip", "iproute2"))
        .args(["netns", "exec", ns, "sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("ip netns exec {ns}: {e}"))
}

/// tcpdump writing a capture (in a namespace, or the test's own); stopped with SIGTERM so the
/// file is complete.
pub struct Tcpdump {
    child: Option<Child>,
    pub path: PathBuf,
}

impl Tcpdump {
    /// Starts capturing on `iface` and returns once tcpdump listens.
    pub fn start(netns: Option<&str>, iface: &str, path: &Path) -> Tcpdump {
        let td = require_tool("tcpdump", "tcpdump");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new(require_tool("ip", "iproute2"));
                c.args(["netns", "exec", ns]).arg(&td);
                c
            }
            None => Command::new(&td),
        };
        let err = path.with_extension("tcpdump.log");
        let logf = std::fs::File::create(&err).expect("tcpdump log");
        let child = cmd
            .args(["-i", iface, "--immediate-mode", "-U", "-n", "-s", "0", "-w"])
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .unwrap_or_else(|e| panic!("starting tcpdump: {e}"));
        let t = Tcpdump {
            child: Some(child),
            path: path.to_path_buf(),
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if std::fs::read_to_string(&err)
                .unwrap_or_default()
                .contains("listening on")
            {
                // The socket is open; give the kernel a moment to attach the filter.
                std::thread::sleep(Duration::from_millis(200));
                return t;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "tcpdump did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }

    /// Stops the capture (SIGTERM: tcpdump flushes and closes the file).
    pub fn stop(mut self) -> PathBuf {
        self.halt();
        self.path.clone()
    }

    fn halt(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Let the last packets reach the file first.
            std::thread::sleep(Duration::from_millis(300));
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        self.halt();
    }
}

/// dnsmasq answering only the given names (no upstream, no hosts file) on `host`'s address.
pub fn dnsmasq(host: &Host, records: &[(&str, IpAddr)]) -> Daemon {
    let dm = require_tool("dnsmasq", "dnsmasq-base");
    let dir = TempDir::new("dnsmasq");
    let mut args = vec![
        "--keep-in-foreground".to_string(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--no-daemon".into(),
        "--log-queries".into(),
        "--bind-interfaces".into(),
        format!("--listen-address={}", host.ip),
        "--except-interface=lo".into(),
        "--port=53".into(),
        format!("--pid-file={}/pid", dir.path().display()),
        "--user=root".into(),
    ];
    for (name, ip) in records {
        args.push(format!("--address=/{name}/{ip}"));
    }
    let script = format!("exec {} {}", dm.display(), args.join(" "));
    spawn(host, "dnsmasq", &script, dir, 53, false)
}

/// busybox httpd serving `body` as its index page on `host`'s address.
pub fn busybox_httpd(host: &Host, port: u16, body: &str) -> Daemon {
    let bb = require_tool("busybox", "busybox-static");
    let dir = TempDir::new("httpd");
    dir.write("www/index.html", body);
    let script = format!(
        "exec {} httpd -f -p {}:{port} -h {}/www",
        bb.display(),
        host.ip,
        dir.path().display()
    );
    spawn(host, "busybox-httpd", &script, dir, port, false)
}

/// A shell script running in the background in `netns` (a client loop, a watchdog); killed on
/// drop. The script must bound its own loops.
pub fn background(netns: &str, name: &str, script: &str) -> Daemon {
    let dir = TempDir::new(name);
    let log = dir.path().join(format!("{name}.log"));
    let logf = std::fs::File::create(&log).expect("log file");
    let child = Command::new(require_tool("ip", "iproute2"))
        .args(["netns", "exec", netns, "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(logf.try_clone().expect("log"))
        .stderr(logf)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    Daemon {
        name: name.into(),
        ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        port: 0,
        child: Some(child),
        stop: None,
        _dir: Some(dir),
        log,
    }
}

/// Waits until something listens on TCP `port` in `netns` (None: the test's own namespace),
/// without connecting to it.
pub fn wait_listening(netns: Option<&str>, port: u16, limit: Duration) {
    let start = Instant::now();
    let filter = format!("sport = :{port}");
    while start.elapsed() < limit {
        let out = match netns {
            Some(ns) => Command::new(require_tool("ip", "iproute2"))
                .args(["netns", "exec", ns, "ss", "-Hltn", &filter])
                .output(),
            None => Command::new(require_tool("ss", "iproute2"))
                .args(["-Hltn", &filter])
                .output(),
        };
        if out.is_ok_and(|o| !o.stdout.is_empty()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listened on port {port} within {limit:?}");
}

/// Three namespaces in a row, as a home network: the device, its gateway (which routes), and
/// "the internet". The device is 10.250.0.(4·a+2) behind the gateway's LAN end 10.250.0.(4·a+1);
/// the gateway's uplink `wan0` is 10.250.0.(4·b+1), the internet end 10.250.0.(4·b+2).
pub struct Lab {
    pub device: String,
    pub gateway: String,
    pub internet: String,
    pub device_ip: Ipv4Addr,
    pub gateway_lan_ip: Ipv4Addr,
    pub gateway_wan_ip: Ipv4Addr,
    pub internet_ip: Ipv4Addr,
    /// The gateway's interface towards the internet.
    pub uplink: String,
}

impl Lab {
    pub fn new(a: u8, b: u8) -> Lab {
        require_root();
        assert!(a < 31 && b < 31 && a != b, "slots 0-30, distinct");
        let pid = std::process::id() % 100_000;
        let lab = Lab {
            device: format!("iota{pid}d{a}"),
            gateway: format!("iota{pid}g{a}"),
            internet: format!("iota{pid}i{a}"),
            device_ip: Ipv4Addr::new(10, 250, 0, 4 * a + 2),
            gateway_lan_ip: Ipv4Addr::new(10, 250, 0, 4 * a + 1),
            gateway_wan_ip: Ipv4Addr::new(10, 250, 0, 4 * b + 1),
            internet_ip: Ipv4Addr::new(10, 250, 0, 4 * b + 2),
            uplink: "wan0".into(),
        };
        for ns in [&lab.device, &lab.gateway, &lab.internet] {
            let _ = ip_cmd(&["netns", "del", ns]);
            if let Err(e) = ip_cmd(&["netns", "add", ns]) {
                panic!("cannot create network namespace {ns}: {e}\nThe device tests need `ip netns` (iproute2) and root.");
            }
        }
        let (d, g, i) = (
            lab.device.as_str(),
            lab.gateway.as_str(),
            lab.internet.as_str(),
        );
        let dev = format!("{}/30", lab.device_ip);
        let lan = format!("{}/30", lab.gateway_lan_ip);
        let wan = format!("{}/30", lab.gateway_wan_ip);
        let inet = format!("{}/30", lab.internet_ip);
        let lan_gw = lab.gateway_lan_ip.to_string();
        let wan_gw = lab.gateway_wan_ip.to_string();
        let device_net = format!("{}/30", Ipv4Addr::new(10, 250, 0, 4 * a));
        let steps: Vec<Vec<&str>> = vec![
            vec![
                "-n", g, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", d,
            ],
            vec![
                "-n", g, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", i,
            ],
            vec!["-n", d, "addr", "add", &dev, "dev", "eth0"],
            vec!["-n", g, "addr", "add", &lan, "dev", "lan0"],
            vec!["-n", g, "addr", "add", &wan, "dev", "wan0"],
            vec!["-n", i, "addr", "add", &inet, "dev", "eth0"],
            vec!["-n", d, "link", "set", "eth0", "up"],
            vec!["-n", d, "link", "set", "lo", "up"],
            vec!["-n", g, "link", "set", "lan0", "up"],
            vec!["-n", g, "link", "set", "wan0", "up"],
            vec!["-n", g, "link", "set", "lo", "up"],
            vec!["-n", i, "link", "set", "eth0", "up"],
            vec!["-n", i, "link", "set", "lo", "up"],
            vec!["-n", d, "route", "add", "default", "via", &lan_gw],
            vec!["-n", i, "route", "add", &device_net, "via", &wan_gw],
        ];
        for s in steps {
            if let Err(e) = ip_cmd(&s) {
                panic!("setting up the lab: {e}");
            }
        }
        let out = netns_sh(g, "sysctl -qw net.ipv4.ip_forward=1");
        assert!(
            out.status.success(),
            "enabling forwarding in {g}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        lab
    }

    pub fn device_host(&self) -> Host {
        Host {
            ip: IpAddr::V4(self.device_ip),
            netns: Some(self.device.clone()),
        }
    }

    pub fn internet_host(&self) -> Host {
        Host {
            ip: IpAddr::V4(self.internet_ip),
            netns: Some(self.internet.clone()),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.device, &self.gateway, &self.internet] {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = ip_cmd(&["netns", "del", ns]);
        }
    }
}

/// miniupnpd inside `ns` (LAN = the namespace's veth end, WAN = an added veth pair). Debian's
/// build puts the OS name and kernel version in its Server header.
pub fn miniupnpd(ns: &Netns, wan_slot: u8) -> Daemon {
    let mu = require_tool("miniupnpd", "miniupnpd-nftables");
    let wan = ns.add_wan(wan_slot);
    let dir = TempDir::new("miniupnpd");
    let conf = format!(
        "ext_ifname={wan}\nlistening_ip={}\nhttp_port=5000\nenable_natpmp=no\nenable_upnp=yes\nsecure_mode=yes\nsystem_uptime=yes\nuuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\nlease_file={}/leases\nallow 1024-65535 0.0.0.0/0 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n",
        ns.device_if,
        dir.path().display()
    );
    let c = dir.write("miniupnpd.conf", conf);
    let script = format!("exec {} -f {} -d", mu.display(), c.display());
    spawn(&ns.device(), "miniupnpd", &script, dir, 5000, false)
}

/// Reads a whole TCP reply (tests that talk to a fixture directly).
pub fn tcp_exchange(addr: SocketAddr, send: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(2))).ok();
    s.write_all(send).expect("send");
    let mut v = Vec::new();
    let _ = s.read_to_end(&mut v);
    v
}
