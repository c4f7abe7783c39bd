#!/usr/bin/env python3
"""Build corpus/wider/ground_truth.json from the facts that facts.py collected with other tools
(binwalk 2.3.3 and 3.1.0, unblob 26.6.4, Debian unsquashfs 4.5, ubireader, john, pyelftools,
esptool 5.6, strings) and from reading by hand, written down below per image with how each point
was established. iotassure plays no part in it.

    python3 corpus/wider/groundtruth/build.py FACTS_DIR > corpus/wider/ground_truth.json
"""
import json
import os
import sys

FACTS = sys.argv[1] if len(sys.argv) > 1 else "/tmp/wc/facts"
HERE = os.path.dirname(os.path.abspath(__file__))


def pt(family, expect, provisions=None, what="", how="", **kw):
    p = {"family": family, "expect": expect, "what": what, "how": how}
    if provisions:
        p["provisions"] = provisions
    p.update(kw)
    return p


def FAIL(family, provisions, what, how, **kw):
    return pt(family, "FAIL", provisions, what, how, **kw)


def NOT_PASS(family, provisions, what, how, **kw):
    return pt(family, "NOT_PASS", provisions, what, how, **kw)


def NOT_FAIL(family, provisions, what, how, **kw):
    return pt(family, "NOT_FAIL", provisions, what, how, **kw)


def COMP(name, version, how, aliases=()):
    return {"family": "components", "expect": "PRESENT", "what": f"{name} {version or ''}".strip(), "how": how,
            "component": {"name": name, "aliases": list(aliases), "version": version}}


def LAY(offset, formats, what, how):
    return {"family": "layout", "expect": "PRESENT", "what": what, "how": how,
            "layout": {"offset": offset, "formats": formats}}


KEYS_NONE = dict(check="5.4-3-fw-keys")
ELF = dict(check="5.6-9-fw-elf")
CRED = ["5.1-1"]
UPD = ["5.7-1"]
# A plain-HTTP or unsigned update source may be reported under any update provision.
UPD_ANY = ["5.7-1", "5.3-7", "5.3-9", "5.3-10", "5.3-2"]

OWRT_HOW = "opkg status (usr/lib/opkg/status) and the binaries' own banners (strings)"
TPL_HOW = "binwalk 2.3.3 ('TP-Link firmware header'), file(1) ('firmware ... OpenWrt'); binwalk 3.1.0 omits it"


def openwrt_common(comps, kernel, layout, elf_note, elf_fail=True):
    pts = [COMP(n, v, OWRT_HOW, aliases=a) for n, v, a in comps]
    pts.append(COMP("linux", kernel, "kernel banner in the decompressed kernel (strings) and lib/modules/<ver>"))
    pts += layout
    if elf_fail:
        pts.append(FAIL("elf_hardening", ["5.6-9", "5.6-8"], "no stack canary and no PIE in any userland ELF",
                        f"pyelftools (PT_GNU_STACK, PT_GNU_RELRO, DT_FLAGS(_1), __stack_chk_* imports) and checksec.py -r agree; {elf_note}", **ELF))
    pts.append(FAIL("services", ["5.6-7"], "every network daemon but dnsmasq runs as root",
                    "init scripts (etc/init.d) start dropbear/uhttpd/telnetd without a user switch; procd runs them as root"))
    return pts


def openwrt_update(signed_opkg):
    pts = [FAIL("update_integrity", UPD, "sysupgrade installs images checked by CRC/MD5 only, no signature",
                "sbin/sysupgrade + lib/upgrade/*.sh: platform_check_image checks magic/size only; no usign/signature step",
                needles=["sysupgrade"])]
    if signed_opkg:
        pts.append(NOT_PASS("update_integrity", ["5.3-7"], "opkg verifies feeds (check_signature, usign keys) but sysupgrade does not",
                            "etc/opkg.conf 'option check_signature', etc/opkg/keys/*; sysupgrade unsigned: a PASS ignores that path"))
    return pts


def rec(name, **kw):
    f = json.load(open(os.path.join(FACTS, name + ".json")))
    r = {"file": name, "set": "wider", "size": f["size"], "sha256": f["sha256"], "file_type": f["file"]}
    r.update(kw)
    cl = r.setdefault("container_layout", {})
    cl["binwalk_2.3.3_debian"] = f["binwalk_2.3.3"][:12]
    cl["unblob_26.6.4_chunks"] = f["unblob_chunks"][:12]
    bw3 = os.path.join("/tmp/wc/gt", name, "binwalk3.txt")
    if os.path.isfile(bw3):
        cl["binwalk_v3.1.0"] = [" ".join(l.split()) for l in open(bw3) if l[:1].isdigit()][:12]
    if f["rootfs"]:
        rf = f["rootfs"][0]
        r.setdefault("accounts", {})["passwd"] = (rf["passwd"] or "").splitlines()[:6]
        r["accounts"]["shadow"] = (rf["shadow"] or "").splitlines()[:6]
        r["accounts"]["cracked_with_john"] = f["cracked"]
        e = rf["elf"]
        r["elf_hardening"] = {
            "tool": "pyelftools 0.33 (script corpus/wider/groundtruth/facts.py)",
            "architecture": e["arch"], "executables": e["exec"], "shared_libs": e["lib"], "relocatable": e["rel"],
            "nx_of_userland": f"{e['nx']}/{e['exec'] + e['lib']}",
            "stack_canary_of_userland": f"{e['canary']}/{e['exec'] + e['lib']}",
            "pie_executables": f"{e['pie']}/{e['exec']}",
            "relro_of_userland": f"{e['relro']}/{e['exec'] + e['lib']}",
            "full_relro_of_userland": f"{e['full_relro']}/{e['exec'] + e['lib']}",
            "libs_with_PT_INTERP": e["interp_libs"],
            "note": ("a shared library is told from a PIE executable by DT_SONAME / .so name and DT_FLAGS_1 PIE bit; "
                     "checksec.py reports every ET_DYN file as PIE, so its pie_yes counts shared libraries"),
        }
        cs = os.path.join(FACTS, name + ".checksec.json")
        if os.path.isfile(cs):
            items = [v for v in json.load(open(cs)).values() if isinstance(v, dict)]
            r["elf_hardening"]["checksec.py_0.7.5_-r (all ELF incl. modules)"] = {
                "files": len(items), "canary": sum(bool(v.get("canary")) for v in items),
                "nx": sum(bool(v.get("nx")) for v in items), "pie_yes": sum(str(v.get("pie")) == "PIE" for v in items),
                "relro_full": sum(str(v.get("relro")) == "Full" for v in items)}
            if r["elf_hardening"]["checksec.py_0.7.5_-r (all ELF incl. modules)"]["canary"]:
                r["elf_hardening"]["note"] += ("; pyelftools counts no __stack_chk_* import because musl builds link "
                                               "__stack_chk_fail_local statically: checksec.py's canary count is the right one")
        r["private_keys_and_certs"] = [{"path": p, "what": w} for p, w in rf["private_keys"]]
        r["boot_lines_read"] = rf["boot_lines"][:25]
        r["opkg_packages"] = len(rf["opkg_status"])
    if f.get("esptool"):
        r.setdefault("mcu", {})["esptool_image_info"] = f["esptool"][-1500:]
    if f.get("kernel_banner"):
        r["kernel_banner"] = f["kernel_banner"][:1]
    return r


