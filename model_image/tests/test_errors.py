"""Each typed request error has exactly one HTTP status, and every one the server raises is mapped."""

from __future__ import annotations

from model_server import errors


def request_error_types() -> list[type[errors.RequestError]]:
    return [
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, errors.RequestError) and kind is not errors.RequestError
    ]


def test_every_request_error_type_has_its_own_status() -> None:
    kinds = request_error_types()
    assert set(kinds) == set(errors.HTTP_STATUS)
    statuses = [errors.http_status(kind("x")) for kind in kinds]
    assert len(set(statuses)) == len(statuses)
    assert all(400 <= status < 500 or status == 503 for status in statuses)


def test_a_subclass_answers_with_its_parent_status_and_the_bare_base_is_a_bug() -> None:
    class NegativeRowsError(errors.InvalidRequestError):
        pass

    assert errors.http_status(NegativeRowsError("x")) == 400
    assert errors.http_status(errors.RequestError("x")) == 500
