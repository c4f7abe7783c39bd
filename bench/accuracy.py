#!/usr/bin/env python3
"""Score iotassure reports against corpus/wider/ground_truth.json.

Each ground-truth record has a list `scored` of points, established without iotassure:

  expect FAIL     a violation: found when a FAIL finding names one of `provisions` (from a check
                  whose id starts with `check`, if given) and its text holds every `needles` entry
                  and, if `any` is given, one of those. Counts for recall. A PASS verdict on the
                  first provision is a false PASS.
  expect NOT_PASS the provision must not be PASS (a fixed hash the word list does not crack, an
                  update path left out): a PASS verdict is a false PASS. Not in recall.
  expect NOT_FAIL no violation exists (placeholder keys, PEM headers in a TLS library): a FAIL
                  finding as above is a false FAIL. Not in recall.
  expect PRESENT  a component (`component`: name, aliases, version prefix) or a layout entry
                  (`layout`: offset in the image, one of `formats` in its format or description).
                  Counts for recall.

An image without report.json loses every point it has and is listed with its last error line.
"""
import argparse
import json
import os
import sys

FAMILIES = ["credentials", "services", "components", "keys", "elf_hardening", "update_integrity", "layout"]


def finding_text(f):
    parts = [f.get("title", ""), f.get("detail") or ""]
    for e in f.get("evidence", []):
        parts.append(e.get("excerpt", ""))
        loc = e.get("location", {})
        for k in ("path", "provenance", "url", "cite"):
            if isinstance(loc.get(k), str):
                parts.append(loc[k])
    return "\n".join(parts).lower()


def matches(f, p):
    provs = p.get("provisions", [])
    if provs and not any(x in f.get("provisions", []) for x in provs):
        return False
    if p.get("check") and not f.get("check", "").startswith(p["check"]):
        return False
    text = finding_text(f)
    if not all(n.lower() in text for n in p.get("needles", [])):
        return False
    alts = p.get("any")
    return not alts or any(a.lower() in text for a in alts)


def fails(report, p):
    return [f for f in report.get("findings", []) if f.get("outcome") == "fail" and matches(f, p)]


def verdict(report, prov):
    for v in report.get("verdicts", []):
        if v.get("id") == prov:
            return v.get("verdict")
    return None


def norm(s):
    return "".join(ch for ch in s.lower() if ch.isalnum())


def has_component(report, c):
    names = {norm(n) for n in [c["name"]] + c.get("aliases", [])}
    want = c.get("version")
    for comp in report.get("components", []):
        if norm(comp.get("name", "")) in names:
            if want is None or str(comp.get("version", "")).lower().lstrip("v").startswith(want.lower()):
                return True
    return False


def has_layout(report, lay):
    entries = (report.get("subject", {}).get("firmware") or {}).get("layout") or []
    for e in entries:
        if e.get("parent") != "image" or e.get("offset") != lay["offset"]:
            continue
        text = (str(e.get("format", "")) + " " + str(e.get("description", ""))).lower()
        if any(fm.lower() in text for fm in lay["formats"]):
            return True
    return False


def last_error(dirpath):
    for name in ("stderr.txt", "stdout.txt"):
        p = os.path.join(dirpath, name)
        if os.path.isfile(p):
            lines = [l.strip() for l in open(p, errors="replace") if l.strip()]
            errs = [l for l in lines if l.startswith("error")]
            if errs or lines:
                return (errs or lines)[-1][:160]
    code = os.path.join(dirpath, "exit")
    return f"exit {open(code).read().strip()}" if os.path.isfile(code) else "not assessed"


