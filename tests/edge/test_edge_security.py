"""Every refusal of the edge worker, on real workerd: missing or wrong API key (401), an origin
off the allowlist (403, preflight included), oversize bodies (413, declared or streamed),
malformed JSON and wrong types (400 naming the field), unknown routes (404), wrong methods
(405), per-key rate limits (429 + Retry-After); error bodies never carry a stack trace and the
request log (one JSON object per line) never carries a key."""

import http.client
import json
import re
import time

import pytest

from build_tools.edge_build import EdgeSettings, hash_key
from build_tools.errors import BuildError
from tests.edge.conftest import ALLOWED_ORIGIN, MAX_BODY, Edge, Reply

JSON = {"content-type": "application/json"}


def error(reply: Reply, status: int, code: str, field: str | None = None) -> None:
    assert reply.status == status, reply.raw
    assert reply.headers["content-type"].startswith("application/json")
    expected = {"code", "message"} | ({"field"} if field else set())
    doc = reply.json
    assert set(doc) == {"error"}, doc
    assert set(doc["error"]) == expected, doc
    assert doc["error"]["code"] == code
    if field is not None:
        assert doc["error"]["field"] == field
    assert not re.search(r"\.js:\d|\bat \w+ \(|Error:", doc["error"]["message"]), doc


def test_a_key_is_required(edge: Edge) -> None:
    reply = edge.post("/v1/tokenize", {"text": "hi"}, key=None)
    error(reply, 401, "unauthorized")
    assert reply.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        {"authorization": "Bearer gea_not-a-valid-key"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer"},
        {"x-api-key": ""},
        {"x-api-key": "x" * 10_000},
    ],
)
def test_wrong_keys_are_refused(edge: Edge, header: dict[str, str]) -> None:
    reply = edge.request("POST", "/v1/tokenize", b'{"text": "hi"}', {**JSON, **header})
    error(reply, 401, "unauthorized")


def test_the_hash_of_a_key_is_not_a_key(edge: Edge) -> None:
    error(edge.post("/v1/tokenize", {"text": "hi"}, key=hash_key(edge.key)), 401, "unauthorized")


def test_every_configured_key_and_both_headers_work(edge: Edge) -> None:
    for key in edge.keys:
        assert edge.post("/v1/count_tokens", {"text": "hi"}, key=key).status == 200
        reply = edge.request(
            "POST", "/v1/count_tokens", b'{"text":"hi"}', {**JSON, "x-api-key": key}
        )
        assert reply.status == 200


def test_disallowed_origins_are_refused(edge: Edge) -> None:
    for origin in ("https://evil.example", "null", "https://app.example.evil", "*"):
        reply = edge.post("/v1/tokenize", {"text": "hi"}, headers={"origin": origin})
        error(reply, 403, "origin_not_allowed")
        assert "access-control-allow-origin" not in reply.headers
        preflight = edge.request("OPTIONS", "/v1/search", None, {"origin": origin})
        error(preflight, 403, "origin_not_allowed")


