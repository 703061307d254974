"""Local alert receivers for tests: a loopback HTTP server that keeps the JSON it is posted, and an SMTP
server (aiosmtpd) that keeps the mails it is sent."""

from __future__ import annotations

import email
import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append({"headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class _Mailbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def receivers():
    """(webhook url, posted bodies, smtp port, mailbox) for as long as the block runs."""
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    hook.received = []
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    mailbox = _Mailbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        yield {"url": f"http://127.0.0.1:{hook.server_address[1]}/hook", "posted": hook.received,
               "smtp_port": port, "mails": mailbox.messages}
    finally:
        smtp.stop()
        hook.shutdown()
        hook.server_close()


def write_alerts_config(home, url: str, smtp_port: int) -> None:
    (home / "alerts.yml").write_text(
        "dagster_url: http://dagster.test:3000\n"
        "channels:\n"
        f"  - {{name: ops, type: webhook, url: \"{url}\", headers: {{X-Token: \"${{SUDATA_TEST_HOOK_TOKEN}}\"}}}}\n"
        f"  - {{name: duty, type: email, host: 127.0.0.1, port: {smtp_port}, sender: sudata@city.test, "
        f"to: [duty@city.test]}}\n",
        encoding="utf-8",
    )
