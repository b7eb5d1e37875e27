"""deploy/ansible: the playbook parses, uses only ansible.builtin modules, defines every
variable it uses in group_vars/all.yml, writes a config the frame accepts, and its
release step drives deploy/release.sh (run here through a stand-in ssh)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from device.services.config import load_config

yaml = pytest.importorskip("yaml", reason="PyYAML comes with ansible-core (pip install it)")
jinja2 = pytest.importorskip("jinja2", reason="Jinja2 comes with ansible-core")
from jinja2 import meta  # noqa: E402  (only once jinja2 is known to be there)

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "deploy" / "ansible"
PLAYBOOK = ANSIBLE_DIR / "site.yml"
INVENTORY = ANSIBLE_DIR / "inventory.example.ini"
GROUP_VARS = ANSIBLE_DIR / "group_vars" / "all.yml"
CONFIG_TEMPLATE = ANSIBLE_DIR / "templates" / "config.toml.j2"

# Variables Ansible itself provides, so group_vars need not define them.
MAGIC_VARIABLES = frozenset(
    {"playbook_dir", "inventory_hostname", "hostvars", "ansible_check_mode", "item"}
)
# Task keys holding a bare Jinja expression rather than a template string.
EXPRESSION_KEYS = frozenset({"when", "changed_when", "failed_when", "until"})
# Ansible's own filters and tests the playbook uses; Jinja2 must know their names to
# parse the templates (it never runs them here).
ANSIBLE_FILTERS = ("to_json", "bool")
ANSIBLE_TESTS = ("changed",)
# Task keywords, when ansible-core cannot be imported to list them itself.
FALLBACK_TASK_KEYWORDS = frozenset(
    {
        "name", "when", "loop", "loop_control", "register", "notify", "listen", "become",
        "become_user", "delegate_to", "run_once", "changed_when", "failed_when", "until",
        "retries", "delay", "environment", "tags", "check_mode", "diff", "vars", "args",
        "ignore_errors", "no_log", "throttle", "timeout", "block", "rescue", "always",
    }
)


def ansible_playbook() -> str | None:
    """ansible-playbook beside this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("ansible-playbook")
    return str(beside) if beside.is_file() else shutil.which("ansible-playbook")


needs_ansible = pytest.mark.skipif(
    ansible_playbook() is None,
    reason="ansible-playbook is not installed (pip install ansible-core)",
)


