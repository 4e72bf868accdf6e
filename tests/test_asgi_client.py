"""``OneCallTestClient`` answers as Starlette's ``TestClient`` does, and really is the one answering."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from tests.support.asgi_client import OneCallTestClient, OneCallTransport


class Boom(Exception):
    pass


async def echo(request: Request) -> Response:
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "host": request.headers["host"],
            "scheme": request.url.scheme,
            "server": list(request.scope["server"]),
            "client": list(request.scope["client"] or ()),
            "cookies": request.cookies,
            "body": (await request.body()).decode(),
            "headers": request.headers.getlist("x-many"),
            "state": request.state.flavour,
        }
    )


async def cookies(_: Request) -> Response:
    response = PlainTextResponse("set")
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", httponly=True)
    return response


async def streamed(_: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"one,", b"two,", b"three"):
            yield chunk

    return StreamingResponse(chunks(), media_type="text/plain")


async def fails(_: Request) -> Response:
    raise Boom("the handler failed")


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"hello {await websocket.receive_text()}")
    await websocket.close()


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[dict[str, str]]:
    yield {"flavour": "from the lifespan"}  # the state every request's scope gets a copy of


APP = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "HEAD", "PUT"]),
        Route("/cookies", cookies),
        Route("/stream", streamed),
        Route("/fails", fails),
        Route("/away", lambda _: RedirectResponse("/echo/arrived?via=redirect", status_code=303)),
        WebSocketRoute("/ws", socket),
    ],
    lifespan=lifespan,
)

REQUESTS = [
    ("GET", "/echo/a%20b/c?x=1&y=%C3%A9", {}),
    ("POST", "/echo/form", {"data": {"name": "Ada", "city": "London"}}),
    ("PUT", "/echo/json", {"json": {"n": [1, 2, 3]}, "headers": [("X-Many", "1"), ("X-Many", "2")]}),
    ("HEAD", "/echo/head", {}),
    ("GET", "/cookies", {}),
    ("GET", "/stream", {}),
    ("GET", "/away", {}),
    ("GET", "/nowhere", {}),
    ("POST", "/cookies", {}),
]


def one_call(client: OneCallTestClient) -> OneCallTransport:
    """The client's one-call transport; an httpx2 whose client has no ``_transport`` fails here."""
    assert client.one_call is not None, "this httpx2 has no Client._transport: requests go Starlette's slow way"
    return client.one_call


@pytest.fixture(scope="module", params=["http://testserver", "https://shop.example"])
def clients(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, OneCallTestClient]]:
    with TestClient(APP, base_url=request.param) as theirs, OneCallTestClient(APP, base_url=request.param) as ours:
        yield theirs, ours


@pytest.mark.parametrize(("method", "url", "kwargs"), REQUESTS, ids=[f"{m} {u}" for m, u, _ in REQUESTS])
def test_every_request_is_answered_as_starlettes_client_answers_it(
    clients: tuple[TestClient, OneCallTestClient], method: str, url: str, kwargs: dict[str, object]
) -> None:
    theirs, ours = clients
    ours.cookies.set("seen", "yes")
    theirs.cookies.set("seen", "yes")
    handled = one_call(ours).handled

    expected = theirs.request(method, url, **kwargs)  # type: ignore[arg-type]
    got = ours.request(method, url, **kwargs)  # type: ignore[arg-type]

    assert one_call(ours).handled > handled  # through the one-call transport, not around it
    assert (got.status_code, str(got.url), got.content) == (expected.status_code, str(expected.url), expected.content)
    assert got.headers.multi_items() == expected.headers.multi_items()
    assert dict(ours.cookies) == dict(theirs.cookies)
    assert [r.status_code for r in got.history] == [r.status_code for r in expected.history]


def test_a_failing_handler_raises_in_the_test_as_it_does_with_starlettes_client(
    clients: tuple[TestClient, OneCallTestClient],
) -> None:
    for client in clients:
        with pytest.raises(Boom, match="the handler failed"):
            client.get("/fails")


def test_websockets_go_through_starlettes_own_transport(clients: tuple[TestClient, OneCallTestClient]) -> None:
    _, ours = clients
    handled = one_call(ours).handled

    with ours.websocket_connect("/ws") as websocket:
        websocket.send_text("there")
        assert websocket.receive_text() == "hello there"
    assert one_call(ours).handled == handled


def test_outside_its_block_a_request_still_works_without_the_loop_it_would_share() -> None:
    client = OneCallTestClient(Starlette(routes=[Route("/", lambda _: PlainTextResponse("plain"))]))

    assert client.get("/").text == "plain"
    assert one_call(client).handled == 0
