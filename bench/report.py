#!/usr/bin/env python3
"""bench/report.py RAW OUT_PREFIX NOTE: turn bench/run.sh's raw lines ("case who value") into
OUT_PREFIX.json, OUT_PREFIX.md (a markdown table, also printed) and, when gnuplot is there,
OUT_PREFIX.png. Per case and side: median, min, max of the runs; the ratio nstack/kernel is
of the medians (for latency lower is better, so the ratio target is <= 1)."""
import json, os, shutil, statistics, subprocess, sys

raw, out, note = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
UNITS = {"iperf3_tx": ("Gbit/s", "up", "iperf3, app sends (nstack client -> kernel server)"),
         "iperf3_rx": ("Gbit/s", "up", "iperf3, app receives (kernel client -> nstack server)"),
         "pingpong_p50": ("µs", "down", "sockperf TCP ping-pong p50 (half RTT)"),
         "pingpong_p99": ("µs", "down", "sockperf TCP ping-pong p99"),
         "pingpong_p999": ("µs", "down", "sockperf TCP ping-pong p99.9"),
         "nginx_ka": ("req/s", "up", "nginx 4 KB file, wrk -c 50 keep-alive"),
         "nginx_close": ("conn/s", "up", "nginx 4 KB file, wrk -c 50 Connection: close (1 req/conn)")}
data = {}
with open(raw) as f:
    for line in f:
        parts = line.split()
        if len(parts) != 3:
            continue
        case, who, v = parts
        d = data.setdefault(case, {}).setdefault(who, {"runs": [], "failed": 0})
        try:
            d["runs"].append(float(v))
        except ValueError:
            d["failed"] += 1
res = {"note": note, "cases": {}}
for case, sides in data.items():
    c = {}
    for who, d in sides.items():
        r = d["runs"]
        c[who] = {"runs": r, "failed": d["failed"],
                  "median": statistics.median(r) if r else None,
                  "min": min(r) if r else None, "max": max(r) if r else None}
    k, n = c.get("kernel", {}), c.get("nstack", {})
    if k.get("median") and n.get("median") is not None:
        c["ratio"] = n["median"] / k["median"]
        c["ratio_min"] = n["min"] / k["median"]
        c["ratio_max"] = n["max"] / k["median"]
    res["cases"][case] = c
with open(out + ".json", "w") as f:
    json.dump(res, f, indent=1)

def fmt(x):
    return "fail" if x is None else ("%.3g" % x if x < 100 else "%.0f" % x)
rows = ["| case | unit | kernel median [min–max] | nstack median [min–max] | nstack/kernel (median) | better |",
        "|---|---|---|---|---|---|"]
for case, c in res["cases"].items():
    unit, better, desc = UNITS.get(case, ("", "up", case))
    k, n = c.get("kernel", {}), c.get("nstack", {})
    cell = lambda s: "%s [%s–%s]%s" % (fmt(s.get("median")), fmt(s.get("min")), fmt(s.get("max")),
                                       " (%d failed)" % s["failed"] if s.get("failed") else "")
    ratio = "%.2f× [%.2f–%.2f]" % (c["ratio"], c["ratio_min"], c["ratio_max"]) if "ratio" in c else "n/a"
    rows.append("| %s | %s | %s | %s | %s | %s |" % (desc, unit, cell(k), cell(n), ratio,
                                                    "higher" if better == "up" else "lower"))
md = "nstack vs kernel, same lab, same run (%s)\n\n" % note + "\n".join(rows) + "\n"
with open(out + ".md", "w") as f:
    f.write(md)
print(md)

if shutil.which("gnuplot") and res["cases"]:
    dat = out + ".dat"
    with open(dat, "w") as f:
        for case, c in res["cases"].items():
            if "ratio" in c:
                f.write('"%s" %f %f %f\n' % (case, c["ratio"], c["ratio_min"], c["ratio_max"]))
    script = ('set terminal pngcairo size 900,450; set output "%s.png";'
              'set title "nstack / kernel (median, min-max); throughput: higher is better, latency: lower";'
              'set style fill solid 0.6; set boxwidth 0.6; set yrange [0:*]; set xtics rotate by -30;'
              'set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2;'
              'plot "%s" using 0:2:xtic(1) with boxes notitle, "" using 0:2:3:4 with yerrorbars notitle'
              % (out, dat))
    r = subprocess.run(["gnuplot", "-e", script], capture_output=True, text=True)
    if r.returncode:
        print("report: gnuplot failed: " + r.stderr.strip(), file=sys.stderr)
    os.unlink(dat)
