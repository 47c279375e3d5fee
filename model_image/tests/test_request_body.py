"""Compressed request bodies: decoded for the application, held to the body limit after decompression."""

from __future__ import annotations

import gzip
import subprocess
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from starlette.testclient import TestClient

JSON_BODY = b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
ServerProcess = tuple["subprocess.Popen[bytes]", int]


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_compressed_bodies_are_decoded(client: TestClient, encoding: str, compress: Callable[[bytes], bytes]) -> None:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    response = client.post("/invocations", content=compress(JSON_BODY), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"][0]["label"] == "setosa"


@pytest.mark.parametrize(
    ("content", "encoding", "status", "words"),
    [
        (JSON_BODY, "br", 415, "use gzip, deflate, identity"),
        (b"not gzip at all", "gzip", 400, "cannot be decompressed"),
        (gzip.compress(JSON_BODY)[:-12], "gzip", 400, "ends before its compressed stream does"),
    ],
)
def test_bad_encodings_are_4xx(client: TestClient, content: bytes, encoding: str, status: int, words: str) -> None:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    response = client.post("/invocations", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def zeros_gzip(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzipped (about a thousandth of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(megabytes)) + compressor.flush()


def test_the_limit_counts_decompressed_bytes(client_with: Callable[..., AbstractContextManager[TestClient]]) -> None:
    bomb = zeros_gzip(4)
    assert len(bomb) < 10_000
    with client_with(max_body_bytes=100_000) as small:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        response = small.post("/invocations", content=bomb, headers=headers)
        assert response.status_code == 413
        assert "over 100000 bytes once decompressed" in response.json()["error"]


def peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def test_a_compressed_bomb_never_grows_the_server(start_server: Callable[..., ServerProcess]) -> None:
    """300 MB of zeros in a 300 KB body: the real server answers 413 and its peak memory barely moves."""
    bomb = zeros_gzip(300)
    process, port = start_server()
    before = peak_rss_kb(process.pid)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert peak_rss_kb(process.pid) - before < 40_000  # the 6 MB limit and a chunk, not 300 MB


def test_a_body_declared_too_large_is_refused_unread_and_the_connection_closed(
    client_with: Callable[..., AbstractContextManager[TestClient]],
) -> None:
    with client_with(max_body_bytes=100) as small:
        response = small.post(
            "/invocations", content=b"[" + b" " * 200 + b"]", headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert "202 bytes" in response.json()["error"]


def test_an_identity_content_encoding_is_read_as_is(client: TestClient) -> None:
    headers = {"content-type": "application/json", "content-encoding": "Identity"}
    assert client.post("/invocations", content=JSON_BODY, headers=headers).status_code == 200
