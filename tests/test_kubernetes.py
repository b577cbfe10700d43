"""platform/k8s: the Kubernetes shape is valid, runs what compose runs, and keeps what a deploy relies on.

Every kustomization (the base and the production overlay) is rendered (tests/kustomize.py, checked against
``kubectl kustomize`` where kubectl is installed) and validated against the Kubernetes API schemas, strictly
(an unknown field is an error: a misspelt one would otherwise be dropped by the cluster). Then what a deploy
depends on: exactly one beat, the migrate Job, one image and one environment for every process, the web
probes' Host, the same commands and queues as compose.yaml and the Celery settings, and an environment that
production's start-up checks accept.
"""

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from django.test import Client, override_settings
from django_tenants.utils import get_public_schema_name

from config.settings import celery as celery_settings
from tenants.models import DealerGroup, Domain
from tests.kustomize import Object, build, documents, kustomization_read, pod_templates
from tests.test_settings import PRODUCTION_ENV, run_manage

BASE_DIR = Path(__file__).resolve().parent.parent
K8S = BASE_DIR / "platform" / "k8s"
COMPOSE = BASE_DIR / "platform" / "compose.yaml"
# The oldest Kubernetes the manifests are meant for, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30", "1.37")
BUILDS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
APP_PROCESSES = ("web", "worker", "worker-bulk", "beat")
AUTOSCALED = ("web", "worker", "worker-bulk")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
TMP = "/tmp"  # noqa: S108 - each pod's own emptyDir


@cache
def rendered(name: str) -> tuple[Object, ...]:
    return tuple(build(BUILDS[name]))


def objects_of(name: str, kind: str) -> dict[str, Object]:
    return {obj["metadata"]["name"]: obj for obj in rendered(name) if obj["kind"] == kind}


def containers(name: str) -> dict[str, dict[str, Any]]:
    """Every container of every Deployment and Job, by its name."""
    return {container["name"]: container for template in pod_templates(list(rendered(name)))
            for container in template["spec"]["containers"]}


def config_map(name: str) -> dict[str, str]:
    return objects_of(name, "ConfigMap")["dealercrm"]["data"]


def secret_keys(container: dict[str, Any]) -> dict[str, bool]:
    """{variable: optional} for the variables a container takes from a Secret."""
    return {entry["name"]: entry["valueFrom"]["secretKeyRef"].get("optional", False)
            for entry in container.get("env", []) if "secretKeyRef" in entry.get("valueFrom", {})}


def compose_services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


# --- the manifests are what Kubernetes accepts ---------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", BUILDS)
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(name, version):
    failures = []
    for obj in rendered(name):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{where}: {'.'.join(map(str, error.path))}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:  # an unknown kind or apiVersion is an error too
            failures.append(f"{where}: {error.message}")
    assert not failures, f"{name} against Kubernetes {version}:\n" + "\n".join(failures)


def test_each_kustomization_lists_every_manifest_beside_it_and_only_files_that_exist():
    folders = {path.parent for path in K8S.rglob("*.yaml")}
    unread = folders - {path.parent for path in K8S.rglob("kustomization.yaml")}
    assert not unread, f"YAML that no kustomization reads in {sorted(map(str, unread))}"
    for folder in folders:
        kustomization = kustomization_read(folder)
        listed = {entry for entry in kustomization.get("resources", []) if not (folder / entry).is_dir()}
        listed |= {patch["path"] for patch in kustomization.get("patches", [])}
        present = {path.name for path in folder.glob("*.yaml")} - {"kustomization.yaml"}
        assert listed == present, (f"{folder.relative_to(BASE_DIR)}: not listed {sorted(present - listed)}, "
                                   f"missing {sorted(listed - present)}")
        for entry in kustomization.get("resources", []):
            assert (folder / entry).exists(), f"{folder.relative_to(BASE_DIR)}: {entry} does not exist"


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed: tests/kustomize.py renders alone")
@pytest.mark.parametrize("name", BUILDS)
def test_the_rendering_here_is_what_kubectl_kustomize_renders(name):
    result = subprocess.run(["kubectl", "kustomize", str(BUILDS[name])], capture_output=True, text=True, timeout=60,
                            check=True)

    def keyed(objects: Any) -> dict[tuple[str, str], Object]:
        return {(obj["kind"], obj["metadata"]["name"]): obj for obj in objects}

    assert keyed(yaml.safe_load_all(result.stdout)) == keyed(rendered(name))


