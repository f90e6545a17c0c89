"""The package reads as two parts: the engine, and the course toolkit built on it."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "asynclab"


def imported_modules(path):
    """Absolute names of the asynclab modules a file imports."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]          # the package a relative import starts from
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return [n for n in names if n.startswith("asynclab")]


# The command line sits above both parts: `asynclab run` and `asynclab quiz`.
ENTRY_POINTS = {PACKAGE / "cli.py", PACKAGE / "__main__.py"}


def test_the_engine_never_imports_the_course_toolkit():
    course = PACKAGE / "course"
    for path in PACKAGE.rglob("*.py"):
        if course in path.parents or path in ENTRY_POINTS:
            continue
        offending = [n for n in imported_modules(path) if n.startswith("asynclab.course")]
        assert not offending, f"{path.relative_to(PACKAGE.parent)} imports {offending[0]}"


def test_the_checker_sees_relative_imports():
    assert "asynclab.course.quiz" in imported_modules(PACKAGE / "course" / "__init__.py")
