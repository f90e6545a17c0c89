"""Binder builds the course from environment.yml with repo2docker. Binder itself cannot be
reached from the test machines, so this checks the file's form against the rules
repo2docker's conda build pack applies (read from its source, buildpacks/conda and
utils.is_local_pip_requirement), and the README's link form."""
import re
from pathlib import Path

import yaml  # PyYAML comes with JupyterLab (jupyter_server -> jupyter_events)

ROOT = Path(__file__).resolve().parents[1]
# repo2docker's own pattern: it reads the Python version only from a "python=X.Y" entry.
REPO2DOCKER_PYTHON = re.compile(r"python\s*=+\s*([\d\.]*)")


def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def test_python_is_pinned_in_the_form_repo2docker_reads():
    plain = [d for d in environment()["dependencies"] if isinstance(d, str)]
    versions = [m.group(1) for m in map(REPO2DOCKER_PYTHON.match, plain) if m]
    assert versions == ["3.11"]
    assert "pip" in plain


def test_pip_installs_this_folder_so_the_course_and_its_widgets_come_with_it():
    [pip] = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict)]
    # "-e ." is a local requirement: repo2docker then installs the environment after
    # copying the repository in (it could not find the package before).
    assert pip == ["-e ."]
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = re.search(r"^dependencies = \[(.*?)^\]", project, re.MULTILINE | re.DOTALL)
    for needed in ("ipywidgets", "jupyterlab", "matplotlib", "ray"):
        assert f'"{needed}>=' in dependencies.group(1), needed


def test_the_readme_gives_binder_links_to_a_lesson_that_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lab = re.search(r"https://mybinder\.org/v2/gh/OWNER/REPO/main\?labpath=lessons%2F([\w.]+)", readme)
    notebook = re.search(r"https://mybinder\.org/v2/gh/OWNER/REPO/main\?urlpath=notebooks%2F"
                         r"lessons%2F([\w.]+)", readme)
    assert lab and notebook
    assert (ROOT / "lessons" / lab.group(1)).is_file()
    assert (ROOT / "lessons" / notebook.group(1)).is_file()
