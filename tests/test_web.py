"""The HTTP API (src/unspin/web.py) through FastAPI's TestClient: every endpoint and error."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette's notice that it prefers another HTTP client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from unspin.cli import main as cli_main
from unspin.index import Index, SourceDoc
from unspin.text import InputError
from unspin.web import create_app

ROOT = Path(__file__).resolve().parents[1]
SPUN = (
    "The mayor instructed reporters that the brand new library would open this 12 months. "
    "It is certainly one of 5 initiatives the council got here up with after the flood. "
    "In accordance with officers, the work grew to become urgent."
)
SOURCE = (
    "The mayor told reporters that the brand new library would open this year. "
    "It is one of 5 initiatives the council came up with after the flood. "
    "According to officials, the work became urgent."
)
MAX_BYTES = 20_000


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(max_bytes=MAX_BYTES)) as c:  # `with` runs the startup
        yield c


@pytest.fixture(scope="module")
def index_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "index.db"
    docs = [SourceDoc("mayor", SOURCE, title="Library to open")]
    docs += [SourceDoc(p.stem, p.read_text(encoding="utf-8"))
             for p in sorted((ROOT / "corpus" / "own").glob("*.txt"))[:5]]
    with Index(path) as idx:
        idx.add(docs)
    return path


@pytest.fixture(scope="module")
def traced(index_file: Path) -> Iterator[TestClient]:
    with TestClient(create_app(index_file)) as c:
        yield c


def _cli_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> dict:
    f = tmp_path / "in.txt"
    f.write_text(SPUN, encoding="utf-8")
    capsys.readouterr()
    assert cli_main([*args, str(f), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


# -- success: same JSON as the CLI ----------------------------------------------


def test_health(client: TestClient) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["index"] is False and h["max_bytes"] == MAX_BYTES
    # Uptime checkers probe with HEAD.
    assert client.head("/api/health").status_code == 200
    assert client.head("/").status_code == 200


def test_restore_matches_cli(client: TestClient, capsys, tmp_path: Path) -> None:
    r = client.post("/api/restore", json={"text": SPUN})
    assert r.status_code == 200
    body = r.json()
    assert "told reporters" in body["text"] and "this year" in body["text"]
    assert body == _cli_json(capsys, tmp_path, "restore")


def test_restore_confidence_changes_result(client: TestClient) -> None:
    strict = client.post("/api/restore", json={"text": SPUN, "confidence": 1.0}).json()
    loose = client.post("/api/restore", json={"text": SPUN, "confidence": 0.0}).json()
    assert len(strict["changes"]) < len(loose["changes"])


def test_detect_matches_cli(client: TestClient, capsys, tmp_path: Path) -> None:
    r = client.post("/api/detect", json={"text": SPUN})
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "spun" and 0.5 < body["spun_probability"] <= 1
    assert body == _cli_json(capsys, tmp_path, "detect")


def test_detect_threshold(client: TestClient) -> None:
    body = client.post("/api/detect", json={"text": SPUN, "threshold": 1.0}).json()
    assert body["verdict"] == "clean" and body["signals"]["threshold"] == 1.0


def test_trace_with_index(traced: TestClient, capsys, tmp_path: Path, index_file: Path) -> None:
    assert traced.get("/api/health").json()["index"] is True
    r = traced.post("/api/trace", json={"text": SPUN, "top": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["found"] and body["matches"][0]["id"] == "mayor"
    assert body == _cli_json(capsys, tmp_path, "trace", "--index", str(index_file), "--top", "3")
    src = traced.get("/api/source", params={"id": "mayor"})
    assert src.status_code == 200 and src.json()["text"] == SOURCE
    assert traced.get("/api/source", params={"id": "nope"}).status_code == 404


def test_page_and_static(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert 'src="static/app.js"' in r.text and "http" not in r.text.split("<body")[0]
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for p in ("/api/restore", "/api/detect", "/api/trace", "/api/health"):
        assert p in paths
    props = schema["components"]["schemas"]["RestoreRequest"]["properties"]
    assert {"text", "confidence"} <= set(props)


# -- errors: JSON {"error": one line}, never a traceback ------------------------


def _error(r) -> str:
    body = r.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    assert "Traceback" not in r.text
    return body["error"]


def test_oversized_body_413(client: TestClient) -> None:
    r = client.post("/api/restore", json={"text": "word " * MAX_BYTES})
    assert r.status_code == 413 and "larger than" in _error(r)


def test_oversized_chunked_body_413(client: TestClient) -> None:
    # No Content-Length: the limit is enforced while the body streams in.
    chunks = (b'{"text": "' + b"a" * 4096 for _ in range(10))
    r = client.post("/api/detect", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than" in _error(r)


@pytest.mark.parametrize(
    ("payload", "expect"),
    [
        ({"text": SPUN, "confidence": 2}, "confidence"),
        ({"text": 5}, "text"),
        ({"txt": SPUN}, "text: Field required"),
        ({"text": SPUN, "confidance": 0.5}, "confidance"),
        ({"text": SPUN, "confidence": True}, "confidence"),  # not 1.0
        ({"text": SPUN, "confidence": "0.5"}, "confidence"),
    ],
)
def test_validation_422(client: TestClient, payload: dict, expect: str) -> None:
    r = client.post("/api/restore", json=payload)
    assert r.status_code == 422 and expect in _error(r)


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_415_and_says_so(client: TestClient, media) -> None:
    headers = {"content-type": media} if media else {}
    r = client.post("/api/detect", content=b'{"text": "The council said it would open."}',
                    headers=headers)
    assert r.status_code == 415
    assert _error(r).startswith("send the body as JSON with Content-Type: application/json")
    r = client.post("/api/detect", content=b'{"text": "The council said it would open."}',
                    headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_invalid_json_422(client: TestClient) -> None:
    r = client.post("/api/detect", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and _error(r) == "request body is not valid JSON"
    r = client.post("/api/detect", content=b'{"text": "caf\xff"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and _error(r) == "request body is not valid JSON (UTF-8)"
    # A JSON escape can carry what UTF-8 cannot: an unpaired surrogate.
    for endpoint in ("/api/restore", "/api/detect"):
        r = client.post(endpoint, content=b'{"text": "the council told reporters \\ud800"}',
                        headers={"content-type": "application/json"})
        assert r.status_code == 422 and "unpaired surrogates" in _error(r)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("   \n ", "text is empty"),
        ("\x00\x01\x02\x03\x04 binary", "binary"),
        ("Der Bürgermeister sagte den Reportern, dass die neue Bibliothek in diesem Jahr "
         "eröffnet werde, und alle waren sehr froh darüber.", "English"),
        ("市议会周二告诉记者，新桥将于今年开通，这是因洪水而推迟的三个项目之一。", "English"),
        ("12345 67890 !!! ### 2024-01-01", "no words"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/api/restore", "/api/detect"])
def test_bad_input_422(client: TestClient, endpoint: str, text: str, expect: str) -> None:
    r = client.post(endpoint, json={"text": text})
    assert r.status_code == 422 and expect in _error(r)


def test_trace_without_index_404(client: TestClient) -> None:
    r = client.post("/api/trace", json={"text": SPUN})
    assert r.status_code == 404 and "--index" in _error(r)
    assert client.get("/api/source", params={"id": "x"}).status_code == 404


def test_trace_top_validated(traced: TestClient) -> None:
    r = traced.post("/api/trace", json={"text": SPUN, "top": 0})
    assert r.status_code == 422 and "top" in _error(r)


def test_unknown_path_404(client: TestClient) -> None:
    assert client.get("/api/nope").status_code == 404


def test_missing_index_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no index"):
        create_app(tmp_path / "absent.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all")
    with pytest.raises(InputError):
        create_app(junk)


def test_timeout_503() -> None:
    long_text = (ROOT / "corpus" / "own" / "01.txt").read_text(encoding="utf-8")
    with TestClient(create_app(timeout=0.001)) as c:
        r = c.post("/api/restore", json={"text": long_text})
        assert r.status_code == 503 and "longer than" in _error(r)
        assert c.get("/api/health").status_code == 200  # the server keeps answering


def test_internal_error_hides_traceback() -> None:
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as c:
        def boom(*a, **k):
            raise RuntimeError("secret internals")

        app.state.unspin["restorer"].restore = boom
        r = c.post("/api/restore", json={"text": SPUN})
        assert r.status_code == 500 and _error(r) == "internal error"
        assert "secret" not in r.text


def test_cli_serve_parser() -> None:
    from unspin.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.index) == ("127.0.0.1", 8000, None)
    assert args.func.__name__ == "cmd_serve"


def test_a_damaged_index_is_a_one_line_503(index_file: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    data = bytearray(index_file.read_bytes())
    assert len(data) > 5 * 8192
    data[3 * 8192 : 5 * 8192] = b"\xff" * (2 * 8192)  # data pages; the schema reads fine
    damaged.write_bytes(bytes(data))
    with TestClient(create_app(damaged)) as c:
        r = c.post("/api/trace", json={"text": SPUN})
    assert r.status_code == 503
    assert "damaged" in r.json()["error"] and "\n" not in r.json()["error"]
