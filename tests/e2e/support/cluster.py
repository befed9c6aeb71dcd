"""An emulated one-node cluster in one process: the strict API server over HTTPS, the process kubelet
and the Deployment controller. It writes ``<workdir>/kubeconfig`` for kubectl and helm and answers
until SIGTERM, when it stops every Pod's process.

    python -m tests.e2e.support.cluster --workdir DIR [--port 0] \\
        [--image REPOSITORY=Dockerfile ...] [--bin-dir .venv/bin]

``--image`` names the Dockerfile whose ENTRYPOINT a Pod of that image repository runs (the chart's
operator Deployment sets only args, as it relies on the image's entrypoint).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import shlex
import signal
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tests.e2e.support.apiserver import ApiServer
from tests.e2e.support.controllers import DeploymentController
from tests.e2e.support.http import HttpApi
from tests.e2e.support.kubelet import Kubelet, free_port

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Image:
    """What the kubelet takes from an image: its ENTRYPOINT, CMD and ENV (of the last stage)."""

    entrypoint: list[str]
    cmd: list[str]
    env: dict[str, str]


def image_from_dockerfile(dockerfile: Path) -> Image:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    last = text[text.rindex("\nFROM ") :] if "\nFROM " in text else text
    entrypoint = re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", last, re.MULTILINE)
    cmd = re.findall(r"^CMD\s+(\[.*\])\s*$", last, re.MULTILINE)
    if not entrypoint:
        raise ValueError(f"{dockerfile} has no exec-form ENTRYPOINT in its last stage")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV\s+(.*)$", last, re.MULTILINE):
        for item in shlex.split(line):
            key, sep, value = item.partition("=")
            if sep and key != "PATH":  # PATH is the kubelet's: the worktree's .venv/bin first
                env[key] = value
    return Image(json.loads(entrypoint[-1]), json.loads(cmd[-1]) if cmd else [], env)


def make_certificate(folder: Path, service_ip: str) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and the `kubernetes` Service (the clients' CA as well)."""
    cert, key = folder / "apiserver.crt", folder / "apiserver.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=emulated-apiserver",
            "-addext",
            f"subjectAltName=IP:127.0.0.1,IP:{service_ip},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def kubeconfig(server: str, ca_pem: str, token: str) -> str:
    import base64

    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "emulated",
            "clusters": [
                {
                    "name": "emulated",
                    "cluster": {
                        "server": server,
                        "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "emulated",
                    "context": {"cluster": "emulated", "user": "admin", "namespace": "default"},
                }
            ],
        },
        indent=2,
    )


async def serve(workdir: Path, port: int, images: dict[str, Image], bin_dirs: list[Path]) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    # The `kubernetes` Service: its own loopback address on port 443, as Pods expect the API there.
    service_ip = f"127.{secrets.randbelow(250) + 2}.{secrets.randbelow(254) + 1}.{secrets.randbelow(254) + 1}"
    cert, key = make_certificate(workdir, service_ip)
    ca_pem = cert.read_text()
    token = secrets.token_hex(16)
    port = port or free_port()
    api = ApiServer()
    kubelet = Kubelet(api, workdir, (service_ip, 443), token, ca_pem, images, bin_dirs)
    DeploymentController(api)
    http = HttpApi(api, kubelet.log_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    runner = web.AppRunner(http.app(), access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context, shutdown_timeout=1).start()
    await web.TCPSite(runner, service_ip, 443, ssl_context=context, shutdown_timeout=1).start()
    server = f"https://127.0.0.1:{port}"
    (workdir / "kubeconfig").write_text(kubeconfig(server, ca_pem, token))
    (workdir / "server").write_text(server)
    print(f"emulated cluster at {server}; KUBECONFIG={workdir / 'kubeconfig'}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await kubelet.shutdown()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--image", action="append", default=[], metavar="REPOSITORY=Dockerfile")
    parser.add_argument("--bin-dir", action="append", type=Path, default=[])
    args = parser.parse_args(argv)
    images = {}
    for item in args.image:
        repo, sep, dockerfile = item.partition("=")
        if not sep:
            parser.error(f"--image {item!r}: expected REPOSITORY=Dockerfile")
        images[repo] = image_from_dockerfile(
            REPO / dockerfile if not Path(dockerfile).is_absolute() else Path(dockerfile)
        )
    bin_dirs = [p.absolute() for p in args.bin_dir] or [Path(sys.executable).parent]
    asyncio.run(serve(args.workdir, args.port, images, bin_dirs))


if __name__ == "__main__":
    main()
