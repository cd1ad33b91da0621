#!/usr/bin/python3
"""Checks the include rules of docs/ARCHITECTURE.md over every C++ file of the tree.

Each part may include only the parts listed for it; production code never includes
testing/. Exits 1 and prints one line per offending include ("file:line: part may not
include target"), 0 when every include keeps the rules. Run by ctest (layers.include_rules).
"""
import pathlib
import re
import sys

# part -> the parts it may include (itself always included). A part is the longest
# matching folder prefix below.
ALLOWED = {
    "core": set(),
    "client": {"core"},
    "server": {"core"},  # server/config.h, server/faults.h: shared by the rooms below
    "server/store": {"core", "server"},
    "server/attest": {"core", "server", "server/store"},
    "server/acme": {"core", "server", "server/store", "server/attest"},
    "sim/device": {"core", "client"},
    "sim/mdm": {"core", "client", "sim/device"},
    "reports": {"core"},
    "scenarios": {"core", "client", "sim/device", "sim/mdm", "reports"},
    "conformance": {"core", "client", "sim/device", "sim/mdm", "reports", "scenarios"},
    # The load generator meets targets on the wire only (cli/ starts an embedded one).
    "bench/load": {"core", "client", "sim/device", "reports"},
}
# Parts that may include any part (nothing builds on them).
FREE = {"cli", "bench", "fuzz", "python", "testing", "tests"}
# Parts that may include testing/ besides *_test.cpp files (cli is production: it may not).
MAY_USE_TESTING = {"bench", "fuzz", "testing", "tests"}
PARTS = sorted(ALLOWED, key=len, reverse=True)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def part_of(path: str):
    for part in PARTS:
        if path == part or path.startswith(part + "/"):
            return part
    return None


def is_test_file(path: str) -> bool:
    return path.endswith("_test.cpp") or "/testing/" in path or path.startswith("testing/")


def check(root: pathlib.Path) -> list[str]:
    problems = []
    files = [p for p in root.rglob("*") if p.suffix in (".cpp", ".h")]
    for file in sorted(files):
        rel = file.relative_to(root).as_posix()
        if rel.startswith("build/") or "/build/" in rel:
            continue
        top = rel.split("/", 1)[0]
        src_part = part_of(rel)
        if src_part is None and top not in FREE:
            continue
        for lineno, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target.startswith("testing/"):
                if not is_test_file(rel) and top not in MAY_USE_TESTING:
                    problems.append(f"{rel}:{lineno}: production code may not include {target}")
                continue
            if src_part is None:
                continue
            dst_part = part_of(target)
            if dst_part is None or dst_part == src_part:
                continue
            if dst_part not in ALLOWED[src_part]:
                problems.append(f"{rel}:{lineno}: {src_part}/ may not include {target}")
    return problems


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    if not (root / "core").is_dir():
        print(f"check_layers: {root} is not the attestlab source tree", file=sys.stderr)
        return 2
    problems = check(root)
    for p in problems:
        print(p)
    print(f"check_layers: {len(problems)} include(s) break the layering rules" if problems
          else "check_layers: every include keeps the layering rules")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
