"""test_action_docs: hfshim-rules(5) ACTIONS and the table of actions agree.

The actions are declared once, in the table of shim/core/actions.c; the
loader, its messages, `hfshim check` and `hfshim explain` read them from
there, and `hfshim check --actions` prints it. The reference's ACTIONS
section (docs/man/hfshim-rules.5.scd) is written by hand: this test holds
it to the code. Every action of the table has an entry naming each of its
parameters, no entry names an action the table does not have or a
parameter of another action, and an entry says "(modifier)" exactly when
the action is one.
"""
import re


from docref import RULES_MAN, definitions, sections

KEY = re.compile(r"`([a-z_]+)`")
PARAM = re.compile(r"^\t- \*([a-z_]+)\*", re.M)
DOC = "hfshim-rules(5) ACTIONS"


def doc_rows(text=None):
    """The entries of the ACTIONS section: {action: (parameters, effect)},
    the parameters as "`key`, `key`", the effect "modifier" or not."""
    text = text if text is not None else RULES_MAN.read_text()
    rows = {}
    for name, modifier, body in definitions(sections(text)["ACTIONS"]):
        assert name not in rows, f"action {name} has two entries in {DOC}"
        rows[name] = (", ".join(f"`{k}`" for k in PARAM.findall(body)), "a modifier" if modifier else "")
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
            bad.append(f"{name}: in the table of actions, missing from hfshim-rules(5) ACTIONS")
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
    text = RULES_MAN.read_text()
    assert disagreements(doc_rows(text.replace("\t- *bytes_per_second* (required)", "\t- *bps* (required)")),
                         table) == ["throttle: parameter bytes_per_second is not documented"]
    missing = doc_rows(text)
    del missing["dns-fail"]
    assert disagreements(missing, table) == ["dns-fail: in the table of actions, missing from hfshim-rules(5) ACTIONS"]
    extra = dict(doc_rows(text), deny=("", ""))
    assert disagreements(extra, table) == ["deny: documented, but not an action"]
    wrong = dict(doc_rows(text), delay=("`ms`, `header`", "a modifier"))
    assert disagreements(wrong, table) == ["delay: documents header, which it does not take"]
    unmod = dict(doc_rows(text.replace("*reset* (modifier)", "*reset*")))
    assert disagreements(unmod, table) == ["reset: the table says modifier=True, the docs say otherwise"]
