"""Hostile programs in the real sandbox: each must be contained, reported, and survivable.

Every test ends with the ``healthy`` check: the same sandbox still runs ``python3 -c "print(1)"``.
The network tests only ever talk to a listener this test starts on this machine's Docker
bridge address; nothing here contacts any other host.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import struct
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devteam.sandbox.base import EXIT_TIMEOUT
from devteam.sandbox.docker_backend import BASE_ENV, INIT_USER
from tests.guards import missing

pytestmark = [pytest.mark.docker, pytest.mark.security]

INIT_UID = int(INIT_USER.split(":")[0])


def leftover(sb: Any) -> list[tuple[int, int, str]]:
    """Processes in the container other than its init."""
    return [p for p in sb.processes() if p[1] != INIT_UID]


def assert_clean(sb: Any) -> None:
    deadline = time.monotonic() + 5
    while leftover(sb) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover(sb) == [], "processes of a finished command are still alive"


def py(code: str) -> list[str]:
    return ["python3", "-c", code]


# ---------------------------------------------------------------------------- network
def bridge_gateway_ip() -> str | None:
    """IPv4 address of docker0 on this machine, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", b"docker0"))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


@pytest.fixture
def bridge_listener() -> Iterator[tuple[str, int, list[str]]]:
    """A TCP listener on the Docker bridge gateway; yields (ip, port, list of accepted peers)."""
    ip = bridge_gateway_ip()
    if ip is None:
        missing("no docker0 bridge on this machine (the Docker engine makes it by default)")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ip, 0))
    srv.listen(5)
    srv.settimeout(0.2)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = srv.accept()
            except (TimeoutError, OSError):
                continue
            accepted.append(peer[0])
            conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    yield ip, srv.getsockname()[1], accepted
    stop.set()
    th.join(2)
    srv.close()


def test_only_loopback_interface(healthy: Any) -> None:
    res = healthy.exec("ls /sys/class/net; echo ---; tail -n +3 /proc/net/dev | cut -d: -f1")
    assert res.ok, res
    ifaces, devs = res.stdout.split("---")
    assert ifaces.split() == ["lo"]
    assert devs.split() == ["lo"]


def test_tcp_to_host_bridge_is_blocked(
    healthy: Any, bridge_listener: tuple[str, int, list[str]]
) -> None:
    ip, port, accepted = bridge_listener
    # the listener is reachable from the host itself: the probe is a real target
    with socket.create_connection((ip, port), timeout=2):
        pass
    time.sleep(0.3)
    assert accepted, "control connection from the host was not accepted"
    accepted.clear()
    res = healthy.exec(
        py(
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(({ip!r}, {port}), timeout=3)\n"
            "    print('CONNECTED')\n"
            "except OSError as e:\n"
            "    print('BLOCKED', e.errno, e)\n"
        ),
        timeout_s=20,
    )
    assert "BLOCKED" in res.stdout and "CONNECTED" not in res.stdout, res
    assert "unreachable" in res.stdout.lower()
    time.sleep(0.3)
    assert accepted == []


@pytest.fixture
def dns_server() -> Iterator[tuple[str, int, list[str]]]:
    """A DNS server on the Docker bridge gateway that answers every A query with 10.9.8.7;
    yields (ip, port, list of the peers that asked)."""
    ip = bridge_gateway_ip()
    if ip is None:
        missing("no docker0 bridge on this machine (the Docker engine makes it by default)")
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind((ip, 0))
    srv.settimeout(0.2)
    asked: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = srv.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            asked.append(peer[0])
            end = query.index(b"\0", 12) + 5  # the question: name, type, class
            answer = b"\xc0\x0c\0\x01\0\x01\0\0\0\x3c\0\x04" + bytes([10, 9, 8, 7])
            srv.sendto(query[:2] + b"\x81\x80\0\x01\0\x01\0\0\0\0" + query[12:end] + answer, peer)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    yield ip, srv.getsockname()[1], asked
    stop.set()
    th.join(2)
    srv.close()


