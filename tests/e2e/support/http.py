"""The HTTP face of :class:`ApiServer`: the URL layout of the Kubernetes API, content negotiation
(JSON, Table), watch streams, `kubectl logs`, and Status bodies for errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.e2e.support import selectors, tables
from tests.e2e.support.apiserver import ApiError, ApiServer
from tests.e2e.support.resources import ResourceType
from tests.e2e.support.store import Gone

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-emulated",
    "platform": "linux/amd64",
}


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers = {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)} if warnings else None
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers
    )


class Route:
    """A parsed resource URL."""

    def __init__(self, rtype: ResourceType, namespace: str | None, name: str | None, sub: str | None):
        self.rtype, self.namespace, self.name, self.sub = rtype, namespace, name, sub


class HttpApi:
    def __init__(self, api: ApiServer, logs: Callable[[str, str], Path | None] | None = None) -> None:
        self.api = api
        self.logs = logs  # where the kubelet keeps a Pod's output
        self.requests = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        try:
            return await self._dispatch(request)
        except ApiError as exc:
            return _json(exc.status(), exc.code)
        except (json.JSONDecodeError, selectors.SelectorError) as exc:
            return _json(ApiError(400, "BadRequest", str(exc)).status(), 400)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if not parts:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/version", "/healthz"]})
        if parts[0] in ("healthz", "readyz", "livez"):
            return web.Response(text="ok")
        if parts == ["version"]:
            return _json(VERSION_INFO)
        if parts[0] == "openapi":
            raise ApiError(404, "NotFound", "this emulated API server publishes no OpenAPI documents")
        if parts == ["api"]:
            return _json(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}
                    ],
                }
            )
        if parts == ["apis"]:
            return _json(self._group_list())
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        elif parts[0] == "apis" and len(parts) == 2:
            return _json(self._group(parts[1]))
        else:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({request.path})"
            )
        if not rest:
            return _json(self._resource_list(group, version))
        route = self._route(group, version, rest)
        return await self._serve(request, route)

    # --- discovery --------------------------------------------------------------------------------

    def _group(self, name: str) -> dict[str, Any]:
        versions = sorted({t.version for t in self.api.types.values() if t.group == name})
        if not versions:
            raise ApiError(404, "NotFound", f"group {name} not found")
        gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": name,
            "versions": gvs,
            "preferredVersion": gvs[0],
        }

    def _group_list(self) -> dict[str, Any]:
        names = sorted({t.group for t in self.api.types.values() if t.group})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [self._group(n) for n in names]}

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        gv = f"{group}/{version}" if group else version
        found = [t for t in self.api.types.values() if t.group_version == gv]
        if not found:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({gv})")
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv,
            "resources": [r for t in found for r in t.discovery()],
        }

    def _route(self, group: str, version: str, rest: list[str]) -> Route:
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            probe = self.api.types.get(f"{group}/{version}/{rest[2]}" if group else f"{version}/{rest[2]}")
            if probe is not None and probe.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = self.api.find_type(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rtype.subresources:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource ({rtype.plural}/{sub})"
            )
        if len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Route(rtype, namespace, name, sub)

    # --- resources --------------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if "protobuf" in request.content_type or "cbor" in request.content_type:
            # clients fall back to JSON on 415, as against an API server without protobuf support
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            )
        if not raw:
            return {}
        if request.content_type.endswith("yaml"):
            import yaml

            return yaml.safe_load(raw)
        return json.loads(raw)

    async def _serve(self, request: web.Request, route: Route) -> web.StreamResponse:
        rtype, ns, name = route.rtype, route.namespace or "", route.name
        query = request.query
        strict = query.get("fieldValidation") == "Strict"
        if rtype.namespaced is False and route.namespace:
            raise ApiError(404, "NotFound", f"{rtype.plural} is not namespaced")
        method = request.method
        if route.sub == "log" and method == "GET" and name:
            return await self._log(request, ns, name)
        if name is None:
            if method == "GET":
                accepts = self._filter(query)
                if query.get("watch") in ("1", "true"):
                    return await self._watch(request, rtype, route.namespace, accepts)
                items = self.api.list(rtype, route.namespace, accepts)
                rv = str(self.api.store.rv)
                if self._wants_table(request):
                    return _json(tables.table(rtype, items, query.get("includeObject", "Metadata"), rv))
                return _json(
                    {
                        "kind": f"{rtype.kind}List",
                        "apiVersion": rtype.group_version,
                        "metadata": {"resourceVersion": rv},
                        "items": items,
                    }
                )
            if method == "POST":
                if query.get("dryRun"):
                    raise ApiError(400, "BadRequest", "dryRun is not supported by this emulated API server")
                obj, warnings = self.api.create(rtype, route.namespace, await self._body(request), strict)
                return _json(obj, 201, warnings)
            if method == "DELETE":
                accepts = self._filter(query)
                gone = [
                    self.api.delete(rtype, o["metadata"].get("namespace", ""), o["metadata"]["name"], {})
                    for o in self.api.list(rtype, route.namespace, accepts)
                ]
                return _json(
                    {
                        "kind": f"{rtype.kind}List",
                        "apiVersion": rtype.group_version,
                        "metadata": {},
                        "items": gone,
                    }
                )
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        if method == "GET":
            obj = self.api.get(rtype, ns, name)
            if self._wants_table(request):
                return _json(
                    tables.table(rtype, [obj], query.get("includeObject", "Metadata"), str(self.api.store.rv))
                )
            return _json(obj)
        if method == "PUT":
            obj, warnings = self.api.update(rtype, ns, name, await self._body(request), route.sub, strict)
            return _json(obj, 200, warnings)
        if method == "PATCH":
            obj, warnings = self.api.patch(
                rtype, ns, name, request.content_type, await self._body(request), route.sub, strict
            )
            return _json(obj, 200, warnings)
        if method == "DELETE":
            options = dict(await self._body(request) or {})
            if "gracePeriodSeconds" in query:
                options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
            return _json(self.api.delete(rtype, ns, name, options))
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed")

    @staticmethod
    def _filter(query: Any) -> selectors.Predicate:
        labels = selectors.label_selector(query.get("labelSelector"))
        fields = selectors.field_selector(query.get("fieldSelector"))
        return lambda obj: labels(obj) and fields(obj)

    @staticmethod
    def _wants_table(request: web.Request) -> bool:
        return "as=Table" in request.headers.get("Accept", "")

    async def _watch(
        self, request: web.Request, rtype: ResourceType, namespace: str | None, accepts: selectors.Predicate
    ) -> web.StreamResponse:
        raw_rv = request.query.get("resourceVersion")
        since = int(raw_rv) if raw_rv and raw_rv != "0" else None
        timeout = float(request.query.get("timeoutSeconds") or 1800)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            watcher = self.api.store.watch(rtype.key, namespace, since, accepts)
        except Gone as exc:
            error = ApiError(410, "Expired", str(exc)).status()
            await response.write(json.dumps({"type": "ERROR", "object": error}).encode() + b"\n")
            return response
        table = self._wants_table(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), min(remaining, 5.0))
                except TimeoutError:
                    if request.transport is None or request.transport.is_closing():
                        break
                    continue
                if item is None:
                    break
                event, obj = item
                if table:
                    obj = tables.table(
                        rtype,
                        [obj],
                        request.query.get("includeObject", "Metadata"),
                        obj["metadata"]["resourceVersion"],
                    )
                await response.write(json.dumps({"type": event, "object": obj}).encode() + b"\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.api.store.unwatch(watcher)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _log(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        self.api.get(self.api.types["v1/pods"], namespace, name)
        path = self.logs(namespace, name) if self.logs else None
        text = path.read_text(errors="replace") if path and path.exists() else ""
        tail = request.query.get("tailLines")
        if tail:
            text = "\n".join(text.splitlines()[-int(tail) :]) + "\n"
        return web.Response(text=text, content_type="text/plain")
