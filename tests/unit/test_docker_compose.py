"""
docker/: the compose file parses, its services agree with the Dockerfile, and the env it needs is documented.

No Docker engine runs here: these tests read the files and check every command against Airflow's own
command-line parser, the connections against the hooks' host rule, and the pools against the demo's.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ImportError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

from airflow_provider_stripe_sync.hooks.base import api_base_url
from airflow_provider_stripe_sync.sandbox.cli import parse_args as sandbox_args
from scripts.local_airflow import POOLS, REPO, sandbox_connections

DOCKER = REPO / "docker"
COMPOSE = yaml.safe_load((DOCKER / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (DOCKER / "Dockerfile").read_text()
ENV_EXAMPLE = (DOCKER / ".env.example").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
IMAGE = "${STRIPE_SYNC_IMAGE:-airflow-provider-stripe-sync:local}"


def load_connections_module():
    spec = importlib.util.spec_from_file_location("docker_connections", DOCKER / "connections.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def airflow_services() -> dict[str, dict]:
    return {name: svc for name, svc in SERVICES.items() if svc.get("image") == IMAGE}


def airflow_commands() -> dict[str, list[str]]:
    """Every airflow command line the deployment runs: the services' and the init script's."""
    commands = {
        name: list(svc["command"]) for name, svc in airflow_services().items() if "entrypoint" not in svc
    }
    for number, line in enumerate((DOCKER / "init.sh").read_text().splitlines(), 1):
        if line.startswith("airflow "):
            commands[f"init.sh:{number}"] = shlex.split(line)[1:]
    return commands


def env_example_names() -> set[str]:
    return {line.split("=", 1)[0] for line in ENV_EXAMPLE.splitlines() if re.match(r"^[A-Z_0-9]+=", line)}


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, re.M))


def test_every_airflow_service_runs_the_image_built_from_the_dockerfile():
    common = COMPOSE["x-airflow-common"]
    assert common["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (DOCKER / ".." / common["build"]["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert set(airflow_services()) == {
        "sandbox",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker-1",
        "airflow-worker-2",
    }
    assert {name: svc["image"] for name, svc in SERVICES.items() if name not in airflow_services()} == {
        "postgres": "postgres:16",
        "redis": "redis:7.2-bookworm",
        "object-store": "motoserver/moto:5.1.0",
    }


def test_the_components_of_a_distributed_airflow_each_run_once_and_two_celery_workers():
    commands = sorted(
        " ".join(cmd[:2]) for name, cmd in airflow_commands().items() if not name.startswith("init")
    )
    assert commands == [
        "api-server --port",
        "celery worker",
        "celery worker",
        "dag-processor",
        "scheduler",
        "triggerer",
    ]


def test_every_command_is_accepted_by_airflows_own_command_line_parser(tmp_path):
    commands = airflow_commands()
    # The celery commands come from the Celery provider, which the official image ships; the test
    # environment has it only with the ``distributed`` extra, so without it they are compared as text.
    has_celery = importlib.util.find_spec("airflow.providers.celery") is not None
    checked = {k: v for k, v in commands.items() if has_celery or v[0] != "celery"}
    code = """
import json, sys
from airflow.cli.cli_parser import get_parser
parser = get_parser()
bad = {}
for name, args in json.loads(sys.argv[1]).items():
    try:
        parsed = parser.parse_args(args)
        if not callable(getattr(parsed, "func", None)):
            bad[name] = "no command"
    except SystemExit:
        bad[name] = "refused"