def test_no_secret_value_is_committed():
    for path in K8S.rglob("*.yaml"):
        for document in documents(path):
            assert document.get("kind") != "Secret", f"{path.relative_to(BASE_DIR)} holds a Secret"
    for name in BUILDS:
        secret_names = set().union(*(secret_keys(container) for container in containers(name).values()))
        assert not secret_names & set(config_map(name)), "a secret's name in the ConfigMap"


# --- what a deploy relies on -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDS)
def test_there_is_exactly_one_beat(name):
    """Two beats would enqueue every periodic job twice."""
    beat = objects_of(name, "Deployment")["beat"]
    scaled = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in objects_of(name, "HorizontalPodAutoscaler").values()}

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}, "a rolling update runs the new beat beside the old one"
    assert "beat" not in scaled


@pytest.mark.parametrize("name", BUILDS)
def test_web_and_both_workers_are_scaled_by_an_autoscaler_and_web_by_at_least_two(name):
    deployments = objects_of(name, "Deployment")
    autoscalers = {hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"]
                   for hpa in objects_of(name, "HorizontalPodAutoscaler").values()}

    assert set(autoscalers) == set(AUTOSCALED)
    for process in AUTOSCALED:
        spec = autoscalers[process]
        # A replica count beside an autoscaler is reset by every apply, scaling a busy web down to it.
        assert "replicas" not in deployments[process]["spec"], process
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"], process
        container = deployments[process]["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["requests"]["cpu"], f"{process}: CPU utilisation needs a CPU request"
    assert autoscalers["web"]["minReplicas"] >= 2, "one web pod is an outage at every node drain"
    budget = objects_of(name, "PodDisruptionBudget")["web"]["spec"]
    assert budget["selector"]["matchLabels"].items() <= deployments["web"]["spec"]["template"]["metadata"][
        "labels"].items()
    assert budget["maxUnavailable"] == 1


@pytest.mark.parametrize("name", BUILDS)
def test_the_migrate_job_runs_migrate_all_once_without_a_restart_loop(name):
    job = objects_of(name, "Job")["migrate"]["spec"]
    container = job["template"]["spec"]["containers"][0]

    assert container["args"] == ["python", "manage.py", "migrate_all"] == compose_services()["migrate"]["command"]
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] > 0


