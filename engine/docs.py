"""COMMAND DOCS arguments, derived from each declaration's one-line syntax.

    key value [NX | XX] [EX seconds:integer | PX milliseconds:integer] (field value) ...

`[...]` is optional, `(...)` a block, `|` separates alternatives, `...` repeats
the item before it, an UPPER-case word is a token, `name:type` an argument
(type `string` when omitted; `key` when the name is `key`). A token directly
followed by an argument is one argument with that token, as Redis documents
`EX seconds`; a token leading several arguments (`LIMIT offset count`) or a
repeated one (`ID id [id ...]`) is a block with that token; `X [X ...]` is X
repeating (with `multiple_token` when X starts with a token), and `(x)` around
a single argument is a block of one. The result is the `arguments` array of
Redis 7's COMMAND DOCS, which redis-cli turns into its hints.
"""
import re
from functools import lru_cache

from engine.replies import Map, Status

_TOKENS = re.compile(r"\.\.\.|[\[\]()|]|[^\s\[\]()|]+")


@lru_cache(maxsize=None)
def arguments(syntax: str) -> tuple:
    """The argument maps of a syntax line (cached: the syntax lines are constants)."""
    if not syntax:
        return ()
    words = _TOKENS.findall(syntax)
    alternatives, pos = _alternatives(words, 0)
    if pos != len(words):
        raise ValueError(f"unbalanced syntax: {syntax!r}")
    return tuple(alternatives[0] if len(alternatives) == 1 else [_group(alternatives)])


def _sequence(words, pos):
    """Items up to a closing bracket or `|`: a list of argument maps."""
    items = []
    while pos < len(words) and words[pos] not in ("]", ")", "|"):
        word = words[pos]
        if word in ("[", "("):
            alternatives, pos = _alternatives(words, pos + 1)
            closing = "]" if word == "[" else ")"
            if pos >= len(words) or words[pos] != closing:
                raise ValueError(f"expected {closing!r}")
            # `(x)` around a single argument is a block of one, as Redis documents CONFIG GET.
            single = word == "(" and len(alternatives) == 1 and len(alternatives[0]) == 1
            item = _block(alternatives[0]) if single else _group(alternatives)
            if word == "[":
                _flag(item, "optional")
            pos += 1
        elif word == "...":
            _flag(items[-1], "multiple")
            pos += 1
            continue
        else:
            item = _word(word)
            pos += 1
        # `key [key ...]` is one argument that repeats, as Redis documents it.
        if items and item.get("flags") == ["multiple", "optional"] and "flags" not in items[-1] \
                and items[-1]["name"] == item["name"] and items[-1]["type"] == item["type"]:
            last = items[-1]
            if "token" in last and "token" not in item:     # `ID id [id ...]`: a block with the token
                token = last.pop("token")
                _flag(last, "multiple")
                items[-1] = Map(name=last["name"], type="block", token=token, arguments=[last])
            else:
                _flag(last, "multiple")
                if "token" in last:
                    _flag(last, "multiple_token")
            continue
        # A token followed by an argument (or a group) becomes that argument with the token.
        if items and items[-1]["type"] == "pure-token" and item["type"] != "pure-token" \
                and "token" not in item and "flags" not in items[-1]:
            item = Map(item, token=items.pop()["token"])
        items.append(item)
    return items, pos


def _alternatives(words, pos):
    alternatives = []
    while True:
        items, pos = _sequence(words, pos)
        alternatives.append(items)
        if pos < len(words) and words[pos] == "|":
            pos += 1
            continue
        return alternatives, pos


def _group(alternatives) -> Map:
    options = [items[0] if len(items) == 1 else _block(items) for items in alternatives]
    if len(options) == 1:
        return options[0]
    return Map(name=options[0]["name"], type="oneof", arguments=options)


def _block(items) -> Map:
    first = items[0]
    if "token" in first and first["type"] != "pure-token" and "flags" not in first:
        # `LIMIT offset count`: the token belongs to the block, not to its first argument.
        token = first.pop("token")
        return Map(name=first["name"], type="block", token=token, arguments=items)
    return Map(name=first["name"], type="block", arguments=items)


def _word(word: str) -> Map:
    if word.isupper() or (word[0].isupper() and not any(c.islower() for c in word)):
        return Map(name=word.lower(), type="pure-token", token=word)
    name, _, kind = word.partition(":")
    return Map(name=name, type=kind or ("key" if name == "key" else "string"))


def _flag(item: Map, flag: str):
    item["flags"] = item.get("flags", []) + [flag]


def encode_docs(spec) -> Map:
    """One command's COMMAND DOCS map (summary, since, group, complexity, arguments …)."""
    docs = Map(summary=spec.summary.encode(), since=spec.since.encode(), group=spec.group.encode())
    if spec.complexity:
        docs["complexity"] = spec.complexity.encode()
    if spec.doc_flags:
        docs["doc_flags"] = [Status(flag) for flag in sorted(spec.doc_flags)]
    args = arguments(spec.syntax)
    if args:
        docs["arguments"] = [_bytes_map(arg) for arg in args]
    if spec.subcommands:
        docs["subcommands"] = Map({sub.name.encode(): encode_docs(sub)
                                   for sub in spec.subcommands.values()})
    return Map({key.encode(): value for key, value in docs.items()})


def _bytes_map(arg: Map) -> Map:
    out = Map()
    for key, value in arg.items():
        if key == "arguments":
            value = [_bytes_map(a) for a in value]
        elif key == "flags":
            value = [Status(f) for f in value]
        else:
            value = value.encode()
        out[key.encode()] = value
    return out
