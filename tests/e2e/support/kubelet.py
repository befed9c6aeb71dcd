"""A kubelet that runs each Pod's container as a local OS process.

Per Pod: env resolved (value, secretKeyRef / configMapKeyRef from the API's objects, fieldRef,
envFrom, $(VAR) expansion), each emptyDir a temp dir, the ServiceAccount token, CA and namespace
mounted at /var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/PORT set, as
in a cluster, so in-cluster clients work unchanged. The process runs in its own mount namespace
(``unshare``), where the token folder and every emptyDir whose mountPath exists on the host are bind
mounts; an emptyDir whose mountPath does not exist is rewritten in the env values that name it.
Container ports get free host ports (the process sees them through METRICS_PORT, *_PORT env values and
`:port` in its args), since every Pod shares the host's network. Status goes Pending → Running
(Ready from the readiness probe) → Succeeded/Failed with exit codes; restartPolicy Always restarts with
a backoff. Deleting a Pod sends SIGTERM, then SIGKILL after its grace period.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.support.apiserver import POD_KEY, ApiServer
from tests.e2e.support.store import now

SA_MOUNT = "/run/secrets/kubernetes.io/serviceaccount"  # /var/run is a link to /run
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ConfigError(Exception):
    """The Pod cannot start yet (a missing Secret or ConfigMap): CreateContainerConfigError."""


@dataclass
class Running:
    uid: str
    namespace: str
    name: str
    folder: Path
    process: asyncio.subprocess.Process | None = None
    ports: dict[int, int] = field(default_factory=dict)
    restarts: int = 0
    stopping: bool = False
    task: asyncio.Task[None] | None = None


class Kubelet:
    def __init__(
        self,
        api: ApiServer,
        root: Path,
        service: tuple[str, int],
        token: str,
        ca_pem: str,
        images: dict[str, Any],
        bin_dirs: list[Path],
        restart_backoff: float = 1.0,
    ) -> None:
        self.api, self.root = api, root
        self.service_host, self.service_port = service  # the `kubernetes` Service: the API server
        self.token, self.ca_pem = token, ca_pem
        self.images = images  # image repository → its ENTRYPOINT, CMD and ENV (cluster.Image)
        self.path = os.pathsep.join([*(str(p) for p in bin_dirs), os.environ.get("PATH", "/usr/bin:/bin")])
        # What a Pod's process must keep seeing: its programs (the virtualenv, an editable install's
        # sources) and its own folder. A mount over any of them becomes an env rewrite instead.
        self.protected = [root.resolve(), Path.cwd().resolve(), *(p.resolve().parent for p in bin_dirs)]
        self.restart_backoff = restart_backoff
        self.pods: dict[str, Running] = {}
        self._wake = asyncio.Event()
        (root / "pids").mkdir(parents=True, exist_ok=True)
        api.store.listeners.append(self._changed)
        api.pod_finalizer = self._removed

    # --- reacting to the API ----------------------------------------------------------------------

    def _changed(self, resource: str, event: str, obj: dict[str, Any]) -> None:
        if resource != POD_KEY:
            return
        meta = obj["metadata"]
        uid = meta["uid"]
        if event == "ADDED" and uid not in self.pods:
            run = Running(uid, meta["namespace"], meta["name"], self.root / "pods" / uid)
            self.pods[uid] = run
            run.task = asyncio.get_running_loop().create_task(self._lifecycle(run))
        elif event == "MODIFIED" and meta.get("deletionTimestamp") and uid in self.pods:
            run = self.pods[uid]
            if not run.stopping:
                run.stopping = True
                grace = int(meta.get("deletionGracePeriodSeconds") or 0)
                asyncio.get_running_loop().create_task(self._stop(run, grace))

    def _removed(self, pod: dict[str, Any]) -> None:
        run = self.pods.pop(pod["metadata"]["uid"], None)
        if run is not None and run.process is not None and run.process.returncode is None:
            self._signal(run, signal.SIGKILL)
        if run is not None:
            asyncio.get_running_loop().call_later(1, shutil.rmtree, run.folder, True)
            (self.root / "pids" / f"{run.namespace}.{run.name}.pid").unlink(missing_ok=True)

    def log_path(self, namespace: str, name: str) -> Path | None:
        for run in self.pods.values():
            if run.namespace == namespace and run.name == name:
                return run.folder / "output.log"
        return None

    # --- one Pod ----------------------------------------------------------------------------------

    def _pod(self, run: Running) -> dict[str, Any] | None:
        pod = self.api.store.get(POD_KEY, run.namespace, run.name)
        return pod if pod is not None and pod["metadata"]["uid"] == run.uid else None

    def _set_status(self, run: Running, status: dict[str, Any]) -> None:
        pod = self._pod(run)
        if pod is None:
            return
        merged = {**pod.get("status", {}), **status}
        self.api.update(
            self.api.types[POD_KEY],
            run.namespace,
            run.name,
            {**pod, "status": merged},
            "status",
            precondition=False,
        )

    def _event(self, run: Running, type_: str, reason: str, message: str) -> None:
        pod = self._pod(run)
        if pod is None:
            return
        stamp = now()
        self.api.create(
            self.api.types["v1/events"],
            run.namespace,
            {
                "metadata": {"generateName": f"{run.name}.", "namespace": run.namespace},
                "involvedObject": {
                    "kind": "Pod",
                    "namespace": run.namespace,
                    "name": run.name,
                    "uid": run.uid,
                    "apiVersion": "v1",
                },
                "reason": reason,
                "message": message,
                "type": type_,
                "source": {"component": "kubelet", "host": "emulated-node"},
                "firstTimestamp": stamp,
                "lastTimestamp": stamp,
                "count": 1,
            },
        )

    async def _lifecycle(self, run: Running) -> None:
        try:
            await self._run_pod(run)
        except Exception as exc:  # the kubelet itself must never die with one Pod
            self._set_status(run, {"phase": "Failed", "reason": "KubeletError", "message": repr(exc)})

    async def _run_pod(self, run: Running) -> None:
        self._event(
            run, "Normal", "Scheduled", f"Successfully assigned {run.namespace}/{run.name} to emulated-node"
        )
        pod = self._pod(run)
        if pod is None:
            return
        spec = pod["spec"]
        container = spec["containers"][0]
        policy = spec.get("restartPolicy", "Always")
        backoff = self.restart_backoff
        while not run.stopping:
            pod = self._pod(run)
            if pod is None:
                return
            try:
                argv, env, mounts = self._prepare(pod, container, run)
            except ConfigError as exc:
                self._set_status(
                    run,
                    {
                        "containerStatuses": [
                            self._container_status(
                                container,
                                run,
                                {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}},
                            )
                        ]
                    },
                )
                await asyncio.sleep(1)
                continue
            started = now()
            run.process = await self._spawn(argv, env, mounts, run)
            (self.root / "pids" / f"{run.namespace}.{run.name}.pid").write_text(str(run.process.pid))
            self._event(
                run, "Normal", "Started", f"Started container {container['name']} (pid {run.process.pid})"
            )
            self._set_status(
                run,
                {
                    "phase": "Running",
                    "podIP": "127.0.0.1",
                    "hostIP": "127.0.0.1",
                    "startTime": started,
                    "conditions": self._conditions(False),
                    "containerStatuses": [
                        self._container_status(container, run, {"running": {"startedAt": started}})
                    ],
                },
            )
            prober = asyncio.create_task(self._probe(run, container, started))
            code = await run.process.wait()
            prober.cancel()
            exit_code = 128 - code if code < 0 else code  # killed by signal N → 128+N, as a runtime reports
            reason = "Completed" if exit_code == 0 else "Error"
            terminated = {
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": started,
                "finishedAt": now(),
                "containerID": f"process://{run.process.pid}",
            }
            if code < 0:
                terminated["signal"] = -code
            restart = not run.stopping and (policy == "Always" or (policy == "OnFailure" and exit_code != 0))
            if not restart:
                phase = "Succeeded" if exit_code == 0 else "Failed"
                self._set_status(
                    run,
                    {
                        "phase": phase,
                        "conditions": self._conditions(False),
                        "containerStatuses": [
                            self._container_status(container, run, {"terminated": terminated})
                        ],
                    },
                )
                if run.stopping:
                    self.api.pod_stopped(run.namespace, run.name, run.uid)
                return
            run.restarts += 1
            self._event(
                run,
                "Warning",
                "BackOff",
                f"Back-off {backoff:.0f}s restarting failed container {container['name']}",
            )
            self._set_status(
                run,
                {
                    "conditions": self._conditions(False),
                    "containerStatuses": [
                        self._container_status(
                            container,
                            run,
                            {
                                "waiting": {
                                    "reason": "CrashLoopBackOff",
                                    "message": f"back-off {backoff:.0f}s",
                                }
                            },
                            {"terminated": terminated},
                        )
                    ],
                },
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
        self.api.pod_stopped(run.namespace, run.name, run.uid)

    def _conditions(self, ready: bool) -> list[dict[str, Any]]:
        stamp = now()
        flag = "True" if ready else "False"
        return [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
            {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": stamp},
            {"type": "Ready", "status": flag, "lastTransitionTime": stamp},
        ]

    def _container_status(
        self,
        container: dict[str, Any],
        run: Running,
        state: dict[str, Any],
        last: dict[str, Any] | None = None,
        ready: bool = False,
    ) -> dict[str, Any]:
        return {
            "name": container["name"],
            "image": container.get("image", ""),
            "imageID": container.get("image", ""),
            "containerID": f"process://{run.process.pid}" if run.process else "",
            "state": state,
            "lastState": last or {},
            "ready": ready,
            "restartCount": run.restarts,
            "started": "running" in state,
        }

    async def _probe(self, run: Running, container: dict[str, Any], started: str) -> None:
        probe = container.get("readinessProbe") or {}
        get = probe.get("httpGet")
        ready_state = None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if get is None:
                    ready = True
                else:
                    port = self._port_of(container, get.get("port"), run)
                    try:
                        async with http.get(f"http://127.0.0.1:{port}{get.get('path', '/')}") as resp:
                            ready = 200 <= resp.status < 400
                    except (aiohttp.ClientError, TimeoutError, OSError):
                        ready = False
                if ready != ready_state and not run.stopping:
                    ready_state = ready
                    self._set_status(
                        run,
                        {
                            "conditions": self._conditions(ready),
                            "containerStatuses": [
                                self._container_status(
                                    container, run, {"running": {"startedAt": started}}, ready=ready
                                )
                            ],
                        },
                    )
                await asyncio.sleep(min(float(probe.get("periodSeconds", 10)), 1.0))

    @staticmethod
    def _port_of(container: dict[str, Any], port: Any, run: Running) -> int:
        for p in container.get("ports") or []:
            if port in (p.get("name"), p.get("containerPort")):
                return run.ports.get(int(p["containerPort"]), int(p["containerPort"]))
        return run.ports.get(int(port), int(port))

    # --- the process ------------------------------------------------------------------------------

    def _prepare(
        self, pod: dict[str, Any], container: dict[str, Any], run: Running
    ) -> tuple[list[str], dict[str, str], list[tuple[Path, str]]]:
        meta, spec = pod["metadata"], pod["spec"]
        run.folder.mkdir(parents=True, exist_ok=True)
        if not run.ports:
            run.ports = {int(p["containerPort"]): free_port() for p in container.get("ports") or []}
        image_name = container.get("image", "")
        repository = image_name.rsplit(":", 1)[0] if ":" in image_name.rsplit("/", 1)[-1] else image_name
        image = self.images.get(repository)
        env: dict[str, str] = {
            **(image.env if image else {}),
            "PATH": self.path,
            "HOME": str(run.folder),
            "HOSTNAME": meta["name"],
            "LANG": "C.UTF-8",
            "KUBERNETES_SERVICE_HOST": self.service_host,
            "KUBERNETES_SERVICE_PORT": str(self.service_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.service_port),
        }
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            for key, value in self._data(meta["namespace"], source, optional=False).items():
                env[prefix + key] = value
        for item in container.get("env") or []:
            if "valueFrom" in item:
                found = self._value_from(pod, item["valueFrom"])
                if found is None:
                    continue
                env[item["name"]] = found
            else:
                env[item["name"]] = _VAR.sub(
                    lambda m: env.get(m.group(1), m.group(0)), str(item.get("value", ""))
                )
        named = {p.get("name"): int(p["containerPort"]) for p in container.get("ports") or []}
        if "metrics" in named and "METRICS_PORT" not in env:
            env["METRICS_PORT"] = str(run.ports[named["metrics"]])
        for key, value in list(env.items()):
            if key.endswith("PORT") and value.isdigit() and int(value) in run.ports:
                env[key] = str(run.ports[int(value)])
        mounts: list[tuple[Path, str]] = []
        sa = run.folder / "serviceaccount"
        sa.mkdir(exist_ok=True)
        (sa / "token").write_text(self.token)
        (sa / "ca.crt").write_text(self.ca_pem)
        (sa / "namespace").write_text(meta["namespace"])
        mounts.append((sa, SA_MOUNT))
        # the kubelet-managed /etc/hosts: the cluster DNS name of the API server, as kopf's
        # service-account login uses https://kubernetes.default.svc
        hosts = run.folder / "hosts"
        hosts.write_text(
            f"127.0.0.1\tlocalhost\n127.0.0.1\t{meta['name']}\n"
            f"{self.service_host}\tkubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local\n"
        )
        mounts.append((hosts, "/etc/hosts"))
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"]) or {}
            if "emptyDir" not in volume:
                continue
            folder = run.folder / "volumes" / mount["name"]
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o1777)
            target = mount["mountPath"]
            if Path(target).is_dir() and not any(p.is_relative_to(target) for p in self.protected):
                mounts.append((folder, target))
                continue
            for key, value in env.items():
                if key in ("PATH", "HOME"):  # the kubelet's own, not the Pod's
                    continue
                if value == target or value.startswith(target.rstrip("/") + "/"):
                    env[key] = str(folder) + value[len(target.rstrip("/")) :]
            if target.rstrip("/") == "/tmp":
                env["TMPDIR"] = str(folder)
        command = container.get("command") or (image.entrypoint if image else [])
        args = container.get("args") or ([] if container.get("command") or image is None else image.cmd)
        if not command:
            raise ConfigError(
                f"image {image_name!r} has no known ENTRYPOINT and the container sets no command"
            )
        argv = [_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), a) for a in [*command, *args]]
        for cport, hport in run.ports.items():
            argv = [re.sub(rf":{cport}(?=/|$)", f":{hport}", a) for a in argv]
        return argv, env, mounts

    def _value_from(self, pod: dict[str, Any], source: dict[str, Any]) -> str | None:
        meta = pod["metadata"]
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            fields = {
                "metadata.name": meta["name"],
                "metadata.namespace": meta["namespace"],
                "metadata.uid": meta["uid"],
                "spec.nodeName": pod["spec"].get("nodeName", ""),
                "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
                "status.podIP": "127.0.0.1",
                "status.hostIP": "127.0.0.1",
                "status.podIPs": "127.0.0.1",
            }
            if m := re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path):
                return (meta.get(m.group(1)) or {}).get(m.group(2), "")
            if path not in fields:
                raise ConfigError(f"unsupported fieldRef {path!r}")
            return fields[path]
        for ref_key, resource in (("secretKeyRef", "v1/secrets"), ("configMapKeyRef", "v1/configmaps")):
            if ref_key in source:
                ref = source[ref_key]
                data = self._data(
                    meta["namespace"],
                    {("secretRef" if resource == "v1/secrets" else "configMapRef"): ref},
                    bool(ref.get("optional")),
                )
                if ref["key"] not in data:
                    if ref.get("optional"):
                        return None
                    raise ConfigError(
                        f"couldn't find key {ref['key']} in {'Secret' if resource == 'v1/secrets' else 'ConfigMap'} {meta['namespace']}/{ref['name']}"
                    )
                return data[ref["key"]]
        raise ConfigError(f"unsupported valueFrom {sorted(source)}")

    def _data(self, namespace: str, source: dict[str, Any], optional: bool) -> dict[str, str]:
        if "secretRef" in source:
            ref, resource, kind = source["secretRef"], "v1/secrets", "secret"
        else:
            ref, resource, kind = source["configMapRef"], "v1/configmaps", "configmap"
        obj = self.api.store.get(resource, namespace, ref["name"])
        if obj is None:
            if optional or ref.get("optional"):
                return {}
            raise ConfigError(f'{kind} "{ref["name"]}" not found')
        data = obj.get("data") or {}
        if resource == "v1/secrets":
            return {k: base64.b64decode(v).decode() for k, v in data.items()}
        return dict(data)

    async def _spawn(
        self, argv: list[str], env: dict[str, str], mounts: list[tuple[Path, str]], run: Running
    ) -> asyncio.subprocess.Process:
        # A fresh /run (the host's has no secrets/ folder to mount on), then the bind mounts.
        steps = [
            "mount -t tmpfs -o mode=755 tmpfs /run",
            f"mkdir -p {SA_MOUNT} /run/lock",
            "ln -s /dev/shm /run/shm",
        ]
        steps += [f'mount --bind "${i * 2 + 1}" "${i * 2 + 2}"' for i in range(len(mounts))]
        script = " && ".join([*steps, f"shift {len(mounts) * 2}", 'exec "$@"'])
        flags = (
            ["--mount", "--propagation", "private"]
            if os.geteuid() == 0
            else ["--user", "--map-root-user", "--mount", "--propagation", "private"]
        )
        paths = [str(p) for pair in mounts for p in (pair[0], pair[1])]
        log = open(run.folder / "output.log", "ab")
        try:
            return await asyncio.create_subprocess_exec(
                "unshare",
                *flags,
                "sh",
                "-c",
                script,
                "sh",
                *paths,
                *argv,
                env=env,
                cwd=str(run.folder),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()

    def _signal(self, run: Running, sig: signal.Signals) -> None:
        if run.process is not None and run.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.process.pid, sig)

    async def _stop(self, run: Running, grace: int) -> None:
        pod = self._pod(run)
        if pod is not None:
            self._event(
                run, "Normal", "Killing", f"Stopping container {pod['spec']['containers'][0]['name']}"
            )
        if run.process is None or run.process.returncode is not None:
            self.api.pod_stopped(run.namespace, run.name, run.uid)
            return
        self._signal(run, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(run.process.wait()), grace)
        except TimeoutError:
            self._signal(run, signal.SIGKILL)
        # _run_pod sees the exit, reports it and releases the Pod

    async def shutdown(self) -> None:
        for run in list(self.pods.values()):
            run.stopping = True
            self._signal(run, signal.SIGTERM)
        await asyncio.sleep(0.5)
        for run in list(self.pods.values()):
            self._signal(run, signal.SIGKILL)
            if run.task is not None:
                run.task.cancel()
