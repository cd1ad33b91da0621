"""README's Python example, run exactly as README shows it (the first ```python block
under "## Python"), so the documentation cannot drift from the module."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs_as_written(capsys):
    text = README.read_text()
    section = text[text.index("\n## Python\n"):]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "README's Python section has no python code block"
    code = block.group(1)
    assert "attestlab.Target.embedded()" in code
    exec(compile(code, str(README) + " (## Python example)", "exec"), {})
    out = capsys.readouterr().out
    assert "'fail': 0" in out and "'error': 0" in out and "<testsuites" in out, out
