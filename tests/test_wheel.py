"""The wheel is a complete product: built offline, installed apart from the checkout, it serves."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AGENDAS = sorted(p.stem for p in (ROOT / "agendas").glob("*.yaml"))
SAMPLE_DECKS = sorted(p.stem for p in (ROOT / "icebreakers").glob("*.yaml"))


def run(*args: str | Path, cwd: Path) -> str:
    """Run a command; its output, or a failure that shows it."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the checkout (nothing is written into the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("facilitator", "agendas", "icebreakers"):
        shutil.copytree(ROOT / name, source / name, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp / "dist"
    # Offline: the setuptools already installed builds it, no index is asked.
    run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "--quiet", "--wheel-dir", out, source,
        cwd=tmp,
    )  # fmt: skip
    (built,) = out.glob("facilitator-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the checkout with only the wheel installed.

    The dependencies come from this test run's environment through a ``.pth`` line naming its
    site-packages as a plain path: such a folder's own ``.pth`` files are not processed, so the
    editable install of the checkout does not leak in.
    """
    folder = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", "--without-pip", folder, cwd=folder.parent)
    python = folder / "bin" / "python"
    run(
        sys.executable, "-m", "pip", "--python", python, "install",
        "--no-deps", "--no-index", "--quiet", wheel,
        cwd=folder.parent,
    )  # fmt: skip
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=folder
    )
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(purelib.strip()) / "test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return folder


def test_the_wheel_holds_every_package_the_web_files_and_the_samples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for init in (ROOT / "facilitator").rglob("__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names
    for folder in ("templates", "static"):
        for path in (ROOT / "facilitator" / "web" / folder).iterdir():
            assert path.relative_to(ROOT).as_posix() in names
    for kind, stems in (("agendas", SAMPLE_AGENDAS), ("icebreakers", SAMPLE_DECKS)):
        assert stems
        for stem in stems:
            assert f"facilitator/samples/{kind}/{stem}.yaml" in names


@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``facilitator serve --agenda network-night`` from an empty folder: (base, participant)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    where = run(
        venv / "bin" / "python", "-c", "import facilitator; print(facilitator.__file__)", cwd=empty
    )
    assert Path(where.strip()).is_relative_to(venv), where
    args = [str(venv / "bin" / "facilitator"), "serve", "--host", "127.0.0.1", "--port", "0"]
    args += ["--data", str(tmp_path / "data"), "--agenda", "network-night"]
    out = tmp_path / "server.out"
    with out.open("wb") as stdout:
        proc = subprocess.Popen(args, cwd=empty, stdout=stdout, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            text = out.read_text("utf-8", "replace")
            base = re.search(r"Listening on (\S+)", text)
            link = re.search(r"Participant link: (\S+)", text)
            if base and link:
                break
            assert proc.poll() is None, f"the server exited:\n{text}"
            assert time.monotonic() < deadline, f"the server did not start:\n{text}"
            time.sleep(0.05)
        yield base.group(1), link.group(1)
    finally:
        proc.kill()
        proc.wait(10)
    assert not (empty / "data").exists()  # it stored where it was told


def get(url: str) -> tuple[int, str]:
    with urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_the_installed_wheel_serves_from_an_empty_folder(served: tuple[str, str]) -> None:
    base, participant = served
    status, landing = get(base + "/")
    assert status == 200
    status, meeting = get(participant)
    assert status == 200 and "Network night" in meeting
    status, script = get(base + "/static/room.js")
    assert status == 200 and script
    status, body = get(base + "/api/agendas")
    listed = {a["name"]: a for a in json.loads(body)["agendas"]}
    assert sorted(listed) == SAMPLE_AGENDAS
    for agenda in listed.values():
        assert agenda["title"] in landing


def test_the_product_never_imports_the_tools() -> None:
    product = [ROOT / "facilitator" / name for name in ("domain", "server", "media", "store")]
    files = [f for folder in product for f in folder.rglob("*.py")]
    files += [ROOT / "facilitator" / "library.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any("bench" in name.split(".") for name in names), (path, node.lineno)