GT = []

# --- TP-Link MR3020 / MR3040 LibraryBox (OpenWrt 12.09.2 backports r42647) -----------------------
for nm, sq in (("librarybox-tl-mr3020-v1-factory.bin", 0xED0CC), ("librarybox-tl-mr3040-v2-factory.bin", 0xED07C)):
    GT.append(rec(
        nm, device="LibraryBox 2.1 on OpenWrt Attitude Adjustment 12.09.2 backports r42647 (ar71xx), TP-Link factory image",
        vendor="TP-Link", image_type="linux_router_firmware",
        container_layout={"summary": f"TP-Link v1 header @0; LZMA kernel @0x200 (Linux 3.3.8); SquashFS 4.0 LE xz @0x{sq:X}; padding to 0x3c0000"},
        extraction={"tool": "unblob carve + Debian unsquashfs 4.5 (unblob lacks sasquatch here)", "rootfs_extracted": True},
        network_services_boot=[
            {"service": "telnetd -l /bin/login.sh", "started_by": "etc/rc.d/S50telnet -> etc/init.d/telnet",
             "condition": "has_root_pwd false: etc/shadow 'root:x:' -> ${pwd#[!x]} is empty, so telnet starts and login.sh gives a root shell without a password"},
            {"service": "dropbear", "started_by": "etc/rc.d/S50dropbear", "auth": "PasswordAuth on, RootPasswordAuth on"},
            {"service": "dnsmasq", "started_by": "S60dnsmasq"},
            {"service": "LibraryBox installer", "started_by": "etc/rc.local -> /bin/box_installer_start.sh"}],
        component_versions={"busybox": "1.19.4", "dropbear": "2011.54", "dnsmasq": "2.66", "linux": "3.3.8", "uclibc": "0.9.33.2", "wpad-mini": "20131120"},
        update_mechanism="sysupgrade (no signature), opkg without check_signature and no keys; TP-Link header MD5",
        en303645={"5.1-1": "FAIL - telnet hands out a root shell: the image's own has_root_pwd treats shadow 'root:x' as no password",
                  "5.6-1": "FAIL - telnet at every boot (S50telnet)", "5.4-3": "PASS - dropbear host keys are 0-byte placeholders",
                  "5.6-7": "FAIL - daemons as root", "5.7-1": "FAIL - unsigned sysupgrade and opkg; header MD5 only",
                  "5.3": "FAIL - 2011-2013 components (dropbear 2011.54, dnsmasq 2.66, Linux 3.3.8)"},
        uncertain=["whether the LibraryBox installer changes the root password on first boot (runs from USB)"],
        scored=[
            FAIL("credentials", CRED, "root shell over telnet without a password (shadow 'root:x' read as no password by has_root_pwd)",
                 "read etc/init.d/telnet has_root_pwd() and etc/shadow by hand; rc.d/S50telnet enables it", needles=["root"]),
            FAIL("services", ["5.6-1"], "telnetd at boot", "etc/rc.d/S50telnet -> etc/init.d/telnet (service_start /usr/sbin/telnetd -l /bin/login.sh)", needles=["telnet"]),
            NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key: dropbear keys are 0-byte placeholders", "find + stat: 0 bytes", **KEYS_NONE),
            FAIL("update_integrity", UPD, "TP-Link v1 header: MD5 only", TPL_HOW, any=["tp-link", "tplink", "md5"]),
        ] + openwrt_common([("busybox", "1.19.4", []), ("dropbear", "2011.54", []), ("dnsmasq", "2.66", []), ("uclibc", "0.9.33.2", ["uclibc-ng"])],
                           "3.3.8", [LAY(0x200, ["lzma"], "LZMA kernel @0x200", "binwalk 2.3.3 and 3.1.0, unblob"),
                                     LAY(sq, ["squashfs"], "SquashFS 4.0 xz", "binwalk 2.3.3 and 3.1.0, unblob; unsquashfs extracts 869 inodes"),
                                     LAY(0, ["tp-link", "tplink"], "TP-Link v1 header @0", TPL_HOW)],
                           "NX 0/49 (MIPS, toolchain without PT_GNU_STACK), canary 0/49, PIE 0/25")
        + openwrt_update(False)))

# --- OpenWrt 15.05 extroot MR3020 (sysupgrade) ---------------------------------------------------
GT.append(rec(
    "openwrt-15.05-extroot-tl-mr3020-sysupgrade.bin", device="OpenWrt Chaos Calmer 15.05 r46767 (ar71xx) for TP-Link TL-MR3020 v1, 'extroot' build with preset root password",
    vendor="TP-Link", image_type="linux_router_firmware",
    container_layout={"summary": "TP-Link v1 header @0; LZMA kernel @0x200 (Linux 3.18.20); SquashFS 4.0 LE xz @0x10C4CC"},
    extraction={"tool": "unblob carve + Debian unsquashfs 4.5", "rootfs_extracted": True},
    network_services_boot=[
        {"service": "dropbear", "started_by": "S50dropbear", "auth": "password, root allowed"},
        {"service": "uhttpd", "started_by": "S50uhttpd", "bind": "HTTP :80"},
        {"service": "telnetd", "started_by": "S50telnet", "condition": "not started: root has a password hash"},
        {"service": "root shell on the console", "started_by": "inittab ::askconsole:/bin/ash --login"},
        {"service": "dnsmasq (guest)", "started_by": "etc/rc.local"}],
    component_versions={"busybox": "1.23.2", "dropbear": "2015.67", "linux": "3.18.20", "uclibc": "0.9.33.2"},
    update_mechanism="sysupgrade (no signature); opkg check_signature with usign keys 53bad1233d4c98c5, de98a2dd1d0f8a07",
    en303645={"5.1-1": "FAIL - root password preset in etc/shadow ($1$xHig4MAQ$...), identical on every unit; not cracked by the word lists",
              "5.6-4": "FAIL - askconsole root shell on the serial console", "5.4-3": "PASS - no private key (hostapd only holds PEM parser strings)",
              "5.7-1": "FAIL - sysupgrade unsigned", "5.3-7": "NOT PASS - opkg signed but sysupgrade is not"},
    uncertain=["the preset root password itself (md5crypt, not in the lists)"],
    scored=[
        NOT_PASS("credentials", CRED, "preset root md5crypt hash identical on every unit (not cracked)", "etc/shadow read by hand; john with the shared lists: 0 cracked"),
        FAIL("services", ["5.6-4"], "askconsole root shell on the serial console", "etc/inittab ::askconsole:/bin/ash --login", needles=["askconsole"]),
        NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key; PEM strings in usr/sbin/hostapd are parser text",
                 "grep BEGIN ... PRIVATE KEY: only in hostapd (no base64 body follows); dropbear keys 0 bytes", **KEYS_NONE),
    ] + openwrt_common([("busybox", "1.23.2", []), ("dropbear", "2015.67", []), ("uclibc", "0.9.33.2", ["uclibc-ng"])], "3.18.20",
                       [LAY(0x200, ["lzma"], "LZMA kernel @0x200", "binwalk 2.3.3 and 3.1.0"),
                        LAY(0x10C4CC, ["squashfs"], "SquashFS 4.0 xz", "binwalk 2.3.3 and 3.1.0; unsquashfs: 765 inodes")],
                       "NX 62/62, canary 0/62, PIE 0/38")
    + openwrt_update(True)))

