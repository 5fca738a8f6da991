"""What a download refuses: the worker's environment, unsafe redirects, oversized videos.

All over real HTTP on loopback. The one thing that cannot run here is a public video host:
an emulator on 127.0.0.2 plays it, and the test's address classifier calls that one address
public (every other address keeps its real class). That is the only stand-in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_bailian import download as download_module
from airflow_provider_bailian.download import (
    AddressClass,
    BailianDownloadError,
    address_class,
    download,
)
from airflow_provider_bailian.hooks.bailian import BailianHook
from tests.conftest import FAKE_KEY, all_logs, run_dag, ti_states

PUBLIC_STAND_IN = "127.0.0.2"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _finished(hook: BailianHook) -> str:
    task_id = hook.submit_text2video(model="wan2.6-t2v", prompt="p", size="1280*720").task_id
    hook.wait_for_task(task_id, poll_interval=0.05, timeout=10)
    return task_id


@pytest.fixture
def public(make_conn: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A video host the classifier takes for a public one (API and videos on 127.0.0.2)."""
    from airflow_provider_bailian.emulator import BailianEmulator

    real = download_module.address_class
    monkeypatch.setattr(
        download_module,
        "address_class",
        lambda a: AddressClass.PUBLIC if a == PUBLIC_STAND_IN else real(a),
    )
    with BailianEmulator(
        host=PUBLIC_STAND_IN, video_host=PUBLIC_STAND_IN, api_key=FAKE_KEY, task_seconds=0.2
    ) as emu:
        make_conn("public", emu.base_url)
        yield emu


@pytest.fixture
def public_hook(public: Any) -> Iterator[BailianHook]:
    hook = BailianHook("public")
    yield hook
    hook.close()


def test_address_classes() -> None:
    expected = {
        "8.8.8.8": AddressClass.PUBLIC,
        "2a00:1450:4001::1": AddressClass.PUBLIC,
        "10.1.2.3": AddressClass.PRIVATE,
        "192.168.0.9": AddressClass.PRIVATE,
        "100.64.0.1": AddressClass.PRIVATE,
        "fd12::1": AddressClass.PRIVATE,
        "127.0.0.1": AddressClass.LOCAL,
        "127.0.0.2": AddressClass.LOCAL,
        "::1": AddressClass.LOCAL,
        "::ffff:127.0.0.1": AddressClass.LOCAL,
        "169.254.169.254": AddressClass.LOCAL,
        "fe80::1%eth0": AddressClass.LOCAL,
        "0.0.0.0": AddressClass.LOCAL,
    }
    assert {a: address_class(a) for a in expected} == expected


def test_a_public_api_cannot_name_a_private_video_url(
    public: Any, public_hook: BailianHook, emulator: Any, tmp_path: Path
) -> None:
    """The API host is the first host of the chain: its video URL may not point inwards."""
    task_id = _finished(public_hook)
    public.configure(video_host="localhost")  # the answer now names a loopback video host
    url = public_hook.get_task(task_id).video_url
    assert url.startswith("http://localhost:")
    with pytest.raises(BailianDownloadError) as caught:
        public_hook.download_video(url=url, destination=str(tmp_path / "v.mp4"))
    assert "(named by http://127.0.0.2:" in str(caught.value)
    assert "going from a public host to a local address is refused" in str(caught.value)
    assert public.count("video") == 0
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "target",
    [
        "{internal}/videos/secret.mp4",
        "http://localhost:{port}/_emulator/requests",
        "http://[::1]:{port}/anything",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.20.30.40/internal",
    ],
)
def test_public_host_cannot_redirect_to_a_private_address(
    public: Any, public_hook: BailianHook, emulator: Any, tmp_path: Path, target: str
) -> None:
    """``emulator`` (127.0.0.1) is an internal service: it must never see a request."""
    task_id = _finished(public_hook)
    location = target.format(internal=emulator.base_url, port=emulator.port)
    public.add_fault("video", "redirect", location=location)
    folder = tmp_path / "videos"
    with pytest.raises(BailianDownloadError) as caught:
        public_hook.download_video(task_id, destination=str(folder / "v.mp4"))
    message = str(caught.value)
    assert "going from a public host to a" in message
    assert "is refused; nothing was downloaded" in message
    assert _leftovers(folder) == []
    assert emulator.requests == []
    assert public.count("video") == 1  # refused, not retried


