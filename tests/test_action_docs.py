"""test_action_docs: rules/README.md §3.5 and the table of actions agree.

The actions are declared once, in the table of shim/core/actions.c; the
loader, its messages, `hfshim check` and `hfshim explain` read them from
there, and `hfshim check --actions` prints it. The reference's table of
actions is written by hand: this test holds it to the code. Every action
of the table has a row naming each of its parameters, no row names an
action the table does not have or a parameter of another action, and a
row says "modifier" exactly when the action is one.
"""
import re

from conftest import ROOT

ROW = re.compile(r"^\| `([a-z-]+)` \| (.*?) \| (.*) \|$")
KEY = re.compile(r"`([a-z_]+)`")


def doc_rows(text=None):
    """The rows of §3.5's table: {action: (parameters cell, effect cell)}."""
    text = text if text is not None else (ROOT / "rules/README.md").read_text()
    section = text.split("### 3.5 Actions", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = ROW.match(line)
        if m and m.group(1) != "action":
            assert m.group(1) not in rows, f"action {m.group(1)} has two rows in rules/README.md §3.5"
            rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def code_table(shim):
    """`hfshim check --actions`: {action: (modifier, [parameter keys])}."""
    r = shim.hfshim("check", "--actions")
    assert r.returncode == 0, r
    table, current = {}, None
    for line in r.stdout.splitlines()[1:]:
        m = re.match(r"^  ([a-z-]+)( \(modifier\))?: ", line)
        if m:
            current = m.group(1)
            table[current] = (bool(m.group(2)), [])
            continue
        m = re.match(r"^      ([a-z_]+)( \(required\))?: ", line)
        assert m and current, f"unexpected line in hfshim check --actions: {line!r}"
        table[current][1].append(m.group(1))
    return table


def disagreements(rows, table):
    every_key = {k for _, keys in table.values() for k in keys}
    bad = []
    for name, (modifier, keys) in table.items():
        if name not in rows:
            bad.append(f"{name}: in the table of actions, missing from rules/README.md §3.5")
            continue
        params, effect = rows[name]
        named = set(KEY.findall(params))
        bad += [f"{name}: parameter {k} is not documented" for k in keys if k not in named]
        bad += [f"{name}: documents {k}, which it does not take" for k in sorted(named & every_key - set(keys))]
        if modifier != ("modifier" in effect.lower()):
            bad.append(f"{name}: the table says modifier={modifier}, the docs say otherwise")
    bad += [f"{name}: documented, but not an action" for name in rows if name not in table]
    return bad


def test_docs_list_every_action_with_its_parameters(shim):
    table = code_table(shim)
    assert len(table) >= 14 and "throttle" in table and "bytes_per_second" in table["throttle"][1], table
    assert disagreements(doc_rows(), table) == []


def test_the_check_sees_drift(shim):
    """The comparison finds each kind of drift (so the test above can fail)."""
    table = code_table(shim)
    text = (ROOT / "rules/README.md").read_text()
    assert disagreements(doc_rows(text.replace("| `throttle` | `bytes_per_second`", "| `throttle` | `bps`")),
                         table) == ["throttle: parameter bytes_per_second is not documented"]
    missing = doc_rows(text)
    del missing["dns-fail"]
    assert disagreements(missing, table) == ["dns-fail: in the table of actions, missing from rules/README.md §3.5"]
    extra = dict(doc_rows(text), deny=("—", "nothing"))
    assert disagreements(extra, table) == ["deny: documented, but not an action"]
    wrong = dict(doc_rows(text), delay=("`ms`, `header`", "waits. A modifier."))
    assert disagreements(wrong, table) == ["delay: documents header, which it does not take"]
    unmod = dict(doc_rows(text), reset=("`after_bytes`", "the response is cut"))
    assert disagreements(unmod, table) == ["reset: the table says modifier=True, the docs say otherwise"]
