"""test_docs_reference: the rules reference (hfshim-rules(5)) and the code agree.

The keys each object of a rules file may hold come from the loader's own
lists (`hfshim check --keys`, shim/core/rules_keys.c), the presets from
presets.c, the environment variables from the string literals of the C
sources. Every one of them has a definition in the reference and an entry
in its index, and the reference names nothing the code does not know. Then
every JSON example that is a rules file, in README, docs/ and the man
pages, passes `hfshim check`.
"""
import json
import re
import shutil

import pytest

from conftest import ROOT
from docref import CMD_MAN, RULES_MAN, code_blocks, definitions, doc_files, fenced_blocks, sections

# the reference's section for each object `hfshim check --keys` names
KEY_SECTIONS = {"top": "TOP-LEVEL KEYS", "env": "ENV KEYS", "log": "LOG KEYS", "tokens": "TOKENS KEYS",
                "reach": "REACH KEYS", "rule": "RULE KEYS", "match": "MATCH KEYS", "window": "WINDOW KEYS"}


def code_keys(shim):
    """`hfshim check --keys`: {object: [keys]}, presets under "preset"."""
    r = shim.hfshim("check", "--keys")
    assert r.returncode == 0, r
    out = {}
    for line in r.stdout.splitlines()[1:]:
        m = re.match(r"^  ([a-z]+): (.*)$", line)
        assert m, f"unexpected line in hfshim check --keys: {line!r}"
        out[m.group(1)] = m.group(2).split()
    return out


def doc_keys(text):
    """{object: [keys]} of the reference's key sections (`*tokens.learn*` -> learn)."""
    secs = sections(text)
    return {obj: [name.split(".")[-1] for name, _, _ in definitions(secs[title])]
            for obj, title in KEY_SECTIONS.items()}


def key_drift(code, docs):
    bad = []
    for obj in KEY_SECTIONS:
        have, said = set(code[obj]), set(docs[obj])
        bad += [f"{obj}.{k}: the loader takes it, {KEY_SECTIONS[obj]} does not define it" for k in sorted(have - said)]
        bad += [f"{obj}.{k}: defined in {KEY_SECTIONS[obj]}, unknown to the loader" for k in sorted(said - have)]
    return bad


def test_every_key_is_in_the_reference_and_no_other(shim):
    code = code_keys(shim)
    assert set(code) == set(KEY_SECTIONS) | {"preset"}, code
    assert "program" in code["match"] and "offline_variables" in code["reach"], code
    assert key_drift(code, doc_keys(RULES_MAN.read_text())) == []


def test_key_drift_is_seen(shim):
    """The comparison above can fail: a key taken out of the reference, and
    one it names that the loader does not take."""
    code, text = code_keys(shim), RULES_MAN.read_text()
    gone = text.replace("\n*program*\n", "\n*programme*\n")
    assert key_drift(code, doc_keys(gone)) == [
        "match.program: the loader takes it, MATCH KEYS does not define it",
        "match.programme: defined in MATCH KEYS, unknown to the loader"]


def test_every_preset_is_in_the_reference(shim):
    presets = code_keys(shim)["preset"]
    assert len(presets) >= 9 and "rate-limited" in presets
    documented = [name for name, _, _ in definitions(sections(RULES_MAN.read_text())["PRESETS"])]
    assert sorted(documented) == sorted(presets)


def index_names(text):
    block = fenced_blocks(sections(text)["INDEX"])[0]
    return {line.split()[0] for line in block.splitlines() if line.strip()}


def test_the_index_finds_every_name_in_one_step(shim):
    """Every key, parameter, action, preset and placeholder is in the index,
    and every index entry is defined in the section the index names."""
    text = RULES_MAN.read_text()
    secs = sections(text)
    code = code_keys(shim)
    r = shim.hfshim("check", "--actions")
    actions = re.findall(r"(?m)^  ([a-z-]+)(?: \(modifier\))?: ", r.stdout)
    params = set(re.findall(r"(?m)^      ([a-z_]+)(?: \(required\))?: ", r.stdout)) | {"retry_after"}
    placeholders = {name for name, _, _ in definitions(secs["PLACEHOLDERS"])}
    names = set().union(*code.values()) | set(actions) | params | placeholders
    index = index_names(text)
    assert sorted(names - index) == [], "missing from the INDEX"
    assert sorted(index - names) == [], "in the INDEX but unknown to the code"
    # each line's sections exist and name it
    block = fenced_blocks(secs["INDEX"])[0]
    for line in block.splitlines():
        name, _, where = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        for ref in re.split(r",\s*(?![^(]*\))", where):
            title = ref.split(" (")[0]
            assert title in secs, f"INDEX: {name}: no section {title}"
            assert name in secs[title].replace("\\", ""), f"INDEX: {name} is not in {title}"


ENV_NAME = r"(?:HFSHIM|HF|HUGGING|HUGGINGFACE|TRANSFORMERS|XDG)_[A-Z_]*[A-Z]|HOME|PATH|LD_PRELOAD"


def code_env_vars():
    """The environment variables the C sources name (string literals, or
    prefixes of "NAME=" literals): what the library and the launcher read
    or set."""
    names = set()
    for f in (ROOT / "shim").rglob("*.c"):
        names |= set(re.findall(rf'"({ENV_NAME})=?"', f.read_text()))
    return names