print("RESULT" + json.dumps(bad))
"""
    env = {
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if has_celery else "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PATH": str(Path(sys.executable).parent),
    }
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(checked)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    bad = json.loads(result.stdout.rsplit("RESULT", 1)[1])
    assert bad == {}
    assert sorted(checked) == sorted(commands) or not has_celery
    workers = [cmd for cmd in commands.values() if cmd[0] == "celery"]
    assert workers == [["celery", "worker", "--concurrency", "4"]] * 2
    assert [cmd for name, cmd in commands.items() if name.startswith("init")] == [
        ["db", "migrate"],
        ["pools", "import", "/opt/stripe-sync/docker/pools.json"],
        ["connections", "import", "--overwrite", "/tmp/stripe-sync-connections.json"],
    ]


def test_the_executor_broker_and_databases_point_at_the_compose_services():
    env = COMPOSE["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    postgres = SERVICES["postgres"]["environment"]
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        assert re.search(r":\$\{POSTGRES_PASSWORD(:\?[^}]*)?\}@", env[key]), key
        url = urlsplit(re.sub(r"\$\{[^}]*\}", "interpolated", env[key]))
        assert (url.hostname, url.port, url.username, url.path) == (
            "postgres",
            5432,
            postgres["POSTGRES_USER"],
            "/" + postgres["POSTGRES_DB"],
        ), key
    broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
    api = SERVICES["airflow-apiserver"]
    port = api["command"][api["command"].index("--port") + 1]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://airflow-apiserver:{port}/execution/"
    assert api["ports"] == [f"{port}:{port}"]
    # Every Airflow component waits for the database, the broker and the init service.
    for name, svc in airflow_services().items():
        if name not in ("sandbox", "airflow-init"):
            assert set(svc["depends_on"]) == {"postgres", "redis", "airflow-init"}, name
    assert SERVICES["airflow-init"]["depends_on"]["object-store"] == {"condition": "service_healthy"}


def test_the_two_workers_share_no_filesystem_and_have_their_own_hostnames():
    workers = {name: SERVICES[name] for name in ("airflow-worker-1", "airflow-worker-2")}
    assert [w["hostname"] for w in workers.values()] == ["airflow-worker-1", "airflow-worker-2"]
    sources = {name: {v.split(":")[0] for v in w.get("volumes", [])} for name, w in workers.items()}
    assert sources == {"airflow-worker-1": {"worker-1-work"}, "airflow-worker-2": {"worker-2-work"}}
    # No other service mounts anything either: records can only travel through the object store.
    others = {name: svc.get("volumes") for name, svc in SERVICES.items() if svc.get("volumes")}
    assert others == {
        "postgres": ["postgres-db:/var/lib/postgresql/data"],
        "airflow-worker-1": ["worker-1-work:/opt/airflow/work"],
        "airflow-worker-2": ["worker-2-work:/opt/airflow/work"],
    }
    output = COMPOSE["x-airflow-common"]["environment"]["AIRFLOW__STRIPE_SYNC__OUTPUT_URI"]
    assert output == "${STRIPE_SYNC_OUTPUT_URI:-s3://aws_default@stripe-sync/sync}"


def test_the_dockerfile_extends_the_supported_airflow_and_installs_this_package():
    args = dockerfile_args()
    assert re.search(
        r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python\$\{PYTHON_VERSION\}$", DOCKERFILE, re.M
    )
    # The Airflow the tests run is the one the image is built on, and pyproject accepts it.
    assert args["AIRFLOW_VERSION"] == version("apache-airflow")
    airflow_req = next(
        Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("apache-airflow")
    )
    assert airflow_req.specifier.contains(args["AIRFLOW_VERSION"])
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(args["PYTHON_VERSION"] + ".0")
    # The package installed is this repository's pyproject, copied with the code it names.
    assert PYPROJECT["project"]["name"] == "airflow-provider-stripe-sync"
    assert "COPY --chown=airflow:0 pyproject.toml README.md /opt/stripe-sync/" in DOCKERFILE
    packages = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in packages:
        assert f"COPY --chown=airflow:0 {package} /opt/stripe-sync/{package}" in DOCKERFILE
    assert '"/opt/stripe-sync"' in DOCKERFILE
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in DOCKERFILE
    # Every file the services run from the image is copied into it, and exists in the repository.
    copied = re.search(
        r"^COPY --chown=airflow:0 (docker/\S+(?: docker/\S+)*) /opt/stripe-sync/docker/$", DOCKERFILE, re.M
    )
    files = copied.group(1).split()
    assert all((REPO / f).is_file() for f in files)
    assert f"/opt/stripe-sync/{SERVICES['airflow-init']['command'][0].split('/opt/stripe-sync/')[1]}" == (
        "/opt/stripe-sync/docker/init.sh"
    )
    assert "docker/init.sh" in files
    for path in re.findall(r"/opt/stripe-sync/(docker/[\w.]+)", (DOCKER / "init.sh").read_text()):
        assert path in files, path
    assert "COPY --chown=airflow:0 dags /opt/airflow/dags" in DOCKERFILE


def test_the_sandbox_service_listens_on_every_interface_of_its_container():
    sandbox = SERVICES["sandbox"]
    assert sandbox["entrypoint"] == ["stripe-sync-sandbox"]
    assert "stripe-sync-sandbox" in PYPROJECT["project"]["scripts"]
    args = sandbox_args(sandbox["command"])
    assert (args.host, args.port, args.seed) == ("0.0.0.0", 12111, "demo")
    assert sandbox["ports"] == ["12111:12111"]


def test_pools_created_at_start_up_are_the_example_dags_pools():
    pools = json.loads((DOCKER / "pools.json").read_text())
    assert {name: pool["slots"] for name, pool in pools.items()} == POOLS


def test_sandbox_connections_are_the_demos_with_the_plain_http_opt_in():
    module = load_connections_module()
    url = "http://sandbox:12111"
    env = {
        "STRIPE_SYNC_SANDBOX_URL": url,
        "AWS_ACCESS_KEY_ID": "local-trial",
        "AWS_SECRET_ACCESS_KEY": "local-trial-secret",
        "S3_ENDPOINT_URL": "http://object-store:5000",
    }
    conns = module.connections(env)
    expected = sandbox_connections(url)
    for fields in expected.values():
        fields["extra"] = {**fields.get("extra", {}), "allow_insecure_host": True}
    expected["aws_default"] = {
        "conn_type": "aws",
        "login": "local-trial",
        "password": "local-trial-secret",
        "extra": {"region_name": "us-east-1", "endpoint_url": "http://object-store:5000"},
    }
    assert conns == expected
    # The sandbox service is plain http off loopback: accepted with the opt-in, refused without it.
    for conn_id, fields in conns.items():
        if conn_id == "aws_default":
            continue
        assert api_base_url(fields["host"], default="https://x", allow_insecure=True, conn_id=conn_id) == url
        with pytest.raises(ValueError, match="allow_insecure_host"):
            api_base_url(fields["host"], default="https://x", allow_insecure=False, conn_id=conn_id)


def test_real_account_connections_are_created_only_for_the_secrets_that_are_set():
    module = load_connections_module()
    env = {
        "STRIPE_API_KEY": "rk_live_abc",
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-xyz",
        "XERO_CLIENT_ID": "client",
        "XERO_CLIENT_SECRET": "secret",
        "XERO_REFRESH_TOKEN": "first-refresh",
        "MAILCHIMP_API_KEY": "",
        "STRIPE_CONNECT_CLIENT_ID": "ca_only_half",
    }
    assert module.connections(env) == {
        "stripe_default": {"conn_type": "stripe", "password": "rk_live_abc"},
        "hubspot_default": {"conn_type": "hubspot", "password": "pat-na1-xyz"},
        "xero_default": {
            "conn_type": "xero",
            "login": "client",
            "password": "secret",
            "extra": {"refresh_token": "first-refresh"},
        },
    }
    assert module.bucket_of("s3://aws_default@stripe-sync/sync") == "stripe-sync"
    assert module.bucket_of("/opt/airflow/stripe_sync") is None


def test_every_variable_the_deployment_reads_is_in_env_example_and_documented():
    documented = env_example_names()
    compose_text = (DOCKER / "docker-compose.yaml").read_text()
    compose_vars = set(re.findall(r"\$\{([A-Z_0-9]+)", compose_text))
    connection_vars = set(
        re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', (DOCKER / "connections.py").read_text())
    )
    # AIRFLOW__STRIPE_SYNC__OUTPUT_URI is set by the compose file itself, from STRIPE_SYNC_OUTPUT_URI.
    connection_vars.discard("AIRFLOW__STRIPE_SYNC__OUTPUT_URI")
    assert compose_vars - documented == set()
    assert connection_vars - documented == set()
    assert documented - compose_vars - connection_vars == set(), "documented but never read"
    docs = (REPO / "docs" / "docker.md").read_text()
    assert sorted(name for name in documented if f"`{name}`" not in docs) == []


def test_the_env_file_with_the_secrets_is_never_committed():
    result = subprocess.run(
        ["git", "check-ignore", "docker/.env"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "docker/.env"
    assert "docker/.env" in (REPO / ".dockerignore").read_text().split()