def dns_query(ip: str, port: int) -> list[str]:
    """A program that asks ip:port for devteam-probe.test and prints what came back."""
    return py(
        "import socket, struct\n"
        "q = struct.pack('>HHHHHH', 0x1234, 0x100, 1, 0, 0, 0)"
        " + b'\\x0edevteam-probe\\x04test\\x00' + struct.pack('>HH', 1, 1)\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.settimeout(3)\n"
        "try:\n"
        f"    s.sendto(q, ({ip!r}, {port}))\n"
        "    print('ANSWER', '.'.join(map(str, s.recv(512)[-4:])))\n"
        "except OSError as e:\n"
        "    print('BLOCKED', e)\n"
        "try:\n"
        "    print('RESOLVED', socket.getaddrinfo('example.com', 80))\n"
        "except OSError as e:\n"
        "    print('NO-DNS', e)\n"
    )


def test_dns_is_blocked_though_a_server_answers_a_networked_container(
    healthy: Any,
    sandbox_settings: Any,
    docker_client: Any,
    dns_server: tuple[str, int, list[str]],
) -> None:
    from devteam.sandbox.docker_backend import DockerSandbox

    ip, port, asked = dns_server
    # control: a container WITH network (the opt-in) gets an answer from this server
    networked = sandbox_settings.model_copy(update={"network": True})
    with DockerSandbox(networked, client=docker_client) as open_sb:
        control = open_sb.exec(dns_query(ip, port), timeout_s=30)
    assert "ANSWER 10.9.8.7" in control.stdout, control
    assert asked, "the control query never reached the server"
    asked.clear()
    # the sandbox as configured: the query never leaves it, and names do not resolve
    res = healthy.exec(dns_query(ip, port), timeout_s=30)
    assert "BLOCKED" in res.stdout and "ANSWER" not in res.stdout, res
    assert "NO-DNS" in res.stdout and "RESOLVED" not in res.stdout, res
    time.sleep(0.3)
    assert asked == []


# ---------------------------------------------------------------------------- host data
def test_host_files_invisible(healthy: Any, tmp_path: Path) -> None:
    token = secrets.token_hex(16)
    marker = tmp_path / "host-marker.txt"
    marker.write_text(token)
    home_secret = Path.home()
    res = healthy.exec(
        f"cat {marker} 2>&1; ls {tmp_path} 2>&1; ls {home_secret} 2>&1;"
        f" grep -rs {token} /workspace /tmp /etc /home /root 2>/dev/null; echo done"
    )
    assert token not in res.stdout
    assert "No such file" in res.stdout
    assert res.stdout.rstrip().endswith("done")


