"""Collector Pods are owned by the operator's Deployment, so deleting the release (`helm uninstall`
deletes the Deployment) lets the garbage collector delete them. Against the strict API server of
tests/e2e (it collects garbage as Kubernetes does), with the real Floor Boss under kopf in-process;
no kubelet: Pods are created, not run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from aiohttp import web

from floor_boss.collector_pods import KubeCollectors
from floor_boss.collectors import Series, collector_pod
from floor_boss.handlers import build_registry
from floor_boss.settings import BossSettings
from tests.e2e.support.apiserver import ApiServer
from tests.e2e.support.http import HttpApi
from tests.e2e.support.kubelet import free_port
from tests.operator.conftest import trader, wait_for

ROOT = Path(__file__).resolve().parents[2]
NS = "floor"
DEPLOYMENT = "tf-trading-floor-operator"
COLLECTOR = "collector-btc-15m"


@pytest.fixture
async def api() -> AsyncIterator[tuple[ApiServer, str]]:
    server = ApiServer(evaluate_cel=False)
    for crd in sorted((ROOT / "crds").glob("*.yaml")):
        server.create(
            server.types["apiextensions.k8s.io/v1/customresourcedefinitions"],
            None,
            yaml.safe_load(crd.read_text()),
        )
    server.create_namespace(NS)
    runner = web.AppRunner(HttpApi(server).app(), access_log=None, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def floor_boss(url: str) -> AsyncIterator[None]:
    cfg = BossSettings(
        kube_server=url,
        metrics_port=0,
        namespaces=(NS,),
        owner_deployment=DEPLOYMENT,
        operator_namespace=NS,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=build_registry(cfg), standalone=True, namespaces=[NS], stop_flag=stop, ready_flag=ready
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 20)
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 15)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def deployment() -> dict[str, Any]:
    labels = {"app.kubernetes.io/component": "operator"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "operator", "image": "trading-floor-operator:e2e"}]},
            },
        },
    }


def pod(server: ApiServer, name: str) -> dict[str, Any] | None:
    return server.store.get("v1/pods", NS, name)


async def test_collectors_are_owned_by_the_deployment_and_go_with_it(api):
    server, url = api
    owner, _ = server.create(server.types["apps/v1/deployments"], NS, deployment())
    async with floor_boss(url):
        server.create(server.types["tradingfloor.dev/v1alpha1/traderagents"], NS, trader("t1"))
        collector = await wait_for(lambda: pod(server, COLLECTOR), 20, "the collector Pod")
        assert collector["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": DEPLOYMENT,
                "uid": owner["metadata"]["uid"],
            }
        ]
        server.delete(server.types["apps/v1/deployments"], NS, DEPLOYMENT, {})  # what uninstall does
        terminating = pod(server, COLLECTOR)
        assert terminating is not None and terminating["metadata"].get("deletionTimestamp")
        # the agent's own Pod belongs to its TraderAgent (the user's resource), not to the release
        agent_pod = pod(server, "t1-0")
        assert agent_pod is not None and not agent_pod["metadata"].get("deletionTimestamp")


async def test_a_collector_left_unowned_by_an_earlier_floor_boss_is_replaced_by_an_owned_one(api, caplog):
    server, url = api
    owner, _ = server.create(server.types["apps/v1/deployments"], NS, deployment())
    server.create(server.types["tradingfloor.dev/v1alpha1/traderagents"], NS, trader("t1"))
    old = collector_pod(Series("BTC", "15m"), NS, BossSettings(), None)  # as a Floor Boss before owners
    old["spec"]["terminationGracePeriodSeconds"] = 1  # no kubelet here: the Pod ends when its grace does
    server.create(server.types["v1/pods"], NS, old)
    assert "ownerReferences" not in pod(server, COLLECTOR)["metadata"]
    with caplog.at_level(logging.WARNING, logger="floor_boss.collectors"):
        async with floor_boss(url):

            def owned() -> bool:
                refs = (pod(server, COLLECTOR) or {}).get("metadata", {}).get("ownerReferences") or []
                return any(ref["uid"] == owner["metadata"]["uid"] for ref in refs)

            await wait_for(owned, 30, "the collector replaced by an owned one")
    assert f"collector {NS}/{COLLECTOR} had no owner" in caplog.text


async def test_without_its_deployment_collectors_are_unowned_and_it_says_so(api, caplog):
    server, url = api
    with caplog.at_level(logging.WARNING, logger="floor_boss.collectors"):
        async with floor_boss(url):
            server.create(server.types["tradingfloor.dev/v1alpha1/traderagents"], NS, trader("t1"))
            collector = await wait_for(lambda: pod(server, COLLECTOR), 20, "the collector Pod")
    assert "ownerReferences" not in collector["metadata"]
    assert f"cannot read Deployment {NS}/{DEPLOYMENT}" in caplog.text
    assert "outlive the release" in caplog.text


def test_an_owner_is_never_given_across_namespaces():
    """Kubernetes treats an owner in another namespace as absent and deletes the dependent."""
    collectors = KubeCollectors(kube=None, settings=BossSettings())
    collectors.owner, collectors.owner_namespace = {"kind": "Deployment", "uid": "u"}, NS
    assert collectors.owner_in(NS) == {"kind": "Deployment", "uid": "u"}
    assert collectors.owner_in("elsewhere") is None
    unowned = collector_pod(
        Series("BTC", "15m"), "elsewhere", BossSettings(), collectors.owner_in("elsewhere")
    )
    assert "ownerReferences" not in unowned["metadata"]
