"""The validators run offline: EPUBCheck, Ace and the reading check send nothing off the machine (strace)."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bookbuild import validate
from bookbuild.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "mini-book"
spec = importlib.util.spec_from_file_location("netwatch", ROOT / "scripts" / "netwatch.py")
netwatch = importlib.util.module_from_spec(spec)
sys.modules["netwatch"] = netwatch  # dataclasses look their module up
spec.loader.exec_module(netwatch)

# Lines of `strace -f -yy` as Chromium wrote them here: a DNS query for accounts.google.com
# (issue 15, case 7), one whose socket strace shows by its local end only (the peer is the
# one connect() named), and the IPv6 route probe, which sends nothing.
BEFORE = r'''28885 connect(18<UDP:[1077001]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0
28885 sendmmsg(18<UDP:[10.0.0.7:40969->10.255.255.53:53]>, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="\x9b\x1a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x08accounts\x06google\x03com\x00", iov_len=34}]}}], 1, MSG_NOSIGNAL) = 1
11852 connect(26<UDP:[0.0.0.0:25479]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16 <unfinished ...>
11852 sendto(26<UDP:[0.0.0.0:25479]>, "3\20\1\0\0\1\0\0\0\0\0\0\6google\3com\0\0\1\0\1", 28, 0, NULL, 0) = 28
28775 connect(21<TCP:[1077002]>, {sa_family=AF_INET, sin_port=htons(43097), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
28885 connect(19<UDPv6:[1077003]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), sin6_scope_id=0}, 28) = 0
28886 connect(20<TCP:[1077004]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("142.250.1.84")}, 16) = -1 EINPROGRESS
'''


def test_netwatch_counts_what_would_leave_and_not_loopback_or_route_probes():
    use = netwatch.parse(BEFORE)
    assert use.left[("dns", "10.255.255.53", "53")] == 1 and use.left[("dns", "8.8.8.8", "53")] == 1
    assert use.left[("tcp", "142.250.1.84", "443")] == 1 and sum(use.left.values()) == 3
    assert use.probes[("udp", "2001:4860:4860::8888", "443")] == 1


@pytest.fixture(scope="module")
def fixture_epub(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("offline") / "book.epub"
    assert main(["-q", "epub", "--book", str(FIXTURE / "book"), "-o", str(out)]) == 0
    return out


def test_the_validators_send_nothing_off_the_machine(fixture_epub, tmp_path):
    """Every validator of `make check` (three EPUBChecks, Ace, the reading check, calibre's AZW3
    round trip) on a small book under strace: no DNS query, no connection or datagram beyond
    loopback."""
    for tool in ("strace", "node", "java", "chromium", "calibre-debug"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed: run scripts/install-validators.sh")
    proc, use = netwatch.traced([sys.executable, "-m", "bookbuild.validate", str(fixture_epub),
                                 "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert (tmp_path / "ace" / "report.json").is_file(), proc.stderr
    assert (tmp_path / "epubcheck" / "epubcheck-4.0.1.json").is_file(), proc.stderr
    assert list((tmp_path / "proof" / "reading").glob("*.png")), proc.stderr
    assert (tmp_path / "kindle" / "book.azw3").is_file(), proc.stderr
    assert use.dns() == 0 and not use.left, use.lines()
    # What is left is Chromium's IPv6 route probe: a UDP socket connected, nothing sent on it.
    assert {(addr, port) for _, addr, port in use.probes} <= {("2001:4860:4860::8888", "443")}, use.lines()


def broken_chromium(tmp_path: Path) -> Path:
    """Debian's launcher with its browser gone (the package half removed): the script on
    PATH still exists, the program it starts does not."""
    launcher = Path(shutil.which("chromium") or pytest.skip("chromium is not installed"))
    text = launcher.read_text(encoding="utf-8", errors="replace")
    if "LIBDIR=" not in text:
        pytest.skip("chromium on PATH is not Debian's launcher script")
    broken = tmp_path / "chromium"
    broken.write_text(text.replace("LIBDIR=/usr/lib/$APPNAME", f"LIBDIR={tmp_path}/gone"), encoding="utf-8")
    broken.chmod(0o755)
    return broken


def test_a_missing_browser_is_named_with_the_command_that_installs_it(fixture_epub, tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM_BIN", str(broken_chromium(tmp_path)))
    with pytest.raises(validate.ValidatorMissing) as ace:
        validate.run_ace(fixture_epub, tmp_path / "ace")
    assert "Ace needs Chromium" in str(ace.value) and "does not start" in str(ace.value)
    assert "apt-get install -y --reinstall --no-install-recommends chromium" in str(ace.value)
    monkeypatch.delenv("CHROMIUM_BIN")
    monkeypatch.setenv("PATH", str(Path(shutil.which("node")).parent.parent / "nonexistent"))
    monkeypatch.delenv("PUPPETEER_EXECUTABLE_PATH", raising=False)
    monkeypatch.delenv("CHROMIUM", raising=False)
    with pytest.raises(validate.ValidatorMissing) as none:
        validate.offline_chromium_env("Ace")
    assert f"`{validate.CHROMIUM_INSTALL}`" in str(none.value) and "no `chromium` on PATH" in str(none.value)


def test_ace_waits_for_a_slow_browser_and_says_why_it_failed(fixture_epub, tmp_path, monkeypatch):
    """Ace gives Chromium 5 s to start unless told otherwise; a CI run on a loaded machine
    failed there with only "Re-run Ace using the --verbose option". run_ace gives it two
    minutes, and when Ace fails all the same its own log's reason reaches the message."""
    if not shutil.which("chromium") or not shutil.which("node"):
        pytest.skip("chromium or node is not installed: run scripts/install-validators.sh")
    slow = tmp_path / "slow-chromium"
    slow.write_text(f"#!/bin/sh\nsleep 7\nexec {shutil.which('chromium')} \"$@\"\n", encoding="utf-8")
    slow.chmod(0o755)
    monkeypatch.setenv("CHROMIUM_BIN", str(slow))
    monkeypatch.delenv("ACE_TIMEOUT_INITIAL", raising=False)
    assert validate.run_ace(fixture_epub, tmp_path / "ace").counts  # Ace ran and reported
    monkeypatch.setenv("ACE_TIMEOUT_INITIAL", "500")
    with pytest.raises(RuntimeError) as failed:
        validate.run_ace(fixture_epub, tmp_path / "ace")
    assert "Ace's log: error" in str(failed.value) and "Timed out after 500 ms" in str(failed.value)
    assert not [p.name for p in (tmp_path / "ace").iterdir() if p.name.startswith(".ace-")]  # run folders go


def test_a_page_that_asks_for_a_remote_image_sends_no_dns_query(tmp_path):
    """Through the wrapper, a remote image in a local page is not looked up: no DNS query
    leaves (Debian's chromium alone sent 36 DNS queries for this page). A failed page load itself would
    start Chromium's DNS probe (a google.com query to 8.8.8.8, beyond any flag), which is why
    Ace and the reading check refuse every http(s) request before it starts."""
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><p>Remote: <img src="http://example.com/pixel.png"></p>', encoding="utf-8")
    env = validate.offline_chromium_env("test")
    proc, use = netwatch.traced([str(validate.OFFLINE_CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                                 f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                                capture_output=True, text=True, timeout=120, env=env)
    assert "pixel.png" in proc.stdout, proc.stderr[-800:]
    assert use.dns() == 0 and not use.left, use.lines()
