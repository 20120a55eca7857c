"""CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: client-side caching (engine.tracking)."""
from engine import errors
from engine.parsing import parse_int
from engine.registry import command
from engine.replies import OK, Map, RSet
from engine.tracking import ClientTracking

NOT_OPTIN_OPTOUT = errors.err("CLIENT CACHING can be called only when the client is in tracking mode "
                              "with OPTIN or OPTOUT mode enabled")
OVERLAP = "Prefix '%s' overlaps with %s prefix '%s'. Prefixes for a single client must not overlap."


@command("client|tracking", -3, "noscript loading stale", group="connection",
         summary="Enable or disable server assisted client side caching support", since="6.0.0",
         complexity="O(1). Some options may introduce additional complexity.",
         syntax="(ON | OFF) [REDIRECT client-id:integer] [PREFIX prefix [PREFIX prefix ...]] [BCAST] "
                "[OPTIN] [OPTOUT] [NOLOOP]")
def client_tracking(client, argv):
    options, i = ClientTracking(), 3
    while i < len(argv):
        option, more = argv[i].lower(), i + 1 < len(argv)
        if option == b"redirect" and more:
            if options.redirect:
                raise errors.err("A client can only redirect to a single other client")
            options.redirect = parse_int(argv[i + 1])
            if options.redirect not in client.state.clients:
                raise errors.err("The client ID you want redirect to does not exist")
            i += 1
        elif option == b"prefix" and more:
            options.prefixes.append(argv[i + 1])
            i += 1
        elif option in (b"bcast", b"optin", b"optout", b"noloop"):
            setattr(options, option.decode(), True)
        else:
            raise errors.SYNTAX
        i += 1
    table, current = client.keyspace.tracking, client.tracking
    switch = argv[2].lower()
    if switch == b"off":
        table.stop(client)
        return OK
    if switch != b"on":
        raise errors.SYNTAX
    if options.prefixes and not options.bcast:
        raise errors.err("PREFIX option requires BCAST mode to be enabled")
    if current is not None and current.bcast != options.bcast:
        raise errors.err("You can't switch BCAST mode on/off before disabling tracking for this client, "
                         "and then re-enabling it with a different mode.")
    if options.bcast and (options.optin or options.optout):
        raise errors.err("OPTIN and OPTOUT are not compatible with BCAST")
    if options.optin and options.optout:
        raise errors.err("You can't specify both OPTIN mode and OPTOUT mode")
    if current is not None and ((options.optin and current.optout) or (options.optout and current.optin)):
        raise errors.err("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
                         "and then re-enabling it with a different mode.")
    if options.bcast:
        _check_overlaps(options.prefixes, current.prefixes if current is not None else [])
    table.start(client, options)
    return OK


def _check_overlaps(prefixes, existing):
    for i, prefix in enumerate(prefixes):
        for other in existing:
            if prefix.startswith(other) or other.startswith(prefix):
                raise errors.err(OVERLAP % (_text(prefix), "an existing", _text(other)))
        for other in prefixes[i + 1:]:
            if prefix.startswith(other) or other.startswith(prefix):
                raise errors.err(OVERLAP % (_text(prefix), "another provided", _text(other)))


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@command("client|caching", 3, "noscript loading stale", group="connection",
         summary="Instruct the server about tracking or not keys in the next request", since="6.0.0",
         complexity="O(1)", syntax="(YES | NO)")
def client_caching(client, argv):
    options = client.tracking
    if options is None:
        raise NOT_OPTIN_OPTOUT
    mode = argv[2].lower()
    if mode == b"yes":
        if not options.optin:
            raise errors.err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
        options.caching = True
    elif mode == b"no":
        if not options.optout:
            raise errors.err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
        options.caching = False
    else:
        raise errors.SYNTAX
    return OK


@command("client|getredir", 2, "noscript loading stale", group="connection",
         summary="Get tracking notifications redirection client ID if any", since="6.0.0",
         complexity="O(1)")
def client_getredir(client, argv):
    return -1 if client.tracking is None else client.tracking.redirect


@command("client|trackinginfo", 2, "noscript loading stale", group="connection",
         summary="Return information about server assisted client side caching for the current "
                 "connection", since="6.2.0", complexity="O(1)")
def client_trackinginfo(client, argv):
    options = client.tracking
    if options is None:
        return Map({b"flags": RSet([b"off"]), b"redirect": -1, b"prefixes": []})
    flags = [b"on"]
    if options.bcast:
        flags.append(b"bcast")
    if options.optin:
        flags += [b"optin"] + ([b"caching-yes"] if options.caching is True else [])
    if options.optout:
        flags += [b"optout"] + ([b"caching-no"] if options.caching is False else [])
    if options.noloop:
        flags.append(b"noloop")
    if options.broken:
        flags.append(b"broken_redirect")
    return Map({b"flags": RSet(flags), b"redirect": options.redirect,
                b"prefixes": sorted(options.prefixes)})
