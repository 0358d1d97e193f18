"""``cronwell serve`` and the API inside ``cronwell run``: real processes, real HTTP."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from cronwell.app import Cronwell
from cronwell.cli.errors import InputError
from cronwell.cli.serve import register_tasks
from tests.e2e.processes import CRONWELL, Process, environment, eventually

GIVEN = "cwt_" + "given-admin-token-0123456789abcdef"
ADDRESS = re.compile(r"^API on (http://\S+)/api/docs$", re.MULTILINE)
TOKEN = re.compile(r"^admin token \(shown once\): (cwt_\S+)$", re.MULTILINE)


def test_run_prints_an_admin_token_once_and_the_api_accepts_it(
    tmp_path: Path, database_url: str
) -> None:
    first = _up(tmp_path, "first", "run", "--no-examples", "--database", database_url)
    with first:
        api = _address(first)
        (token,) = TOKEN.findall(first.output())
        whoami = httpx.get(f"{api}/api/v1/whoami", headers=_bearer(token))
        assert (whoami.status_code, whoami.json()["user"]) == (200, "admin")
        assert whoami.json()["role"] == "admin"
        first.terminate()
    second = _up(tmp_path, "second", "run", "--no-examples", "--database", database_url)
    with second:
        api = _address(second)
        assert "cwt_" not in second.output()
        assert httpx.get(f"{api}/api/v1/whoami", headers=_bearer(token)).status_code == 200
        second.terminate()


def test_without_a_token_the_api_of_run_answers_401(tmp_path: Path) -> None:
    with _up(tmp_path, "run", "run", "--no-examples") as running:
        answer = httpx.get(f"{_address(running)}/api/v1/whoami")
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"
        running.terminate()


def test_the_admin_token_from_the_environment_is_accepted_and_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRONWELL_ADMIN_TOKEN", GIVEN)
    with _up(tmp_path, "run", "run", "--no-examples") as running:
        whoami = httpx.get(f"{_address(running)}/api/v1/whoami", headers=_bearer(GIVEN))
        assert (whoami.status_code, whoami.json()["role"]) == (200, "admin")
        assert "cwt_" not in running.output()
        running.terminate()


def test_a_weak_admin_token_from_the_environment_exits_2_in_one_line(tmp_path: Path) -> None:
    done = _cronwell(tmp_path, "run", "--no-examples", env={"CRONWELL_ADMIN_TOKEN": "cwt_short"})
    assert done.returncode == 2
    assert done.stderr == (
        "cronwell: CRONWELL_ADMIN_TOKEN: must have at least 32 characters after cwt_\n"
    )
    assert "token (shown once)" not in done.stdout


@pytest.mark.parametrize("command", ["run", "serve"])
def test_no_auth_on_an_address_but_loopback_is_refused(tmp_path: Path, command: str) -> None:
    done = _cronwell(tmp_path, command, "--host", "0.0.0.0", "--no-auth")
    assert done.returncode == 2
    assert done.stderr == (
        "cronwell: --host: serving 0.0.0.0 without auth is refused: "
        "bind 127.0.0.1 or turn auth on\n"
    )


def test_a_taken_port_exits_2_in_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        done = _cronwell(tmp_path, "serve", "--port", port)
    assert done.returncode == 2
    assert done.stderr == f"cronwell: --port: {port} on 127.0.0.1 is taken; pick another\n"


def test_serve_serves_the_api_alone_until_sigterm(tmp_path: Path, database_url: str) -> None:
    with _up(tmp_path, "serve", "serve", "--database", database_url) as serving:
        api = _address(serving)
        (token,) = TOKEN.findall(serving.output())
        whoami = httpx.get(f"{api}/api/v1/whoami", headers=_bearer(token))
        assert whoami.status_code == 200
        assert "scheduler" not in serving.output()
        serving.terminate()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api}/api/v1/health")


def test_serve_without_auth_on_loopback_acts_as_the_local_admin(tmp_path: Path) -> None:
    with _up(tmp_path, "serve", "serve", "--no-auth") as serving:
        whoami = httpx.get(f"{_address(serving)}/api/v1/whoami")
        assert whoami.json() == {"user": "local", "role": "admin", "token_id": 0}
        assert "cwt_" not in serving.output()
        serving.terminate()


def test_ctrl_c_stops_run_and_its_api(tmp_path: Path) -> None:
    with _up(tmp_path, "run", "run", "--no-examples") as running:
        api = _address(running)
        running.popen.send_signal(signal.SIGINT)
        assert running.popen.wait(30) == 0
        assert running.output().rstrip().endswith("stopped.")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api}/api/v1/health")


def test_tasks_registers_the_tasks_of_each_app_a_module_defines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ops_tasks.py").write_text(
        "from cronwell.app import Cronwell\n"
        f"app = Cronwell('sqlite:///{tmp_path}/ops.db', migrate=False)\n"
        "@app.task\n"
        "def report() -> None: ...\n"
        "@app.task(name='nightly-sync')\n"
        "def sync() -> None: ...\n"
    )
    (tmp_path / "no_apps.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    served = Cronwell(f"sqlite:///{tmp_path}/served.db")
    register_tasks(served, "ops_tasks")
    assert [task.name for task in served.registry.tasks()] == ["nightly-sync", "report"]
    assert served.registry.knows("ops_tasks:report")
    with pytest.raises(InputError, match="--tasks: no_apps defines no Cronwell app"):
        register_tasks(served, "no_apps")
    served.database.dispose()


def test_tasks_naming_a_module_that_does_not_import_exits_2(tmp_path: Path) -> None:
    done = _cronwell(tmp_path, "serve", "--tasks", "no_such_module")
    assert done.returncode == 2
    assert done.stderr == (
        "cronwell: --tasks: cannot import no_such_module: "
        "ModuleNotFoundError: No module named 'no_such_module'\n"
    )


def _up(cwd: Path, name: str, *args: str) -> Process:
    process = Process(cwd, name, *args)
    process.wait_up()
    return process


def _address(process: Process) -> str:
    found = eventually(lambda: ADDRESS.search(process.output()), 10, "the API's address")
    return found.group(1)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _cronwell(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CRONWELL, *args],
        cwd=cwd,
        env=environment() | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
