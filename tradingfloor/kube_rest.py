"""The few Kubernetes API calls an agent Pod makes (read one custom resource and merge-patch its
status; the Auditor also reads and merge-patches its chain-head ConfigMap) over the standard
library's HTTP client, in a worker thread.

kubernetes_asyncio's client package imports every generated API model when it loads: about 960
modules and 37 MiB in every process, plus 8 MiB of aiohttp, for two URLs (docs/trader-agent.md,
"Memory of a trader process"). The operator keeps the full client (``tradingfloor.kubeclient``).

Where to connect, first match wins, as in ``tradingfloor.kubeclient``: an explicit server
(``FLOOR_KUBE_SERVER``: plain URL, no credentials, TLS not verified); ``KUBECONFIG`` (read by
kubernetes_asyncio's loader, at a terminal only); the in-cluster ServiceAccount (the cluster CA, and
the token re-read from its file on every call, as the kubelet rotates it); ``~/.kube/config``.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVER_ENV = "FLOOR_KUBE_SERVER"
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_S = 30.0


class KubeApiError(RuntimeError):
    """The API server answered with an error status; ``status`` is the HTTP code."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        try:
            reason = json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            reason = body
        super().__init__(f"{method} {path}: HTTP {status}: {str(reason)[:500]}")


@dataclass(frozen=True)
class KubeEndpoint:
    """Where the API server is and how to prove who we are."""

    host: str
    ca_file: str | None = None
    verify: bool = True
    cert_file: str | None = None
    key_file: str | None = None
    token: str | None = None
    token_file: Path | None = None  # re-read on every call (a rotating, projected token)

    def bearer(self) -> str | None:
        if self.token_file is not None:
            return self.token_file.read_text().strip() or None
        return self.token

    def ssl_context(self) -> ssl.SSLContext:
        return tls_context(self.ca_file, self.cert_file, self.key_file, self.verify)


def tls_context(
    ca_file: str | None, cert_file: str | None, key_file: str | None, verify: bool
) -> ssl.SSLContext:
    """TLS to the API server: its CA, our client certificate if any, verification unless turned off."""
    context = ssl.create_default_context(cafile=ca_file)
    if cert_file:
        context.load_cert_chain(cert_file, keyfile=key_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def in_cluster(account: Path | None = None) -> KubeEndpoint | None:
    """The in-cluster endpoint (ServiceAccount files in ``account``, by default where the kubelet
    mounts them), or None when this process does not run in a Pod."""
    account = account or SERVICE_ACCOUNT
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    token, ca = account / "token", account / "ca.crt"
    if not host or not port or not token.is_file() or not ca.is_file():
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return KubeEndpoint(host=f"https://{host}:{port}", ca_file=str(ca), token_file=token)


async def _from_kubeconfig(server: str | None) -> KubeEndpoint:
    from tradingfloor.kubeclient import bearer_token, load_configuration

    configuration = await load_configuration(server)
    return KubeEndpoint(
        host=configuration.host,
        ca_file=configuration.ssl_ca_cert,
        verify=bool(configuration.verify_ssl),
        cert_file=configuration.cert_file,
        key_file=configuration.key_file,
        token=await bearer_token(configuration),
    )


async def endpoint(server: str | None = None) -> KubeEndpoint:
    """Resolve where the API server is (see the module's docstring for the order)."""
    explicit = server or os.environ.get(SERVER_ENV)
    if explicit:
        return KubeEndpoint(host=explicit.rstrip("/"), verify=False)
    if not os.environ.get("KUBECONFIG"):
        found = in_cluster()
        if found is not None:
            return found
    return await _from_kubeconfig(None)  # KUBECONFIG or ~/.kube/config, or a clear KubeConfigError


def _call(ep: KubeEndpoint, method: str, path: str, body: Any, content_type: str | None) -> Any:
    headers = {"Accept": "application/json"}
    token = ep.bearer()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type or "application/json"
    request = urllib.request.Request(ep.host + path, data=data, headers=headers, method=method)
    context = ep.ssl_context() if ep.host.startswith("https:") else None
    # No proxy lookups from the environment: the API server is reached directly, as in a Pod.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise KubeApiError(exc.code, method, path, exc.read().decode("utf-8", "replace")) from None


def _object_path(group: str, version: str, namespace: str, plural: str, name: str) -> str:
    quote = urllib.parse.quote
    return f"/apis/{group}/{version}/namespaces/{quote(namespace)}/{plural}/{quote(name)}"


def _config_map_path(namespace: str, name: str) -> str:
    quote = urllib.parse.quote
    return f"/api/v1/namespaces/{quote(namespace)}/configmaps/{quote(name)}"


async def _get(ep: KubeEndpoint, path: str) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(_call, ep, "GET", path, None, None)
    return result


async def _merge_patch(ep: KubeEndpoint, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch: only the keys in ``body`` change."""
    result: dict[str, Any] = await asyncio.to_thread(_call, ep, "PATCH", path, body, MERGE_PATCH)
    return result


async def get_custom_object(
    ep: KubeEndpoint, group: str, version: str, namespace: str, plural: str, name: str
) -> dict[str, Any]:
    return await _get(ep, _object_path(group, version, namespace, plural, name))


async def merge_patch_status(
    ep: KubeEndpoint,
    group: str,
    version: str,
    namespace: str,
    plural: str,
    name: str,
    status: dict[str, Any],
) -> dict[str, Any]:
    """Merge-patch the ``/status`` subresource: only the keys in ``status`` change."""
    path = _object_path(group, version, namespace, plural, name) + "/status"
    return await _merge_patch(ep, path, {"status": status})


async def get_config_map(ep: KubeEndpoint, namespace: str, name: str) -> dict[str, Any]:
    return await _get(ep, _config_map_path(namespace, name))


async def merge_patch_config_map_data(
    ep: KubeEndpoint, namespace: str, name: str, data: dict[str, str]
) -> dict[str, Any]:
    """Set the keys in ``data`` of an existing ConfigMap, leaving its other keys as they are."""
    return await _merge_patch(ep, _config_map_path(namespace, name), {"data": data})