# --- HAME MPR-A1 (OpenWrt 14.07 ramips, uImage sysupgrade) ----------------------------------------
GT.append(rec(
    "openwrt-hame-mpr-a1-extroot-sysupgrade.bin", device="OpenWrt Barrier Breaker 14.07 r42625 (ramips rt305x) for HAME MPR-A1, extroot build with preset root password",
    vendor="HAME", image_type="linux_router_firmware",
    container_layout={"summary": "uImage header @0 (lzma kernel, Linux 3.10.49); SquashFS 4.0 LE xz @0x1018F8"},
    extraction={"tool": "unblob carve + Debian unsquashfs 4.5", "rootfs_extracted": True},
    network_services_boot=[{"service": "dropbear", "started_by": "S50dropbear"}, {"service": "uhttpd", "started_by": "S50uhttpd"},
                           {"service": "telnetd", "condition": "not started: root has a hash"},
                           {"service": "console shell", "started_by": "inittab askconsole /bin/ash --login"}],
    component_versions={"busybox": "1.22.1", "dropbear": "2014.63", "dnsmasq": "2.71", "linux": "3.10.49", "uclibc": "0.9.33.2"},
    update_mechanism="sysupgrade (no signature); opkg without check_signature",
    en303645={"5.1-1": "FAIL - preset root hash (same as the MR3020 extroot build), not cracked", "5.6-4": "FAIL - askconsole shell",
              "5.7-1": "FAIL - unsigned sysupgrade/opkg", "5.3": "FAIL - dropbear 2014.63, dnsmasq 2.71 (CVE-2017-14491)"},
    uncertain=["the preset root password"],
    scored=[
        NOT_PASS("credentials", CRED, "preset root md5crypt hash identical on every unit", "etc/shadow by hand; john: 0 cracked"),
        FAIL("services", ["5.6-4"], "askconsole root shell", "etc/inittab", needles=["askconsole"]),
        NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key", "grep: none; dropbear keys 0 bytes", **KEYS_NONE),
    ] + openwrt_common([("busybox", "1.22.1", []), ("dropbear", "2014.63", []), ("dnsmasq", "2.71", []), ("uclibc", "0.9.33.2", ["uclibc-ng"])], "3.10.49",
                       [LAY(0, ["uimage", "u-boot"], "uImage header @0", "binwalk 2.3.3 and 3.1.0, file(1)"),
                        LAY(0x1018F8, ["squashfs"], "SquashFS 4.0 xz", "binwalk 2.3.3 and 3.1.0; unsquashfs: 700 inodes")],
                       "NX 0/62, canary 0/62, PIE 0/37")
    + openwrt_update(False)))

# --- TL-WR703N OpenWrt CC 15.05.1 custom (ml-lan) -----------------------------------------------
GT.append(rec(
    "openwrt-mllan-tl-wr703n-sysupgrade.bin", device="OpenWrt Chaos Calmer 15.05.1 r49630 custom build (2018) for TP-Link TL-WR703N, with LuCI",
    vendor="TP-Link", image_type="linux_router_firmware",
    container_layout={"summary": "TP-Link v1 header @0; LZMA kernel @0x200 (Linux 3.18.98); SquashFS 4.0 LE xz @0x11B0A0"},
    extraction={"tool": "unblob carve + Debian unsquashfs 4.5", "rootfs_extracted": True},
    network_services_boot=[{"service": "dropbear", "started_by": "S50dropbear", "auth": "root with empty password"},
                           {"service": "uhttpd + LuCI", "started_by": "S50uhttpd", "bind": "HTTP :80"},
                           {"service": "console", "started_by": "inittab ::askconsole:/bin/ash --login"}],
    component_versions={"busybox": "1.23.2", "dropbear": "2017.75", "dnsmasq": "2.79rc1", "pppd": "2.4.7", "linux": "3.18.98", "uclibc": "0.9.33.2", "luci": "git-18.021.57137-5fa2132"},
    update_mechanism="sysupgrade (no signature); opkg check_signature with 3 usign keys",
    en303645={"5.1-1": "FAIL - root has an empty password (etc/shadow 'root::'): LuCI and the console accept it", "5.6-4": "FAIL - askconsole shell",
              "5.7-1": "FAIL - sysupgrade unsigned", "5.3-7": "NOT PASS - opkg signed, sysupgrade not"},
    uncertain=["dropbear's handling of the empty password at first boot (OpenWrt prompts to set one in LuCI)"],
    scored=[
        FAIL("credentials", CRED, "root with an empty password", "etc/shadow 'root::0:0:99999:7:::' read by hand", needles=["root"]),
        FAIL("services", ["5.6-4"], "askconsole root shell", "etc/inittab", needles=["askconsole"]),
        NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key", "grep: none; dropbear rsa key 0 bytes", **KEYS_NONE),
    ] + openwrt_common([("busybox", "1.23.2", []), ("dropbear", "2017.75", []), ("dnsmasq", "2.79", []), ("pppd", "2.4.7", ["ppp"]),
                        ("uclibc", "0.9.33.2", ["uclibc-ng"])], "3.18.98",
                       [LAY(0x200, ["lzma"], "LZMA kernel @0x200", "binwalk 2.3.3 and 3.1.0"),
                        LAY(0x11B0A0, ["squashfs"], "SquashFS 4.0 xz", "binwalk 2.3.3 and 3.1.0; unsquashfs: 1019 inodes")],
                       "NX 70/70, canary 0/70, PIE 0/37")
    + openwrt_update(True)))

# --- OpenWrt 18.06.2 kirkwood, Seagate GoFlex Home NAS (UBI) -------------------------------------
GT.append(rec(
    "openwrt-18.06.2-kirkwood-nas.bin", device="OpenWrt 18.06.2 r7676 kirkwood UBI image (DTB lists Seagate GoFlex Home NAS), DEF CON IoT village",
    vendor="Seagate", image_type="linux_nas_firmware",
    container_layout={"summary": "UBI @0 with volumes kernel (uImage, xz initramfs? Linux 4.14.95) and rootfs (SquashFS 4.0 LE xz)"},
    extraction={"tool": "unblob (ubireader) -> squashfs carved -> Debian unsquashfs", "rootfs_extracted": True},
    network_services_boot=[{"service": "dropbear", "started_by": "S19dropbear"}, {"service": "uhttpd + LuCI", "started_by": "S50uhttpd"},
                           {"service": "dnsmasq", "started_by": "S19dnsmasq"}, {"service": "console", "started_by": "inittab askconsole /usr/libexec/login.sh (ash without login unless ttylogin=1)"}],
    component_versions={"busybox": "1.28.4", "dropbear": "2017.75", "dnsmasq": "2.80", "pppd": "2.4.7", "linux": "4.14.95", "musl": "1.1.19"},
    update_mechanism="sysupgrade (no signature check on kirkwood); opkg check_signature with 10 usign keys",
    en303645={"5.1-1": "FAIL - root with an empty password", "5.6-4": "FAIL - askconsole login.sh runs ash without login (ttylogin unset)",
              "5.7-1": "FAIL - sysupgrade unsigned", "5.3-7": "NOT PASS - opkg signed, sysupgrade not"},
    uncertain=[],
    scored=[
        FAIL("credentials", CRED, "root with an empty password", "etc/shadow 'root::' by hand", needles=["root"]),
        FAIL("services", ["5.6-4"], "console shell without login", "etc/inittab + usr/libexec/login.sh (uci ttylogin unset)", needles=["askconsole"]),
        NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key", "grep: none; dropbear key 0 bytes", **KEYS_NONE),
    ] + openwrt_common([("busybox", "1.28.4", []), ("dropbear", "2017.75", []), ("dnsmasq", "2.80", []), ("pppd", "2.4.7", ["ppp"]), ("musl", "1.1.19", [])],
                       "4.14.95", [LAY(0, ["ubi"], "UBI image @0", "binwalk 3.1.0, file(1), ubireader")],
                       "", elf_fail=False)
    + openwrt_update(True)))

