"""docref: reads the documentation the way the drift tests need it.

The man pages' sources (docs/man/*.scd, scdoc) are parsed by section:
a definition is a line `*name*` (optionally followed by ` (modifier)`)
at the start of a line, its text the tab-indented lines after it. The
Markdown pages give their fenced blocks. Used by tests/test_docs_*.py and
tests/test_action_docs.py.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAN = ROOT / "docs/man"
RULES_MAN = MAN / "hfshim-rules.5.scd"
CMD_MAN = MAN / "hfshim.1.scd"

DEF = re.compile(r"^\*([^*\s][^*]*)\*( \(modifier\))?$")


def sections(text, level="#"):
    """{heading: body} for the headings `# X` (or `## X` with level="##")."""
    parts = re.split(rf"(?m)^{re.escape(level)} (.+)$", text)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def definitions(body):
    """[(name, modifier, text)] of the `*name*` definitions in a section body;
    a term of several names (`*A*, *B*`) gives its text without markup."""
    out, cur = [], None
    lines = body.splitlines()
    for i, line in enumerate(lines):
        m = DEF.match(line)
        term = line.startswith(("*", "_")) and i + 1 < len(lines) and lines[i + 1].startswith("\t")
        if m or term:
            name = m.group(1).replace("\\", "") if m else plain(line)
            cur = [name, bool(m and m.group(2)), ""]
            out.append(cur)
        elif cur is not None and (line.startswith("\t") or not line.strip()):
            cur[2] += line + "\n"
        else:
            cur = None
    return [tuple(d) for d in out]


def plain(text):
    """scdoc markup removed: *bold*, _underline_, escapes."""
    text = re.sub(r"(?<![\w\\])\*([^*\n]+?)\*", r"\1", text)
    text = re.sub(r"(?<![\w\\])_([^_\n]+?)_(?!\w)", r"\1", text)
    return text.replace("\\*", "*").replace("\\_", "_")


def fenced_blocks(text):
    """The contents of the ``` fenced blocks of a Markdown or scdoc text."""
    return [m.group(1) for m in re.finditer(r"(?ms)^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", text)]


def doc_files():
    """Every page a reader is sent to: README, docs/, the examples' READMEs,
    rules/README.md, the man pages."""
    files = [ROOT / "README.md", ROOT / "rules/README.md"] + sorted((ROOT / "docs").rglob("*.md")) + \
        sorted((ROOT / "examples").glob("*/README.md"))
    return [f for f in files if f.exists()] + sorted(MAN.glob("*.scd"))


def code_blocks(path):
    """The code blocks of a page: fenced ones, and in Markdown also the
    blocks indented by four spaces (after a blank line, outside a list)."""
    text = Path(path).read_text()
    blocks = fenced_blocks(text)
    if str(path).endswith(".md"):
        outside = re.sub(r"(?ms)^[ \t]*```.*?^[ \t]*```", "", text)
        for m in re.finditer(r"(?m)(?:^[ \t]*\n)((?:^    .*\n?)+)", outside):
            blocks.append("\n".join(line[4:] for line in m.group(1).splitlines()))
    return blocks
