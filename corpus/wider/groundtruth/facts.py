#!/usr/bin/env python3
"""Collect raw facts per image with tools other than iotassure (binwalk 2.3.3, unblob, unsquashfs,
ubireader, john, pyelftools, esptool, strings). Output: /tmp/wc/facts/<name>.json. Hand review
turns these into ground_truth.json."""
import glob, json, os, re, subprocess, sys
from elftools.elf.elffile import ELFFile
from elftools.elf.dynamic import DynamicSection

# Work folders (see extract.sh): images, per-image tool output, collected facts.
IMG = os.environ.get("WC_IMG", "/tmp/wc/img")
GT = os.environ.get("WC_GT", "/tmp/wc/gt")
OUT = os.environ.get("WC_FACTS", "/tmp/wc/facts")
os.makedirs(OUT, exist_ok=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw).stdout


def strings_of(path, n=6):
    return run(["strings", "-n", str(n), path])


def rootfs_dirs(name):
    out = []
    for d in glob.glob(f"{GT}/{name}/fs/*/") + glob.glob(f"{GT}/{name}/ext/**/", recursive=True):
        if os.path.isdir(d + "etc") and (os.path.isdir(d + "bin") or os.path.isdir(d + "sbin")):
            out.append(d)
    # outermost only
    out = sorted(set(out), key=len)
    res = []
    for d in out:
        if not any(d.startswith(r) for r in res):
            res.append(d)
    return res


def elf_info(path):
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                return None
            fh.seek(0)
            e = ELFFile(fh)
            typ = e["e_type"]
            interp = any(s["p_type"] == "PT_INTERP" for s in e.iter_segments())
            nx = None
            relro = False
            for s in e.iter_segments():
                if s["p_type"] == "PT_GNU_STACK":
                    nx = not (s["p_flags"] & 1)
                if s["p_type"] == "PT_GNU_RELRO":
                    relro = True
            soname = None
            bind_now = False
            flags1 = 0
            needed = []
            for sec in e.iter_sections():
                if isinstance(sec, DynamicSection):
                    for t in sec.iter_tags():
                        if t.entry.d_tag == "DT_SONAME":
                            soname = t.soname
                        if t.entry.d_tag == "DT_BIND_NOW":
                            bind_now = True
                        if t.entry.d_tag == "DT_FLAGS" and t.entry.d_val & 8:
                            bind_now = True
                        if t.entry.d_tag == "DT_FLAGS_1":
                            flags1 = t.entry.d_val
                            if flags1 & 1:
                                bind_now = True
                        if t.entry.d_tag == "DT_NEEDED":
                            needed.append(t.needed)
            canary = False
            for secname in (".dynsym", ".symtab"):
                sec = e.get_section_by_name(secname)
                if sec is None:
                    continue
                for sym in sec.iter_symbols():
                    if sym.name in ("__stack_chk_fail", "__stack_chk_guard"):
                        canary = True
                        break
            base = os.path.basename(path)
            is_lib = typ == "ET_DYN" and (soname is not None or re.search(r"\.so(\.|$)", base) is not None) and not (flags1 & 0x08000000)
            kind = "rel" if typ == "ET_REL" else ("lib" if is_lib else ("exec" if typ in ("ET_EXEC", "ET_DYN") else typ))
            pie = kind == "exec" and typ == "ET_DYN"
            return {"kind": kind, "arch": e["e_machine"], "class": e.elfclass, "le": e.little_endian,
                    "interp": interp, "nx": nx, "relro": relro, "full_relro": relro and bind_now,
                    "canary": canary, "pie": pie, "soname": soname}
    except Exception as ex:  # noqa
        return {"kind": "error", "error": str(ex)[:80]}


def grep_version(root, rel_globs, pattern):
    hits = set()
    for g in rel_globs:
        for p in glob.glob(os.path.join(root, g)):
            if os.path.isfile(p) and not os.path.islink(p):
                for m in re.finditer(pattern, strings_of(p, 4)):
                    hits.add(m.group(1) if m.groups() else m.group(0))
    return sorted(hits)


