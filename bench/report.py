#!/usr/bin/env python3
"""bench/report.py RAW OUT_PREFIX NOTE [LOSSY_TXT]: turn bench/run.sh's raw lines ("case who
value") into OUT_PREFIX.json, OUT_PREFIX.md (a markdown table, also printed) and, when gnuplot
is there, OUT_PREFIX-ratios.png (nstack/kernel per case) and OUT_PREFIX-latency.png (sockperf
percentiles: kernel, nstack, nstack with busy polling), drawn by bench/plot.gp. Per case and
side: median, min, max of the runs; the ratio nstack/kernel is of the medians (for latency,
CPU and memory lower is better, so the target there is <= 1). LOSSY_TXT, the output of
bench/lossy.sh, is appended to the markdown as it is."""
import json, os, shutil, statistics, subprocess, sys

raw, out = sys.argv[1], sys.argv[2]
note = sys.argv[3] if len(sys.argv) > 3 else ""
lossy = sys.argv[4] if len(sys.argv) > 4 else None
# case: (unit, better, description); the table follows this order
UNITS = {
    "iperf3_tx": ("Gbit/s", "up", "iperf3, app sends: nstack client -> kernel server (kernel: kernel <-> kernel over veth)"),
    "iperf3_rx": ("Gbit/s", "up", "iperf3, app receives: kernel client -> nstack server (kernel: kernel <-> kernel over veth)"),
    "iperf3_tx6": ("Gbit/s", "up", "iperf3 -6, app sends over IPv6 (kernel: kernel <-> kernel over veth, IPv6)"),
    "iperf3_rx6": ("Gbit/s", "up", "iperf3 -6, app receives over IPv6 (kernel: kernel <-> kernel over veth, IPv6)"),
    "cpu_tx": ("CPU s/GB", "down", "CPU of the sending app process per GB (user+sys, iperf3 getrusage)"),
    "cpu_rx": ("CPU s/GB", "down", "CPU of the receiving app process per GB (user+sys, iperf3 getrusage)"),
    "cpu_tx6": ("CPU s/GB", "down", "CPU of the sending app process per GB, IPv6"),
    "cpu_rx6": ("CPU s/GB", "down", "CPU of the receiving app process per GB, IPv6"),
    "pingpong_p50": ("µs", "down", "sockperf TCP ping-pong p50 (half RTT)"),
    "pingpong_p99": ("µs", "down", "sockperf TCP ping-pong p99"),
    "pingpong_p999": ("µs", "down", "sockperf TCP ping-pong p99.9"),
    "underload_p50": ("µs", "down", "latency under load p50: sockperf under-load at half the kernel's peak rate"),
    "underload_p99": ("µs", "down", "latency under load p99 (sockperf under-load, half the kernel's peak)"),
    "underload_p999": ("µs", "down", "latency under load p99.9 (sockperf under-load, half the kernel's peak)"),
    "pingpong_bp_p50": ("µs", "down", "sockperf ping-pong p50, nstack with NSTACK_BUSY_POLL_US"),
    "pingpong_bp_p99": ("µs", "down", "sockperf ping-pong p99, nstack with NSTACK_BUSY_POLL_US"),
    "pingpong_bp_p999": ("µs", "down", "sockperf ping-pong p99.9, nstack with NSTACK_BUSY_POLL_US"),
    "pingpong6_p50": ("µs", "down", "TCP ping-pong over IPv6 p50 (half RTT; bench's program, sockperf 3.7 has no IPv6)"),
    "pingpong6_p99": ("µs", "down", "TCP ping-pong over IPv6 p99"),
    "pingpong6_p999": ("µs", "down", "TCP ping-pong over IPv6 p99.9"),
    "pingpong6_bp_p50": ("µs", "down", "ping-pong over IPv6 p50, nstack with NSTACK_BUSY_POLL_US"),
    "pingpong6_bp_p99": ("µs", "down", "ping-pong over IPv6 p99, nstack with NSTACK_BUSY_POLL_US"),
    "pingpong6_bp_p999": ("µs", "down", "ping-pong over IPv6 p99.9, nstack with NSTACK_BUSY_POLL_US"),
    "pingpong6v4_p50": ("µs", "down", "the IPv6 ping-pong's program over IPv4 (control) p50"),
    "pingpong6v4_p99": ("µs", "down", "the IPv6 ping-pong's program over IPv4 (control) p99"),
    "pingpong6v4_p999": ("µs", "down", "the IPv6 ping-pong's program over IPv4 (control) p99.9"),
    "connrate": ("conn/s", "up", "short connections, app connects (connrate: connect, 8 B each way, close)"),
    "curl_seq": ("s", "down", "200 sequential preloaded curl processes, 1 KB each (start, connect, exit)"),
    "connrate_srv": ("conn/s", "up", "short connections, app accepts (kernel connrate client)"),
    "redis_set": ("req/s", "up", "redis-server, redis-benchmark SET -c 50"),
    "redis_get": ("req/s", "up", "redis-server, redis-benchmark GET -c 50"),
    "redis_cli_set": ("req/s", "up", "client side: redis-benchmark SET -c 50 against a kernel redis-server"),
    "redis_cli_get": ("req/s", "up", "client side: redis-benchmark GET -c 50 against a kernel redis-server"),
    "memc_set": ("ops/s", "up", "client side: memcslap set, 50 threads, against a kernel memcached"),
    "memc_get": ("ops/s", "up", "client side: memcslap get, 50 threads, against a kernel memcached"),
    "pg_select": ("tps", "up", "client side: pgbench -S (select-only) -c 8 against a kernel PostgreSQL"),
    "pg_tpcb": ("tps", "up", "client side: pgbench (TPC-B-like) -c 8 against a kernel PostgreSQL"),
    "nginx_ka": ("req/s", "up", "nginx 4 KB file, wrk -c 50 keep-alive"),
    "nginx_close": ("conn/s", "up", "nginx 4 KB file, wrk -c 50 Connection: close (1 req/conn)"),
    "nginx_w1_ka": ("req/s", "up", "nginx default model (daemon, master), 1 worker, keep-alive"),
    "nginx_w1_close": ("conn/s", "up", "nginx default model, 1 worker, Connection: close"),
    "nginx_w2_ka": ("req/s", "up", "nginx default model, 2 worker processes, keep-alive"),
    "nginx_w2_close": ("conn/s", "up", "nginx default model, 2 worker processes, Connection: close"),
    "nginx_scale_ka": ("x", "up", "scaling 1 -> 2 workers (median w2 / median w1), keep-alive"),
    "nginx_scale_close": ("x", "up", "scaling 1 -> 2 workers (median w2 / median w1), Connection: close"),
    "calls_nginx_ka": ("calls/req", "down", "system calls per request, nginx keep-alive (app process, all threads)"),
    "calls_nginx_close": ("calls/req", "down", "system calls per request, nginx Connection: close"),
    "calls_redis_get": ("calls/req", "down", "system calls per request, redis-server GET -c 50"),
    "calls_connrate_srv": ("calls/conn", "down", "system calls per connection, app accepts (connrate server)"),
    "calls_connrate": ("calls/conn", "down", "system calls per connection, app connects (connrate client)"),
    "rss_idle": ("bytes/conn", "down", "RSS per idle connection, 10 000 connections (bench/idle_rss.sh)"),
    "mem_idle_total": ("bytes/conn", "down", "idle connection, process RSS + what its socket costs in the kernel (eventfd, file)"),
}
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
# the 1 -> 2 worker scaling of each side, one "run" from the medians
for mode in ("ka", "close"):
    w1, w2 = data.get("nginx_w1_" + mode, {}), data.get("nginx_w2_" + mode, {})
    for who in set(w1) & set(w2):
        if w1[who]["runs"] and w2[who]["runs"]:
            s = statistics.median(w2[who]["runs"]) / statistics.median(w1[who]["runs"])
            data.setdefault("nginx_scale_" + mode, {})[who] = {"runs": [s], "failed": 0}
