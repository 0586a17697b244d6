#!/usr/bin/env python3
"""Renders nginx/*.template into an nginx prefix directory.

  render-nginx.py --prefix DIR --root ROOT --log-dir DIR --socket-dir DIR --workers N \
      --https-port P --http-port P --cert FILE --key FILE [--listen ADDR ...] [--user NAME]

Writes DIR/nginx.conf, DIR/snippets/*.conf, DIR/mime.types and creates DIR/tmp/*.
Placeholders are ${UPPER_CASE}; an unknown one is an error. Optional environment:
REAL_IP_FROM (trusted proxy addresses/CIDRs, comma or space separated; none by default),
STATIC_MAX_AGE (3600), HSTS_MAX_AGE (31536000), CLIENT_MAX_BODY_SIZE (1m),
SSE_READ_TIMEOUT (1h), NGINX_WORKER_PROCESSES (auto), NGINX_WORKER_CONNECTIONS (4096),
NGINX_RLIMIT_NOFILE (16384), PAGE_CACHE_MAX_SIZE (256m; the page cache lives in DIR/cache/pages),
LOG_FORMAT (text; `json` writes the access log as JSON lines, like the workers' log).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def nginx_version() -> tuple[int, ...]:
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out.stderr + out.stdout)
    if not match:
        sys.exit("render-nginx: cannot read the nginx version from `nginx -v`")
    return tuple(int(x) for x in match.groups())


def listen_lines(addresses: list[str], port: int, tls: bool, http2_in_listen: bool) -> str:
    suffix = ""
    if tls:
        suffix = " ssl http2" if http2_in_listen else " ssl"
    lines = []
    for addr in addresses:
        if addr in ("*", "all"):
            lines.append(f"listen {port}{suffix};")
        elif ":" in addr:  # IPv6
            lines.append(f"listen [{addr.strip('[]')}]:{port}{suffix} ipv6only=on;")
        else:
            lines.append(f"listen {addr}:{port}{suffix};")
    return "\n".join(" " * 8 + line for line in lines)


def render(text: str, values: dict[str, str], name: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            sys.exit(f"render-nginx: {name}: unknown placeholder ${{{key}}}")
        return values[key]

    return PLACEHOLDER.sub(substitute, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prefix", required=True, type=Path)
    parser.add_argument("--root", required=True, type=Path, help="project root (holds static/)")
    parser.add_argument("--templates", type=Path, help="template dir (default ROOT/nginx)")
    parser.add_argument("--log-dir", required=True, type=Path)
    parser.add_argument("--socket-dir", required=True, type=Path)
    parser.add_argument("--workers", required=True, type=int)
    parser.add_argument("--https-port", required=True, type=int)
    parser.add_argument("--http-port", required=True, type=int)
    parser.add_argument("--cert", required=True, type=Path)
    parser.add_argument("--key", required=True, type=Path)
    parser.add_argument("--listen", action="append", help="address to listen on (repeatable; default all IPv4)")
    parser.add_argument("--user", help="nginx worker user (only meaningful when nginx starts as root)")
    parser.add_argument("--nginx-version", help="render for this nginx version (default: ask `nginx -v`)")
    args = parser.parse_args()

    if args.workers < 1:
        sys.exit("render-nginx: --workers must be at least 1")
    version = tuple(int(x) for x in args.nginx_version.split(".")) if args.nginx_version else nginx_version()
    http2_directive = version >= (1, 25, 1)  # `http2 on;` replaced `listen … http2` in 1.25.1
    addresses = args.listen or ["*"]
    env = os.environ

    real_ip_from = [a for a in re.split(r"[,\s]+", env.get("REAL_IP_FROM", "")) if a]
    if real_ip_from:
        real_ip = "\n".join(f"    set_real_ip_from {a};" for a in real_ip_from)
        real_ip += "\n    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;"
    else:
        real_ip = "    # (none: REAL_IP_FROM is empty)"

    prefix = args.prefix.resolve()
    socket_dir = args.socket_dir.resolve()
    upstream = "\n".join(
        f"        server unix:{socket_dir}/worker-{i}.sock max_fails=1 fail_timeout=2s;"
        for i in range(args.workers)
    )
    values = {
        "PREFIX": str(prefix),
        "LOG_DIR": str(args.log_dir.resolve()),
        "STATIC_PARENT": str(args.root.resolve()),
        "USER_DIRECTIVE": f"user {args.user};" if args.user else "# (no user directive: nginx does not run as root)",
        "NGINX_WORKER_PROCESSES": env.get("NGINX_WORKER_PROCESSES", "auto"),
        "NGINX_WORKER_CONNECTIONS": env.get("NGINX_WORKER_CONNECTIONS", "4096"),
        "NGINX_RLIMIT_NOFILE": env.get("NGINX_RLIMIT_NOFILE", "16384"),
        "CLIENT_MAX_BODY_SIZE": env.get("CLIENT_MAX_BODY_SIZE", "1m"),
        "STATIC_MAX_AGE": env.get("STATIC_MAX_AGE", "3600"),
        "HSTS_MAX_AGE": env.get("HSTS_MAX_AGE", "31536000"),
        "SSE_READ_TIMEOUT": env.get("SSE_READ_TIMEOUT", "1h"),
        "PAGE_CACHE_MAX_SIZE": env.get("PAGE_CACHE_MAX_SIZE", "256m"),
        "ACCESS_LOG_STYLE": "_json" if env.get("LOG_FORMAT", "").strip().lower() == "json" else "",
        "REAL_IP": real_ip,
        "UPSTREAM_SERVERS": upstream,
        "HTTP_LISTEN": listen_lines(addresses, args.http_port, tls=False, http2_in_listen=False),
        "HTTPS_LISTEN": listen_lines(addresses, args.https_port, tls=True, http2_in_listen=not http2_directive),
        "HTTP2_DIRECTIVE": "http2 on;" if http2_directive else "# (HTTP/2 is enabled on the listen lines)",
        "HTTPS_PORT_SUFFIX": "" if args.https_port == 443 else f":{args.https_port}",
        "TLS_CERT": str(args.cert.resolve()),
        "TLS_KEY": str(args.key.resolve()),
    }

    templates = args.templates or args.root / "nginx"
    (prefix / "snippets").mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "cache" / "pages").mkdir(parents=True, exist_ok=True)
    if args.user:
        # The worker user writes request bodies, buffered responses and cached pages here.
        for top in ("tmp", "cache"):
            shutil.chown(prefix / top, user=args.user)
            for sub in (prefix / top).iterdir():
                shutil.chown(sub, user=args.user)
    for template in sorted(templates.glob("*.template")):
        name = template.name.removesuffix(".template")
        target = prefix / name if name == "nginx.conf" else prefix / "snippets" / name
        target.write_text(render(template.read_text(), values, template.name))
    shutil.copyfile(templates / "mime.types", prefix / "mime.types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
