#!/usr/bin/env python3
"""HAProxy instructions per request for Bollard's config (docs/benchmarks.md).

Renders 50 hosts, 50 backends x 2 servers with `bollard render`, runs HAProxy
under callgrind twice (400, then 4,400 keep-alive requests over 4
connections, to loopback servers of this script on 127.0.0.1-2:19100-19109)
and prints the difference of the instruction counts divided by 4,000.
Usage: hack/callgrind.py BOLLARD_BINARY WORKDIR
Environment: REQPATH (default /some/path) is the requested path; NORENDER=1
reuses WORKDIR/out (to measure a hand-edited haproxy.cfg); OPTIONS
(e.g. 'timeout-server=30s,proxy-body-size=8m') adds those bollard.io/NAME
annotations to every Ingress, so every backend has its options set;
REQBODY=N sends a POST with an N-byte body (Content-Length) instead of a GET;
HAPROXY (default haproxy) is the HAProxy binary; POLICIES (none, or names
of POLICY_SETS, comma-separated) adds those route policies to every Ingress
(redirect: every answer is a 301); ORIGIN adds an Origin header to requests
(CORS).
"""
import asyncio, glob, os, re, signal, socket, subprocess, sys, time

REQPATH = os.environ.get("REQPATH", "/some/path")
OPTIONS = [kv.split("=", 1) for kv in os.environ.get("OPTIONS", "").split(",") if kv]
REQBODY = int(os.environ.get("REQBODY", "0"))
HAPROXY = os.environ.get("HAPROXY", "haproxy")
ORIGIN = os.environ.get("ORIGIN", "")
# Route policies by name; every one lets the client (127.0.0.1) through.
POLICY_SETS = {
    "none": {},
    "allow-list": {"allow-list": "127.0.0.0/8, 10.0.0.0/8"},
    "deny-list": {"deny-list": "10.0.0.0/8"},
    "limit-rps": {"limit-rps": "1000000"},
    "limit-connections": {"limit-connections": "1000"},
    "headers": {"request-set-headers": "X-Bench: on", "response-set-headers": "X-Policy: v1"},
    "cors": {"cors-enable": "true"},
    "hsts": {"hsts": "true"},
    "rewrite": {"rewrite-target": "/app"},
    "redirect": {"permanent-redirect": "https://new.example/"},
}
# all: every policy but redirect, which answers before the others run.
POLICY_SETS["all"] = {k: v for name, kv in POLICY_SETS.items() if name != "redirect" for k, v in kv.items()}
POLICIES = [p.strip() for p in os.environ.get("POLICIES", "none").split(",") if p.strip()]
for name in POLICIES:
    if name not in POLICY_SETS:
        raise SystemExit(f"POLICIES: unknown {name!r}; known: {', '.join(POLICY_SETS)}")
    OPTIONS += list(POLICY_SETS[name].items())
OPTIONS_SET = {k.strip() for k, _ in OPTIONS} | {"x-policy" for k, v in OPTIONS if v.startswith("X-Policy:")}
STATUS = b"HTTP/1.1 301" if "redirect" in POLICIES else b"HTTP/1.1 200"
HOSTS, BACKENDS, PORT0, HTTP = 50, 50, 19100, 19080
bollard, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)

def manifest():
    docs = []
    annotations = ", ".join(f'"bollard.io/{k.strip()}": "{v.strip()}"' for k, v in OPTIONS)
    annotations = f", annotations: {{{annotations}}}" if annotations else ""
    for i in range(HOSTS):
        docs.append(f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: app{i}, namespace: bench, creationTimestamp: "2026-01-01T00:00:00Z"{annotations}}}
spec:
  rules:
  - host: app{i}.example
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: app{i % BACKENDS}, port: {{number: 80}}}}}}}}
""")
    for i in range(BACKENDS):
        docs.append(f"""apiVersion: v1
kind: Service
metadata: {{name: app{i}, namespace: bench}}
spec: {{ports: [{{name: web, port: 80}}]}}
""")
        for s in range(2):
            docs.append(f"""apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: app{i}-{s}, namespace: bench, labels: {{kubernetes.io/service-name: app{i}}}}}