order = [c for c in UNITS if c in data] + sorted(c for c in data if c not in UNITS)
res = {"note": note, "cases": {}}
for case in order:
    c = {}
    for who, d in data[case].items():
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


def cell(s):
    if not s:
        return "n/a"
    return "%s [%s–%s]%s" % (fmt(s.get("median")), fmt(s.get("min")), fmt(s.get("max")),
                             " (%d failed)" % s["failed"] if s.get("failed") else "")


rows = ["| case | unit | kernel median [min–max] | nstack median [min–max] | nstack/kernel (median) | better |",
        "|---|---|---|---|---|---|"]
for case, c in res["cases"].items():
    unit, better, desc = UNITS.get(case, ("", "up", case))
    ratio = "%.2f× [%.2f–%.2f]" % (c["ratio"], c["ratio_min"], c["ratio_max"]) if "ratio" in c else "n/a"
    rows.append("| %s | %s | %s | %s | %s | %s |" % (desc, unit, cell(c.get("kernel")), cell(c.get("nstack")),
                                                    ratio, "higher" if better == "up" else "lower"))
md = "nstack vs kernel, same lab, same run (%s)\n\n" % note + "\n".join(rows) + "\n"
md += ("\nThe ratio's [min–max] is each side's min and max over the kernel median. CPU s/GB is the "
       "app process's own user+sys time (nstack: every thread, the engine included; kernel: the "
       "protocol work done in the process's system calls, not softirq work that ran on another "
       "CPU or in ksoftirqd, so the kernel figure is a lower bound).\n")
if lossy and os.path.exists(lossy):
    with open(lossy) as f:
        md += "\n## Lossy link (bench/lossy.sh)\n\n```\n" + f.read().rstrip() + "\n```\n"
with open(out + ".md", "w") as f:
    f.write(md)
print(md)

if shutil.which("gnuplot") and res["cases"]:
    ratios, lat = out + "-ratios.dat", out + "-latency.dat"
    with open(ratios, "w") as f:
        for case, c in res["cases"].items():
            if "ratio" in c:
                f.write('"%s" %f %f %f %d\n' % (case, c["ratio"], c["ratio_min"], c["ratio_max"],
                                               1 if UNITS.get(case, ("", "up"))[1] == "up" else 2))
    have_lat = "0"
    with open(lat, "w") as f:
        for p, name in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
            base, bp = res["cases"].get("pingpong_" + p, {}), res["cases"].get("pingpong_bp_" + p, {})
            vals = []
            for side in (base.get("kernel", {}), base.get("nstack", {}), bp.get("nstack", {})):
                vals += [side.get("median") or 0, side.get("min") or 0, side.get("max") or 0]
            if any(vals):
                have_lat = "1"
                f.write('"%s" %s\n' % (name, " ".join("%f" % v for v in vals)))
    plot = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.gp")
    r = subprocess.run(["gnuplot", "-c", plot, out, have_lat], capture_output=True, text=True)
    if r.returncode:
        print("report: gnuplot failed: " + r.stderr.strip(), file=sys.stderr)
    for p in (ratios, lat):
        os.unlink(p)
