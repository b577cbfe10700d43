"""A fake Stripe on loopback for `make run` and the test suite, when no Stripe account is configured.

localstripe (PyPI, GPL, a test-only separate process) implements Customers, SetupIntents, Plans,
Subscriptions, Invoices and webhooks, and serves a Stripe.js stand-in. Its store is kept in
memory only (it would otherwise rewrite /tmp/localstripe.pickle on every change). Plain Python:
the launcher imports nothing of Django.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

LAUNCHER = (  # localstripe's own start() listens on every interface and logs each request: loopback, quietly
    "import sys, socket, localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from aiohttp import web; from localstripe import server; "
    "port = int(sys.argv[sys.argv.index('--port') + 1]); "
    "sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM); "
    "sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); sock.bind(('127.0.0.1', port)); "
    "web.run_app(server.app, sock=sock, print=None, access_log=None)"
)
# The fake's own test keys: it accepts any sk_… key. Never a real account's.
SECRET_KEY = "sk_test_localstripe"  # noqa: S105
PUBLISHABLE_KEY = "pk_test_localstripe"
WEBHOOK_SECRET = "whsec_localstripe"  # noqa: S105


@dataclass
class FakeStripe:
    process: subprocess.Popen[bytes]
    url: str

    def environ(self) -> dict[str, str]:
        """The settings' environment variables that point the app at this fake."""
        return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": self.url,
                "STRIPE_JS_URL": f"{self.url}/js.stripe.com/v3/"}

    def webhook_register(self, url: str, name: str = "dealercrm") -> None:
        request = urllib.request.Request(f"{self.url}/_config/webhooks/{name}", method="POST",  # noqa: S310
                                         data=json.dumps({"url": url, "secret": WEBHOOK_SECRET}).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - our own loopback http URL

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(port: int | None = None, *, timeout: float = 20) -> FakeStripe:
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-c", LAUNCHER, "--port", str(port), "--from-scratch"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(  # noqa: S310 - our own loopback http URL
                f"{url}/v1/plans", headers={"Authorization": f"Bearer {SECRET_KEY}"})
            urllib.request.urlopen(request, timeout=1).close()  # noqa: S310 - our own loopback http URL
            return FakeStripe(process, url)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.1)
