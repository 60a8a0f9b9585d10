"""The part of kustomize that deploy/kubernetes uses, in Python, for machines without kustomize.

Supported: `resources` (files and directories with a kustomization), `namespace`, `images`
and `patches` given by `path` (strategic merge patches that name their target). Anything
else in a kustomization is refused with NotSupported rather than ignored, so the rendering is
never silently wrong; where kubectl is installed, the tests compare the two renderings.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

_SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
_CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
}
# Lists that Kubernetes merges item by item (patchStrategy=merge), by this key; every other
# list in a patch replaces the one it patches, as in a strategic merge patch.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


class NotSupported(Exception):
    """The kustomization uses a feature this subset does not implement."""


def build(directory: Path) -> list[Obj]:
    """The objects `kustomize build directory` would print (order aside)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - _SUPPORTED_KEYS
    if unknown:
        raise NotSupported(f"{directory}: {', '.join(sorted(unknown))} not implemented")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects += build(path) if path.is_dir() else _documents(path)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise NotSupported(f"{directory}: only patches given by path are implemented")
        for document in _documents(directory / patch["path"]):
            index = _find(objects, document)
            objects[index] = _merge(objects[index], document)
    for image in kustomization.get("images", []):
        for obj in objects:
            _set_image(obj, image)
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            _set_namespace(obj, namespace)
    _refuse_duplicates(objects)
    return objects


def _documents(path: Path) -> list[Obj]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def _find(objects: list[Obj], patch: Obj) -> int:
    metadata = patch["metadata"]
    for index, obj in enumerate(objects):
        same = obj["kind"] == patch["kind"] and obj["metadata"]["name"] == metadata["name"]
        namespace = metadata.get("namespace")
        if same and (namespace is None or obj["metadata"].get("namespace") == namespace):
            return index
    raise ValueError(f"the patch of {patch['kind']}/{metadata['name']} matches no resource")


def _merge(base: Any, patch: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = _merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in _MERGE_KEYS:
        merge_key = _MERGE_KEYS[key]
        by_key = {item[merge_key]: item for item in base}
        # kustomize's order: the patch's items (merged into their namesakes), then the rest.
        merged_list = [
            _merge(by_key[item[merge_key]], item, key)
            if item[merge_key] in by_key
            else copy.deepcopy(item)
            for item in patch
        ]
        patched = {item[merge_key] for item in patch}
        return merged_list + [copy.deepcopy(i) for i in base if i[merge_key] not in patched]
    return copy.deepcopy(patch)


def _pod_specs(obj: Obj) -> list[Obj]:
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return [spec]
    template = spec.get("template", {}).get("spec")
    return [template] if template else []


def _set_image(obj: Obj, image: dict[str, str]) -> None:
    for pod in _pod_specs(obj):
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            name, suffix = _split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                suffix = f"@{image['digest']}"
            elif "newTag" in image:
                suffix = f":{image['newTag']}"
            container["image"] = name + suffix


def _split_image(reference: str) -> tuple[str, str]:
    """("registry/name", ":tag" or "@digest" or "") of an image reference."""
    if "@" in reference:
        name, digest = reference.split("@", 1)
        return name, f"@{digest}"
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:  # a colon before the last slash is a registry's port
        name, tag = reference.rsplit(":", 1)
        return name, f":{tag}"
    return reference, ""


def _set_namespace(obj: Obj, namespace: str) -> None:
    if obj["kind"] not in _CLUSTER_SCOPED:
        obj["metadata"]["namespace"] = namespace
    if obj["kind"] in {"RoleBinding", "ClusterRoleBinding"}:
        for subject in obj.get("subjects", []):
            if subject.get("kind") == "ServiceAccount" and not subject.get("namespace"):
                subject["namespace"] = namespace


def _refuse_duplicates(objects: list[Obj]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        identity = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if identity in seen:
            raise ValueError(f"{identity} is declared twice")
        seen.add(identity)
