"""The command table describes every command as Redis 7.0 does: COMMAND INFO's arity, flags,
key positions, ACL categories and key specs, and COMMAND DOCS's since, group and argument shape."""
import pytest

from engine import commands  # noqa: F401  (registers every family)
from engine.registry import every_command
from tests.servers import parse_reply


def _declared():
    return sorted(spec.name for spec in every_command())


def _call(server, *argv):
    raw = server.raw()
    raw.call("HELLO", "3")
    reply = parse_reply(raw.call(*argv))
    raw.close()
    return reply


def _info(server, name: str):
    container, _, sub = name.partition("|")
    [entry] = _call(server, "COMMAND", "INFO", container)
    if sub:
        [entry] = [e for e in entry[9] if e[0] == name.encode()]
    name, arity, flags, first, last, step, acl, _tips, key_specs = entry[:9]
    return name, arity, sorted(flags), first, last, step, sorted(acl), key_specs


def _shape(arguments) -> list:
    """An argument tree without names: type, token, flags and nesting (what hints are made of)."""
    return [(a.get(b"type"), a.get(b"token"), sorted(a.get(b"flags", [])), _shape(a.get(b"arguments", [])))
            for a in arguments]


def _docs(server, name: str):
    container, _, sub = name.partition("|")
    docs = _call(server, "COMMAND", "DOCS", container)[container.encode()]
    if sub:
        docs = docs[b"subcommands"][name.encode()]
    return docs


@pytest.mark.parametrize("name", _declared())
def test_command_info_and_docs_match_redis(real_redis, shared_redwood, name):
    if not _call(real_redis, "COMMAND", "INFO", name.partition("|")[0])[0]:
        pytest.skip(f"{name} is ours only")
    assert _info(shared_redwood, name) == _info(real_redis, name)
    ours, theirs = _docs(shared_redwood, name), _docs(real_redis, name)
    assert ours[b"summary"] and ours[b"since"] == theirs[b"since"] and ours[b"group"] == theirs[b"group"]
    assert _shape(ours.get(b"arguments", [])) == _shape(theirs.get(b"arguments", []))