def test_allowed_origin_and_preflight(edge: Edge) -> None:
    reply = edge.post("/v1/tokenize", {"text": "hi"}, headers={"origin": ALLOWED_ORIGIN})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert reply.headers["vary"] == "Origin"
    pre = edge.request(
        "OPTIONS",
        "/v1/search",
        None,
        {
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert pre.status == 204
    assert pre.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "authorization" in pre.headers["access-control-allow-headers"]
    # A refusal to an allowed origin is still readable by the page.
    refused = edge.post("/v1/tokenize", {"text": 1}, headers={"origin": ALLOWED_ORIGIN})
    assert refused.status == 400
    assert refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_oversize_bodies_are_refused(edge: Edge) -> None:
    big = json.dumps({"text": "x" * MAX_BODY}).encode()
    error(edge.post("/v1/tokenize", {"text": "x" * MAX_BODY}), 413, "body_too_large")
    # Streamed without a Content-Length: counted as it arrives.
    host, _, port = edge.url.removeprefix("http://").partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/v1/tokenize")
        for name, value in {**JSON, "authorization": f"Bearer {edge.key}"}.items():
            conn.putheader(name, value)
        conn.putheader("transfer-encoding", "chunked")
        conn.endheaders()
        for at in range(0, len(big), 8192):
            chunk = big[at : at + 8192]
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        reply = Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("workerd closed the connection instead of answering 413")
    finally:
        conn.close()
    error(reply, 413, "body_too_large")
    # Just under the limit is fine.
    ok = edge.post("/v1/count_tokens", {"text": "x" * (MAX_BODY - 100)})
    assert ok.status == 200


@pytest.mark.parametrize(
    "body", [b"{", b'{"text": "hi"', b"", b"\xff\xfe{}", b'{"text": "hi"} trailing', b"NaN"]
)
def test_malformed_json(edge: Edge, body: bytes) -> None:
    headers = {**JSON, "authorization": f"Bearer {edge.key}"}
    error(edge.request("POST", "/v1/tokenize", body, headers), 400, "malformed_json")


def test_json_must_be_sent_as_json(edge: Edge) -> None:
    headers = {"content-type": "text/plain", "authorization": f"Bearer {edge.key}"}
    error(
        edge.request("POST", "/v1/tokenize", b'{"text":"hi"}', headers),
        415,
        "unsupported_media_type",
    )


@pytest.mark.parametrize(
    ("path", "doc", "field"),
    [
        ("/v1/tokenize", [], "body"),
        ("/v1/tokenize", "text", "body"),
        ("/v1/tokenize", {}, "text"),
        ("/v1/tokenize", {"text": 5}, "text"),
        ("/v1/tokenize", {"text": None}, "text"),
        ("/v1/tokenize", {"text": "hi", "add_bos": "yes"}, "add_bos"),
        ("/v1/tokenize", {"text": "hi", "extra": 1}, "extra"),
        ("/v1/count_tokens", {"text": ["a"]}, "text"),
        ("/v1/detokenize", {"ids": "1 2 3"}, "ids"),
        ("/v1/detokenize", {"ids": [1, "2"]}, "ids[1]"),
        ("/v1/detokenize", {"ids": [1, 2.5]}, "ids[1]"),
        ("/v1/detokenize", {"ids": [-1]}, "ids[0]"),
        ("/v1/detokenize", {"ids": [2, 99_999_999]}, "ids[1]"),
        ("/v1/detokenize", {"ids": [1], "skip_special": 1}, "skip_special"),
        ("/v1/search", {}, "query"),
        ("/v1/search", {"query": ""}, "query"),
        ("/v1/search", {"query": "   "}, "query"),
        ("/v1/search", {"query": 3}, "query"),
        ("/v1/search", {"query": "q" * 2001}, "query"),
        ("/v1/search", {"query": "apt", "k": 0}, "k"),
        ("/v1/search", {"query": "apt", "k": 21}, "k"),
        ("/v1/search", {"query": "apt", "k": "3"}, "k"),
        ("/v1/search", {"query": "apt", "k": 2.5}, "k"),
        ("/v1/search", {"query": "apt", "vector": [0.1] * 383}, "vector"),
        ("/v1/search", {"query": "apt", "vector": [0.0] * 384}, "vector"),
        ("/v1/search", {"query": "apt", "vector": [*[0.1] * 383, "x"]}, "vector[383]"),
        ("/v1/search", {"query": "apt", "vector": {"0": 1}}, "vector"),
    ],
)
def test_wrong_types_name_the_field(edge: Edge, path: str, doc: object, field: str) -> None:
    error(edge.post(path, doc), 400, "invalid_field", field)


def test_unknown_routes_and_methods(edge: Edge) -> None:
    for path in (
        "/",
        "/v1",
        "/v1/",
        "/v2/tokenize",
        "/v1/tokenize/",
        "/v1/constructor",
        "/v1/__proto__",
    ):
        error(edge.post(path, {"text": "hi"}), 404, "not_found")
    error(edge.request("GET", "/v1/nope"), 404, "not_found")
    reply = edge.request("GET", "/v1/tokenize", None, {"authorization": f"Bearer {edge.key}"})
    error(reply, 405, "method_not_allowed")
    assert reply.headers["allow"] == "POST, OPTIONS"
    error(edge.request("DELETE", "/v1/health"), 405, "method_not_allowed")


def test_rate_limit_per_key(edge_limited: Edge) -> None:
    first, second = edge_limited.keys
    statuses = [
        edge_limited.post("/v1/count_tokens", {"text": "hi"}, key=first).status for _ in range(5)
    ]
    assert statuses == [200] * 5
    reply = edge_limited.post("/v1/count_tokens", {"text": "hi"}, key=first)
    error(reply, 429, "rate_limited")
    assert 1 <= int(reply.headers["retry-after"]) <= 10
    # Another key has its own bucket; refused keys do not spend anyone's.
    assert edge_limited.post("/v1/count_tokens", {"text": "hi"}, key=second).status == 200
    for _ in range(10):
        assert edge_limited.post("/v1/count_tokens", {"text": "hi"}, key="gea_bad").status == 401
    assert edge_limited.post("/v1/count_tokens", {"text": "hi"}, key=second).status == 200
    # Health is public and not rate limited.
    assert all(edge_limited.request("GET", "/v1/health").status == 200 for _ in range(10))


def test_request_logs_are_json_lines_without_secrets(edge: Edge) -> None:
    edge.post("/v1/tokenize", {"text": "secret text of the user"})
    edge.post("/v1/tokenize", {"text": "hi"}, key="gea_wrong-key-value")
    time.sleep(0.2)
    lines = [line for line in edge.log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [r for r in records if r.get("msg") == "request"]
    assert requests, lines
    assert {"request_id", "method", "path", "status", "key", "ms"} <= set(requests[-1])
    assert requests[-1]["status"] == 401
    assert any(r["status"] == 200 and r["key"] for r in requests)
    text = edge.log.read_text()
    for secret in [*edge.keys, *map(hash_key, edge.keys), "gea_wrong-key-value", "secret text"]:
        assert secret not in text


def test_settings_refuse_wildcards_and_missing_keys() -> None:
    with pytest.raises(BuildError, match="origin"):
        EdgeSettings(key_hashes=(hash_key("k"),), allowed_origins=("*",))
    with pytest.raises(BuildError, match="required"):
        EdgeSettings()
    with pytest.raises(BuildError, match="SHA-256"):
        EdgeSettings(key_hashes=("abc",))
    with pytest.raises(BuildError, match="positive"):
        EdgeSettings(key_hashes=(hash_key("k"),), rate_limit_burst=0)
    assert EdgeSettings(require_api_key=False).bindings()["REQUIRE_API_KEY"] == "false"
