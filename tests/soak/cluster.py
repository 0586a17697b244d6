"""A small Marketlens cluster on this one machine, built from network namespaces (run as root).

Every host is a network namespace with one veth link to a bridge that lives in its own namespace; the
addresses (10.231.0.0/24) exist only inside those namespaces, so nothing touches the machine's own
interfaces or routes and no packet leaves it. Hosts: `db` (PostgreSQL through scripts/postgres.sh), `sim`
(upstream-sim), `appN` (nginx + `marketlens serve` through scripts/stack.sh, one run dir each), `lb` (the front
nginx, tests/soak/balancer.conf.template) and `client` (where the soak's browsers run). `teardown` kills every
process inside those namespaces (only this cluster's) and deletes them, whatever state they are in.
"""
from __future__ import annotations

import ctypes
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBNET = "10.231.0"
CLONE_NEWNET = 0x40000000
CLIENT_ADDRESSES = 64


def sh(*args: str, check: bool = True, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, env=env, timeout=timeout)


class Cluster:
    def __init__(self, app_hosts: int, workers: int, marketlens_bin: str, sim_bin: str, time_scale: float,
                 lease_seconds: float, log=print) -> None:
        self.tag = f"mls{os.getpid() % 100000}"
        self.app_hosts = [f"app{i + 1}" for i in range(app_hosts)]
        self.hosts = ["db", "sim", "lb", "client", *self.app_hosts]
        self.address = {"db": f"{SUBNET}.2", "sim": f"{SUBNET}.3", "lb": f"{SUBNET}.4", "client": f"{SUBNET}.5"}
        for i, h in enumerate(self.app_hosts):
            self.address[h] = f"{SUBNET}.{11 + i}"
        self.workers, self.marketlens_bin, self.sim_bin = workers, marketlens_bin, sim_bin
        self.time_scale, self.lease_seconds, self.log = time_scale, lease_seconds, log
        self.dir = Path(tempfile.mkdtemp(prefix="marketlens-soak."))
        self.dir.chmod(0o755)
        self.made: list[str] = []
        self.database_url = ""
        self.sim_log = self.dir / "upstream-sim.log"

    # ------------------------------------------------------------ names

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def exec_in(self, host: str, *args: str, **kw) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.ns(host), *args, **kw)

    def link(self, host: str) -> str:  # the bridge-side end of a host's link (15 characters at most)
        return f"{self.tag[-6:]}{self.hosts.index(host)}b"

    # ------------------------------------------------------------ network

    def build_network(self) -> None:
        sh("ip", "netns", "add", self.ns("br"))
        self.made.append("br")
        self.exec_in("br", "ip", "link", "add", "br0", "type", "bridge")
        self.exec_in("br", "ip", "link", "set", "br0", "up")
        for host in self.hosts:
            sh("ip", "netns", "add", self.ns(host))
            self.made.append(host)
            self.exec_in(host, "ip", "link", "set", "lo", "up")
            inside = "eth0"
            # Both ends are created directly inside their namespaces: the machine's own namespace never sees them.
            sh("ip", "link", "add", "name", inside, "netns", self.ns(host), "type", "veth",
               "peer", "name", self.link(host), "netns", self.ns("br"))
            self.exec_in(host, "ip", "addr", "add", f"{self.address[host]}/24", "dev", inside)
            self.exec_in(host, "ip", "link", "set", inside, "up")
            self.exec_in("br", "ip", "link", "set", self.link(host), "master", "br0", "up")
        # The browsers come from many addresses, as real ones do (per-client limits count addresses).
        for i in range(CLIENT_ADDRESSES):
            self.exec_in("client", "ip", "addr", "add", f"{SUBNET}.{100 + i}/24", "dev", "eth0")
        self.client_addresses = [f"{SUBNET}.{100 + i}" for i in range(CLIENT_ADDRESSES)]

    def cut(self, host: str) -> None:
        self.exec_in("br", "ip", "link", "set", self.link(host), "down")

    def mend(self, host: str) -> None:
        """Reconnects a host and waits until it reaches the database again (its neighbours were forgotten)."""
        self.exec_in("br", "ip", "link", "set", self.link(host), "up")
        self.exec_in(host, "ip", "neigh", "flush", "dev", "eth0", check=False)
        deadline = time.monotonic() + 30
        probe = f"exec 3<>/dev/tcp/{self.address['db']}/5432"
        while self.exec_in(host, "bash", "-c", probe, check=False, timeout=5).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{host} cannot reach the database after its link came back")
            time.sleep(0.3)

    def enter(self, host: str) -> None:
        """Moves the calling thread (and the threads it starts afterwards) into a host's namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{self.ns(host)}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)

    # ------------------------------------------------------------ processes

    def pids(self, host: str) -> list[int]:
        out = sh("ip", "netns", "pids", self.ns(host), check=False).stdout
        return [int(p) for p in out.split()]

    def kill_host(self, host: str) -> int:
        """kill -9 of every process on the host (they are all this cluster's)."""
        victims = [pid for pid in self.pids(host) if pid != os.getpid()]  # the soak itself runs on `client`
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(victims)

    def start_db(self) -> None:
        data = self.dir / "db" / "postgres"
        data.parent.mkdir(parents=True)
        data.parent.chmod(0o755)
        env = dict(os.environ, POSTGRES_LISTEN_ADDRESSES=self.address["db"], POSTGRES_ALLOW_NETWORKS=f"{SUBNET}.0/24")
        self.exec_in("db", "bash", str(ROOT / "scripts/postgres.sh"), "start", str(data), "5432", env=env)
        password = (data.parent / "postgres.password").read_text().strip()
        self.database_url = f"postgresql://marketlens:{password}@{self.address['db']}:5432/marketlens"
        self.db_env, self.db_data = env, data

    def restart_db(self) -> float:
        """A fast shutdown and a start; returns how long the database was gone (s)."""
        started = time.monotonic()
        self.exec_in("db", "bash", str(ROOT / "scripts/postgres.sh"), "stop", str(self.db_data), "5432", env=self.db_env)
        self.exec_in("db", "bash", str(ROOT / "scripts/postgres.sh"), "start", str(self.db_data), "5432", env=self.db_env)
        return time.monotonic() - started

    def start_sim(self) -> None:
        out = open(self.dir / "upstream-sim.out", "w")
        err = open(self.sim_log, "w")
        subprocess.Popen(["ip", "netns", "exec", self.ns("sim"), self.sim_bin, "--host", "0.0.0.0", "--port", "18080",
                          "--resend-port", "18081", "--time-scale", str(self.time_scale)],
                         stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        self.sim_url = f"http://{self.address['sim']}:18080"
        self.resend_url = f"http://{self.address['sim']}:18081"
        deadline = time.monotonic() + 30
        while "upstream-sim parallel=" not in (self.dir / "upstream-sim.out").read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("upstream-sim did not start: " + self.sim_log.read_text()[-2000:])
            time.sleep(0.1)

    def app_env(self, host: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETLENS_", "UPSTREAM_SIM", "PARALLEL_",
                                                                        "RESEND_", "POSTGRES_", "HTTP"))}
        env.update({
            "DATABASE_URL": self.database_url, "MARKETLENS_BIN": self.marketlens_bin,
            "MARKETLENS_DATA_DIR": str(self.dir / host / "data"), "MARKETLENS_WORKERS": str(self.workers),
            "MARKETLENS_THREADS": "16", "MARKETLENS_SKIP_DEPS": "1", "HTTPS_PORT": "443", "HTTP_PORT": "80",
            "LISTEN_ADDRESS": "*", "BASE_URL": f"https://{self.address['lb']}", "REAL_IP_FROM": self.address["lb"],
            "PARALLEL_API_KEY": "sim-parallel-key", "PARALLEL_BASE_URL": self.sim_url,
            "RESEND_API_KEY": "re_sim_key", "RESEND_BASE_URL": self.resend_url,
            "MAIL_FROM": "Marketlens <reports@marketlens.test>", "LOG_LEVEL": "info",
            # Runs take seconds here (the simulator's time scale), so the monitor's clocks shrink with them.
            "MARKETLENS_LEASE_SECONDS": str(self.lease_seconds), "MARKETLENS_MONITOR_INTERVAL": "0.5",
            "MARKETLENS_POLL_SECONDS": "1", "MARKETLENS_STREAM_IDLE_SECONDS": "4",
            "MARKETLENS_BACKOFF_SECONDS": "0.3", "MARKETLENS_CREATE_GRACE_SECONDS": "3",
            "MARKETLENS_EMAIL_BACKOFF_SECONDS": "0.5", "MARKETLENS_HEARTBEAT_SECONDS": "2",
            "MAX_REPORTS_PER_HOUR": "100000", "MAX_REPORTS_PER_CLIENT_PER_HOUR": "100000",
            "MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR": "100000", "MAX_BATCH_RUNS_PER_HOUR": "100000",
            "NGINX_WORKER_PROCESSES": "1",
        })
        return env

    def start_app(self, host: str) -> None:
        run = self.dir / host / "run"
        run.mkdir(parents=True, exist_ok=True)
        (self.dir / host).chmod(0o755)
        proc = self.exec_in(host, "bash", str(ROOT / "scripts/stack.sh"), "up", "--no-build", "--no-deps",
                            "--run-dir", str(run), env=self.app_env(host), check=False, timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"{host}: scripts/stack.sh up failed:\n{proc.stderr[-3000:]}")

    def supervisor(self, host: str) -> int | None:
        try:
            return int((self.dir / host / "run" / "marketlens.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def worker_pids(self, host: str) -> list[int]:
        sup = self.supervisor(host)
        if sup is None:
            return []
        out = sh("pgrep", "-P", str(sup), check=False).stdout
        return [int(p) for p in out.split()]

    def kill_random_worker(self, hosts: list[str]) -> int | None:
        choices = [pid for h in hosts for pid in self.worker_pids(h)]
        if not choices:
            return None
        pid = random.choice(choices)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def start_balancer(self) -> None:
        prefix = self.dir / "lb"
        (prefix / "logs").mkdir(parents=True)
        tls = self.dir / "lb-tls"
        sh("bash", str(ROOT / "scripts/cert.sh"), str(tls))
        servers = "\n".join(f"        server {self.address[h]}:443 max_fails=1 fail_timeout=5s;" for h in self.app_hosts)
        text = (Path(__file__).parent / "balancer.conf.template").read_text()
        values = {"PREFIX": str(prefix), "SERVERS": servers, "CERT": str(tls / "cert.pem"), "KEY": str(tls / "key.pem")}
        text = re.sub(r"\$\{([A-Z]+)\}", lambda m: values[m.group(1)], text)
        (prefix / "nginx.conf").write_text(text)
        self.exec_in("lb", "nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                     "-e", str(prefix / "logs" / "error.log"))

    # ------------------------------------------------------------ whole cluster

    def up(self) -> None:
        self.build_network()
        self.log(f"cluster {self.tag}: network {SUBNET}.0/24 in namespaces {', '.join(self.ns(h) for h in self.hosts)}")
        self.start_db()
        self.start_sim()
        for host in self.app_hosts:
            self.start_app(host)
        self.start_balancer()
        self.url = f"https://{self.address['lb']}"
        self.log(f"cluster up: {len(self.app_hosts)} application hosts × {self.workers} workers behind {self.url}")

    def teardown(self) -> None:
        for host in reversed(self.made):
            for _ in range(3):
                if not self.kill_host(host):
                    break
                time.sleep(0.2)
        for host in reversed(self.made):
            sh("ip", "netns", "del", self.ns(host), check=False)
        left = [n for n in sh("ip", "netns", "list", check=False).stdout.split() if n.startswith(self.tag + "-")]
        if left:
            raise RuntimeError(f"network namespaces left behind: {', '.join(left)}")
        if os.environ.get("SOAK_KEEP_DIR") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            self.log(f"kept {self.dir}")