# --- OpenWrt ar71xx kernel uImage ----------------------------------------------------------------
GT.append(rec(
    "openwrt-ar71xx-uImage-lzma.bin", device="OpenWrt (r6519, 2018) ar71xx kernel uImage, Linux 4.9.87 with an empty initramfs",
    vendor="OpenWrt", image_type="linux_kernel",
    container_layout={"summary": "uImage header @0 (name 'MIPS OpenWrt Linux-4.9.87', lzma); LZMA @0x40"},
    extraction={"tool": "unblob: lzma -> kernel (cpio initramfs of 2 entries)"},
    component_versions={"linux": "4.9.87"}, update_mechanism="uImage header CRC32 only",
    en303645={"5.3": "FAIL - Linux 4.9 EOL (2023-01)", "5.7-1": "FAIL - CRC32 only"},
    scored=[COMP("linux", "4.9.87", "uImage name and kernel banner (strings on the lzma output)"),
            LAY(0, ["uimage", "u-boot"], "uImage header @0", "binwalk 2.3.3 and 3.1.0, file(1)"),
            FAIL("update_integrity", UPD, "uImage CRC32 only, no signature", "uImage header fields (file(1), binwalk)")]))

# --- Seagate BlackArmor NAS 220 service pack SP42 ------------------------------------------------
GT.append(rec(
    "seagate-blackarmor-nas220-sg2000-2000.1337.sp42.img", device="Seagate BlackArmor NAS 220 'service pack' image (unofficial SP42) accepted by the stock web updater",
    vendor="Seagate", image_type="linux_nas_update_package",
    container_layout={"summary": "76800-byte leading block (high entropy; not parsed); gzip @0x12C00 -> tar (sp, pre_setup.sh, post_setup.sh, forallver, sp.tgz)"},
    extraction={"tool": "dd skip=76800 | gunzip | tar (binwalk 2.3.3 finds the gzip; binwalk 3.1.0 and unblob find nothing)"},
    accounts={"set_by_update": "pre_setup.sh replaces root in etc/shadow/passwd with $1$$4ZqV5rJEeb0ZYXscpTpsX. (md5crypt, empty salt)",
              "password": "atsahs (stated in the repository notes; verified with openssl passwd -1 -salt '' atsahs; not in the shared word lists)"},
    network_services_boot=[{"service": "dropbear via inetd", "started_by": "pre_setup.sh appends 'ssh stream tcp nowait root /usr/sbin/dropbear dropbear -i' to /etc/inetd.conf"}],
    update_mechanism="the NAS installs this third-party package: no vendor signature",
    en303645={"5.1-1": "FAIL - fixed root password atsahs set on every unit", "5.6-1": "FAIL - enables SSH for root at boot", "5.7-1": "FAIL - unsigned package accepted"},
    uncertain=["the content of the first 76800 bytes (encrypted or a vendor header)"],
    scored=[
        FAIL("credentials", CRED, "fixed root hash (atsahs) written by pre_setup.sh", "read pre_setup.sh in the gzip/tar; openssl passwd -1 -salt '' atsahs reproduces the hash", needles=["root"]),
        FAIL("services", ["5.6-1"], "dropbear for root added to inetd", "pre_setup.sh line 'ssh stream tcp nowait root /usr/sbin/dropbear'", any=["dropbear", "ssh"]),
        LAY(0x12C00, ["gzip"], "gzip @0x12C00", "binwalk 2.3.3; gunzip + tar list confirm"),
    ]))

# --- Seagate BlackArmor NAS 220 U-Boot (kwb) -----------------------------------------------------
GT.append(rec(
    "seagate-blackarmor-nas220-u-boot.kwb", device="U-Boot 2022.04 (patched) Marvell kwbimage for Seagate BlackArmor NAS 220",
    vendor="Seagate", image_type="bootloader",
    container_layout={"summary": "Marvell kwbimage header @0 (boot from NAND/SPI), U-Boot payload; no Linux"},
    component_versions={"u-boot": "2022.04 (from the repository's patch name; no version string survived in the binary: UNCERTAIN)"},
    update_mechanism="kwboot / flash write; no signature (kwbimage v0 without secure header)",
    en303645={"5.7-1": "FAIL - no secure boot header"},
    uncertain=["U-Boot version (no banner string found)"],
    scored=[FAIL("update_integrity", UPD, "kwbimage without a secure-boot header", "xxd: kwbimage v0 main header (byte 0 = 0x8B boot from NAND, 8-bit header checksum @0x1F); the Kirkwood v0 format has no secure-header or signature fields")]))

# --- DIR-612 B1 (Realtek, non-Linux) -------------------------------------------------------------
for nm, ver in (("dlink-dir612b1-fw200tcb03-webupload.img", "2.00TCB03"), ("dlink-dir612b1-fw201enb01-webupload.img", "2.01ENB01"),
                ("dlink-dir612b1-fw214tcb01.img", "2.14TCb01")):
    GT.append(rec(
        nm, device=f"D-Link DIR-612 B1 firmware {ver} (web upload image); a non-Linux RTOS image (VWS web server pages, no ELF, no kernel banner)",
        vendor="D-Link", image_type="rtos_router_firmware",
        container_layout={"summary": "'DIR612' header @0 (model, build date, 'router.img'); from @0x46 a chain of LZMA streams of 32 KiB each ('KP' block headers); rest unknown"},
        extraction={"tool": "binwalk 2.3.3/3.1.0 list every LZMA block; unblob decompresses some 20 of them; contents are web pages (VWS_FUNCTION) and code"},
        update_mechanism="web upload (upload.htm); header holds a checksum, no signature found (UNCERTAIN)",
        en303645={"5.7-1": "UNCERTAIN - header format not documented", "5.1-1": "UNCERTAIN - default web admin password not found in clear"},
        uncertain=["OS name (Realtek SDK RTOS, likely eCos)", "default credentials", "header checksum algorithm"],
        scored=[LAY(0x46, ["lzma"], "first LZMA block @0x46", "binwalk 2.3.3 and 3.1.0; unblob")]))