addressType: IPv4
ports: [{{name: web, port: {PORT0 + (i * 2 + s) % 10}}}]
endpoints:
- addresses: [127.0.0.{1 + s}]
  conditions: {{ready: true}}
""")
    return "---\n".join(docs)

async def serve():
    async def handle(r, w):
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                if m:
                    await r.readexactly(int(m.group(1)))
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await w.drain()
        except (Exception, asyncio.CancelledError):
            w.close()
    servers = []
    for s in range(2):
        for p in range(10):
            servers.append(await asyncio.start_server(handle, f"127.0.0.{1 + s}", PORT0 + p))
    return servers

async def load(n):
    async def conn(c, count):
        r, w = await asyncio.open_connection("127.0.0.1", HTTP)
        for k in range(count):
            host = f"app{(c + 4 * k) % HOSTS}.example"
            origin = f"Origin: {ORIGIN}\r\n" if ORIGIN else ""
            if REQBODY:
                w.write(f"POST {REQPATH}?q={k} HTTP/1.1\r\nHost: {host}\r\n{origin}Content-Length: {REQBODY}\r\n\r\n".encode() + b"x" * REQBODY)
            else:
                w.write(f"GET {REQPATH}?q={k} HTTP/1.1\r\nHost: {host}\r\n{origin}\r\n".encode())
            await w.drain()
            head = await r.readuntil(b"\r\n\r\n")
            assert head.startswith(STATUS), head
            if "x-policy" in OPTIONS_SET:  # the policy is in effect, not only rendered
                assert b"\r\nx-policy: v1\r\n" in head.lower(), head
            if ORIGIN and "cors-enable" in OPTIONS_SET:
                assert b"\r\naccess-control-allow-origin: " in head.lower(), head
            m = re.search(rb"(?i)content-length: *(\d+)", head)
            await r.readexactly(int(m.group(1)) if m else 0)
        w.close()
    await asyncio.gather(*(conn(c, n // 4) for c in range(4)))

def run(n):
    """Total instructions of HAProxy's processes (master and worker) for n requests."""
    prefix = os.path.join(work, f"cg.{n}.")
    for f in glob.glob(prefix + "*"):
        os.remove(f)
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={prefix}%p",
           HAPROXY, "-db", "-f", os.path.join(work, "out", "haproxy.cfg")]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(prefix + "log", "w"))
    try:
        async def go():
            servers = await serve()
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", HTTP)).close()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            await load(n)
            for s in servers:
                s.close()
        asyncio.run(go())
    finally:
        p.send_signal(signal.SIGUSR1)  # soft stop: the worker finishes, then both exit
        p.wait(timeout=120)
    total = 0
    for name in glob.glob(prefix + "[0-9]*"):
        with open(name) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
    if total == 0:
        raise SystemExit("no callgrind totals under " + prefix)
    return total

with open(os.path.join(work, "in.yaml"), "w") as f:
    f.write(manifest())
if not os.environ.get("NORENDER"): subprocess.run([bollard, "render", "-f", os.path.join(work, "in.yaml"), "--output-dir", os.path.join(work, "out"),
                "--http-port", str(HTTP), "--https-port", str(HTTP + 1), "--bind-address", "127.0.0.1",
                "--stats-port", "0", "--runtime-dir", work,
                "--endpoint-cidrs", "127.0.0.0/8"], check=True, stdout=subprocess.DEVNULL)
with open(os.path.join(work, "out", "haproxy.cfg")) as f:
    policed = f.read().count(" from bollard-policy\n")
# Every backend runs the policy rules when a policy is set, none otherwise.
if policed != (BACKENDS if any(POLICY_SETS[p] for p in POLICIES) else 0):
    raise SystemExit(f"{policed} backends from bollard-policy for POLICIES={','.join(POLICIES)}")
n1, n2 = 400, 4400
a, b = run(n1), run(n2)
print(f"Ir {n1}: {a}  Ir {n2}: {b}  per request: {(b - a) / (n2 - n1):.0f}")
