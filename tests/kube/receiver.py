"""receiver.py: a local receiver of notifications for tests/kube/notify.sh.

Usage: receiver.py DIR. Listens on 127.0.0.1 on a free port, written to
DIR/port; each request is a JSON line in DIR/requests (path, headers,
body, the status answered and the time it came, in seconds since the epoch). A path /NAME answers 503 while DIR/down-NAME
exists, and waits 30 s before answering while DIR/hang-NAME exists.
"""
import http.server
import json
import os
import sys
import threading
import time

DIR = sys.argv[1]
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        name = self.path.split("?")[0].strip("/")
        if os.path.exists(os.path.join(DIR, "hang-" + name)):
            time.sleep(30)
        status = 503 if os.path.exists(os.path.join(DIR, "down-" + name)) else 200
        with LOCK, open(os.path.join(DIR, "requests"), "a") as out:
            out.write(json.dumps({"path": self.path, "name": name, "headers": dict(self.headers), "body": body,
                                  "status": status, "time": time.time()}) + "\n")
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        except (BrokenPipeError, ConnectionResetError):
            pass  # a sender that gave up on a hanging answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