def task_keywords() -> frozenset[str]:
    try:
        from ansible.playbook.block import Block
        from ansible.playbook.handler import Handler
    except ImportError:
        return FALLBACK_TASK_KEYWORDS
    return frozenset(Handler.fattributes) | frozenset(Block.fattributes)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def all_tasks(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every task, handler and the tasks inside blocks, depth first."""
    for task in tasks:
        if "block" in task:
            for key in ("block", "rescue", "always"):
                yield from all_tasks(task.get(key, []))
        else:
            yield task


@pytest.fixture(scope="module")
def plays() -> list[dict[str, Any]]:
    loaded = load_yaml(PLAYBOOK)
    assert isinstance(loaded, list) and loaded
    return loaded


@pytest.fixture(scope="module")
def group_vars() -> dict[str, Any]:
    loaded = load_yaml(GROUP_VARS)
    assert isinstance(loaded, dict)
    return loaded


def jinja_env() -> jinja2.Environment:
    env = jinja2.Environment()
    for name in ANSIBLE_FILTERS:
        env.filters[name] = lambda value, *args: value
    for name in ANSIBLE_TESTS:
        env.tests[name] = lambda value, *args: True
    return env


def used_variables(node: Any, env: jinja2.Environment, key: str = "") -> set[str]:
    """Variables the Jinja templates and expressions anywhere in `node` read."""
    if isinstance(node, dict):
        return set().union(*(used_variables(v, env, str(k)) for k, v in node.items()))
    if isinstance(node, list):
        return set().union(*(used_variables(item, env, key) for item in node))
    if not isinstance(node, str):
        return set()
    if key in EXPRESSION_KEYS:
        node = "{{ " + node + " }}"
    if "{{" not in node and "{%" not in node:
        return set()
    return set(meta.find_undeclared_variables(env.parse(node)))


def test_every_task_uses_one_fully_qualified_builtin_module(plays: list[dict[str, Any]]) -> None:
    keywords = task_keywords()
    seen = 0
    for play in plays:
        for task in all_tasks(play.get("tasks", []) + play.get("handlers", [])):
            modules = [key for key in task if key not in keywords]
            assert len(modules) == 1, f"task {task.get('name')!r}: modules {modules}"
            assert modules[0].startswith("ansible.builtin."), (
                f"task {task.get('name')!r} uses {modules[0]!r}; only ansible.builtin.* "
                "modules, fully qualified (ansible-core has no collections)"
            )
            seen += 1
    assert seen >= 10


def test_every_variable_used_is_defined_in_group_vars(
    plays: list[dict[str, Any]], group_vars: dict[str, Any]
) -> None:
    env = jinja_env()
    registered = {
        task["register"]
        for play in plays
        for task in all_tasks(play.get("tasks", []) + play.get("handlers", []))
        if "register" in task
    }
    used = used_variables(plays, env) | used_variables(group_vars, env)
    used |= set(meta.find_undeclared_variables(env.parse(CONFIG_TEMPLATE.read_text())))
    undefined = used - set(group_vars) - registered - MAGIC_VARIABLES
    assert not undefined, f"used but not defined in {GROUP_VARS.name}: {sorted(undefined)}"
    unused = set(group_vars) - used
    assert not unused, f"defined in {GROUP_VARS.name} but never used: {sorted(unused)}"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, ("/var/lib/mona-frame/pack", "picamera2", 0)),
        (
            # A video file whose name needs escaping in TOML; rotation as -e passes it.
            {"mona_frame_camera_source": '/srv/clips/"hall" \\ left.mp4',
             "mona_frame_display_rotation": "90", "mona_frame_pack_dir": "/srv/packs/mona"},
            ("/srv/packs/mona", '/srv/clips/"hall" \\ left.mp4', 90),
        ),
    ],
    ids=["defaults", "overridden"],
)
def test_config_template_renders_a_config_the_frame_accepts(
    group_vars: dict[str, Any], tmp_path: Path,
    overrides: dict[str, Any], expected: tuple[str, str, int],
) -> None:
    env = jinja_env()
    env.filters["to_json"] = json.dumps
    text = env.from_string(CONFIG_TEMPLATE.read_text()).render({**group_vars, **overrides})
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")

    config = load_config(path)

    assert (str(config.pack.path), config.camera.source, config.display.rotation) == expected


@needs_ansible
def test_playbook_syntax_check() -> None:
    result = subprocess.run(
        [str(ansible_playbook()), "--syntax-check", "-i", str(INVENTORY), str(PLAYBOOK)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def outside_env(**extra: str) -> dict[str, str]:
    """This environment without GIT_* (a git hook's GIT_DIR would point every git command
    at the project's own repository) and without MONA_FRAME_* settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "MONA_FRAME_"))}
    return {**env, **extra}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, env=outside_env(), check=True, capture_output=True,
    )


@needs_ansible
@pytest.mark.skipif(shutil.which("rsync") is None or shutil.which("git") is None,
                    reason="the release step needs rsync and git (apt-get install rsync git)")
def test_release_step_deploys_once_then_reports_no_change(tmp_path: Path) -> None:
    # A checkout holding deploy/release.sh, and a stand-in ssh that runs commands here.
    src = tmp_path / "src"
    (src / "deploy").mkdir(parents=True)
    (src / "models").mkdir()
    shutil.copy(REPO / "deploy" / "release.sh", src / "deploy" / "release.sh")
    (src / "models" / "fetch_models.py").write_text("print('no models in this test')\n")
    git(src, "init", "-q")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "first")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(textwrap.dedent(
        """\
        #!/bin/sh
        echo "$*" >> "$0.log"
        while [ "${1#-}" != "$1" ]; do
            case $1 in -l|-p|-i|-o) shift 2 ;; *) shift ;; esac
        done
        shift
        exec sh -c "$*"
        """
    ))
    ssh.chmod(0o755)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[mona_frames]\n"
        f"frame ansible_connection=local ansible_user=root ansible_host=192.0.2.7 "
        f"ansible_port=2222 ansible_python_interpreter={sys.executable}\n"
    )
    root = tmp_path / "target"
    env = outside_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        MONA_FRAME_REMOTE_ROOT=str(root),
        MONA_FRAME_SKIP_INSTALL="1",
        MONA_FRAME_NO_RESTART="1",
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
    )
    command = [str(ansible_playbook()), "-i", str(inventory), str(PLAYBOOK), "--tags", "release",
               "-e", f"mona_frame_repo_dir={src}"]

    def play() -> str:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert "changed=1" in play()
    [release] = sorted((root / "releases").iterdir())
    assert os.readlink(root / "current") == f"releases/{release.name}"
    # Every connection (release.sh's and its rsync's) went to the inventory's host and port.
    calls = Path(f"{ssh}.log").read_text().splitlines()
    assert calls and all(c.startswith("-p 2222 ") and "192.0.2.7 " in c for c in calls), calls

    assert "changed=0" in play()
    assert sorted((root / "releases").iterdir()) == [release]
