"""``/metrics`` (Prometheus text from the default registry) and ``/healthz`` on one port.

Served by prometheus_client's own WSGI app on the standard library's WSGI server in a daemon
thread: a paper trader needs no HTTP client or server framework for two read-only endpoints, and
not importing one keeps every trader process smaller (benchmarks/bench_trader_rss.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds the process open


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not worth a log line
        pass


class MetricsServer:
    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
        self._thread.start()

    async def cleanup(self) -> None:
        await asyncio.to_thread(self._server.shutdown)
        self._server.server_close()


async def start_metrics_server(
    port: int, healthy: Callable[[], bool], host: str = "0.0.0.0"
) -> MetricsServer:
    metrics = make_wsgi_app()

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = healthy()
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")]
            )
            return [json.dumps({"ok": ok}).encode()]
        return metrics(environ, start_response)

    server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    return MetricsServer(server)
