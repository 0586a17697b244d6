#!/usr/bin/env python3
"""Hit ratios of nginx's page cache, read from nginx's access log (its `cache=` field, see nginx.conf).

  cache-stats.py [LOG ...]      default: $MARKETLENS_LOG_DIR/nginx-access.log, else .run/logs/nginx-access.log
  cache-stats.py --last N       only the last N requests of each log

Prints one line per cached route (/, /library, /r/{slug}, /r/{slug}.md, /r/{slug}/compare/{other}, the OpenAPI
document) with how many
requests were HIT, UPDATING or STALE (answered from the cache), MISS or EXPIRED (computed by a worker and
stored), BYPASS (a cookie, an Authorization header or a POST) and the hit ratio (from the cache / all).
Rotated logs can be passed as further arguments (plain text only). Reads both forms of the log: text lines and
the JSON lines written with LOG_FORMAT=json.
"""
import argparse
import json
import os
import re
import sys
from collections import Counter, defaultdict, deque
from pathlib import Path

LINE = re.compile(r'"(?:[A-Z]+) (?P<path>\S+) [^"]*" \d{3} .*? cache=(?P<cache>[A-Z-]+) ')
VERDICTS = ("HIT", "UPDATING", "STALE", "MISS", "EXPIRED", "BYPASS")
FROM_CACHE = ("HIT", "UPDATING", "STALE")


def route(path: str) -> str | None:
    bare = path.split("?", 1)[0]
    if bare == "/":
        return "/"
    if bare == "/library":
        return "/library" if bare == path else "/library?…"
    if re.fullmatch(r"/r/[^/]+\.md", bare):
        return "/r/{slug}.md"
    if re.fullmatch(r"/r/[^/]+", bare):
        return "/r/{slug}"
    if re.fullmatch(r"/r/[^/]+/compare/[^/]+", bare):
        return "/r/{slug}/compare/{other}"
    if re.fullmatch(r"/(api/v1/)?openapi\.(json|yaml)", bare):
        return bare
    return None


def verdict(line: str) -> tuple[str | None, str | None]:
    """The request's path and the cache's verdict, from a text or a JSON access-log line."""
    if line.startswith("{"):
        try:
            entry = json.loads(line)
        except ValueError:
            return None, None
        return entry.get("path"), entry.get("cache") or "-"
    match = LINE.search(line)
    return (match["path"], match["cache"]) if match else (None, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="*", type=Path)
    parser.add_argument("--last", type=int, help="only the last N lines of each log")
    args = parser.parse_args()
    logs = args.logs or [Path(os.environ.get("MARKETLENS_LOG_DIR", ".run/logs")) / "nginx-access.log"]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for log in logs:
        if not log.exists():
            sys.exit(f"cache-stats: no access log at {log}")
        with log.open(errors="replace") as lines:
            for line in deque(lines, maxlen=args.last) if args.last else lines:
                path, cache = verdict(line)
                name = path and route(path)
                if name and cache != "-":
                    counts[name][cache] += 1
    print(f"{'route':<16} {'requests':>9} " + " ".join(f"{v:>8}" for v in VERDICTS) + f" {'hit ratio':>9}")
    for name in sorted(counts):
        seen = counts[name]
        total = sum(seen.values())
        hits = sum(seen[v] for v in FROM_CACHE)
        print(f"{name:<16} {total:>9} " + " ".join(f"{seen[v]:>8}" for v in VERDICTS) + f" {hits / total:>9.1%}")
    if not counts:
        print("(no requests for cached routes in the log)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
