"""A fake Kubernetes API server on 127.0.0.1: it records the Jobs and JobSets Metaflow creates.

Metaflow's ``kubernetes step`` process talks to the cluster through the ``kubernetes`` client,
configured from ``KUBECONFIG``: pointed at this server, ``run --with kubernetes`` creates its Job
here, with no cluster. Each created object's body (the JSON the real client serialized) is kept;
the Job is answered as succeeded, and its pod as terminated with exit code 0, so the launcher
returns. With ``run=True`` the server also runs the Job's container command locally before it
answers (as the pod would: Kubernetes' ``$(NAME)`` expansion applied, the downward API filled,
plus ``container_env`` for what the image and its role give), and answers with its exit code.
"""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def expand(value: str, defined: Mapping[str, str]) -> str:
    """Kubernetes' expansion of an ``env[].value``: ``$$`` is ``$``, ``$(NAME)`` a defined one."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "$" and i + 1 < len(value):
            if value[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if value[i + 1] == "(":
                end = value.find(")", i + 2)
                if end != -1:
                    name = value[i + 2 : end]
                    out.append(defined.get(name, value[i : end + 1]))
                    i = end + 1
                    continue
        out.append(value[i])
        i += 1
    return "".join(out)


def pod_environment(container: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, str]:
    """The environment a container of this spec starts with (before the image's own)."""
    env: dict[str, str] = {}
    for entry in container.get("env") or ():
        if entry.get("value") is not None:
            env[entry["name"]] = expand(entry["value"], env)
        elif entry.get("valueFrom"):
            env[entry["name"]] = fields.get(entry["valueFrom"]["fieldRef"]["fieldPath"], "")
        else:
            env[entry["name"]] = ""
    return env


@dataclass
class FakeCluster:
    """What the server saw: the bodies of created objects, in order; the runs' outputs."""

    root: Path
    run: bool = False
    container_env: dict[str, str] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    port: int = 0
    _jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def kubeconfig(self) -> Path:
        """A kubeconfig that points the client at this server."""
        path = self.root / "kubeconfig"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}
                    ],
                    "contexts": [
                        {
                            "name": "fake",
                            "context": {"cluster": "fake", "user": "fake", "namespace": "default"},
                        }
                    ],
                    "current-context": "fake",
                    "users": [{"name": "fake", "user": {"token": "fake"}}],
                }
            )
        )
        return path

    def jobs(self) -> list[dict[str, Any]]:
        """The created batch/v1 Jobs."""
        return [b for b in self.created if b.get("kind") == "Job"]

    def jobsets(self) -> list[dict[str, Any]]:
        """The created JobSets."""
        return [b for b in self.created if b.get("kind") == "JobSet"]

    def _create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = body.setdefault("metadata", {})
        name = meta.get("name") or meta.get("generateName", "job-") + uuid.uuid4().hex[:5]
        parts = path.strip("/").split("/")
        namespace = parts[parts.index("namespaces") + 1]
        meta.update(name=name, uid=str(uuid.uuid4()), namespace=namespace)
        self.created.append(json.loads(json.dumps(body)))
        code = 0
        if self.run and body.get("kind") == "Job":
            code = self._run(body, name, namespace)
        body["status"] = {"succeeded": 1} if code == 0 else {"failed": 1}
        body["_exit"] = code
        self._jobs[name] = body
        return body

    def _run(self, job: dict[str, Any], name: str, namespace: str) -> int:
        container = job["spec"]["template"]["spec"]["containers"][0]
        fields = {
            "metadata.namespace": namespace,
            "metadata.name": name + "-pod",
            "metadata.uid": job["metadata"]["uid"],
            "spec.serviceAccountName": "default",
            "status.hostIP": "127.0.0.1",
        }
        env = {**pod_environment(container, fields), **self.container_env}
        cwd = self.root / f"{name}.cwd"
        cwd.mkdir()
        proc = subprocess.run(
            container["command"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.outputs.append(proc.stdout + proc.stderr)
        (self.root / f"{name}.out").write_text(proc.stdout + proc.stderr)
        return proc.returncode

    def _pods(self, selector: str) -> dict[str, Any]:
        items = []
        for name, job in self._jobs.items():
            if name not in selector:
                continue
            code = job.get("_exit", 0)
            state = {
                "exitCode": code,
                "reason": "Error" if code else "Completed",
                "finishedAt": "2024-01-01T00:00:00Z",
            }
            items.append(
                {
                    "metadata": {"name": name + "-pod", "namespace": job["metadata"]["namespace"]},
                    "status": {
                        "phase": "Failed" if code else "Succeeded",
                        "containerStatuses": [
                            {
                                "name": "c",
                                "image": "i",
                                "imageID": "",
                                "ready": False,
                                "restartCount": 0,
                                "state": {"terminated": state},
                            }
                        ],
                    },
                }
            )
        return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}


def _handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, obj: Any) -> None:
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            self._send(201, cluster._create(self.path, body))

        def do_GET(self) -> None:
            path = self.path.split("?")[0].strip("/").split("/")
            if path[-1] == "pods":
                query = self.path.split("labelSelector=", 1)
                self._send(200, cluster._pods(query[1] if len(query) > 1 else ""))
            elif path[-1] in cluster._jobs:
                self._send(200, cluster._jobs[path[-1]])
            else:
                self._send(404, {"kind": "Status", "message": "not found", "code": 404})

    return Handler


@contextmanager
def fake_cluster(root: Path, *, run: bool = False, **container_env: str) -> Iterator[FakeCluster]:
    """A fake API server for the block: the cluster's record (see the module docstring)."""
    root.mkdir(parents=True, exist_ok=True)
    cluster = FakeCluster(root, run=run, container_env=dict(container_env))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))
    cluster.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield cluster
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def kubeconfig_env(cluster: FakeCluster) -> dict[str, str]:
    """The variables that point a process's Kubernetes client at ``cluster``."""
    return {"KUBECONFIG": str(cluster.kubeconfig())}