# --- ESP8266 Tasmota ---------------------------------------------------------------------------
for nm, ver, core, sdk, ota in (("tasmota-6.6.0-sonoff-basic.bin", "6.6.0", "2.4.2", "2.2.1", "http://thehackbox.org/tasmota/release/sonoff-basic.bin"),
                                 ("tasmota-8.5.0-DE.bin", "8.5.0", "2.7.4", "2.2.2", "http://ota.tasmota.com/tasmota/release/tasmota.bin")):
    GT.append(rec(
        nm, device=f"Tasmota {ver} for ITEAD Sonoff (ESP8266, 1 MB flash)", vendor="ITEAD Sonoff", image_type="mcu_firmware",
        container_layout={"summary": "ESP8266 image v1 @0 (eboot bootloader, 1 segment at 0x4010f000); second ESP8266 image v1 @0x1000 (the application)"},
        mcu={"chip": "ESP8266", "app_at_0x1000": "esptool image-info on the file from 0x1000: ESP8266 image, valid checksum"},
        component_versions={"tasmota": ver, "esp8266-arduino-core": core, "esp8266-nonos-sdk": sdk},
        hardcoded_credentials=[{"text": "DVES_USER / DVES_PASS", "kind": "MQTT default user/password compiled in"}],
        update_mechanism=f"OTA from {ota} over plain HTTP; image checked by magic and checksum only",
        en303645={"5.1-1": "FAIL - MQTT default credentials DVES_USER/DVES_PASS", "5.3/5.7-1": "FAIL - plain-HTTP OTA URL, no signature",
                  "5.6-4": "UNCERTAIN - serial command console"},
        uncertain=["web admin password default (empty in upstream my_user_config.h; not visible in the binary)"],
        scored=[
            FAIL("credentials", CRED, "MQTT default DVES_USER/DVES_PASS", "strings: DVES_USER, DVES_PASS beside the Mqtt* key table", needles=["DVES"]),
            FAIL("update_integrity", UPD_ANY, "plain-HTTP OTA URL", f"strings: {ota}", needles=["http://"]),
            FAIL("update_integrity", UPD, "image protected by a checksum only, no signature", "esptool image-info on both images: checksum valid, no hash or signature"),
            COMP("tasmota", ver, "strings: StatusFWR / release URL / upstream tag", aliases=["sonoff-tasmota"]),
            COMP("esp8266-nonos-sdk", sdk, "strings: SDK version string (e.g. '2.2.1(cfd48f3)')", aliases=["esp8266-sdk", "esp8266_nonos_sdk", "nonos-sdk"]),
            LAY(0x1000, ["esp8266", "esp"], "application image @0x1000", "esptool image-info on the bytes from 0x1000"),
            NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key", "strings: no PEM/DER key", **KEYS_NONE),
        ]))

# --- NodeMCU ------------------------------------------------------------------------------------
GT.append(rec(
    "nodemcu-master-7-modules-2017-integer.bin", device="NodeMCU firmware (master, 2017-01-19, 7 modules, integer build) for ESP8266", vendor="NodeMCU",
    image_type="mcu_firmware",
    container_layout={"summary": "ESP8266 image v1 @0 (3 segments, IRAM/DRAM); irom0 text @0x10000"},
    component_versions={"nodemcu": "master 2017-01-19 (no numeric version)", "esp8266-nonos-sdk": "1.5.4.1", "lua": "5.1.4"},
    network_services_boot=[{"service": "Lua interpreter on UART0", "auth": "none: any serial user runs Lua (file, wifi, node modules)"}],
    update_mechanism="serial flashing; no signature", en303645={"5.6-4": "FAIL - unauthenticated Lua REPL on the UART", "5.7-1": "FAIL - checksum only"},
    scored=[FAIL("services", ["5.6-4"], "unauthenticated Lua REPL on UART", "NodeMCU design: interpreter on UART0 with no login; strings 'powered by Lua 5.1.4'"),
            COMP("esp8266-nonos-sdk", "1.5.4", "strings: '1.5.4.1(39cb9a32)'", aliases=["esp8266-sdk", "esp8266_nonos_sdk", "nonos-sdk"]),
            COMP("nodemcu", None, "strings: 'NodeMCU custom build by frightanic.com'", aliases=["nodemcu-firmware"]),
            FAIL("update_integrity", UPD, "no signature, checksum only", "esptool image-info: checksum valid, no hash or signature"),
            LAY(0, ["esp8266", "esp"], "ESP8266 image @0", "esptool image-info")]))

# --- ESP8266 NONOS SDK OTA user1 ----------------------------------------------------------------
GT.append(rec(
    "esp8266-nonos-sdk-4096_user1.bin", device="ESP8266 NONOS SDK application, OTA slot user1 (image v2), 4 MB flash map, built 2015-08-07", vendor="Espressif",
    image_type="mcu_firmware",
    container_layout={"summary": "ESP8266 image v2 (OTA) @0: 4 segments, entry 0x40100004"},
    component_versions={"esp8266-nonos-sdk": "1.3.0 (string '1.3.0'; build date 2015-08-07 matches the 1.3.0 release: UNCERTAIN)"},
    private_keys_and_certs=[{"what": "PEM header strings only ('-----BEGIN RSA PRIVATE KEY-----' etc.) from the SSL library's parser; no key body"}],
    update_mechanism="OTA (user1/user2 slots); image checksum only", en303645={"5.4-3": "PASS - no key (binwalk 2.3.3 'PEM RSA private key' is a false positive)", "5.7-1": "FAIL - checksum only"},
    scored=[NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "PEM header strings without a key body", "binwalk 2.3.3 flags 'PEM RSA private key' @0x3E7E4; strings show only the BEGIN/END lines, openssl rsa cannot read a key there", **KEYS_NONE),
            FAIL("update_integrity", UPD, "checksum only", "esptool image-info: checksum valid, no signature"),
            LAY(0, ["esp8266", "esp"], "ESP8266 image v2 @0", "esptool image-info")]))

# --- esptool ESP8266 deep-sleep sketch ----------------------------------------------------------
GT.append(rec(
    "esptool-esp8266_deepsleep.bin", device="Arduino ESP8266 sketch (deep sleep), full flash image: eboot @0, app @0x1000", vendor="Espressif", image_type="mcu_firmware",
    container_layout={"summary": "ESP8266 image v1 @0 (eboot, 1 segment); ESP8266 image v1 @0x1000 (4 segments, entry 0x401000e0)"},
    component_versions={"esp8266-nonos-sdk": "3.0.0-dev(c0f7b44)", "esp8266-arduino-core": "UNCERTAIN (path esp8266com/esp8266, 2018)"},
    update_mechanism="serial flash; checksum only", en303645={"5.7-1": "FAIL - checksum only"},
    scored=[LAY(0x1000, ["esp8266", "esp"], "application image @0x1000", "esptool image-info on the bytes from 0x1000"),
            COMP("esp8266-nonos-sdk", "3.0.0", "strings: '3.0.0-dev(c0f7b44)'", aliases=["esp8266-sdk", "esp8266_nonos_sdk", "nonos-sdk"]),
            FAIL("update_integrity", UPD, "checksum only", "esptool image-info")]))

# --- ESP32 bootloader ---------------------------------------------------------------------------
GT.append(rec(
    "esptool-bootloader_esp32.bin", device="ESP-IDF second-stage bootloader for ESP32 (esptool test image)", vendor="Espressif", image_type="mcu_bootloader",
    container_layout={"summary": "ESP32 image @0: 4 segments, entry 0x4009816c, no appended SHA-256"},
    update_mechanism="no secure boot signature block", en303645={"5.7-1": "FAIL - no Secure Boot signature"},
    scored=[FAIL("update_integrity", UPD, "no Secure Boot v2 signature, no hash appended", "esptool image-info: checksum only"),
            LAY(0, ["esp32", "esp"], "ESP32 image @0", "esptool image-info")]))

