#!/usr/bin/env python3
"""`host serve` on the generated 1,000-post site with Python macros: the time
from writing an edit to the reload event the server sends, for an edited
post body and for an edited script that 10 posts call, and the server's
memory. Usage: benches/serve-latency.py [POSTS] [RUNS]"""
import os, re, socket, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
posts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
subprocess.run(["cargo", "build", "-q", "--release", "-p", "blogmark-host"], cwd=root, check=True)
subprocess.run(["cargo", "build", "-q", "--release", "--example", "gen_site"], cwd=root, check=True)
host = os.path.join(root, "target/release/host")
base = "/dev/shm" if os.path.isdir("/dev/shm") else None
work = tempfile.mkdtemp(dir=base)
site = os.path.join(work, "site")
subprocess.run([os.path.join(root, "target/release/examples/gen_site"), site, str(posts), "python"], check=True)

SHOUT = '"""\n---\nkind: macro\nname: shout\n---\n"""\ndef render(ctx):\n    return "<b>" + str(ctx.args["text"]).upper() + "{mark}</b>"\n'
with open(os.path.join(site, "scripts/shout.py"), "w") as f:
    f.write(SHOUT.format(mark=""))
for i in range(10):
    path = os.path.join(site, f"content/posts/post-{i * 97:04}.md")
    with open(path, "a") as f:
        f.write('\n{{< shout text="loud" >}}\n')

server = subprocess.Popen([host, "serve", "--port", "0", "--site", site], stderr=subprocess.PIPE, text=True)
addr = None
for line in server.stderr:
    m = re.search(r"at http://([0-9.]+):(\d+)/", line)
    if m:
        addr = (m.group(1), int(m.group(2)))
        break
events = socket.create_connection(addr)
events.sendall(f"GET /_blogmark/events HTTP/1.1\r\nHost: {addr[0]}:{addr[1]}\r\n\r\n".encode())
buffer = b""

def wait_reload():
    global buffer
    while b"event: reload" not in buffer:
        buffer += events.recv(65536)
    buffer = buffer.split(b"event: reload", 1)[1]

def measure(label, edit):
    times = []
    for run in range(runs):
        edit(run)
        started = time.perf_counter()
        wait_reload()
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(0.3)
    times.sort()
    print(f"{label}: p50 {times[len(times) // 2]:.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms ({runs} edits)")

post = os.path.join(site, "content/posts/post-0500.md")
original = open(post).read()
def edit_post(run):
    with open(post, "w") as f:
        f.write(original + f"\nEdit {run}.\n")
def edit_script(run):
    with open(os.path.join(site, "scripts/shout.py"), "w") as f:
        f.write(SHOUT.format(mark="!" * (run + 1)))

measure("edited post body -> reload event", edit_post)
measure("edited script called by 10 posts -> reload event", edit_script)
status = open(f"/proc/{server.pid}/status").read()
rss = re.search(r"VmRSS:\s+(\d+) kB", status).group(1)
hwm = re.search(r"VmHWM:\s+(\d+) kB", status).group(1)
print(f"serve process: {int(rss) / 1024:.0f} MiB resident, {int(hwm) / 1024:.0f} MiB peak")
server.terminate()
server.wait()
subprocess.run(["rm", "-rf", work])
