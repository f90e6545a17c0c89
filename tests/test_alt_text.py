"""Alt text reaches stored notebook outputs: a notebook built as the lessons are
(lessons/build.py) stores every figure's description in
``output["metadata"]["image/png"]["alt"]``, and nbval, which compares outputs
strictly, ignores that metadata (it passes even when the stored alt text is
changed by hand)."""
import json
import subprocess
import sys

import pytest
from helpers import load_build

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")

SOURCE = '''# %%
# %matplotlib inline
import matplotlib.pyplot as plt

import asynclab
from asynclab import plots
from asynclab.course import explore

# %%
run = asynclab.run(problem=asynclab.Logistic(features=10, examples=100), workers=3,
                   gradients=60, latency=0.1)
plots.timeline(run)
plt.show()

# %%
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([1, 2, 3], label="mine")
ax.set(xlabel="steps", ylabel="loss")
ax.legend()
plt.show()

# %%
lab = explore(["workers"], problem=asynclab.Logistic(features=10, examples=100), gradients=60)
lab
'''


def images(notebook):
    return [out for cell in notebook["cells"] for out in cell.get("outputs", [])
            if "image/png" in out.get("data", {})]


def test_stored_figures_carry_alt_text_and_nbval_ignores_it(tmp_path):
    build = load_build()
    source = tmp_path / "alt.py"
    source.write_text(SOURCE, encoding="utf-8")
    with build.clean_environment() as root:
        path = build.build(source, root, out_dir=tmp_path)
        notebook = json.loads(path.read_text(encoding="utf-8"))
        shown = images(notebook)
        assert len(shown) == 3
        alts = [out["metadata"]["image/png"]["alt"] for out in shown]
        assert alts[0].startswith("Timeline of async on 3 workers, from 0 to ")
        assert alts[1] == "loss against steps. Series: mine."
        assert alts[2].startswith("A figure of 2 panels. Panel 1: Timeline of sync on 4 "
                                  "workers")
        nbval = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
                 "--nbval-current-env", "--rootdir", str(tmp_path), "-o", "addopts=",
                 str(path)]
        done = subprocess.run(nbval, capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        for out in images(notebook):                       # any other alt text: still equal
            out["metadata"]["image/png"]["alt"] = "something else entirely"
        path.write_text(json.dumps(notebook), encoding="utf-8")
        done = subprocess.run(nbval, capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "4 passed" in done.stdout
        # ...while a changed text output does fail: this nbval compares strictly.
        stream = next(out for cell in notebook["cells"] for out in cell.get("outputs", [])
                      if out.get("output_type") == "stream")
        stream["text"] = "not what the kernel prints\n"
        path.write_text(json.dumps(notebook), encoding="utf-8")
        done = subprocess.run(nbval, capture_output=True, text=True, timeout=300,
                              cwd=tmp_path)
        assert done.returncode != 0 and "1 failed" in done.stdout
