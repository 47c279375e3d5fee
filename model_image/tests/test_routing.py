"""Routing without a framework: exact and templated paths, HEAD as GET without a body, 404 and 405."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from starlette.testclient import TestClient

from model_server.dataplane import DataPlane, Reply
from model_server.routing import REMEMBERED_PATHS, Endpoint, Route, Router


def endpoint(text: str) -> Endpoint:
    async def answer(plane: DataPlane, params: Mapping[str, str], headers: Mapping[bytes, bytes], body: bytes) -> Reply:
        return Reply(text.encode())

    return answer


ROUTER = Router(
    [
        Route("GET", "/v2", endpoint("server")),
        Route("GET", "/v2/models/{model_name}", endpoint("model")),
        Route("POST", "/v2/models/{model_name}/versions/{model_version}/infer", endpoint("infer")),
        Route("GET", "/v2/models/{model_name}/versions/{model_version}/infer", endpoint("get")),
    ]
)


def test_exact_and_templated_paths_with_their_parameters() -> None:
    exact = ROUTER.match("/v2")
    assert exact is not None and exact.params == {}
    templated = ROUTER.match("/v2/models/iris/versions/1.0.0/infer")
    assert templated is not None
    assert templated.params == {"model_name": "iris", "model_version": "1.0.0"}
    assert set(templated.methods) == {"POST", "GET"}


def test_templated_matches_are_remembered_read_only_and_bounded() -> None:
    router = Router([Route("POST", "/v2/models/{model_name}/infer", endpoint("infer"))])
    first = router.match("/v2/models/iris/infer")
    assert first is not None and router.match("/v2/models/iris/infer") is first  # the second time: one lookup
    with pytest.raises(TypeError):
        first.params["model_name"] = "other"  # type: ignore[index]
    for number in range(REMEMBERED_PATHS + 10):  # clients choose paths: memory stays bounded
        match = router.match(f"/v2/models/m{number}/infer")
        assert match is not None and match.params == {"model_name": f"m{number}"}
    assert len(router._remembered) == REMEMBERED_PATHS
    late = router.match(f"/v2/models/m{REMEMBERED_PATHS + 5}/infer")
    assert late is not None and late.params == {"model_name": f"m{REMEMBERED_PATHS + 5}"}


@pytest.mark.parametrize("path", ["/v2/", "/v2/models", "/v2/models//versions/1/infer", "/v2/models/iris/x", "/"])
def test_paths_no_route_has_do_not_match(path: str) -> None:
    assert ROUTER.match(path) is None


def test_head_is_answered_by_get_and_listed_with_it() -> None:
    match = ROUTER.match("/v2/models/iris")
    assert match is not None
    assert match.endpoint("HEAD") is match.endpoint("GET") is not None
    assert match.endpoint("POST") is None
    assert match.allowed() == "GET, HEAD"


def test_head_gets_the_headers_of_the_get_answer_without_its_body(client: TestClient) -> None:
    get, head = client.get("/ping"), client.head("/ping")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == "application/json"


def test_trailing_slashes_and_unknown_methods(client: TestClient) -> None:
    assert client.get("/ping/").status_code == 404
    response = client.request("OPTIONS", "/invocations")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