def test_every_environment_variable_is_in_hfshim_1():
    code = code_env_vars()
    assert {"HFSHIM_RULES", "HFSHIM_OFFLINE", "HFSHIM_FAULT", "HFSHIM_AUDIT", "HFSHIM_COUNTERS", "HF_ENDPOINT",
            "HF_TOKEN_PATH"} <= code, code
    env = sections(CMD_MAN.read_text())["ENVIRONMENT"]
    defined = {n for name, _, _ in definitions(env) for n in re.findall(ENV_NAME, name)}
    assert sorted(code - defined) == [], "read by the code, not in hfshim(1) ENVIRONMENT"
    named = set()
    for f in doc_files():
        named |= set(re.findall(r"HFSHIM_[A-Z_]*[A-Z]", f.read_text()))
    assert sorted(named - code) == [], "named in the docs, unknown to the code"


def rules_examples():
    """(file, text) of every fenced JSON object in the docs whose keys are
    all top-level rules keys: a rules file."""
    top = {"version", "offline", "hub_hosts", "env", "rules", "children", "log", "comment", "tokens", "include",
           "locked", "reach"}
    out = []
    for f in doc_files():
        for block in code_blocks(f):
            if not block.lstrip().startswith("{"):
                continue
            try:
                obj = json.loads(block)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj and set(obj) <= top:
                out.append((f.relative_to(ROOT), block))
    return out


def test_docs_have_rules_examples():
    files = {str(f) for f, _ in rules_examples()}
    assert "docs/man/hfshim-rules.5.scd" in files and "docs/writing-rules.md" in files, files
    assert len(rules_examples()) >= 8


@pytest.mark.parametrize("where,text", rules_examples(), ids=lambda v: str(v)[:40])
def test_every_rules_example_passes_check(shim, tmp_path, where, text):
    # next to the shipped rules, so "include": ["token-hygiene.json"] resolves
    for f in (ROOT / "rules").glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "example.json"
    path.write_text(text)
    r = shim.hfshim("check", path)
    assert r.returncode == 0 and "warning" not in r.stderr, (where, text, r)


SECTION_OF_RULE = {"RULE KEYS", "MATCH KEYS", "WINDOW KEYS", "ACTIONS", "PRESETS"}


def example_of(body):
    """The text after "Example:" in a definition, markup removed."""
    m = re.search(r"Example:\s*(.*?)(?:\n\s*\n|\Z)", body, re.S)
    if not m:
        return None
    text = " ".join(m.group(1).split())
    return text.replace("\\*", "*").replace("\\_", "_")


def example_file(title, name, example):
    """The rules file an entry's example is loaded in: the fragment put in
    the object the entry belongs to."""
    frag = json.loads(example if example.startswith("{") else "{" + example + "}")
    rule = {"match": {}, "action": "allow"}
    if title == "TOP-LEVEL KEYS":
        return {"version": 1, **frag}
    if title in ("ENV KEYS", "LOG KEYS", "TOKENS KEYS", "REACH KEYS"):
        return {"version": 1, title.split()[0].lower(): frag}
    if title == "RULE KEYS":
        rule.update(frag)
        if "preset" in frag:
            del rule["action"]
    elif title == "MATCH KEYS":
        rule["match"] = frag
    elif title == "WINDOW KEYS":
        rule["window"] = frag
    elif title == "ACTIONS":
        rule = frag
    elif title == "PRESETS":
        rule = {"match": {"host": "@hub"}, **frag}
    elif title == "PLACEHOLDERS":
        if "state_file" in frag:
            return {"version": 1, "tokens": frag}
        rule = {"match": frag, "action": "allow"} if "host" in frag else \
            {"match": {"host": "@hub"}, "action": "cache", **frag}
    return {"version": 1, "rules": [rule]}


def entry_examples():
    secs = sections(RULES_MAN.read_text())
    out = []
    for title in list(KEY_SECTIONS.values()) + ["ACTIONS", "PRESETS", "PLACEHOLDERS"]:
        for name, _, body in definitions(secs[title]):
            out.append((title, name, body))
    return out


@pytest.mark.parametrize("title,name,body", entry_examples(), ids=lambda v: str(v)[:30])
def test_every_entry_has_a_type_and_an_example_that_loads(shim, tmp_path, title, name, body):
    """Each key's entry says its type and gives one example; the example,
    put where the entry belongs, passes `hfshim check` and uses that key
    (action, preset)."""
    key = name.split(".")[-1]
    if key == "comment" or name == "rules[N]":
        assert "Ignored" in body or "index" in body, (name, body)
        return
    if title in KEY_SECTIONS.values():
        assert "Type:" in body, f"{title} {name}: no Type:"
    example = example_of(body)
    assert example, f"{title} {name}: no Example:"
    doc = example_file(title, name, example)
    text = json.dumps(doc)
    if title == "ACTIONS":
        assert doc["rules"][0]["action"] == name, (name, example)
    elif title == "PRESETS":
        assert doc["rules"][0]["preset"] == name, (name, example)
    elif title == "PLACEHOLDERS":
        form = name.split("VAR")[0] if "VAR" in name else name.rstrip(".")
        assert form in example, (name, example)
    else:
        assert f'"{key}"' in text, (name, example)
    for f in (ROOT / "rules").glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "entry.json"
    path.write_text(text)
    r = shim.hfshim("check", path)
    assert r.returncode == 0, (title, name, text, r)