# --- DVID trainings (AVR) ------------------------------------------------------------------------
GT.append(rec(
    "DVID_defaultPassword.ino.arduino_standard.hex", device="DVID training 'defaultPassword' (ATmega328P, Intel HEX)", vendor="DVID", image_type="mcu_firmware",
    mcu={"format": "Intel HEX", "converted_with": "objcopy -I ihex -O binary"},
    hardcoded_credentials=[{"offset_in_flash": "0x4071", "string": "password", "context": "compared with serial input after 'Pass : '; next string is the secret message"}],
    en303645={"5.1-1": "FAIL - default password 'password' common to all devices", "5.7-1": "FAIL - no signature"},
    scored=[FAIL("credentials", CRED, "default password 'password' beside the 'Pass : ' prompt", "objcopy to binary; strings in order: 'Pass : ', 'Well done! Message : ', 'password'", needles=["password"]),
            FAIL("update_integrity", UPD, "no signature", "Intel HEX, AVR has no secure boot")]))
GT.append(rec(
    "DVID_characteristics.ino.arduino_standard.hex", device="DVID training 'characteristics' (ATmega328P + HM-10 BLE module over AT commands)", vendor="DVID", image_type="mcu_firmware",
    mcu={"format": "Intel HEX"},
    hardcoded_credentials=[{"offset_in_flash": "0x4431", "string": "Password : Cow", "context": "written to BLE characteristic 0xFFE1 ('Something is leaking on 0000ffe1')"}],
    en303645={"5.1-1": "FAIL - hard-coded password 'Cow' leaked over BLE", "5.7-1": "FAIL - no signature"},
    scored=[FAIL("credentials", CRED, "hard-coded password 'Cow'", "objcopy + strings: 'Password : Cow'", needles=["cow"]),
            NOT_FAIL("credentials", CRED, "HM-10 AT commands are not passwords", "strings: AT+UUID0xFFE0, AT+CHAR0xFFE1 are BLE module set-up commands sent over serial", needles=["AT+"]),
            FAIL("update_integrity", UPD, "no signature", "Intel HEX, AVR has no secure boot")]))

# --- bare-metal / RTOS Cortex-M ------------------------------------------------------------------
def mcu(nm, device, vendor, itype, extra=(), comps=(), en=None, summary="raw Cortex-M flash image (vector table @0)", unc=()):
    pts = [FAIL("update_integrity", UPD, "no signature or secure-boot header", "raw binary: vector table at 0, no header, no signature block")]
    pts += list(extra)
    pts += [COMP(n, v, h, aliases=a) for n, v, h, a in comps]
    pts.append(NOT_FAIL("credentials", CRED, "no credential in the image", "strings read by hand: no password-like table", check="5.1-1-fw-credentials"))
    GT.append(rec(nm, device=device, vendor=vendor, image_type=itype, container_layout={"summary": summary},
                  en303645=en or {"5.7-1": "FAIL - no signature", "5.6-7": "single-privilege firmware (no MPU setup found: UNCERTAIN)"},
                  uncertain=list(unc), scored=pts))


mcu("tesla-laser-cat-toy-flash.bin", "Tesla Smart laser cat toy, 32 KiB MCU flash dump (no strings)", "Tesla Smart", "bare_metal_firmware",
    unc=["MCU family (Cortex-M per the repository's OpenOCD DAP config)"])
mcu("zephyr-CVE-2020-10064.bin", "Zephyr RTOS sample (802.15.4), fuzzware CVE-2020-10064 target", "Zephyr Project", "rtos_firmware",
    comps=[("zephyr", "2.2.0", "strings: 'zephyr-v2.2.0-2456-g38970c07abfc'", ["zephyr-rtos", "zephyr os"])])
mcu("contiki-ng-snmp-server.bin", "Contiki-NG 4.4 SNMP server for the TI CC2538DK (fuzzware CVE-2020-12141 target)", "Contiki-NG", "rtos_firmware",
    extra=[FAIL("credentials", CRED, "SNMP community 'public' compiled in", "strings: 'public' beside 'Request with invalid community' and 'Could not decode community'", needles=["public"])],
    comps=[("contiki-ng", "4.4", "strings: 'Contiki-NG-release/v4.4-dirty'", ["contiki"])])
GT[-1]["scored"] = [p for p in GT[-1]["scored"] if p["expect"] != "NOT_FAIL"]
mcu("fitbit-chargehr_18_128.bin", "Fitbit Charge HR flash image (FirmXRay collection)", "Fitbit", "bare_metal_firmware", unc=["whether parts are encrypted"])
mcu("fitbit-flex_7_88_flash.bin", "Fitbit Flex flash image 7.88", "Fitbit", "bare_metal_firmware", unc=["whether parts are encrypted"])
mcu("nxp_lwip_http.bin", "NXP (Kinetis) lwIP 1.3.1 HTTP server sample", "NXP", "bare_metal_firmware",
    comps=[("lwip", "1.3.1", "strings: 'lwIP/1.3.1 (http://savannah.nongnu.org/projects/lwip)'", [])])
mcu("atmel-samr21_http.bin", "Atmel SAMR21 6LoWPAN HTTP server with jQuery pages", "Microchip/Atmel", "bare_metal_firmware",
    comps=[("lwip", None, "strings: 'lwIP/pre-0.6' server banner", [])])
mcu("st-plc.bin", "ST PLC demo with SPWF01 Wi-Fi module (AT+S.HTTP* commands)", "STMicroelectronics", "bare_metal_firmware")
mcu("stm32_tcp_echo_server.bin", "STM32Cube lwIP TCP echo server", "STMicroelectronics", "bare_metal_firmware",
    comps=[("lwip", None, "strings: LwIP/src/core/*.c assertion paths", [])])
mcu("broadcom-BCM20702A1.bin", "Broadcom BCM20702A1 Bluetooth controller firmware (ThreadX)", "Broadcom", "rtos_firmware",
    comps=[("threadx", "G4", "binwalk 2.3.3/3.1.0 copyright: 'ThreadX ATMEL/Green Hills Version G4.0b.4.0c'", ["azure-rtos-threadx"])])
mcu("rf_door_lock.bin", "RF door lock (mbed OS, STM32L1), HALucinator sample", "STMicroelectronics", "bare_metal_firmware",
    unc=["the unlock code is compared numerically, not stored as text"])
mcu("thermostat.bin", "Thermostat (mbed OS, STM32L1), HALucinator sample", "STMicroelectronics", "bare_metal_firmware",
    unc=["the 'secret code' is compared numerically, not stored as text"])
mcu("fuzzware-pw-discovery-nucleo_f103rb.bin", "mbed OS password-discovery exercise for Nucleo F103RB", "STMicroelectronics", "bare_metal_firmware",
    unc=["the secret code is compared numerically"])
mcu("p2im_gateway.bin", "StandardFirmata gateway on STM32 Arduino core 1.3.0 (P2IM sample)", "STMicroelectronics", "bare_metal_firmware",
    comps=[("stm32duino", "1.3.0", "binwalk: path .arduino15/packages/STM32/hardware/stm32/1.3.0", ["arduino-core-stm32", "arduino_core_stm32"])])

