"""Compare the CVE lists of iotassure and cve-bin-tool per image (bench/compare-cve.sh runs it).

Inputs per image folder under --work: assess/vex.cdx.json (iotassure's findings), assess/report.json
(its set-aside lines), cbt-binary.json (cve-bin-tool on the unpacked tree), cbt-sbom.json
(cve-bin-tool on iotassure's SBOM). Only CVEs whose record is in the snapshot are compared: both
tools saw exactly those records. iotassure's curated-only CVEs (no record in the snapshot) are
counted apart, since cve-bin-tool cannot know them.

Each difference gets a mechanical first reason (the component was not identified, was identified
at another version, or was identified and the range did not match); docs/advisories.md gives the
reading of the record behind each one.
"""

import argparse
import json
import os
import re
import sys

CPE_RE = re.compile(r"^cpe:2\.3:[aho]:([^:]+):([^:]+):")


def load_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def snapshot_products(path):
    """CVE id -> set of vendor:product its vulnerable cpeMatch rows name."""
    doc = load_json(path)
    out = {}
    for item in doc["vulnerabilities"]:
        cve = item["cve"]
        names = set()
        for conf in cve.get("configurations", []):
            for node in conf.get("nodes", []):
                for m in node.get("cpeMatch", []):
                    if m.get("vulnerable"):
                        hit = CPE_RE.match(m["criteria"])
                        if hit:
                            names.add(f"{hit.group(1)}:{hit.group(2)}")
        out[cve["id"]] = names
    return out


def ours(folder):
    """CVE id -> list of (component, version, state) from iotassure's VEX document."""
    vex = load_json(os.path.join(folder, "assess", "vex.cdx.json"), {})
    comps = {c.get("bom-ref"): c for c in vex.get("components", [])}
    out = {}
    for v in vex.get("vulnerabilities", []):
        state = v.get("analysis", {}).get("state", "")
        if state in ("not_affected", "resolved", "false_positive"):
            continue
        for a in v.get("affects", []):
            c = comps.get(a.get("ref"), {})
            out.setdefault(v["id"], []).append((c.get("name", a.get("ref")), c.get("version", ""), state))
    return out


def components(folder):
    """(lowercase name -> versions) and (vendor:product -> versions) iotassure identified."""
    vex = load_json(os.path.join(folder, "assess", "sbom.cdx.json"), {})
    names, cpes = {}, {}
    for c in vex.get("components", []):
        names.setdefault(c.get("name", "").lower(), set()).add(c.get("version", ""))
        hit = CPE_RE.match(c.get("cpe", ""))
        if hit:
            cpes.setdefault(f"{hit.group(1)}:{hit.group(2)}", set()).add(c.get("version", ""))
    return names, cpes


def theirs(path):
    """CVE id -> list of (vendor:product, version); products -> versions cve-bin-tool identified."""
    rows = load_json(path, None)
    if rows is None:
        return None, None
    out, products = {}, {}
    for r in rows:
        vp = f"{r['vendor']}:{r['product']}"
        products.setdefault(vp, set()).add(r["version"])
        out.setdefault(r["cve_number"], []).append((vp, r["version"]))
    return out, products


def identified_products(log_path):
    """vendor:product -> versions from cve-bin-tool's log ("N CVE(s) in vendor.product version V")
    and its "No CVEs found"/summary lines; used to tell "not identified" from "range not matched"."""
    found = {}
    if not os.path.exists(log_path):
        return found
    text = open(log_path, encoding="utf-8", errors="replace").read()
    # Rich wraps long log lines; join continuation lines before matching.
    flat = re.sub(r"\s*\n\s+", " ", text)
    for m in re.finditer(r"CVE\(s\) in\s+([\w.\-]+)\.([\w\-]+) version\s+(\S+)", flat):
        found.setdefault(f"{m.group(1)}:{m.group(2)}", set()).add(m.group(3))
    return found


def set_aside(folder):
    """CVE id -> iotassure's set-aside reason lines (from report.json findings)."""
    rep = load_json(os.path.join(folder, "assess", "report.json"), {})
    out = {}
    for f in rep.get("findings", []):
        for line in f.get("detail", "").splitlines():
            for cve in re.findall(r"CVE-\d+-\d+", line):
                low = line.lower()
                if "set aside" in low or "ignored" in low or "not used" in low:
                    text = re.sub(r"^set aside:\s*", "", line.strip("- ").strip(), flags=re.I)
                    if text not in out.setdefault(cve, []):
                        out[cve].append(text)
    return out


def fmt_ours(rows):
    return ", ".join(sorted({f"{n} {v}" + (" (INCONCLUSIVE)" if s == "in_triage" else "") for n, v, s in rows}))


def fmt_theirs(rows):
    return ", ".join(sorted({f"{vp} {v}" for vp, v in rows}))