def test_redirects_are_followed_within_a_class_up_to_five(
    public: Any, public_hook: BailianHook, tmp_path: Path
) -> None:
    task_id = _finished(public_hook)
    url = public_hook.get_task(task_id).video_url
    public.add_fault("video", "redirect", times=5, location=url, status=307)
    path = public_hook.download_video(url=url, destination=str(tmp_path / "ok.mp4"))
    assert Path(path).read_bytes()[4:8] == b"ftyp"
    assert public.count("video") == 6
    public.add_fault("video", "redirect", times=6, location=url)
    with pytest.raises(BailianDownloadError, match="more than 5 redirects"):
        public_hook.download_video(url=url, destination=str(tmp_path / "loop.mp4"))
    assert _leftovers(tmp_path) == ["ok.mp4"]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/video.mp4"])
def test_only_http_redirects_are_followed(
    hook: BailianHook, emulator: Any, tmp_path: Path, target: str
) -> None:
    task_id = _finished(hook)
    emulator.add_fault("video", "redirect", location=target)
    with pytest.raises(BailianDownloadError, match=r"only http\(s\) is followed"):
        hook.download_video(task_id, destination=str(tmp_path / "v.mp4"))
    assert _leftovers(tmp_path) == []


def test_only_http_urls_are_fetched(hook: BailianHook, tmp_path: Path) -> None:
    with pytest.raises(BailianDownloadError, match=r"only http\(s\) URLs are fetched"):
        hook.download_video(url="file:///etc/passwd", destination=str(tmp_path / "v.mp4"))
    assert _leftovers(tmp_path) == []


def test_the_worker_environment_is_never_sent(
    hook: BailianHook, emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``.netrc`` entry for the video host and a proxy variable: neither is used."""
    url = hook.get_task(_finished(hook)).video_url
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(
        "machine localhost login worker password netrc-secret\n"
        "machine 127.0.0.1 login worker password netrc-secret\n"
        "default login worker password netrc-secret\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    target = tmp_path / "v.mp4"
    hook.download_video(url=url, destination=str(target))
    assert target.read_bytes()[4:8] == b"ftyp"
    (video,) = [r for r in emulator.requests if r["route"] == "video"]
    assert video["auth_header"] is False
    assert "netrc-secret" not in str(video["headers"])


def test_a_video_over_the_connection_cap_leaves_nothing(
    emulator: Any, make_conn: Any, tmp_path: Path
) -> None:
    emulator.configure(video_bytes=3 * 1024 * 1024)
    make_conn("capped", emulator.base_url, max_download_bytes=1024 * 1024)
    hook = BailianHook("capped")
    task_id = _finished(hook)
    folder = tmp_path / "videos"
    with pytest.raises(BailianDownloadError) as caught:
        hook.download_video(task_id, destination=str(folder / "v.mp4"))
    assert "larger than max_download_bytes=1048576" in str(caught.value)
    assert "by its Content-Length" in str(caught.value)
    assert "nothing was kept" in str(caught.value)
    assert _leftovers(folder) == []
    assert emulator.count("video") == 1  # a cap is final: not retried
    # The caller's cap wins over the connection's.
    path = hook.download_video(task_id, destination=str(folder / "v.mp4"), max_bytes=4 << 20)
    assert Path(path).stat().st_size == 3 * 1024 * 1024


class _Unsized(BaseHTTPRequestHandler):
    """A video host that streams without a Content-Length (chunked): only counting can stop it."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"\0" * 65536
        try:
            for _ in range(64):  # 4 MiB
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client gave up: that is the point

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_unsized_stream_is_cut_at_the_cap(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unsized)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook = BailianHook()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v.mp4"
        with pytest.raises(BailianDownloadError, match="while streaming"):
            download(hook._download_session, url, str(tmp_path / "v.mp4"), max_bytes=1 << 20)
        assert _leftovers(tmp_path) == []
        done = download(hook._download_session, url, str(tmp_path / "v.mp4"), max_bytes=8 << 20)
        assert done.size == 4 << 20
    finally:
        hook.close()
        server.shutdown()
        server.server_close()


def test_the_operator_cap_fails_the_task_and_keeps_nothing(
    emulator: Any, make_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    folder = tmp_path / "videos"
    monkeypatch.setenv("BAILIAN_TEST_VIDEO_DIR", str(folder))
    make_conn("bailian_dag", emulator.base_url)
    dag_run = run_dag("bailian_guard_dags.py", "bailian_t_download_cap")
    assert ti_states(dag_run) == {"generate": "failed"}
    out = capfd.readouterr()
    text = all_logs() + out.out + out.err
    assert "larger than max_download_bytes=2048" in text
    assert _leftovers(folder) == []
    assert emulator.count("submit") == 1
