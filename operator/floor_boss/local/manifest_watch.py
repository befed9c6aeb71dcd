"""The manifest folder as live desired state: what changed since the last look.

Like ``kubectl apply`` over a folder: a new or edited file is applied, a removed file removes the
agents it defined, and a file that does not parse is reported with its field while the agents it
defined before keep running as they are. Pure bookkeeping over files; the floor does the applying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tradingfloor.models.manifests import ManifestError, Resource, load_manifests


@dataclass
class ManifestChanges:
    resources: list[Resource]  # every valid manifest now in the folder (applying unchanged ones is a no-op)
    new_errors: dict[str, str]  # file → why it cannot be used (only files whose problem is new)
    fixed: list[str]  # files that were broken and are valid again
    removed: set[str]  # agents whose defining file is gone (or no longer defines them)


def _files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path] if path.exists() else []
    return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])


@dataclass
class ManifestWatch:
    path: Path
    names_by_file: dict[str, set[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _signature: tuple = ()

    def signature(self) -> tuple:
        out = []
        for file in _files(self.path):
            try:
                stat = file.stat()
            except OSError:
                continue
            out.append((str(file), stat.st_mtime_ns, stat.st_size))
        return tuple(out)

    def changed(self) -> bool:
        return self.signature() != self._signature

    def scan(self) -> ManifestChanges:
        self._signature = self.signature()
        resources: list[Resource] = []
        names_by_file: dict[str, set[str]] = {}
        errors: dict[str, str] = {}
        for file in _files(self.path):
            key = str(file)
            try:
                found = list(load_manifests(file))  # a generator: parse errors surface here
            except (ManifestError, OSError) as exc:
                errors[key] = str(exc)
                names_by_file[key] = self.names_by_file.get(key, set())  # its agents stay as they are
                continue
            resources.extend(found)
            names_by_file[key] = {r.metadata["name"] for r in found}
        before = set().union(*self.names_by_file.values()) if self.names_by_file else set()
        now = set().union(*names_by_file.values()) if names_by_file else set()
        changes = ManifestChanges(
            resources=resources,
            new_errors={f: m for f, m in errors.items() if self.errors.get(f) != m},
            fixed=[f for f in self.errors if f not in errors and f in names_by_file],
            removed=before - now,
        )
        self.names_by_file, self.errors = names_by_file, errors
        return changes