def linux_facts(root):
    f = {"root": root}
    rd = lambda p: open(os.path.join(root, p), errors="replace").read() if os.path.isfile(os.path.join(root, p)) else None
    f["passwd"] = rd("etc/passwd")
    f["shadow"] = rd("etc/shadow")
    f["inittab"] = rd("etc/inittab")
    f["openwrt_release"] = rd("etc/openwrt_release")
    f["banner"] = (rd("etc/banner") or "")[-400:]
    f["opkg_conf"] = rd("etc/opkg.conf")
    f["opkg_keys"] = sorted(os.listdir(os.path.join(root, "etc/opkg/keys"))) if os.path.isdir(os.path.join(root, "etc/opkg/keys")) else []
    f["sysupgrade"] = os.path.exists(os.path.join(root, "sbin/sysupgrade"))
    f["usign"] = os.path.exists(os.path.join(root, "usr/bin/usign"))
    f["rc_d"] = sorted(os.listdir(os.path.join(root, "etc/rc.d"))) if os.path.isdir(os.path.join(root, "etc/rc.d")) else []
    f["init_d"] = sorted(os.listdir(os.path.join(root, "etc/init.d"))) if os.path.isdir(os.path.join(root, "etc/init.d")) else []
    f["rc_local"] = rd("etc/rc.local")
    f["uci"] = {}
    for c in ("dropbear", "uhttpd", "system", "wireless", "network", "lighttpd"):
        v = rd(f"etc/config/{c}")
        if v is not None:
            f["uci"][c] = v[:1500]
    st = rd("usr/lib/opkg/status")
    pk = {}
    if st:
        for blk in st.split("\n\n"):
            m = re.search(r"^Package: (.+)$", blk, re.M)
            v = re.search(r"^Version: (.+)$", blk, re.M)
            if m and v:
                pk[m.group(1)] = v.group(1)
    f["opkg_status"] = pk
    f["modules_dirs"] = sorted(os.listdir(os.path.join(root, "lib/modules"))) if os.path.isdir(os.path.join(root, "lib/modules")) else []
    f["busybox"] = grep_version(root, ["bin/busybox"], r"BusyBox v([0-9][0-9.]+)")
    f["dropbear"] = grep_version(root, ["usr/sbin/dropbear", "usr/sbin/dropbearmulti", "usr/bin/dropbearmulti"], r"(?:dropbear_|Dropbear (?:sshd )?v)(20[0-9][0-9]\.[0-9]+)")
    f["dnsmasq"] = grep_version(root, ["usr/sbin/dnsmasq"], r"dnsmasq-([0-9][0-9.]+)")
    f["openssl"] = grep_version(root, ["usr/lib/libssl*", "usr/lib/libcrypto*", "lib/libssl*", "lib/libcrypto*"], r"OpenSSL ([0-9][0-9a-z.]+)")
    f["mbedtls_polarssl"] = grep_version(root, ["usr/lib/libpolarssl*", "usr/lib/libmbed*"], r"(?:PolarSSL|mbed TLS) ([0-9][0-9.]+)")
    f["uclibc"] = sorted(os.path.basename(p) for p in glob.glob(os.path.join(root, "lib/libuClibc-*")) + glob.glob(os.path.join(root, "lib/ld-uClibc-*")))
    f["musl"] = grep_version(root, ["lib/libc.so", "lib/ld-musl-*"], r"^([01]\.[0-9]+\.[0-9]+)$")
    f["lighttpd"] = grep_version(root, ["usr/sbin/lighttpd"], r"lighttpd/([0-9][0-9.]+)")
    f["hostapd"] = grep_version(root, ["usr/sbin/hostapd", "usr/sbin/wpad"], r"hostapd v([0-9][0-9.\-a-z]+)")
    f["miniupnpd"] = grep_version(root, ["usr/sbin/miniupnpd"], r"miniupnpd/([0-9][0-9.]+)")
    f["pppd"] = grep_version(root, ["usr/sbin/pppd"], r"pppd version ([0-9][0-9.]+)|^([2]\.[0-9]\.[0-9])$")
    f["private_keys"] = []
    f["elf"] = {"exec": 0, "lib": 0, "rel": 0, "nx": 0, "canary": 0, "pie": 0, "relro": 0, "full_relro": 0, "interp_libs": 0, "arch": {}}
    for dp, dn, fn in os.walk(root):
        for n in fn:
            p = os.path.join(dp, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            try:
                sz = os.path.getsize(p)
            except OSError:
                continue
            if sz < 20 * 1024 * 1024:
                with open(p, "rb") as fh:
                    data = fh.read()
                for m in re.finditer(rb"-----BEGIN ([A-Z ]*PRIVATE KEY)-----", data):
                    f["private_keys"].append([os.path.relpath(p, root), m.group(1).decode()])
                if data[:4] == b"\x7fELF":
                    i = elf_info(p)
                    if not i or i["kind"] == "error":
                        continue
                    k = i["kind"]
                    f["elf"][k] = f["elf"].get(k, 0) + 1
                    a = f"{i['arch']}/{'LE' if i['le'] else 'BE'}"
                    f["elf"]["arch"][a] = f["elf"]["arch"].get(a, 0) + 1
                    if k in ("exec", "lib"):
                        for key in ("nx", "canary", "relro", "full_relro"):
                            f["elf"][key] += 1 if i[key] else 0
                        if i["pie"]:
                            f["elf"]["pie"] += 1
                        if k == "lib" and i["interp"]:
                            f["elf"]["interp_libs"] += 1
            if n in ("dropbear_rsa_host_key", "dropbear_dss_host_key", "dropbear_ecdsa_host_key") or n.endswith((".pem", ".key")):
                f["private_keys"].append([os.path.relpath(p, root), f"file {sz} bytes"])
    # telnet / shells at boot (for hand reading)
    boot = []
    for g in ["etc/init.d/*", "etc/rc.local", "etc/inittab", "etc/rc.d/*", "etc/preinit", "lib/preinit/*", "etc/init.d/rcS"]:
        for p in glob.glob(os.path.join(root, g)):
            if os.path.isfile(p):
                for ln, line in enumerate(open(p, errors="replace"), 1):
                    if re.search(r"telnetd|dropbear|askfirst|respawn|httpd|lighttpd|uhttpd|login", line) and not line.strip().startswith("#"):
                        boot.append(f"{os.path.relpath(p, root)}:{ln}: {line.strip()[:160]}")
    f["boot_lines"] = boot[:80]
    return f


def crack(name, facts):
    hashes = []
    for r in facts.get("rootfs", []):
        for src in ("shadow", "passwd"):
            for line in (r.get(src) or "").splitlines():
                parts = line.split(":")
                if len(parts) > 2 and parts[1] not in ("", "x", "*", "!", "!!") and not parts[1].startswith(("*", "!")):
                    hashes.append(f"{parts[0]}:{parts[1]}")
    if not hashes:
        return []
    hf = f"{OUT}/{name}.hashes"
    open(hf, "w").write("\n".join(hashes) + "\n")
    for fmt in ("md5crypt", "descrypt", "sha512crypt", "sha256crypt"):
        run(["john", f"--format={fmt}", f"--wordlist={OUT}/words.txt", hf], timeout=300)
    out = []
    for fmt in ("md5crypt", "descrypt", "sha512crypt", "sha256crypt"):
        out += [l for l in run(["john", f"--format={fmt}", "--show", hf]).splitlines() if l.count(":") >= 1 and "password hash" not in l and l.strip()]
    return out


def mcu_facts(path):
    s = strings_of(path, 5)
    pats = {
        "sdk": r"(?i)(SDK ver[^\n]{0,40}|ESP-IDF[^\n]{0,30}|v[0-9]\.[0-9]+[^\s]*-dirty|NodeMCU[^\n]{0,60}|Tasmota[^\n]{0,40}|Zephyr[^\n]{0,40}|Contiki[^\n]{0,40}|lwIP[^\n]{0,30}|FreeRTOS[^\n]{0,30}|mbed[^\n]{0,30}|Arduino[^\n]{0,30}|eCos[^\n]{0,30}|RIOT[^\n]{0,30})",
        "creds": r"(?i)[^\n]{0,40}(passw|passwd|pwd|secret|mqtt_?pass|apikey|api_key)[^\n]{0,40}",
        "urls": r"(?i)(https?|mqtts?|ftp)://[^\s\"']{3,80}",
        "versions": r"(?i)[^\n]{0,30}\bv?[0-9]+\.[0-9]+\.[0-9]+[^\n]{0,20}",
    }
    out = {}
    for k, p in pats.items():
        ms = [m.group(0) for m in re.finditer(p, s)]
        out[k] = sorted(set(ms))[:60]
    return out


def main(names):
    for name in names:
        path = os.path.join(IMG, name)
        facts = {"name": name, "size": os.path.getsize(path),
                 "sha256": run(["sha256sum", path]).split()[0],
                 "file": run(["file", "-b", path]).strip()[:200],
                 "binwalk_2.3.3": [l for l in open(f"{GT}/{name}/binwalk.txt").read().splitlines()[3:] if l.strip()][:60]}
        try:
            rep = json.load(open(f"{GT}/{name}/unblob.json"))
            chunks = []
            for task in rep:
                for r in task.get("reports", []):
                    if r.get("__typename__") in ("ChunkReport", "UnknownChunkReport"):
                        chunks.append(f"{r.get('handler_name', 'unknown')} @0x{r['start_offset']:x}-0x{r['end_offset']:x} ({os.path.basename(task.get('task', {}).get('path', ''))})")
            facts["unblob_chunks"] = chunks[:80]
        except Exception as ex:  # noqa
            facts["unblob_chunks"] = [f"report unreadable: {ex}"]
        roots = rootfs_dirs(name)
        facts["rootfs"] = [linux_facts(r) for r in roots]
        facts["cracked"] = crack(name, facts)
        if "ESP" in facts["file"] or name.startswith(("esp", "tasmota", "nodemcu")):
            facts["esptool"] = run(["esptool", "image-info", path])[-3000:]
        facts["mcu_strings"] = mcu_facts(path)
        # kernel banner from any decompressed chunk
        kb = set()
        for p in glob.glob(f"{GT}/{name}/ext/**/*", recursive=True):
            if os.path.isfile(p) and os.path.getsize(p) > 100000:
                for m in re.finditer(r"Linux version [0-9][^\n]{0,120}", strings_of(p, 10)):
                    kb.add(m.group(0))
        facts["kernel_banner"] = sorted(kb)[:4]
        json.dump(facts, open(f"{OUT}/{name}.json", "w"), indent=1)
        print(name, "roots:", len(roots), "cracked:", facts["cracked"])


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(os.listdir(IMG)))
