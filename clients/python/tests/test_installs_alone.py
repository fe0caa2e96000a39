"""The client installs alone in a fresh virtualenv, from this folder, and imports
without the server (needs PyPI for requests; deselect offline with -m "not install")."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

HERE = Path(__file__).parents[1]


@pytest.mark.install
def test_pip_install_of_the_folder_gives_a_working_client_and_nothing_of_the_server(
    tmp_path: Path,
) -> None:
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(HERE)], check=True, timeout=600)
    probe = (
        "import importlib.util, rolecall_client\n"
        "from rolecall_client import Client, Check\n"
        "assert importlib.util.find_spec('service') is None, 'the server came along'\n"
        "assert importlib.util.find_spec('flask') is None, 'flask is an extra, not a dependency'\n"
        "c = Client('http://127.0.0.1:9', 'token', start=False)\n"
        "assert c.check('u', 'a/b', 'granted', 's') is False  # unreachable: denied\n"
        "print(rolecall_client.__file__)\n"
    )
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert str(tmp_path) in done.stdout  # imported from the new venv, not from here
    assert sys.prefix not in done.stdout