def score(gt, reports_dir):
    fam = {f: {"points": 0, "found": 0} for f in FAMILIES}
    groups = {}
    traps = {"NOT_FAIL": 0, "NOT_PASS": 0}
    false_fail, false_pass, no_report, misses, per_image = [], [], [], [], []
    for rec in gt:
        name = rec["file"]
        d = os.path.join(reports_dir, name)
        rp = os.path.join(d, "report.json")
        report = json.load(open(rp)) if os.path.isfile(rp) else None
        if report is None:
            no_report.append((name, last_error(d)))
        got = total = 0
        group = "Linux" if "linux" in rec.get("image_type", "") else "non-Linux"
        g = groups.setdefault(group, {"images": 0, "reports": 0, "points": 0, "found": 0})
        g["images"] += 1
        g["reports"] += report is not None
        for p in rec.get("scored", []):
            e = p["expect"]
            f = p["family"]
            if e in traps:
                traps[e] += 1
            if e in ("FAIL", "PRESENT"):
                fam[f]["points"] += 1
                total += 1
                if report is None:
                    ok = False
                elif "component" in p:
                    ok = has_component(report, p["component"])
                elif "layout" in p:
                    ok = has_layout(report, p["layout"])
                else:
                    ok = bool(fails(report, p))
                if ok:
                    fam[f]["found"] += 1
                    got += 1
                else:
                    misses.append((name, p))
            if report is None:
                continue
            if e in ("FAIL", "NOT_PASS") and p.get("provisions"):
                if verdict(report, p["provisions"][0]) == "PASS":
                    false_pass.append((name, p))
            if e == "NOT_FAIL":
                hit = fails(report, p)
                if hit:
                    false_fail.append((name, p, hit[0].get("title", "")))
        per_image.append((name, got, total, report is not None))
        g["points"] += total
        g["found"] += got
    return fam, groups, traps, false_fail, false_pass, no_report, misses, per_image


def describe(p):
    if "component" in p:
        c = p["component"]
        return f"component {c['name']} {c.get('version') or ''}".strip()
    if "layout" in p:
        return f"layout @0x{p['layout']['offset']:x} {'/'.join(p['layout']['formats'])}"
    return f"{p['expect']} {'/'.join(p.get('provisions', []))} {p.get('what', '')}".strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ground-truth", required=True)
    ap.add_argument("--reports", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    gt = json.load(open(a.ground_truth))
    fam, groups, traps, ff, fp, nr, misses, per = score(gt, a.reports)
    print(f"images: {len(gt)}, with a report: {sum(1 for x in per if x[3])}")
    print(f"{'family':<18}{'points':>7}{'found':>7}{'recall':>9}")
    tp = tf = 0
    for f in FAMILIES:
        n, k = fam[f]["points"], fam[f]["found"]
        tp += n
        tf += k
        rate = f"{100.0 * k / n:.1f}%" if n else "n/a"
        print(f"{f:<18}{n:>7}{k:>7}{rate:>9}")
    print(f"{'all':<18}{tp:>7}{tf:>7}{(100.0 * tf / tp if tp else 0):>8.1f}%")
    for name, g in sorted(groups.items()):
        rate = f"{100.0 * g['found'] / g['points']:.1f}%" if g["points"] else "n/a"
        print(f"{name} images: {g['images']} ({g['reports']} with a report), points {g['points']}, found {g['found']}, recall {rate}")
    print(f"false FAIL: {len(ff)} (of {traps['NOT_FAIL']} NOT_FAIL traps)")
    for name, p, title in ff:
        print(f"  {name}: {describe(p)} <- {title[:100]}")
    print(f"false PASS: {len(fp)} (FAIL and NOT_PASS points whose provision is PASS; {traps['NOT_PASS']} NOT_PASS)")
    for name, p in fp:
        print(f"  {name}: {describe(p)}")
    print(f"without a report: {len(nr)}")
    for name, why in nr:
        print(f"  {name}: {why}")
    print("per image (found/points):")
    for name, got, total, has in per:
        print(f"  {got:>3}/{total:<3} {name}{'' if has else '  (no report)'}")
    print("missed points:")
    for name, p in misses:
        print(f"  {name}: [{p['family']}] {describe(p)}")
    if a.json:
        json.dump({"families": fam, "groups": groups, "traps": traps, "false_fail": [[n, describe(p), t] for n, p, t in ff],
                   "false_pass": [[n, describe(p)] for n, p in fp], "no_report": nr,
                   "missed": [[n, p["family"], describe(p)] for n, p in misses],
                   "per_image": per}, open(a.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
