"""Plain-text tables for the benchmark's results."""


def table(headers: list, rows: list) -> str:
    """Text columns left-aligned, numbers right-aligned, widths fitted to the content."""
    cells = [list(headers)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [bool(rows) and not isinstance(rows[0][i], str) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if num else c.ljust(w)
                               for c, w, num in zip(row, widths, numeric)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(redwood: float, redis: float) -> float:
    return redwood / redis if redis else float("nan")


def throughput_table(rows: list) -> str:
    """rows: (command, mode, pipeline, redis_rps, redwood_rps)."""
    return table(["command", "mode", "pipeline", "Redis rps", "Redwood rps", "Redwood/Redis"],
                 [(*row, ratio(row[4], row[3])) for row in rows])


def memory_table(results: dict) -> str:
    """results: server name -> dict with used_memory before/after, rss delta, fill rate."""
    rows = [(name, r["before"], r["after"], r["per_item"], r["rss_per_item"], r["fill_rate"])
            for name, r in results.items()]
    return table(["server", "used_memory before", "after", "bytes/key", "RSS bytes/key", "fill SET/s"],
                 rows)


def element_memory_table(rows: list) -> str:
    """rows: (type, Redis result, Redwood result), each result as memory_table's."""
    return table(["type", "Redis bytes/elem", "Redwood bytes/elem", "Redwood/Redis",
                  "Redis RSS/elem", "Redwood RSS/elem", "RSS ratio"],
                 [(kind, redis["per_item"], ours["per_item"], ratio(ours["per_item"], redis["per_item"]),
                   redis["rss_per_item"], ours["rss_per_item"],
                   ratio(ours["rss_per_item"], redis["rss_per_item"]))
                  for kind, redis, ours in rows])
