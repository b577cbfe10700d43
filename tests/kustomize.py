"""Renders platform/k8s's kustomizations in Python, for the tests: no kubectl or kustomize on the machine.

Only what the kustomizations there use, and it refuses anything else by name, so a new kustomize feature in
a kustomization fails the tests until it is rendered here too (instead of being silently left out):
``resources`` (files and folders), ``namespace``, ``images``, ``patches`` (strategic merge by file, lists of
named items merged by name) and ``replacements`` (field paths with ``[name=value]`` selectors, the
``delimiter``/``index`` option). ``tests/test_kubernetes.py`` compares the result with ``kubectl kustomize``
where kubectl is installed.
"""

import copy
from pathlib import Path
from typing import Any

import yaml

Object = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches", "replacements"}


def kustomization_read(folder: Path) -> dict[str, Any]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise NotImplementedError(f"{folder}: tests/kustomize.py does not render {sorted(unsupported)}")
    return kustomization


def documents(path: Path) -> list[Object]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def build(folder: Path) -> list[Object]:
    """The objects ``kubectl kustomize folder`` prints, in no particular order."""
    kustomization = kustomization_read(folder)
    objects: list[Object] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        objects.extend(build(path) if path.is_dir() else copy.deepcopy(documents(path)))
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise NotImplementedError(f"{folder}: only patches by path are rendered here, not {patch}")
        for document in documents(folder / patch["path"]):
            target = object_find(objects, document["kind"], document["metadata"]["name"])
            target.update(merged(target, document))
    if "namespace" in kustomization:
        for obj in objects:
            obj["metadata"]["namespace"] = kustomization["namespace"]
    for image in kustomization.get("images", []):
        images_set(objects, image)
    for replacement in kustomization.get("replacements", []):
        replace(objects, replacement)
    return objects


def object_find(objects: list[Object], kind: str, name: str) -> Object:
    found = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} objects {kind}/{name}")
    return found[0]


def merged(base: Any, patch: Any) -> Any:
    """Strategic merge as it applies here: maps merge, lists of named maps merge by name, other lists replace."""
    if isinstance(base, dict) and isinstance(patch, dict):
        result = dict(base)
        for key, value in patch.items():
            result[key] = merged(base[key], value) if key in base else value
        return result
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        result = list(base)
        for item in patch:
            names = [existing["name"] for existing in result]
            if item["name"] in names:
                index = names.index(item["name"])
                result[index] = merged(result[index], item)
            else:
                result.append(item)
        return result
    return patch


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def pod_templates(objects: list[Object]) -> list[Object]:
    return [obj["spec"]["template"] for obj in objects if obj["kind"] in ("Deployment", "Job", "StatefulSet")]


def images_set(objects: list[Object], image: dict[str, str]) -> None:
    for template in pod_templates(objects):
        for container in template["spec"].get("containers", []) + template["spec"].get("initContainers", []):
            name = container["image"].split("@")[0].rsplit(":", 1)[0]
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"


def replace(objects: list[Object], replacement: dict[str, Any]) -> None:
    source = replacement["source"]
    value = field_get(object_find(objects, source["kind"], source["name"]), source["fieldPath"])
    for target in replacement["targets"]:
        select = target["select"]
        obj = object_find(objects, select["kind"], select["name"])
        options = target.get("options", {})
        for path in target["fieldPaths"]:
            new = value
            if "delimiter" in options:
                parts = field_get(obj, path).split(options["delimiter"])
                parts[options.get("index", 0)] = value
                new = options["delimiter"].join(parts)
            field_set(obj, path, new)


def _segments(path: str) -> list[str]:
    return path.split(".")


def _step(node: Any, segment: str) -> tuple[Any, Any]:
    """(container, key) of one path segment: a map key, a list index, or [name=value] in a list."""
    if isinstance(node, list):
        if segment.startswith("[") and segment.endswith("]"):
            field, _, wanted = segment[1:-1].partition("=")
            matches = [index for index, item in enumerate(node) if str(item.get(field)) == wanted]
            if len(matches) != 1:
                raise LookupError(f"{len(matches)} items {segment}")
            return node, matches[0]
        return node, int(segment)
    return node, segment


def field_get(obj: Object, path: str) -> Any:
    node: Any = obj
    for segment in _segments(path):
        container, key = _step(node, segment)
        node = container[key]
    return node


def field_set(obj: Object, path: str, value: Any) -> None:
    *parents, last = _segments(path)
    node: Any = obj
    for segment in parents:
        container, key = _step(node, segment)
        node = container[key]
    container, key = _step(node, last)
    container[key] = value
