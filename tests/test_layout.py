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


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def module_of(name):
    """The module ``name`` lives in: itself, or the package or module that defines it."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def import_graph():
    """{module: the asynclab modules it imports}, deferred imports inside functions
    included. ``from . import x`` imports x, not the package it names."""
    graph = {}
    for name, path in MODULES.items():
        names = set(imported_modules(path))
        # 'from asynclab import limits' lists both asynclab and asynclab.limits: keep the module.
        names -= {n.rpartition(".")[0] for n in names if n in MODULES}
        graph[name] = {module_of(n) for n in names} - {name}
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, found = {}, {}, [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    """A lower module never reaches up, not even with an import inside a function."""
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_sees_relative_imports():
    assert "asynclab.course.quiz" in imported_modules(PACKAGE / "course" / "__init__.py")
