"""faqbot installs like any other package: the wheel carries the pages, scripts and knowledge base, and serves from an empty folder."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import PROJECT
from live import free_port, live_server

QUESTION = "how many patients went into remission"
# What a build never needs: caches, earlier builds, the tests' own leftovers, a running bot's records.
JUNK = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".pytest_cache",
                              ".hypothesis", "data", ".cache", "artifacts", "results", ".server-*.log")
# The folders whose files ship inside the package, and where they land in it.
SHIPPED = {"bot": "bot", "web": "bot/web", "knowledge": "bot/shipped_knowledge"}


def run(argv: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **options)


def clean_env() -> dict:
    """The environment of an operator who set nothing: no FAQBOT_* settings, nothing of this checkout on the path."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FAQBOT_") and k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a clean copy of the checkout, as a fresh clone would."""
    source = tmp_path_factory.mktemp("source") / "faqbot"
    shutil.copytree(PROJECT, source, ignore=JUNK)
    out = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)])
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("faqbot-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with faqbot installed from the wheel (its dependencies from the system's)."""
    home = tmp_path_factory.mktemp("venv")
    made = run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(home)])
    assert made.returncode == 0, made.stderr
    python = home / "bin" / "python"
    if sys.prefix != sys.base_prefix:  # the tests run inside a venv: its packages are "the system's" for this one
        found = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        Path(found.stdout.strip(), "outer-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return home


@pytest.fixture
def empty_folder(tmp_path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_wheel_carries_every_file_the_bot_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = []
    for folder, target in SHIPPED.items():
        for path in (PROJECT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = f"{target}/{path.relative_to(PROJECT / folder).as_posix()}"
                if name not in names:
                    missing.append(name)
    assert missing == []
    assert "bot/shipped_knowledge/entries.yaml" in names and "bot/web/templates/chat.html" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "faqbot = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_serves_the_chat_from_an_empty_folder(venv, empty_folder, check_reply):
    python = venv / "bin" / "python"
    where = run([str(python), "-c", "import bot; print(bot.__file__)"], cwd=empty_folder, env=clean_env())
    assert Path(where.stdout.strip()).is_relative_to(venv), "faqbot comes from the wheel, not the checkout"
    port = free_port()
    command = [str(venv / "bin" / "faqbot"), "serve", "--port", str(port)]
    with live_server(command=command, port=port, cwd=empty_folder, base_env=clean_env()) as url:
        with urllib.request.urlopen(url + "/", timeout=10) as page:
            assert page.status == 200 and "text/html" in page.headers["Content-Type"]
            assert 'id="faqbot-app"' in page.read().decode()
        with urllib.request.urlopen(url + "/widget.js", timeout=10) as loader:
            assert loader.status == 200 and '"emergency": "999"' in loader.read().decode()
        with urllib.request.urlopen(url + "/static/chat.js", timeout=10) as script:
            assert script.status == 200 and "sessionStorage" in script.read().decode()
        request = urllib.request.Request(url + "/api/ask", data=json.dumps({"message": QUESTION}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
        check_reply(reply)
        assert reply["type"] == "answer"
    assert (empty_folder / "data" / "faqbot.sqlite3").is_file(), "records go to the working directory's data/"
    site = Path(where.stdout.strip()).parent
    assert not (site / "data").exists() and not (site.parent / "data").exists(), "nothing written in the code"


def test_installed_commands_check_and_answer(venv, empty_folder):
    checked = run([str(venv / "bin" / "faqbot"), "check"], cwd=empty_folder, env=clean_env())
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok:" in checked.stdout and "shipped_knowledge/entries.yaml" not in checked.stderr
    asked = run([str(venv / "bin" / "python"), "-m", "bot", "ask", QUESTION, "--json"], cwd=empty_folder,
                env=clean_env())
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["type"] == "answer"
    assert list(empty_folder.iterdir()) == [], "check and ask keep nothing"


@pytest.mark.parametrize("module", ["bot", "bot.text", "bot.config", "bot.privacy"])
def test_light_modules_import_only_what_they_use(module):
    # A fresh interpreter: this one has long imported the whole stack.
    code = (f"import sys, {module}; heavy = ('flask', 'flask_socketio', 'sklearn', 'scipy', 'numpy', 'gevent', "
            "'yaml', 'rapidfuzz'); print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    result = run([sys.executable, "-c", code], cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"import {module} pulled in {result.stdout.strip()}"



def test_reading_the_shipped_knowledge_base_needs_no_retrieval_stack():
    # Checking a knowledge base (its settings' calibration block included) is YAML work: staff run it often.
    code = ("import sys; from bot.knowledge import load_knowledge; from bot.config import package_dir; "
            "kb = load_knowledge(package_dir('bot.shipped_knowledge')); assert kb.thresholds.calibration; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))")
    result = run([sys.executable, "-c", code], cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"loading the knowledge base pulled in {result.stdout.strip()}"

def test_an_uninstalled_checkout_finds_its_folders():
    # -S: no site-packages, so no editable install either; only the checkout on the path (PYTHONPATH=.).
    code = ("from bot.config import package_dir; "
            "print(package_dir('bot.web')); print(package_dir('bot.shipped_knowledge'))")
    result = run([sys.executable, "-S", "-c", code], cwd=PROJECT, env=dict(clean_env(), PYTHONPATH=str(PROJECT)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(PROJECT / "web"), str(PROJECT / "knowledge")]


def test_the_editable_install_maps_web_and_knowledge_into_the_package():
    from importlib.util import find_spec
    for package, folder in (("bot.web", "web"), ("bot.shipped_knowledge", "knowledge")):
        spec = find_spec(package)
        assert spec is not None, "faqbot is not installed from this checkout: run python -m pip install -e '.[test]'"
        assert Path(spec.origin) == PROJECT / folder / "__init__.py"