# --- SquashFS 3.0 (LZMA, vendor magics) routers --------------------------------------------------
SQ3_HOW = ("carved at the binwalk 2.3.3 offset and extracted with 7-Zip 16.02 (7z reads SquashFS 3.x with LZMA; "
           "Debian unsquashfs and unblob without sasquatch cannot); symlinks are refused by 7z, regular files complete")
GT.append(rec(
    "ddwrt-v24-mini-wrt54g.bin", device="DD-WRT v24 mini (build 2008-05-24, Linux 2.4.35) for Linksys WRT54G, Linksys 'W54G' BIN header",
    vendor="Linksys", image_type="linux_router_firmware",
    container_layout={"summary": "BIN header 'W54G' @0 (fw 4.20.20); TRX @0x20; gzip loader @0x3C; LZMA kernel @0x910; SquashFS 3.0 LE LZMA with DD-WRT magic 'hsqt' @0xE1900 (530 inodes)"},
    extraction={"tool": SQ3_HOW + "; the 'hsqt' magic was rewritten to 'hsqs' on a copy for 7z", "files": 370},
    hardcoded_credentials=[{"file": "lib/services.so", "text": "nvram default table: http_passwd bJz7PcC1rCRJQ (DES crypt of 'admin', salt bJ)",
                            "kind": "default web/telnet password in a binary's string table"}],
    component_versions={"busybox": "1.9.2", "dnsmasq": "2.41", "dropbear": "0.51", "linux": "2.4.35"},
    update_mechanism="web upgrade / TFTP; TRX CRC32 and BIN header only",
    en303645={"5.1-1": "FAIL - default password admin (DES hash in lib/services.so nvram defaults)", "5.7-1": "FAIL - TRX CRC32 only",
              "5.3": "FAIL - 2008 components (Linux 2.4.35, dropbear 0.51, dnsmasq 2.41)"},
    uncertain=["telnetd_enable default value (the table layout does not pair it with a value in the strings)"],
    scored=[
        FAIL("credentials", CRED, "default password 'admin' in the nvram default table of lib/services.so",
             "strings lib/services.so: bJz7PcC1rCRJQ after the dhcp_* defaults; python crypt('admin','bJ') reproduces it", needles=["admin"]),
        COMP("busybox", "1.9.2", "strings bin/busybox 'BusyBox v1.9.2'"), COMP("dnsmasq", "2.41", "strings usr/sbin/dnsmasq 'dnsmasq-2.41'"),
        COMP("dropbear", "0.51", "strings usr/sbin/dropbearmulti 'SSH-2.0-dropbear_0.51'"),
        COMP("linux", "2.4.35", "kernel banner (LZMA @0x910) and lib/modules/2.4.35"),
        LAY(0x20, ["trx"], "TRX header @0x20", "binwalk 2.3.3 and 3.1.0"),
        LAY(0xE1900, ["squashfs"], "SquashFS 3.0 'hsqt' @0xE1900", "binwalk 2.3.3 ('DD-WRT signature, version 3.0')"),
        FAIL("update_integrity", UPD, "TRX CRC32 / BIN header only", "TRX header fields (binwalk)", any=["trx", "crc", "checksum"]),
        FAIL("elf_hardening", ["5.6-9", "5.6-8"], "no canary, no PIE, no RELRO", "pyelftools + checksec.py", **ELF),
        NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "PEM strings in dropbearmulti are parser text, no key", "grep BEGIN ... PRIVATE KEY only in usr/sbin/dropbearmulti, no base64 body", **KEYS_NONE),
    ]))

GT.append(rec(
    "trident-v7209-5.uImage", device="Ralink SDK 3G router firmware 'V7209_5' (uImage, Linux 2.6.21, built 2015-09-17), GoAhead web server",
    vendor="Trident (Ralink SDK)", image_type="linux_router_firmware",
    container_layout={"summary": "uImage @0 (lzma, Linux 2.6.21); SquashFS 3.0 'shsq' (LZMA) @0x120000 inside the uImage data (695 inodes)"},
    extraction={"tool": SQ3_HOW, "files": 591},
    accounts={"nvram_defaults": "etc_ro/Wireless/RT2860AP/RT2860_default_vlan and _novlan: Login=admin, Password=admin (web and the login of telnetd)",
              "passwd": "none in the image: written at boot from nvram Login/Password"},
    network_services_boot=[{"service": "telnetd", "started_by": "etc_ro/rcS line 'telnetd' (unconditional, every boot)"},
                           {"service": "goahead web server", "started_by": "etc_ro/rcS 'goahead &'", "auth": "Basic realm, admin/admin"},
                           {"service": "getty on ttyS1", "started_by": "etc_ro/inittab askfirst"}],
    component_versions={"busybox": "1.12.1", "uclibc": "0.9.28", "linux": "2.6.21", "pppd": "2.4.2", "proftpd": "1.3.1"},
    update_mechanism="web upload via mtd_write; uImage CRC32 only",
    en303645={"5.1-1": "FAIL - admin/admin nvram default", "5.6-1": "FAIL - telnetd at every boot", "5.7-1": "FAIL - CRC only",
              "5.3": "FAIL - Linux 2.6.21, BusyBox 1.12.1, uClibc 0.9.28 in a 2015 build"},
    uncertain=["device brand: only 'Trident' in the repository's file name"],
    scored=[
        FAIL("credentials", CRED, "admin/admin nvram default", "read etc_ro/Wireless/RT2860AP/RT2860_default_vlan: Login=admin, Password=admin", needles=["admin"]),
        FAIL("services", ["5.6-1"], "telnetd started by etc_ro/rcS", "etc_ro/rcS read by hand (inittab ::sysinit:/etc_ro/rcS)", needles=["telnet"]),
        COMP("busybox", "1.12.1", "strings bin/busybox"), COMP("uclibc", "0.9.28", "lib/libuClibc-0.9.28.so", aliases=["uclibc-ng"]),
        COMP("linux", "2.6.21", "uImage kernel banner"), COMP("proftpd", "1.3.1", "strings bin/proftpd 'ProFTPD 1.3.1 Server'"),
        COMP("pppd", "2.4.2", "strings bin/pppd: version string '2.4.2'", aliases=["ppp"]),
        LAY(0, ["uimage", "u-boot"], "uImage @0", "binwalk 2.3.3 and 3.1.0, file(1)"),
        FAIL("update_integrity", UPD, "uImage CRC only", "uImage header"),
        FAIL("elf_hardening", ["5.6-9", "5.6-8"], "no canary, no PIE", "pyelftools (canary 0/51, PIE 0/28)", **ELF),
    ]))

GT.append(rec(
    "linksys-wrt54gl-4.30.18.006-etsi.bin", device="Linksys WRT54GL stock firmware 4.30.18.006 ETSI (2016-01-08, Linux 2.4.20)",
    vendor="Linksys", image_type="linux_router_firmware",
    container_layout={"summary": "BIN header 'W54G' @0; TRX @0x20; gzip kernel 'piggy' @0x3C (Linux 2.4.20); SquashFS 3.0 with Linksys magic 'shsq' @0xB9A90 (539 inodes)"},
    extraction={"tool": "kernel: dd + gunzip; rootfs NOT extracted: the 'shsq' LZMA variant needs sasquatch, which no package here provides (7z, unsquashfs, unblob fail)"},
    component_versions={"linux": "2.4.20"},
    update_mechanism="web upgrade; TRX CRC32 and BIN header only",
    en303645={"5.7-1": "FAIL - CRC32 only", "5.3": "FAIL - Linux 2.4.20 in a 2016 build", "5.1-1": "UNCERTAIN - rootfs not extracted"},
    uncertain=["everything in the root filesystem"],
    scored=[COMP("linux", "2.4.20", "gunzip of the piggy @0x3C: 'Linux version 2.4.20 ... Jan 8 2016'"),
            LAY(0x20, ["trx"], "TRX @0x20", "binwalk 2.3.3 and 3.1.0"),
            LAY(0xB9A90, ["squashfs"], "SquashFS 3.0 'shsq' @0xB9A90", "binwalk 2.3.3 ('non-standard signature, version 3.0')"),
            FAIL("update_integrity", UPD, "TRX CRC32 only", "TRX header", any=["trx", "crc", "checksum"])]))

