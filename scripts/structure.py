#!/usr/bin/env python3
"""Structure gate for src/: no import cycle between modules, no file over 600 lines of
non-test code, no function over 100 lines, and the layering (the conversion core never imports
the S3, Lambda or CLI edges).

A module is a file (`src/convert/infer.rs` is `crate::convert::infer`; `mod.rs` is its folder).
An import is a `use crate::...`, `use super::...` or an inline `crate::a::b` path in code; a
parent declaring `mod child;` is not an import. Test modules (`#[cfg(test)] mod tests { .. }`
at the end of a file) are left out of every count.

    python3 scripts/structure.py            # the report; exit 1 on any violation
    python3 scripts/structure.py --verbose  # also the longest functions and largest files
"""

import re
import sys
from pathlib import Path

MAX_FILE_LINES = 600
MAX_FN_LINES = 100
# Functions that are tables of data (a match from names to values), allowed past the limit.
DATA_TABLES = set()
# The core: these modules must not import the edges.
CORE = ("config", "budget", "convert", "decode", "encode", "fanout", "schema", "sink", "source", "stitch", "error",
        "location", "testkit")
EDGES = ("s3", "lambda")

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def module_of(path: Path) -> tuple:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    """The file without its trailing `#[cfg(test)] mod tests { ... }` block(s)."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(
            r"\s*(pub(\(crate\))? )?mod \w+ \{", lines[i + 1]
        ):
            depth = 0
            j = i + 1
            started = False
            while j < len(lines):
                depth += code_braces(lines[j])
                if "{" in lines[j]:
                    started = True
                if started and depth <= 0:
                    break
                j += 1
            i = j + 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def code_only(line: str) -> str:
    """A line without its comment, string and char literals (roughly: enough for braces)."""
    line = re.sub(r'b?"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"b?'(\\.|[^'\\])'", "' '", line)
    idx = line.find("//")
    if idx >= 0:
        line = line[:idx]
    return line


def code_braces(line: str) -> int:
    c = code_only(line)
    return c.count("{") - c.count("}")


def strip_raw_strings(text: str) -> str:
    # r#"..."# literals may hold braces and quotes over several lines.
    return re.sub(r'r#+"(.|\n)*?"#+', lambda m: '""' + "\n" * m.group(0).count("\n"), text)


def functions(text: str):
    """(name, first line, length) of every fn with a body."""
    lines = strip_raw_strings(text).split("\n")
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)", code_only(line))
        if not m:
            continue
        depth = 0
        started = False
        for j in range(i, len(lines)):
            c = code_only(lines[j])
            if not started and ";" in c and "{" not in c:
                break  # a declaration without a body
            depth += c.count("{") - c.count("}")
            if "{" in c:
                started = True
            if started and depth <= 0:
                out.append((m.group(6), i + 1, j - i + 1))
                break
    return out


def imports(text: str, module: tuple, modules: set) -> set:
    code = "\n".join(code_only(l) for l in strip_raw_strings(text).split("\n"))
    found = set()
    # `use` statements may span lines and hold groups: take crate::/super:: paths from them.
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend(expand_use(m.group(1).replace("\n", " ").replace(" ", "")))
    # Inline paths in code.
    paths.extend(re.findall(r"\b((?:crate|super)(?:::\w+)+)", code))
    for p in paths:
        segs = p.split("::")
        if segs[0] == "crate":
            segs = segs[1:]
        elif segs[0] == "super":
            base = list(module)
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
            segs = base + segs
        elif segs[0] == "self":
            segs = list(module) + segs[1:]
        else:
            continue
        # The longest module prefix.
        target = None
        for k in range(len(segs), -1, -1):
            if tuple(segs[:k]) in modules:
                target = tuple(segs[:k])
                break
        if target is None or target == module:
            continue
        # A parent reaching into its own child is the child's declaration side; still an edge.
        found.add(target)
    return found


def expand_use(tree: str):
    """`crate::a::{b, c::{d, e}}` -> [`crate::a::b`, `crate::a::c::d`, `crate::a::c::e`]."""
    if "{" not in tree:
        return [tree.split(" as ")[0]]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "{") - (ch == "}")
        cur += ch
    if cur:
        parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if p == "self":
            out.append(head.rstrip(":"))
        else:
            out.extend(expand_use(head + p))
    return out


def cycles(graph: dict):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    verbose = "--verbose" in sys.argv
    files = sorted(p for p in SRC.rglob("*.rs") if "bin" not in p.relative_to(SRC).parts)
    modules = {module_of(p) for p in files}
    problems = []
    graph = {}
    sizes = []
    longest = []
    for path in files:
        text = path.read_text()
        code = strip_tests(text)
        mod = module_of(path)
        n = len(code.rstrip("\n").split("\n"))
        sizes.append((n, path.relative_to(ROOT)))
        if n > MAX_FILE_LINES:
            problems.append(f"{path.relative_to(ROOT)}: {n} lines of non-test code (max {MAX_FILE_LINES})")
        for name, line, length in functions(code):
            longest.append((length, f"{path.relative_to(ROOT)}:{line} {name}"))
            if length > MAX_FN_LINES and name not in DATA_TABLES:
                problems.append(f"{path.relative_to(ROOT)}:{line}: fn {name} is {length} lines (max {MAX_FN_LINES})")
        graph[mod] = imports(code, mod, modules)
    for comp in cycles(graph):
        problems.append("import cycle: " + " <-> ".join("::".join(m) or "crate" for m in comp))
    for mod, targets in sorted(graph.items()):
        if mod and mod[0] in CORE:
            for t in sorted(targets):
                if t and t[0] in EDGES:
                    problems.append(f"layering: {'::'.join(mod)} imports {'::'.join(t)}")
    if verbose:
        print("largest files (lines of non-test code):")
        for n, p in sorted(sizes, reverse=True)[:15]:
            print(f"  {n:5} {p}")
        print("longest functions:")
        for n, where in sorted(longest, reverse=True)[:20]:
            print(f"  {n:5} {where}")
    for p in problems:
        print(p)
    if problems:
        print(f"structure: {len(problems)} problem(s)")
        sys.exit(1)
    print(f"structure: {len(files)} files, {len(modules)} modules: no cycle, no file over "
          f"{MAX_FILE_LINES} lines, no function over {MAX_FN_LINES} lines, core imports no edge")


if __name__ == "__main__":
    main()