@pytest.mark.parametrize("name", BUILDS)
def test_every_process_runs_the_one_image_with_the_same_environment_as_the_image_user(name):
    everything = containers(name)
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    uid, gid = map(int, re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE).groups())

    assert set(everything) == {*APP_PROCESSES, "migrate"}
    assert len({container["image"] for container in everything.values()}) == 1
    assert len({json.dumps([c.get("envFrom"), c.get("env")], sort_keys=True) for c in everything.values()}) == 1
    for template in pod_templates(list(rendered(name))):
        pod = template["spec"]
        container = pod["containers"][0]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        # The one place besides the media volume anything is written (uploads, beat's schedule, gunicorn's socket).
        tmp = [mount["name"] for mount in container["volumeMounts"] if mount["mountPath"] == TMP]
        assert len(tmp) == 1 and tmp[0] in {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("name", BUILDS)
def test_web_probes_ask_health_with_the_public_sites_host_which_the_ingress_serves(name):
    web = containers(name)["web"]
    domain = config_map(name)["APP_DOMAIN"]
    ingress = objects_of(name, "Ingress")["web"]["spec"]

    for probe in PROBES:
        get = web[probe]["httpGet"]
        assert get["path"] == "/health/", probe
        assert get["httpHeaders"] == [{"name": "Host", "value": domain}], probe
        assert get["port"] in {port["name"] for port in web["ports"]}, probe
    assert [port["containerPort"] for port in web["ports"]] == [8000]  # gunicorn.conf.py's bind, the image's EXPOSE
    assert [rule["host"] for rule in ingress["rules"]] == [domain, f"*.{domain}"]
    assert ingress["tls"][0]["hosts"] == [domain, f"*.{domain}"]


def test_the_production_overlay_sets_its_domain_and_image_everywhere():
    base, production = containers("base")["web"], containers("production")["web"]

    assert config_map("production")["APP_DOMAIN"] != config_map("base")["APP_DOMAIN"]
    assert base["image"] != production["image"]
    assert {obj["metadata"].get("namespace") for obj in rendered("production")} == {"dealercrm"}
    assert not any("namespace" in obj["metadata"] for obj in rendered("base")), "the base names no namespace"


@pytest.mark.parametrize("name", BUILDS)
def test_the_processes_run_compose_yamls_commands_and_health_checks(name):
    """One production shape in two files: a change to a command in one and not the other fails here."""
    services = compose_services()
    everything = containers(name)
    deployments = objects_of(name, "Deployment")

    for process in APP_PROCESSES:
        assert everything[process]["args"] == services[process]["command"], process
    for process in ("worker", "worker-bulk"):
        compose_check = services[process]["healthcheck"]["test"]
        assert compose_check[0] == "CMD-SHELL"
        for probe in ("startupProbe", "livenessProbe"):
            # compose escapes $ as $$; Kubernetes runs the same line in a shell
            assert everything[process][probe]["exec"]["command"] == ["sh", "-c", compose_check[1].replace("$$", "$")]
        grace = deployments[process]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert f"{grace}s" == services[process]["stop_grace_period"], process
    assert "healthcheck" not in services["beat"] or services["beat"]["healthcheck"] == {"disable": True}


@pytest.mark.parametrize("name", BUILDS)
def test_the_workers_serve_every_queue_the_settings_route_to(name):
    everything = containers(name)
    served = {process: set(everything[process]["args"][everything[process]["args"].index("-Q") + 1].split(","))
              for process in ("worker", "worker-bulk")}

    assert served["worker"] | served["worker-bulk"] == set(celery_settings.WORKER_QUEUES)
    # Imports and campaigns never hold up a code someone waits for, nor Stripe's events.
    assert served["worker-bulk"] == {celery_settings.BULK_QUEUE}
    assert served["worker"] == {celery_settings.CELERY_TASK_DEFAULT_QUEUE, celery_settings.BILLING_QUEUE}


# --- the environment and the probes' Host, run for real ----------------------------------------------------


def test_the_environment_the_manifests_give_passes_productions_start_up_checks():
    """The ConfigMap plus the Secret's keys (placeholder values) is what every pod starts with: production's
    checks (config/checks.py, manage.py check --deploy) accept it, and ALLOWED_HOSTS takes the probes' Host."""
    web = containers("production")["web"]
    required = [key for key, optional in secret_keys(web).items() if not optional]
    missing = [key for key in required if key not in PRODUCTION_ENV]
    assert not missing, f"a placeholder for {missing} in tests/test_settings.py's PRODUCTION_ENV"
    env = {**config_map("production"), **{key: PRODUCTION_ENV[key] for key in required}}
    probe_host = web["readinessProbe"]["httpGet"]["httpHeaders"][0]["value"]
    code = ("from django.core.management import call_command; from django.conf import settings; "
            "from django.http.request import validate_host; "
            "call_command('check', deploy=True, fail_level='WARNING'); "
            f"print('probe host allowed:', validate_host({probe_host!r}, settings.ALLOWED_HOSTS))")

    result = run_manage("shell", "--command", code, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "probe host allowed: True" in result.stdout


@pytest.mark.django_db
def test_the_probes_host_gets_health_and_is_the_public_sites_own_host(cast):
    # given production's allowed hosts for the overlay's domain, and that domain as the public site's, as
    # migrate_all makes it on the first deploy
    domain = config_map("production")["APP_DOMAIN"]
    probe_host = containers("production")["web"]["readinessProbe"]["httpGet"]["httpHeaders"][0]["value"]
    public = DealerGroup.objects.get(schema_name=get_public_schema_name())
    Domain.objects.create(domain=domain, tenant=public, is_primary=False)

    with override_settings(APP_DOMAIN=domain, ALLOWED_HOSTS=[domain, f".{domain}"]):
        # when the kubelet asks /health/ with the probes' Host
        health = Client(HTTP_HOST=probe_host).get("/health/")
        # and anyone asks that host for a page: the tenant middleware resolves it, no 400 or 404
        landing = Client(HTTP_HOST=probe_host).get("/")
        # whereas a made-up subdomain (health.<domain>) is no dealer group: only /health/ would answer there
        made_up = Client(HTTP_HOST=f"health.{domain}").get("/")

    # then the probe is told the database, the cache and the broker answer
    assert health.status_code == 200
    assert json.loads(health.content) == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}
    assert landing.status_code == 200
    assert cast.a.name not in landing.text and cast.b.name not in landing.text  # the platform's page, no group's
    assert made_up.status_code == 404
