"""A local stand-in for the Telegram Bot API, spoken to over real HTTP.

`FakeBotApi` is a threaded `http.server` on 127.0.0.1 (random port) that answers
`POST /bot<token>/<method>` the way Telegram does: it parses form-encoded bodies (what
python-telegram-bot sends), multipart/form-data uploads (what it sends with a file:
sendPhoto; the files land in `Call.files`) and JSON bodies, records every call, and can
be scripted to answer the next calls with a fault:

    api.fail_next("sendMessage", Fault.too_many(retry_after=3))   # 429 + retry_after
    api.fail_next("sendMessage", Fault.server_error(), times=2)   # 500
    api.fail_next("sendMessage", Fault.hanging())                   # never answers in time
    api.block_chat(chat_id)                                         # 403 for that chat
    api.never_started(chat_id)        # 403 "can't initiate conversation" until allowed
    update = api.allow_write(user)    # the write_access_allowed service message

It also answers the Mini App's share and inline mode as Telegram does:
`savePreparedInlineMessage` (checks the result, returns a PreparedInlineMessage whose
stored result is in `api.prepared[id]`) and `answerInlineQuery` (at most 50 results,
unique ids of at most 64 bytes, texts within the limit).

Used by the tests and by bench/bot_delivery.py.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import itertools
import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

DEFAULT_TOKEN = "123456:TEST-TOKEN"
# Telegram refuses longer texts with 400 "message is too long" (it counts after parsing
# the HTML; counting the raw text, tags and all, is the stricter test).
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
SENDS = ("sendMessage", "sendPhoto")


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Fault:
    status: int
    description: str
    parameters: dict | None = None
    hang: bool = False

    @classmethod
    def too_many(cls, retry_after: int = 1) -> Fault:
        return cls(
            429,
            f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )

    @classmethod
    def server_error(cls) -> Fault:
        return cls(500, "Internal Server Error")

    @classmethod
    def blocked(cls) -> Fault:
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def never_started(cls) -> Fault:
        return cls(403, "Forbidden: bot can't initiate conversation with a user")

    @classmethod
    def chat_not_found(cls) -> Fault:
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def bad_request(cls, description: str = "Bad Request: can't parse entities") -> Fault:
        return cls(400, description)

    @classmethod
    def hanging(cls) -> Fault:
        """Hold the request until the test ends (the client times out first)."""
        return cls(200, "", hang=True)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    content_type: str = ""
    files: dict[str, UploadedFile] = field(default_factory=dict)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


def _decode_value(value: str) -> Any:
    """Form fields carry JSON for structured values (reply_markup, allowed_updates)."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _multipart(body: bytes, content_type: str) -> tuple[dict, dict[str, UploadedFile]]:
    """A multipart/form-data body as (fields, files), read by the standard library's
    MIME parser: each part's Content-Disposition names it (and a file part's filename)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("a multipart body without parts")
    params: dict = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            params[name] = _decode_value(data.decode(part.get_content_charset() or "utf-8"))
    return params, files


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an uploaded picture, None if it is not one (Telegram answers
    400 IMAGE_PROCESS_FAILED)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


@dataclass
class FakeBotApi:
    token: str = DEFAULT_TOKEN
    calls: list[Call] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    username: str = "HabitPactBot"

    def __post_init__(self):
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {}
        self._blocked: set[int] = set()
        self._strangers: set[int] = set()
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(900_000)
        self.prepared: dict[str, dict] = {}
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # --- scripting ----------------------------------------------------------------------

    def fail_next(self, method: str, fault: Fault, *, times: int = 1) -> None:
        with self._lock:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def block_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.add(int(chat_id))

    def never_started(self, chat_id: int) -> None:
        """A user who opened the Mini App from a link but never pressed Start: the bot
        may not write to them (403) until `allow_write`."""
        with self._lock:
            self._strangers.add(int(chat_id))

    def allow_write(self, user: dict, *, from_request: bool = True) -> dict:
        """The user granted `requestWriteAccess()`: sends to them work from now on, and
        Telegram posts the `write_access_allowed` service message in their chat with the
        bot. Returns that update (also queued for getUpdates). `user` is a Bot API User."""
        chat_id = int(user["id"])
        with self._lock:
            self._strangers.discard(chat_id)
            update = {
                "update_id": next(self._update_ids),
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private", "first_name": user["first_name"]},
                    "from": {"is_bot": False, **user},
                    "write_access_allowed": {"from_request": from_request},
                },
            }
            self.updates.append(update)
        return update

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBotApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK (~40 ms on Linux) on every kept-alive
            # request. Telegram's front end (like nginx's tcp_nodelay) has no such stall.
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 - http.server's naming
                api._handle(self)

            def do_GET(self):  # noqa: N802
                api._handle(self)

            def log_message(self, format, *args):  # keep test output quiet
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # a wave opens ~30 connections at once
            daemon_threads = True

            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)  # a client hanging up is fine

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- the API ------------------------------------------------------------------------

    def _parse(self, handler: BaseHTTPRequestHandler) -> tuple[dict, str, dict]:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            params, files = _multipart(raw, content_type)
            return params, content_type, files
        body = raw.decode()
        if "json" in content_type:
            return (json.loads(body) if body else {}), content_type, {}
        pairs = parse_qs(body, keep_blank_values=True)
        params = {key: _decode_value(values[-1]) for key, values in pairs.items()}
        return params, content_type, {}

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        prefix, _, method = handler.path.lstrip("/").partition("/")
        params, content_type, files = self._parse(handler)
        if prefix != f"bot{self.token}":
            return self._reply(
                handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        call = Call(method, params, arrived, content_type, files)
        with self._lock:
            self.calls.append(call)
            queue = self._faults.get(method)
            fault = queue.popleft() if queue else None
            if fault is None and method in SENDS:
                if call.chat_id in self._blocked:
                    fault = Fault.blocked()
                elif call.chat_id in self._strangers:
                    fault = Fault.never_started()
            if fault is None:
                fault = self._check(method, params)
            too_long = len(str(params.get("text", ""))) > MAX_TEXT_LENGTH
            if fault is None and too_long and method in ("sendMessage", "editMessageText"):
                fault = Fault.bad_request("Bad Request: message is too long")
            if fault is None and method == "sendPhoto":
                fault = self._photo_fault(call)
        if fault is not None and fault.hang:
            self._release.wait(30)
            fault = None
        if fault is not None:
            payload = {"ok": False, "error_code": fault.status, "description": fault.description}
            if fault.parameters:
                payload["parameters"] = fault.parameters
            return self._reply(handler, fault.status, payload)
        return self._reply(
            handler, 200, {"ok": True, "result": self._result(method, params, files)}
        )

    def _message(self, params: dict) -> dict:
        chat_id = int(params.get("chat_id", 0))
        message = {
            "message_id": int(params.get("message_id") or next(self._message_ids)),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "text": params.get("text", ""),
        }
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message

    @staticmethod
    def _photo_fault(call: Call) -> Fault | None:
        """Telegram's answers to a bad sendPhoto: a caption over 1024 characters (counted
        raw here, tags and all: the stricter test), or an upload that is not a picture."""
        if len(str(call.params.get("caption", ""))) > MAX_CAPTION_LENGTH:
            return Fault.bad_request("Bad Request: message caption is too long")
        upload = call.files.get("photo")
        if upload is None and not call.params.get("photo"):
            return Fault.bad_request("Bad Request: there is no photo in the request")
        if upload is not None and _image_size(upload.data) is None:
            return Fault.bad_request("Bad Request: IMAGE_PROCESS_FAILED")
        return None

    @staticmethod
    def _check_result(result: Any) -> str | None:
        """What Telegram would say about one InlineQueryResult (None: fine)."""
        if not isinstance(result, dict) or not result.get("type") or not result.get("id"):
            return "Bad Request: RESULT_ID_INVALID"
        if len(str(result["id"]).encode()) > 64:
            return "Bad Request: RESULT_ID_INVALID"
        content = result.get("input_message_content") or {}
        if result["type"] == "article" and not content.get("message_text"):
            return "Bad Request: MESSAGE_EMPTY"
        if len(str(content.get("message_text", ""))) > MAX_TEXT_LENGTH:
            return "Bad Request: MESSAGE_TOO_LONG"
        return None

    def _check(self, method: str, params: dict) -> Fault | None:
        """Refuse what Telegram refuses for the share and inline methods."""
        if method == "savePreparedInlineMessage":
            if not str(params.get("user_id", "")).lstrip("-").isdigit():
                return Fault.bad_request("Bad Request: USER_ID_INVALID")
            if problem := self._check_result(params.get("result")):
                return Fault.bad_request(problem)
            kinds = ("user", "bot", "group", "channel")
            if not any(str(params.get(f"allow_{k}_chats")).lower() == "true" for k in kinds):
                return Fault.bad_request("Bad Request: PEER_TYPES_INVALID")
        if method == "answerInlineQuery":
            results = params.get("results")
            if not params.get("inline_query_id") or not isinstance(results, list):
                return Fault.bad_request("Bad Request: QUERY_ID_INVALID")
            if len(results) > 50:
                return Fault.bad_request("Bad Request: RESULTS_TOO_MUCH")
            ids = [str(r.get("id")) for r in results if isinstance(r, dict)]
            if len(set(ids)) != len(results):
                return Fault.bad_request("Bad Request: RESULT_ID_DUPLICATE")
            for result in results:
                if problem := self._check_result(result):
                    return Fault.bad_request(problem)
        return None

    def _result(self, method: str, params: dict, files: dict[str, UploadedFile]) -> Any:
        if method in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            return self._message(params)
        if method == "sendPhoto":
            message = self._message(params)
            del message["text"]
            width, height = _image_size(files["photo"].data) if "photo" in files else (1, 1)
            message["photo"] = [
                {
                    "file_id": f"photo-{message['message_id']}",
                    "file_unique_id": f"u{message['message_id']}",
                    "width": width,
                    "height": height,
                    "file_size": len(files["photo"].data) if "photo" in files else 0,
                }
            ]
            if params.get("caption"):
                message["caption"] = params["caption"]
            return message
        if method == "savePreparedInlineMessage":
            prepared_id = f"prep{next(self._message_ids)}"
            with self._lock:
                self.prepared[prepared_id] = params["result"]
            return {"id": prepared_id, "expiration_date": int(time.time()) + 24 * 3600}
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "HabitPact", "username": self.username}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            with self._lock:
                return [u for u in self.updates if u["update_id"] >= offset]
        return True  # answerCallbackQuery, setWebhook, deleteWebhook, ...

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def serve_until_stdin_closes() -> None:
    """`python -m telegram_bot.tests.fake_bot_api`: run the stand-in in a process of its
    own (so a benchmark's sender does not share a GIL with it). Prints its URL; when
    stdin closes, prints every call as JSON lines `{"method", "chat_id", "at"}` and exits
    (`at` is time.monotonic(), comparable across processes on one machine)."""
    api = FakeBotApi().start()
    print(api.url, flush=True)
    sys.stdin.read()
    api.stop()
    for call in api.calls:
        print(json.dumps({"method": call.method, "chat_id": call.chat_id, "at": call.at}))
    sys.stdout.flush()


if __name__ == "__main__":
    serve_until_stdin_closes()
