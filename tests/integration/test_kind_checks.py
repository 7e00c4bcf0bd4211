"""What can be checked of the kind tier without a container engine: the workflow
(actionlint), every shell script (shellcheck), the kind config (decoded strictly with kind's
own config types), the pins, and the Helm values against the chart they are passed to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import KIND, ROOT, actionlint, configcheck, go_module_dir, helm, read_env, system_tool

from conformance.targets.kind import GATEWAY_ADDRESS
from conformance.targets.kind_workers import worker_ports

pytestmark = pytest.mark.needs_go

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def shellcheck() -> str:
    return system_tool("shellcheck")


# --- the workflow --------------------------------------------------------------------


def test_there_is_a_workflow_to_lint():
    assert [p.name for p in WORKFLOWS] == ["conformance.yml", "release.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow):
    # actionlint runs shellcheck on every `run:` script too.
    done = subprocess.run([str(actionlint()), "-shellcheck", shellcheck(), str(workflow)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = (ROOT / ".github" / "workflows" / "conformance.yml").read_text()
    broken = broken.replace("needs.versions.outputs.agentgateway", "needs.version.outputs.agentgateway")
    path = tmp_path / "broken.yml"
    path.write_text(broken)
    done = subprocess.run([str(actionlint()), "-shellcheck", shellcheck(), str(path)], capture_output=True, text=True)
    assert done.returncode == 1 and "version" in done.stdout


def test_the_matrix_is_the_pinned_releases():
    """The kind job's matrix is read from the agentgateway pins, not written in the workflow."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "conformance.yml").read_text())
    pins = read_env(ROOT / "clusters" / "agentgateway" / "versions.env")["AGW_CHART_VERSIONS"].split()
    script = workflow["jobs"]["versions"]["steps"][1]["run"]
    done = subprocess.run(["bash", "-c", script.replace('>>"$GITHUB_OUTPUT"', "")], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    outputs = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert json.loads(outputs["agentgateway"]) == pins
    assert outputs["helm"] == read_env(KIND / "versions.env")["HELM_VERSION"]
    assert workflow["jobs"]["kind"]["steps"][3]["with"]["version"] == "${{ needs.versions.outputs.helm }}"
    assert workflow["jobs"]["kind"]["strategy"]["matrix"]["agentgateway"] == "${{ fromJSON(needs.versions.outputs.agentgateway) }}"


# --- shell scripts -------------------------------------------------------------------


def shell_scripts() -> list[Path]:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True)
    scripts = []
    for name in files.stdout.splitlines():
        path = ROOT / name
        if not path.is_file():
            continue
        if name.endswith(".sh"):
            scripts.append(path)
            continue
        with open(path, "rb") as fh:
            first = fh.readline(128)
        if first.startswith(b"#!") and any(s in first for s in (b"/sh", b"bash", b" sh")):
            scripts.append(path)
    return scripts


