"""The one way every process of the floor reaches the Kubernetes API (operator, agents, status sinks).

Where the credentials come from, first match wins:

1. an explicit server (``FLOOR_KUBE_SERVER`` or the ``server`` argument): plain URL, no credentials
   (development, tests, ``kubectl proxy``);
2. ``KUBECONFIG`` when set (its current context: token, client certificate or exec plugin);
3. the in-cluster ServiceAccount: the projected, bound token is re-read from its file as the kubelet
   rotates it (kubernetes_asyncio's refresh hook), so an operator running for days keeps working;
4. ``~/.kube/config``.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
import urllib.request
from pathlib import Path

import aiohttp
from kubernetes_asyncio import client, config

from tradingfloor.kube_rest import SERVER_ENV, tls_context


class KubeConfigError(RuntimeError):
    """No way to reach the Kubernetes API was found."""


async def load_configuration(server: str | None = None) -> client.Configuration:
    configuration = client.Configuration()
    explicit = server or os.environ.get(SERVER_ENV)
    if explicit:
        configuration.host = explicit.rstrip("/")
        configuration.verify_ssl = False  # a development URL: no cluster CA to check against
        return configuration
    if os.environ.get("KUBECONFIG"):  # read now: the library's default was fixed when it was imported
        await config.load_kube_config(
            config_file=os.environ["KUBECONFIG"], client_configuration=configuration
        )
        return configuration
    try:
        config.load_incluster_config(client_configuration=configuration, try_refresh_token=True)
        return configuration
    except config.ConfigException as in_cluster:
        home_config = Path.home() / ".kube" / "config"
        if home_config.exists():
            await config.load_kube_config(config_file=str(home_config), client_configuration=configuration)
            return configuration
        raise KubeConfigError(
            f"cannot reach Kubernetes: set {SERVER_ENV} to the API server URL, or KUBECONFIG, "
            f"or run in a cluster (in-cluster config: {in_cluster})"
        ) from None


async def api_client(server: str | None = None) -> client.ApiClient:
    """A client over the resolved configuration; the caller closes it.

    The library's aiohttp session trusts the environment, which costs two worker-thread hops per
    request (the proxy variables and ~/.netrc are looked up again each time): a tenth of the
    operator's CPU when it creates thousands of Pods. The proxy is resolved once here instead, and
    the session is rebuilt without the per-request lookups (same TLS settings, same pool size).
    """
    configuration = await load_configuration(server)
    api = client.ApiClient(configuration)
    rest = api.rest_client
    if not rest.proxy:
        rest.proxy = environment_proxy(configuration.host)
    env_session = rest.pool_manager
    rest.pool_manager = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=configuration.connection_pool_maxsize, ssl=ssl_context(configuration)
        ),
        trust_env=False,
        read_bufsize=2**21,  # as the library: large watch events
    )
    await env_session.close()  # never used: no connection was opened
    return api


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTPS_PROXY/HTTP_PROXY, minus NO_PROXY)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme or "https")


def ssl_context(configuration: client.Configuration) -> ssl.SSLContext:
    """The TLS settings of the configuration, as kubernetes_asyncio's REST client builds them."""
    context = tls_context(
        configuration.ssl_ca_cert, configuration.cert_file, configuration.key_file, configuration.verify_ssl
    )
    if configuration.disable_strict_ssl_verification:
        context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


async def bearer_token(configuration: client.Configuration) -> str | None:
    """The current token (refreshed from its file when in-cluster), without the ``Bearer`` prefix."""
    value = await configuration.get_api_key_with_prefix("BearerToken")
    if not value:
        return None
    return value.split(" ", 1)[1] if value.startswith("Bearer ") else value