for nm, dev, vend, comps, kern, sq, telnet_how in (
        ("openwrt-brcm-2.4-awandahl.trx", "OpenWrt Backfire 10.03.1 brcm-2.4 (2011) with LuCI 0.10", "Linksys",
         [("busybox", "1.15.3"), ("dnsmasq", "2.55"), ("dropbear", "0.53.1"), ("uclibc", "0.9.30.1")], "2.4.37.9", 0x7D400,
         "etc/init.d/telnet has_root_pwd: passwd 'root:!' -> ${pwd#[!x]} empty -> telnetd -l /bin/login.sh; S50telnet"),
        ("openwrt-brcm-2.4-retroaudio-asus.trx", "OpenWrt Kamikaze 8.09 brcm-2.4 (2008) for an ASUS WL-500g-class router", "ASUS",
         [("busybox", "1.11.2"), ("dnsmasq", "2.45"), ("dropbear", "0.51"), ("uclibc", "0.9.29")], "2.4.35.4", 0x7A800,
         "etc/init.d/telnet: awk exits 1 only when root's field is non-empty and has no '!': 'root:!' -> telnet starts; S50telnet")):
    GT.append(rec(
        nm, device=dev, vendor=vend, image_type="linux_router_firmware",
        container_layout={"summary": f"TRX @0; gzip loader @0x1C; LZMA kernel @0x904 (Linux {kern}); SquashFS 3.0 LE LZMA @0x{sq:X}"},
        extraction={"tool": SQ3_HOW},
        network_services_boot=[{"service": "telnetd -l /bin/login.sh", "started_by": "S50telnet", "condition": telnet_how},
                               {"service": "askfirst root shells", "started_by": "etc/inittab tts/0, ttyS0, tty1 ::askfirst:/bin/ash --login"},
                               {"service": "dropbear", "started_by": "S50dropbear"}],
        component_versions=dict(comps + [("linux", kern)]),
        update_mechanism="TRX CRC32; mtd write / sysupgrade without signature; ipkg/opkg without signatures",
        en303645={"5.1-1": "FAIL - telnet root shell without a password ('root:!' counts as no password)", "5.6-1": "FAIL - telnet at boot",
                  "5.6-4": "FAIL - askfirst root shells on the consoles", "5.7-1": "FAIL - TRX CRC32 only"},
        scored=[
            FAIL("credentials", CRED, "telnet root shell without password: passwd 'root:!' read as no password", telnet_how, needles=["root"]),
            FAIL("services", ["5.6-1"], "telnetd at boot", "etc/rc.d/S50telnet -> etc/init.d/telnet", needles=["telnet"]),
            FAIL("services", ["5.6-4"], "askfirst root shell on the console", "etc/inittab", needles=["askfirst"]),
            LAY(0, ["trx"], "TRX @0", "binwalk 2.3.3 and 3.1.0"),
            LAY(sq, ["squashfs"], "SquashFS 3.0 @0x%X" % sq, "binwalk 2.3.3 ('version 3.0'); 7z extracts it"),
            COMP("linux", kern, "kernel banner (strings on the LZMA kernel) and lib/modules"),
            FAIL("update_integrity", UPD, "TRX CRC32 only, no signature", "TRX header", any=["trx", "crc", "checksum", "sysupgrade"]),
            FAIL("elf_hardening", ["5.6-9", "5.6-8"], "no canary, no PIE", "pyelftools + checksec.py", **ELF),
            NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "no private key (dropbear keys generated at first boot)", "grep; etc/dropbear empty or 0-byte", **KEYS_NONE),
        ] + [COMP(n, v, OWRT_HOW + " / 7z-extracted binaries", aliases=(["uclibc-ng"] if n == "uclibc" else [])) for n, v in comps]))

# --- ESP32-CAM MicroPython camera firmware ---------------------------------------------------------
GT.append(rec(
    "micropython-v1.21.0-esp32-camera.bin", device="MicroPython v1.21.0 with the ESP32 camera driver (no BLE) for ESP32-CAM boards, flash image written at 0x1000",
    vendor="AI-Thinker (ESP32-CAM)", image_type="mcu_firmware",
    container_layout={"summary": "ESP32 bootloader image @0 (flash 0x1000); partition table @0x7000 (nvs, phy_init, factory @flash 0x10000, vfs); ESP32 app image @0xF000 (8 segments, SHA-256 appended, app descriptor: ESP-IDF v5.0.2, built Oct 13 2023)"},
    mcu={"chip": "ESP32", "tool": "esptool 5.6 image-info on the file and on the bytes from 0xF000; partition table decoded by hand (0xAA50 entries)"},
    component_versions={"micropython": "1.21.0", "esp-idf": "5.0.2", "mbedtls": "3.4.0 (string '@3.4.0')"},
    network_services_boot=[{"service": "MicroPython REPL on UART0", "auth": "none (CTRL-A raw REPL); WebREPL off until webrepl_setup sets a password"}],
    private_keys_and_certs=[{"what": "PEM header strings only (mbedTLS parser), binwalk 2.3.3 flags them as keys @0x42A3A"}],
    update_mechanism="serial flash / OTA by user code; SHA-256 digest appended, no Secure Boot v2 signature block",
    en303645={"5.6-4": "FAIL - unauthenticated Python REPL on the UART", "5.7-1": "FAIL - digest only, no signature", "5.4-3": "PASS - PEM strings only"},
    scored=[
        FAIL("services", ["5.6-4"], "unauthenticated MicroPython REPL on the UART", "strings: 'CTRL-A -- on a blank line, enter raw REPL mode', MicroPython design"),
        COMP("micropython", "1.21.0", "strings: 'MicroPython v1.21.0 on 2023-10-13'"),
        COMP("esp-idf", "5.0.2", "app descriptor at 0xF020: idf_ver v5.0.2 (esptool image-info)", aliases=["esp_idf", "espidf"]),
        LAY(0xF000, ["esp32", "esp"], "ESP32 app image @0xF000", "esptool image-info on the bytes from 0xF000"),
        FAIL("update_integrity", UPD, "SHA-256 digest only, no Secure Boot signature", "esptool: 'Validation hash ... (valid)', no signature block"),
        NOT_FAIL("keys", ["5.4-3", "5.4-4", "5.4-1"], "PEM header strings without a key body", "strings at the binwalk offsets: BEGIN/END lines only", **KEYS_NONE),
    ]))

for r in GT:
    for p in r["scored"]:
        if not p.get("how"):
            raise SystemExit(f"{r['file']}: a point without how")
json.dump(GT, sys.stdout, indent=1)