def test_every_shell_script_passes_shellcheck():
    scripts = shell_scripts()
    names = {str(p.relative_to(ROOT)) for p in scripts}
    assert {".ci/run", "clusters/kind/up.sh", "clusters/kind/down.sh", "clusters/kind/lib.sh", "clusters/envtest/build.sh"} <= names
    done = subprocess.run([shellcheck(), "-x", "-P", "SCRIPTDIR", *map(str, scripts)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_catches_a_broken_script(tmp_path):
    script = tmp_path / "broken.sh"
    script.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    done = subprocess.run([shellcheck(), str(script)], capture_output=True, text=True)
    assert done.returncode != 0 and "SC2086" in done.stdout


# --- the private container engine's runtime wrapper ----------------------------------

ALL_CAPS = [f"CAP_{n}" for n in (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE "
    "NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN "
    "SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE "
    "MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE").split()]


def bounding_set() -> set[str]:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("CapBnd:"))
    mask = int(line.split()[1], 16)
    return {cap for bit, cap in enumerate(ALL_CAPS) if mask >> bit & 1}


@pytest.fixture
def wrapper(tmp_path):
    """engine.sh's runc wrapper in front of a stand-in runc that records what it was given."""
    system_tool("jq")
    fake = tmp_path / "runc"
    fake.write_text('#!/usr/bin/env bash\nprintf \'%s\\n\' "$@" > "$(dirname "$0")/args"\n')
    fake.chmod(0o755)
    path = tmp_path / "runc-wrapper"
    done = subprocess.run([str(KIND / "engine.sh"), "runtime", str(path)], env={**os.environ, "AGW_ENGINE_RUNC": str(fake)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return path


def privileged_caps() -> dict[str, list[str]]:
    return {kind: list(ALL_CAPS) for kind in ("bounding", "effective", "permitted")}


def test_the_runtime_wrapper_keeps_exactly_the_capabilities_the_machine_grants(wrapper, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    config = {"ociVersion": "1.0.2", "process": {"args": ["/sbin/init"], "capabilities": privileged_caps()}}
    (bundle / "config.json").write_text(json.dumps(config))
    done = subprocess.run([str(wrapper), "--root", "/run/x", "create", "--bundle", str(bundle), "c1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    config = json.loads((bundle / "config.json").read_text())
    granted = [cap for cap in ALL_CAPS if cap in bounding_set()]
    assert config["process"]["capabilities"] == {kind: granted for kind in ("bounding", "effective", "permitted")}
    assert config["process"]["args"] == ["/sbin/init"]
    # runc itself gets the arguments unchanged.
    assert (tmp_path / "args").read_text().split() == ["--root", "/run/x", "create", "--bundle", str(bundle), "c1"]


def test_the_runtime_wrapper_filters_an_exec_process_file(wrapper, tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"args": ["sh"], "capabilities": privileged_caps()}))
    done = subprocess.run([str(wrapper), "exec", "--process", str(process), "c1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    caps = json.loads(process.read_text())["capabilities"]
    assert all(set(found) == set(ALL_CAPS) & bounding_set() for found in caps.values())


# --- the kind config -----------------------------------------------------------------


def port_mappings(config: Path) -> list[dict]:
    done = subprocess.run([str(configcheck()), str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_kind_config_decodes_strictly_and_maps_the_gateway_nodeport():
    mappings = port_mappings(KIND / "kind-config.yaml")
    base = list(yaml.safe_load_all((KIND / "base.yaml").read_text()))
    nodeport = next(d for d in base if d["kind"] == "Service" and d["spec"].get("type") == "NodePort")
    assert nodeport["spec"]["selector"] == {"gateway.networking.k8s.io/gateway-name": "agentgateway-proxy"}
    port = nodeport["spec"]["ports"][0]
    # The runner's address, the host side of the mapping, and the Service's NodePort agree;
    # then one mapping per pytest-xdist worker, as the kind target reads them (kind_workers.py).
    decoded = [(m["containerPort"], f"http://{m['listenAddress']}:{m['hostPort']}") for m in mappings]
    assert decoded[0] == (port["nodePort"], GATEWAY_ADDRESS)
    assert decoded[1:] == [(m.node_port, m.address) for m in worker_ports()] and len(decoded) == 9
    gateway = next(d for d in base if d["kind"] == "Gateway")
    assert port["targetPort"] == gateway["spec"]["listeners"][0]["port"]


@pytest.mark.parametrize("change, message", [
    (("extraPortMappings:", "extraPortMapping:"), "field extraPortMapping not found"),
    (("containerPort: 30080", "containerPort: 8080"), "outside the NodePort range"),
    (("role: control-plane", "role: worker"), "0 control-plane nodes"),
    (("apiVersion: kind.x-k8s.io/v1alpha4", "apiVersion: kind.x-k8s.io/v1alpha3"), "want Cluster kind.x-k8s.io/v1alpha4"),
])
def test_the_config_checker_refuses_a_broken_config(tmp_path, change, message):
    config = tmp_path / "kind-config.yaml"
    text = (KIND / "kind-config.yaml").read_text()
    assert change[0] in text
    config.write_text(text.replace(change[0], change[1]))
    done = subprocess.run([str(configcheck()), str(config)], capture_output=True, text=True)
    assert done.returncode == 1 and message in done.stderr and str(config) in done.stderr


# --- pins ----------------------------------------------------------------------------


def test_node_image_is_the_pinned_kinds_default():
    pins = read_env(KIND / "versions.env")
    go_mod = (KIND / "configcheck" / "go.mod").read_text()
    assert f"sigs.k8s.io/kind {pins['KIND_VERSION']}" in go_mod
    defaults = go_module_dir("sigs.k8s.io/kind", pins["KIND_VERSION"]) / "pkg" / "apis" / "config" / "defaults" / "image.go"
    assert f'"{pins["KIND_NODE_IMAGE"]}"' in defaults.read_text()


def test_kind_pins_do_not_repeat_the_shared_ones():
    mine = read_env(KIND / "versions.env")
    shared = read_env(ROOT / "clusters" / "envtest" / "versions.env") | read_env(ROOT / "clusters" / "agentgateway" / "versions.env")
    assert not set(mine) & set(shared)
    lib = (KIND / "lib.sh").read_text()
    assert "../envtest/versions.env" in lib and "../agentgateway/versions.env" in lib
    assert shared["AGW_UPSTREAM_TAG"] in shared["AGW_CHART_VERSIONS"].split()


def test_every_agentgateway_version_is_pinned_in_one_file():
    """No other pin file names an agentgateway version: the envtest CRDs, the proxy and
    controller builds, the kind charts and CI all read clusters/agentgateway/versions.env."""
    for other in (ROOT / "clusters" / "envtest" / "versions.env", KIND / "versions.env"):
        assert not [key for key in read_env(other) if "AGENTGATEWAY" in key or key.startswith("AGW_")], other
    envtest = (ROOT / "clusters" / "envtest" / "build.sh").read_text()
    assert "../agentgateway/versions.env" in envtest


def test_base_objects_are_the_suites_own():
    """The Gateway and HTTPRoute installed on kind are the ones every other cluster tier uses."""
    kind = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all((KIND / "base.yaml").read_text())}
    suite_base = (ROOT / "conformance" / "manifests" / "base.yaml").read_text()
    suite = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(suite_base)}
    for key in (("Gateway", "agentgateway-proxy"), ("HTTPRoute", "httpbin")):
        assert kind[key] == suite[key]
    image = kind[("Deployment", "httpbin")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":${GO_HTTPBIN_VERSION}")


# --- Helm values ---------------------------------------------------------------------


def _leaves(values: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            out |= _leaves(value, path)
        else:
            out[path] = value
    return out


def chart_dir(name: str) -> Path:
    tag = read_env(ROOT / "clusters" / "agentgateway" / "versions.env")["AGW_UPSTREAM_TAG"]
    return go_module_dir("github.com/agentgateway/agentgateway", tag) / "controller" / "install" / "helm" / name


def check_values(values: dict, chart: Path) -> list[str]:
    """Problems of `values` against the chart: its values.schema.json when it ships one,
    and always every key set being one the chart's values.yaml has, with the same type."""
    problems = []
    schema = chart / "values.schema.json"
    if schema.exists():
        import jsonschema

        problems += [e.message for e in jsonschema.Draft7Validator(json.loads(schema.read_text())).iter_errors(values)]
    defaults = _leaves(yaml.safe_load((chart / "values.yaml").read_text()) or {})
    for path, value in _leaves(values).items():
        if path not in defaults:
            problems.append(f"{path}: the chart has no such value")
        elif defaults[path] is not None and type(value) is not type(defaults[path]):
            problems.append(f"{path}: {type(value).__name__}, the chart's default is {type(defaults[path]).__name__}")
    return problems


def test_helm_values_fit_the_agentgateway_chart():
    chart = chart_dir("agentgateway")
    assert (chart / "Chart.yaml").exists()
    values = yaml.safe_load((KIND / "values-agentgateway.yaml").read_text())
    assert check_values(values, chart) == []


def render(chart: Path, values: Path) -> list[dict]:
    done = subprocess.run([str(helm()), "template", "agentgateway", str(chart), "--namespace", "agentgateway-system",
                           "--values", str(values)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_helm_values_render_into_the_control_plane():
    """The chart rendered with our values (helm template): each value lands where it should."""
    values = yaml.safe_load((KIND / "values-agentgateway.yaml").read_text())
    rendered = render(chart_dir("agentgateway"), KIND / "values-agentgateway.yaml")
    deployment = next(d for d in rendered if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == values["controller"]["replicaCount"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"] == values["resources"]["requests"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AGW_LOG_LEVEL"] == values["controller"]["logLevel"]


def test_helm_lints_both_charts():
    for name, extra in (("agentgateway", ["--values", str(KIND / "values-agentgateway.yaml")]), ("agentgateway-crds", [])):
        done = subprocess.run([str(helm()), "lint", "--strict", str(chart_dir(name)), *extra], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_values_check_catches_a_misspelt_value():
    values = yaml.safe_load((KIND / "values-agentgateway.yaml").read_text())
    values["controller"]["loglevel"] = "debug"
    values["controller"]["replicaCount"] = "1"
    problems = check_values(values, chart_dir("agentgateway"))
    assert "controller.loglevel: the chart has no such value" in problems
    assert "controller.replicaCount: str, the chart's default is int" in problems


# --- the scripts, as far as they run without a container engine ---------------------


def test_kind_is_built_from_its_module_at_the_pinned_version(tmp_path):
    """Without kind on the PATH, lib.sh builds the pinned version into the tools cache."""
    go_dir = str(Path(shutil.which("go") or "/usr/local/go/bin/go").parent)
    env = {**os.environ, "PATH": f"{go_dir}:/usr/bin:/bin", "GOTOOLCHAIN": "local"}
    done = subprocess.run(["bash", "-c", 'source clusters/kind/lib.sh && "$(kind_bin)" version'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"kind {read_env(KIND / 'versions.env')['KIND_VERSION']} ")


def test_up_names_the_tools_it_misses(tmp_path):
    for tool in ("bash", "dirname", "basename"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    done = subprocess.run([str(KIND / "up.sh"), str(tmp_path / "kubeconfig")], env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "up.sh: error: missing on PATH: kubectl helm curl" in done.stderr
    assert not (tmp_path / "kubeconfig").exists()


def _kind_copy(tmp_path: Path) -> Path:
    """clusters/kind (with the pin files it sources) copied, so its scripts can be replaced by stand-ins."""
    clusters = tmp_path / "clusters"
    shutil.copytree(KIND, clusters / "kind")
    for pins in ("envtest", "agentgateway"):
        (clusters / pins).mkdir()
        shutil.copy(ROOT / "clusters" / pins / "versions.env", clusters / pins / "versions.env")
    return clusters / "kind"


def _stand_in(path: Path, body: str) -> None:
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


def test_a_failing_build_ends_the_local_kind_run_with_its_own_message(tmp_path):
    kind = _kind_copy(tmp_path)
    _stand_in(kind / "engine.sh", "exit 0")  # an engine that needs nothing
    _stand_in(kind / "node" / "build.sh", 'echo "build.sh: error: debootstrap failed" >&2; exit 3')
    _stand_in(kind / "images.sh", 'echo "IMAGES_BUILT=1"; touch "$0.ran"')
    src = tmp_path / "agentgateway"
    (src / "controller" / "install" / "helm" / "agentgateway").mkdir(parents=True)
    done = subprocess.run([str(kind / "run-local.sh")], env={**os.environ, "AGW_AGENTGATEWAY_SRC": str(src), "DOCKER_HOST": "unix:///nonexistent"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "build.sh: error: debootstrap failed" in done.stderr
    assert "the node image build (node/build.sh) failed" in done.stderr, done.stderr
    assert "unbound variable" not in done.stderr and not (kind / "images.sh.ran").exists()


# A command no machine has, standing for debootstrap: whether this machine has debootstrap
# (in /usr/sbin, say) must not decide what the test sees.
_TOOL = "agw-test-debootstrap"


def _debian_tools(tmp_path: Path, with_apt: bool) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "basename", "cat", "id"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    if with_apt:  # records what it was asked to install, and installs a stand-in debootstrap
        _stand_in(bin_dir / "apt-get", f'echo "$*" >> {tmp_path}/apt.log; '
                  f'[[ "$1" == install ]] && printf "#!/bin/sh\\n" > {bin_dir}/{_TOOL} && chmod +x {bin_dir}/{_TOOL}; exit 0')
    return {"PATH": str(bin_dir), "HOME": str(tmp_path)}


@pytest.mark.skipif(os.getuid() != 0, reason="the stand-in apt-get is called without sudo only as root")
def test_a_missing_debootstrap_is_installed_from_debian_as_the_engine_is(tmp_path):
    env = _debian_tools(tmp_path, with_apt=True)
    done = subprocess.run(["bash", "-c", f"source {KIND / 'lib.sh'} && need_debian_packages {_TOOL}:debootstrap && command -v {_TOOL}"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "install -y -qq --no-install-recommends debootstrap" in (tmp_path / "apt.log").read_text()
    assert "installing Debian's debootstrap" in done.stderr


def test_without_apt_get_a_missing_debootstrap_stops_with_the_install_command(tmp_path):
    env = _debian_tools(tmp_path, with_apt=False)
    done = subprocess.run(["bash", "-c", f"source {KIND / 'lib.sh'} && need_debian_packages {_TOOL}:debootstrap; echo reached"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "reached" not in done.stdout
    assert "apt-get install debootstrap" in done.stderr