def test_host_environment_invisible(healthy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = secrets.token_hex(16)
    monkeypatch.setenv("DEVTEAM_TEST_SECRET", token)
    monkeypatch.setenv("OPENAI_API_KEY", token)
    res = healthy.exec("env; cat /proc/1/environ 2>&1; cat /proc/*/environ 2>/dev/null")
    assert token not in res.stdout + res.stderr
    names = {line.split("=", 1)[0] for line in res.stdout.splitlines() if "=" in line}
    allowed = set(BASE_ENV) | {"HOSTNAME", "PWD", "SHLVL", "_", "OLDPWD"}
    assert {n for n in names if n.isidentifier() and n.isupper()} <= allowed, names


def test_host_environment_set_before_the_container_exists_is_invisible(
    sandbox_settings: Any, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets in devteam's own environment when the container is made never reach it."""
    from devteam.sandbox.docker_backend import DockerSandbox

    token = secrets.token_hex(16)
    for name in ("DEVTEAM_TEST_SECRET", "OPENAI_API_KEY", "DEVTEAM_API_KEY", "AWS_SECRET_KEY"):
        monkeypatch.setenv(name, token)
    with DockerSandbox(sandbox_settings, client=docker_client) as sb:
        res = sb.exec("env; cat /proc/1/environ; cat /proc/*/environ 2>/dev/null; echo done")
        config = docker_client.containers.get(sb.container_id).attrs["Config"]
    assert res.stdout.rstrip().endswith("done"), res
    assert token not in res.stdout + res.stderr
    assert not any(token in e for e in config["Env"])  # not in the container's definition
    names = {e.split("=", 1)[0] for e in config["Env"]}
    assert names <= set(BASE_ENV) | {"PATH", "LANG"}, names


# ---------------------------------------------------------------------------- resources
def test_cpu_quota_is_set_and_enforced(sandbox_settings: Any, docker_client: Any) -> None:
    """cpus=0.5: the cgroup says so, and two busy processes get about half a CPU between them."""
    from devteam.sandbox.docker_backend import DockerSandbox

    half = sandbox_settings.model_copy(update={"cpus": 0.5})
    with DockerSandbox(half, client=docker_client) as sb:
        quota = sb.exec(
            "cat /sys/fs/cgroup/cpu.max 2>/dev/null || "  # cgroup v2, else v1
            "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
        )
        spin = sb.exec(
            py(
                "import os, time\n"
                "t0 = time.monotonic()\n"
                "kids = []\n"
                "for _ in range(2):\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        while time.monotonic() - t0 < 2: pass\n"
                "        os._exit(0)\n"
                "    kids.append(pid)\n"
                "for k in kids: os.waitpid(k, 0)\n"
                "wall = time.monotonic() - t0\n"
                "cpu = os.times().children_user + os.times().children_system\n"
                "print(f'{cpu / wall:.2f}')\n"
            ),
            timeout_s=30,
        )
    allowed, period = (int(x) for x in quota.stdout.split())
    assert allowed / period == 0.5, quota
    assert spin.ok, spin
    assert float(spin.stdout) < 0.7, f"two spinning processes used {spin.stdout.strip()} CPUs"


def test_open_files_are_capped(healthy: Any) -> None:
    res = healthy.exec(
        py(
            "import resource\n"
            "print(resource.getrlimit(resource.RLIMIT_NOFILE))\n"
            "files = []\n"
            "try:\n"
            "    while len(files) < 5000:\n"
            "        files.append(open('/dev/null'))\n"
            "    print('OPENED', len(files))\n"
            "except OSError as e:\n"
            "    print('CAPPED', len(files), e.errno)\n"
            "try:\n"
            "    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))\n"
            "    print('RAISED')\n"
            "except (ValueError, OSError) as e:\n"
            "    print('KEPT')\n"
        ),
        timeout_s=30,
    )
    lines = res.stdout.split("\n")
    assert lines[0] == "(1024, 1024)", res
    capped = lines[1].split()
    assert capped[0] == "CAPPED" and 1000 <= int(capped[1]) < 1024 and capped[2] == "24", res
    assert lines[2] == "KEPT", res  # the hard cap cannot be raised from inside


def test_fork_bomb_contained_and_reported(healthy: Any) -> None:
    # the command stays alive while the bomb grows, so the bomb meets the cap, not the cleanup
    res = healthy.exec("bomb() { bomb | bomb & }; bomb; sleep 3", timeout_s=10)
    assert res.pids_limit_hit, res
    # a sustained one that retries until the wall clock stops it
    res = healthy.exec(
        py(
            "import os, time\n"
            "while True:\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(1000)\n"
            "    except OSError:\n"
            "        pass\n"
        ),
        timeout_s=3,
    )
    assert res.timed_out and res.pids_limit_hit and res.duration_s < 10, res
    assert subprocess.run(["true"], check=False).returncode == 0  # the host can still fork
    assert_clean(healthy)


def test_memory_bomb_reported_as_oom(healthy: Any) -> None:
    bomb = py("x = []\nwhile True:\n    x.append(bytearray(16 * 1024 * 1024))")
    res = healthy.exec(bomb, timeout_s=60)
    assert res.oom_killed and not res.timed_out and res.verdict() == "killed: out of memory", res
    assert res.exit_code == 137


def test_oom_seen_without_host_cgroup_access(healthy: Any) -> None:
    """Where the host cannot read the container's cgroup, the counter is read from inside."""
    saved = healthy._limits.host_files
    healthy._limits.host_files = None
    try:
        res = healthy.exec(py("x = bytearray(2 * 1024**3)"), timeout_s=60)
        # one allocation bigger than the cap: either refused (MemoryError) or OOM-killed
        assert res.oom_killed or "MemoryError" in res.stderr, res
        res = healthy.exec(py("x = []\nwhile True:\n    x.append(bytearray(16 * 1024**2))"))
        assert res.oom_killed, res
    finally:
        healthy._limits.host_files = saved


def test_cpu_spin_with_children_killed_at_timeout(healthy: Any) -> None:
    t0 = time.monotonic()
    res = healthy.exec(
        "yes > /dev/null & (sh -c 'while :; do :; done' &) ; python3 -c 'while True: pass'",
        timeout_s=2,
    )
    assert res.timed_out and res.exit_code == EXIT_TIMEOUT and res.verdict() == "timed out"
    assert time.monotonic() - t0 < 8
    assert_clean(healthy)


def test_disk_fill_capped(healthy: Any) -> None:
    host_free = shutil.disk_usage("/").free
    res = healthy.exec(
        "dd if=/dev/zero of=/workspace/fill bs=1M count=2000 2>&1; "
        "dd if=/dev/zero of=/tmp/fill bs=1M count=2000 2>&1; "
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=2000 2>&1; "
        "df -k /workspace /tmp | tail -n +2; rm -f /workspace/fill /tmp/fill /dev/shm/fill",
        timeout_s=60,
    )
    assert res.stdout.count("No space left on device") == 3, res
    sizes = [int(line.split()[1]) for line in res.stdout.splitlines() if line.startswith("tmpfs")]
    assert sizes and max(sizes) <= 256 * 1024
    assert not res.oom_killed
    assert abs(shutil.disk_usage("/").free - host_free) < 100 * 1024 * 1024


def test_huge_output_capped_streaming(healthy: Any) -> None:
    limit = healthy.settings.output_limit
    tracemalloc.start()
    res = healthy.exec(
        "head -c 100000000 /dev/zero | tr '\\0' a; echo; echo THE-END", timeout_s=120
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert res.ok and res.output_truncated
    assert res.stdout.startswith("a" * 1000)
    assert res.stdout.rstrip().endswith("THE-END")
    assert "bytes cut by devteam sandbox" in res.stdout
    assert len(res.stdout.encode()) < limit + 200
    assert peak < 8 * 1024 * 1024, f"peak python memory {peak} bytes while reading 100 MB"


# ---------------------------------------------------------------------------- escaping
def test_root_filesystem_read_only(healthy: Any) -> None:
    res = healthy.exec(
        "for f in /etc/evil /usr/evil /evil /var/evil /usr/bin/python3; do "
        "(echo x > $f) 2>&1; done; echo x > /workspace/ok && echo ws-ok"
    )
    assert res.stdout.count("Read-only file system") == 5, res
    assert "ws-ok" in res.stdout


def test_no_privilege_escalation(healthy: Any) -> None:
    res = healthy.exec(
        "id -u; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status; "
        "su -c id root </dev/null 2>&1; sudo id 2>&1; "
        "python3 -c 'import os; os.setuid(0)' 2>&1 | tail -1; "
        "find / -xdev -perm -4000 -type f 2>/dev/null | while read f; do $f --version "
        ">/dev/null 2>&1; done; id -u"
    )
    lines = res.stdout.splitlines()
    assert lines[0] == "1000" and lines[-1] == "1000"
    status = dict(line.split(":\t") for line in lines if line.startswith(("Cap", "NoNew")))
    assert status["CapEff"] == status["CapPrm"] == status["CapBnd"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"
    assert "uid=0" not in res.stdout
    assert "PermissionError" in res.stdout


def test_no_docker_socket(healthy: Any) -> None:
    res = healthy.exec(
        "ls -la /var/run/docker.sock /run/docker.sock 2>&1; grep -c docker.sock /proc/mounts; "
        "find / -xdev -name 'docker.sock' 2>/dev/null | wc -l"
    )
    assert res.stdout.count("No such file or directory") == 2
    assert res.stdout.split()[-2:] == ["0", "0"], res


def _host_has_sleep(token: str) -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):
                if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return True
    return False


def test_background_processes_killed_when_command_ends(healthy: Any) -> None:
    res = healthy.exec("nohup sleep 1001 >/dev/null 2>&1 & sleep 1002 & echo started")
    assert res.ok and res.stdout == "started\n" and res.duration_s < 5
    assert_clean(healthy)
    # double fork + setsid: a classic daemon
    res = healthy.exec(
        py(
            "import os, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(1003)\n"
            "    os._exit(0)\n"
            "print('parent done')\n"
        )
    )
    assert res.ok and res.duration_s < 5
    assert_clean(healthy)
    assert not _host_has_sleep("1003")


def test_command_that_kills_its_supervisor(healthy: Any) -> None:
    """kill -9 -1 from inside takes the supervisor down; the host still cleans up."""
    res = healthy.exec(
        py(
            "import os, signal, subprocess\n"
            "os.kill(-1, signal.SIGKILL)\n"  # everything of this user except itself
            "subprocess.Popen(['sleep', '1004'], start_new_session=True)\n"
            "print('survived')\n"
        ),
        timeout_s=30,
    )
    assert res.duration_s < 10, res
    assert_clean(healthy)