def reason_only_ours(cve, products, cbt_products, label):
    if cbt_products is None:
        return f"{label}: no report"
    if not products:
        return f"{label}: the NVD record has no CPE configuration to match (not analysed yet)"
    seen = {vp: cbt_products.get(vp) for vp in products if vp in cbt_products}
    if not seen:
        return f"{label} did not identify {' / '.join(sorted(products)) or 'the component'}"
    return f"{label} identified " + "; ".join(f"{vp} {', '.join(sorted(v))}" for vp, v in sorted(seen.items())) + ", range not matched"


def reason_only_theirs(cve, products, names, cpes, aside):
    if cve in aside:
        return "iotassure set it aside: " + " / ".join(aside[cve])
    seen = {vp: cpes[vp] for vp in products if vp in cpes}
    if seen:
        return "iotassure identified " + "; ".join(f"{vp} {', '.join(sorted(v))}" for vp, v in sorted(seen.items())) + ", range not matched"
    return f"iotassure has no component with CPE {' / '.join(sorted(products))}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--json")
    ap.add_argument("images", nargs="+")
    args = ap.parse_args()
    snap = snapshot_products(args.snapshot)
    result = {"snapshot_records": len(snap), "images": []}
    totals = {k: 0 for k in ("ours", "bin", "sbom", "all", "only_ours", "only_theirs", "ours_curated_only")}
    print(f"Snapshot: {len(snap)} NVD records. Counts are distinct CVE ids per image.\n")
    print("| image | iotassure | cve-bin-tool (tree) | cve-bin-tool (SBOM) | all three | only iotassure | only cve-bin-tool | iotassure, curated only |")
    print("|---|---|---|---|---|---|---|---|")
    diffs = []
    for name in args.images:
        folder = os.path.join(args.work, name)
        o_all = ours(folder)
        o = {k: v for k, v in o_all.items() if k in snap}
        curated_only = sorted(k for k in o_all if k not in snap)
        b, b_products = theirs(os.path.join(folder, "cbt-binary.json"))
        s, s_products = theirs(os.path.join(folder, "cbt-sbom.json"))
        b = b or {}
        s = s or {}
        b_seen = dict(identified_products(os.path.join(folder, "cbt-binary.log")))
        for vp, vs in (b_products or {}).items():
            b_seen.setdefault(vp, set()).update(vs)
        s_seen = dict(identified_products(os.path.join(folder, "cbt-sbom.log")))
        for vp, vs in (s_products or {}).items():
            s_seen.setdefault(vp, set()).update(vs)
        names, cpes = components(folder)
        aside = set_aside(folder)
        ids = set(o) | set(b) | set(s)
        all3 = {c for c in ids if c in o and c in b and c in s}
        only_o = {c for c in ids if c in o and c not in b and c not in s}
        only_t = {c for c in ids if c not in o}
        row = {
            "image": name, "ours": len(o), "bin": len(b), "sbom": len(s), "all": len(all3),
            "only_ours": len(only_o), "only_theirs": len(only_t), "ours_curated_only": len(curated_only),
            "curated_only_ids": curated_only, "differences": [],
        }
        for k in totals:
            totals[k] += row[k]
        print(f"| {name} | {len(o)} | {len(b)} | {len(s)} | {len(all3)} | {len(only_o)} | {len(only_t)} | {len(curated_only)} |")
        for cve in sorted(ids - all3):
            who = "+".join(x for x, d in (("iotassure", o), ("cbt-tree", b), ("cbt-sbom", s)) if cve in d)
            products = snap.get(cve, set())
            if cve in o:
                why = []
                if cve not in b:
                    why.append(reason_only_ours(cve, products, b_seen, "cbt-tree"))
                if cve not in s:
                    why.append(reason_only_ours(cve, products, s_seen, "cbt-sbom"))
                what = fmt_ours(o[cve])
            else:
                why = [reason_only_theirs(cve, products, names, cpes, aside)]
                what = fmt_theirs(b.get(cve, []) + s.get(cve, []))
            d = {"image": name, "cve": cve, "reported_by": who, "component": what, "why": why}
            row["differences"].append(d)
            diffs.append(d)
        result["images"].append(row)
    print(f"| **all images** | {totals['ours']} | {totals['bin']} | {totals['sbom']} | {totals['all']} | {totals['only_ours']} | {totals['only_theirs']} | {totals['ours_curated_only']} |")
    print("\nDifferences (reported by, component as the reporter saw it, first reason):\n")
    print("| image | CVE | reported by | component | why the others did not |")
    print("|---|---|---|---|---|")
    for d in diffs:
        short = d["image"].split("-")[0] if not d["image"].startswith("tplink") else d["image"][:30]
        print(f"| {short} | {d['cve']} | {d['reported_by']} | {d['component']} | {'; '.join(d['why'])} |")
    result["totals"] = totals
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
