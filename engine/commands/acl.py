"""ACL and its subcommands: users and their rules (engine.acl_user), the ACL LOG and the ACL
file (engine.acl)."""
import os
import time
from itertools import islice

from engine import errors
from engine.acl import ACLFileError
from engine.acl_user import CATEGORIES, RuleError, category_commands, has_spaces, merge_selectors
from engine.parsing import parse_int
from engine.registry import COMMANDS, command, container_docs
from engine.replies import OK, Double, Map, RSet, Status

NO_FILE = errors.err("This Redis instance is not configured to use an ACL file. You may want to specify "
                     "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have "
                     "a Redis configuration file set) in order to store users in the Redis configuration.")
GENPASS_MAX_BITS = 4096

container_docs("acl", group="server", summary="A container for Access List Control commands ",
               since="6.0.0", complexity="Depends on subcommand.")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@command("acl|setuser", -3, "admin noscript loading stale", group="server",
         summary="Modify or create the rules for a specific ACL user", since="6.0.0",
         complexity="O(N). Where N is the number of rules provided.", syntax="username [rule [rule ...]]")
def acl_setuser(client, argv):
    name = argv[2]
    if has_spaces(name):
        raise errors.err("Usernames can't contain spaces or null characters")
    try:
        rules = merge_selectors(argv[3:])
    except RuleError as exc:
        raise errors.err("Unmatched parenthesis in acl selector starting at '%s'." % _text(exc.args[0])) from None
    client.state.users.set_user(client, name, rules)
    return OK


@command("acl|getuser", 3, "admin noscript loading stale", group="server",
         summary="Get the rules for a specific ACL user", since="6.0.0",
         complexity="O(N). Where N is the number of password, command and pattern rules that the user has.",
         syntax="username")
def acl_getuser(client, argv):
    user = client.state.users.table.get(argv[2])
    if user is None:
        return None
    return Map({b"flags": RSet(user.flags()), b"passwords": [p.encode() for p in user.passwords],
                **user.fields(), b"selectors": [Map(selector.fields()) for selector in user.selectors]})


@command("acl|deluser", -3, "admin noscript loading stale", group="server",
         summary="Remove the specified ACL users and the associated rules", since="6.0.0",
         complexity="O(1) amortized time considering the typical user.", syntax="username [username ...]")
def acl_deluser(client, argv):
    return client.state.users.delete(client, argv[2:])


@command("acl|users", 2, "admin noscript loading stale", group="server",
         summary="List the username of all the configured ACL rules", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_users(client, argv):
    return sorted(client.state.users.table)


@command("acl|list", 2, "admin noscript loading stale", group="server",
         summary="List the current ACL rules in ACL config file format", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_list(client, argv):
    return [b"user %s %s" % (name, user.describe()) for name, user in sorted(client.state.users.table.items())]


@command("acl|whoami", 2, "noscript loading stale", group="server",
         summary="Return the name of the user associated to the current connection", since="6.0.0",
         complexity="O(1)")
def acl_whoami(client, argv):
    return client.user.encode()


@command("acl|cat", -2, "noscript loading stale", group="server",
         summary="List the ACL categories or the commands inside a category", since="6.0.0",
         complexity="O(1) since the categories and commands are a fixed set.", syntax="[categoryname]")
def acl_cat(client, argv):
    if len(argv) > 3:
        raise errors.subcommand_arguments("acl", argv[1])
    if len(argv) == 2:
        return [category.encode() for category in CATEGORIES]
    category = _text(argv[2]).lower()
    if category not in CATEGORIES:
        raise errors.err("Unknown category '%s'" % _text(argv[2])[:128])
    return [name.encode() for name in category_commands(category)]


@command("acl|genpass", -2, "noscript loading stale", group="server",
         summary="Generate a pseudorandom secure password to use for ACL users", since="6.0.0",
         complexity="O(1)", syntax="[bits:integer]")
def acl_genpass(client, argv):
    if len(argv) > 3:
        raise errors.subcommand_arguments("acl", argv[1])
    bits = parse_int(argv[2]) if len(argv) == 3 else 256
    if not 0 < bits <= GENPASS_MAX_BITS:
        raise errors.err("ACL GENPASS argument must be the number of bits for the output password, "
                         "a positive number up to %d" % GENPASS_MAX_BITS)
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@command("acl|log", -2, "admin noscript loading stale", group="server",
         summary="List latest events denied because of ACLs in place", since="6.0.0",
         complexity="O(N) with N being the number of entries shown.", syntax="[count:integer | RESET]")
def acl_log(client, argv):
    if len(argv) > 3:
        raise errors.subcommand_arguments("acl", argv[1])
    log = client.state.users.log
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            log.clear()
            return OK
        count = max(parse_int(argv[2]), 0)
    now = time.time_ns() // 1_000_000
    return [Map({b"count": entry.count, b"reason": entry.reason.encode(), b"context": entry.context.encode(),
                 b"object": entry.object, b"username": entry.username,
                 b"age-seconds": Double((now - entry.ctime) / 1000), b"client-info": entry.client_info})
            for entry in islice(log, count)]


@command("acl|dryrun", -4, "admin noscript loading stale", group="server",
         summary="Returns whether the user can execute the given command without executing the command.",
         since="7.0.0", complexity="O(1).", syntax="username command [arg [arg ...]]")
def acl_dryrun(client, argv):
    user = client.state.users.table.get(argv[2])
    if user is None:
        raise errors.err("User '%s' not found" % _text(argv[2]))
    target = argv[3:]
    spec = COMMANDS.get(target[0].lower())      # `config|get` names no command here
    if spec is not None and spec.subcommands and len(target) >= 2:
        spec = spec.subcommands.get(target[1].lower())
    if spec is None:
        raise errors.err("Command '%s' not found" % _text(target[0]))
    if (spec.arity > 0 and len(target) != spec.arity) or len(target) < -spec.arity:
        raise errors.wrong_arity(spec.name)
    found = user.denied(spec, target)
    if found is None:
        return OK
    reason, refused = found
    if reason == "command":
        return b"This user has no permissions to run the '%s' command" % refused
    return b"This user has no permissions to access the '%s' %s" % (refused, reason.encode())


def _users_with_file(client):
    """The users table, for ACL SAVE and LOAD: NO_FILE unless `aclfile` is set."""
    users = client.state.users
    if not users.config["aclfile"]:
        raise NO_FILE
    return users


@command("acl|save", 2, "admin noscript loading stale", group="server",
         summary="Save the current ACL rules in the configured ACL file", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_save(client, argv):
    users = _users_with_file(client)
    try:
        users.save_file()
    except OSError:
        raise errors.err("There was an error trying to save the ACLs. Please check the server logs "
                         "for more information") from None
    return OK


@command("acl|load", 2, "admin noscript loading stale", group="server",
         summary="Reload the ACLs from the configured ACL file", since="6.0.0",
         complexity="O(N). Where N is the number of configured users.")
def acl_load(client, argv):
    users = _users_with_file(client)
    try:
        users.load_file(client)
    except ACLFileError as exc:
        raise errors.err(str(exc)) from None
    return OK


@command("acl|help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands", since="6.0.0", complexity="O(1)")
def acl_help(client, argv):
    return [Status(line) for line in (
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Prints this help.")]
