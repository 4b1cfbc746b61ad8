#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""standin.py - a stand-in AI provider server for synthia's tests.

A test tool, never a provider: it speaks the public API shapes that
synthia's provider clients use (app/ai/), on a loopback port, with
answers that are deterministic functions of the request, and it fails
on command.  Python standard library only.

Shapes (routes, named as the admin endpoint names them):
  openai.chat        POST /v1/chat/completions
  openai.embeddings  POST /v1/embeddings
  gemini.generate    POST /v1beta/models/{model}:generateContent
  gemini.embed       POST /v1beta/models/{model}:embedContent
  gemini.batch_embed POST /v1beta/models/{model}:batchEmbedContents
  fal.submit         POST /{owner}/{app}[/{path}]
  fal.status         GET  /{owner}/{app}/requests/{id}/status
  fal.result         GET  /{owner}/{app}/requests/{id}
  replicate.create   POST /v1/predictions
  replicate.get      GET  /v1/predictions/{id}
  replicate.list     GET  /v1/predictions[?cursor=N]  (newest first, 100
                     a page, each with version, input, status,
                     created_at; "next": the next page's URL or null)
  files              GET  /files/{name}  (result images)

Answers:
  - vision (a chat or generateContent request with an image): a JSON
    text that is an instance of the response schema of the request
    (OpenAI response_format.json_schema.schema, Gemini
    generationConfig.responseSchema), every value derived from the
    SHA-256 of the image bytes, so the same image gives the same answer
    and another image another one;
  - chat: "standin <model>: <the last user message>";
  - embeddings: signed hashed bag of words (an md5 per word), as many
    dimensions as asked (`dimensions`, `outputDimensionality`; else 64),
    L2-normalised, so texts sharing words are close;
  - try-on (FAL and Replicate): a job that is queued, then running, then
    done over successive status polls (a submit with "polls": N in the
    input takes N polls); its result is a PNG whose pixels come from the
    SHA-256 of the inputs, served under /files/.

Admin endpoint (JSON bodies):
  POST /_admin/fault   {"route": R, "mode": M, "count": N, "delay_ms": D,
                        "retry_after": "2" | HTTP date, "status": S}
      modes: status (answer S, with Retry-After when given), slow (sleep D
      then answer normally), close (close the connection without an
      answer), garbage (200 with a body that is not JSON), malformed (200
      with JSON of the right envelope whose content breaks the contract:
      model text that is not the schema's JSON, vectors of the wrong
      length, a job without an id).  count: how many calls it hits (-1:
      all).  Faults of one route queue up in order.
  POST /_admin/keys    {"openai": "sk-...", ...}: expected API key per
      shape (then a wrong or missing key gets 401)
  POST /_admin/reset   faults, keys and counts
  GET  /_admin/jobs    {"jobs": [{id, kind, seed, seen}]}: every try-on
      job submitted (seed: hex of the digest of its model and images, so
      two submits of the same inputs share it; seen: status polls)
  GET  /_admin/calls   {"counts": {route: n},
                        "log": [{route, t, auth, has_key, ua}]}
      t is time.monotonic() of this server; auth says whether the
      request carried the expected key (true when none is expected),
      has_key whether it carried any key header, ua its User-Agent.

Usage: standin.py [--host 127.0.0.1] [--port 0] [--port-file FILE]
The chosen port is printed on stdout ("port N") and written to FILE.
"""

import argparse
import base64
import hashlib
import json
import math
import re
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"faults": {}, "keys": {}, "counts": {}, "log": [], "jobs": {}}
DEFAULT_DIMS = 64


# ----------------------------------------------------------- answers


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
    return h.digest()


class Stream:
    """Deterministic numbers from a seed (SHA-256 in counter mode)."""

    def __init__(self, seed):
        self.seed = seed
        self.n = 0

    def u32(self):
        b = hashlib.sha256(self.seed + struct.pack(">I", self.n)).digest()
        self.n += 1
        return struct.unpack(">I", b[:4])[0]

    def unit(self):
        return self.u32() / 2.0 ** 32


def instance(schema, rnd, depth=0):
    """A value that satisfies schema (the subset synthia validates)."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    if "enum" in schema and schema["enum"]:
        return schema["enum"][rnd.u32() % len(schema["enum"])]
    t = str(schema.get("type", "object")).lower()
    if t == "object":
        props = schema.get("properties") or {}
        return {k: instance(v, rnd, depth + 1) for k, v in props.items()}
    if t == "array":
        lo = int(schema.get("minItems", 1))
        hi = int(schema.get("maxItems", max(lo, 3)))
        n = lo + rnd.u32() % (hi - lo + 1) if hi >= lo else lo
        return [instance(schema.get("items", {}), rnd, depth + 1)
                for _ in range(n)]
    if t == "string":
        lo = int(schema.get("minLength", 1))
        hi = int(schema.get("maxLength", max(lo, 12)))
        n = max(lo, min(hi, 8))
        s = ""
        while len(s) < n:
            s += "%08x" % rnd.u32()
        return s[:n]
    if t in ("number", "integer"):
        lo = schema.get("minimum", 0)
        hi = schema.get("maximum", 100)
        if t == "integer":
            lo, hi = math.ceil(lo), math.floor(hi)
            return lo + rnd.u32() % (hi - lo + 1)
        return round(lo + (hi - lo) * rnd.unit(), 4)
    if t == "boolean":
        return bool(rnd.u32() & 1)
    return None


def embed(text, dims):
    v = [0.0] * dims
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        h = hashlib.md5(w.encode()).digest()
        i = struct.unpack(">I", h[:4])[0] % dims
        v[i] += -1.0 if h[4] & 1 else 1.0
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v] if norm else v


def png(seed, w=4, h=4):
    rnd = Stream(seed)
    raw = b""
    for _ in range(h):
        raw += b"\0" + bytes(rnd.u32() & 0xff for _ in range(3 * w))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def data_url_bytes(url):
    m = re.match(r"^data:([a-z0-9.+/-]+);base64,(.*)$", url or "", re.S)
    if not m:
        raise ValueError("not a base64 data URL")
    return m.group(1), base64.b64decode(m.group(2), validate=True)


# ----------------------------------------------------------- server


class Fail(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"

    def log_message(self, fmt, *args):  # quiet; tests read /_admin/calls
        pass

    # -- plumbing

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise Fail(400, "body is not JSON")

    def send(self, status, body, ctype="application/json", headers=()):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def count(self, route, shape):
        want = STATE["keys"].get(shape)
        got = None
        if shape == "gemini":
            got = self.headers.get("x-goog-api-key")
        else:
            a = self.headers.get("Authorization") or ""
            prefix = "Key " if shape == "fal" else "Bearer "
            got = a[len(prefix):] if a.startswith(prefix) else None
        ok = want is None or got == want
        with LOCK:
            STATE["counts"][route] = STATE["counts"].get(route, 0) + 1
            STATE["log"].append({
                "route": route, "t": time.monotonic(), "auth": ok,
                "has_key": bool(self.headers.get("Authorization") or
                                self.headers.get("x-goog-api-key")),
                "ua": self.headers.get("User-Agent")})
            del STATE["log"][:-1000]
            queue = STATE["faults"].get(route) or []
            fault = None
            if queue:
                fault = queue[0]
                if fault["count"] > 0:
                    fault["count"] -= 1
                    if fault["count"] == 0:
                        queue.pop(0)
        return ok, fault

    def apply(self, fault):
        """Act on a fault before the normal answer: True when it answered
        (or closed), False to go on with a normal (or malformed) one."""
        if not fault:
            return False
        mode = fault["mode"]
        if mode == "slow":
            time.sleep(fault.get("delay_ms", 1000) / 1000.0)
            return False
        if mode == "close":
            self.close_connection = True
            try:
                import socket
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if mode == "garbage":
            self.send(200, b"<html>502 upstream sad</html>\x00\xff{",
                      ctype="application/json")
            return True
        if mode == "status":
            hdrs = []
            if fault.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(fault["retry_after"])))
            st = int(fault.get("status", 500))
            self.send(st, {"error": {"message": "standin fault %d" % st,
                                     "code": st}}, headers=hdrs)
            return True
        return False  # malformed: the handler shapes it

    # -- dispatch

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        path = self.path.split("?", 1)[0]
        try:
            if path.startswith("/_admin/"):
                return self.admin(method, path)
            route, shape, fn, args = self.route(method, path)
            if not route:
                raise Fail(404, "no such route")
            body = self.body_json() if method == "POST" else {}
            ok, fault = self.count(route, shape)
            if self.apply(fault):
                return
            if not ok:
                raise Fail(401, "bad API key")
            malformed = bool(fault) and fault["mode"] == "malformed"
            fn(body, malformed, *args)
        except Fail as f:
            self.send(f.status, {"error": {"message": f.message}})
        except (BrokenPipeError, ConnectionResetError):
            pass

    def route(self, method, path):
        m = re.match(r"^/v1beta/models/([^/:]+):(generateContent|"
                     r"embedContent|batchEmbedContents)$", path)
        if m and method == "POST":
            name = {"generateContent": "gemini.generate",
                    "embedContent": "gemini.embed",
                    "batchEmbedContents": "gemini.batch_embed"}[m.group(2)]
            fn = {"gemini.generate": self.gemini_generate,
                  "gemini.embed": self.gemini_embed,
                  "gemini.batch_embed": self.gemini_batch}[name]
            return name, "gemini", fn, (m.group(1),)
        if path == "/v1/chat/completions" and method == "POST":
            return "openai.chat", "openai", self.openai_chat, ()
        if path == "/v1/embeddings" and method == "POST":
            return "openai.embeddings", "openai", self.openai_embed, ()
        if path == "/v1/predictions" and method == "POST":
            return "replicate.create", "replicate", self.replicate_create, ()
        if path == "/v1/predictions" and method == "GET":
            return "replicate.list", "replicate", self.replicate_list, ()
        m = re.match(r"^/v1/predictions/([A-Za-z0-9]+)$", path)
        if m and method == "GET":
            return "replicate.get", "replicate", self.replicate_get, \
                (m.group(1),)
        m = re.match(r"^/files/([A-Za-z0-9]+\.png)$", path)
        if m and method == "GET":
            return "files", "files", self.files, (m.group(1),)
        m = re.match(r"^/([\w.-]+)/([\w.-]+)/requests/([\w-]+)(/status)?$",
                     path)
        if m and method == "GET":
            if m.group(4):
                return "fal.status", "fal", self.fal_status, (m.group(3),)
            return "fal.result", "fal", self.fal_result, (m.group(3),)
        m = re.match(r"^/([\w.-]+)/([\w.-]+)(/[\w./-]+)?$", path)
        if m and method == "POST" and not path.startswith("/v1"):
            return "fal.submit", "fal", self.fal_submit, \
                ("%s/%s" % (m.group(1), m.group(2)),)
        return None, None, None, ()

    # -- admin

    def admin(self, method, path):
        if method == "GET" and path == "/_admin/calls":
            with LOCK:
                body = {"counts": dict(STATE["counts"]),
                        "log": list(STATE["log"])}
            return self.send(200, body)
        if method == "GET" and path == "/_admin/jobs":
            with LOCK:
                body = {"jobs": [{"id": k, "kind": j["kind"],
                                  "seed": j["seed"].hex(), "seen": j["seen"]}
                                 for k, j in STATE["jobs"].items()]}
            return self.send(200, body)
        if method != "POST":
            raise Fail(404, "no such admin route")
        body = self.body_json()
        with LOCK:
            if path == "/_admin/fault":
                f = {"mode": body["mode"], "count": int(body.get("count", 1)),
                     "delay_ms": int(body.get("delay_ms", 1000)),
                     "status": int(body.get("status", 500)),
                     "retry_after": body.get("retry_after")}
                if f["mode"] not in ("status", "slow", "close", "garbage",
                                     "malformed"):
                    raise Fail(400, "unknown mode")
                STATE["faults"].setdefault(body["route"], []).append(f)
            elif path == "/_admin/keys":
                STATE["keys"].update(body)
            elif path == "/_admin/reset":
                STATE["faults"].clear()
                STATE["keys"].clear()
                STATE["counts"].clear()
                STATE["log"].clear()
            else:
                raise Fail(404, "no such admin route")
        self.send(200, {"ok": True})

    # -- OpenAI

    def openai_chat(self, body, malformed):
        model = body.get("model")
        msgs = body.get("messages")
        if not isinstance(model, str) or not isinstance(msgs, list) or \
                not msgs:
            raise Fail(400, "model and messages are required")
        image = None
        last_user = ""
        for m in msgs:
            c = m.get("content")
            if isinstance(c, str):
                if m.get("role") == "user":
                    last_user = c
                continue
            for part in c or []:
                if part.get("type") == "text" and m.get("role") == "user":
                    last_user = part.get("text", "")
                elif part.get("type") == "image_url":
                    try:
                        image = data_url_bytes(part["image_url"]["url"])[1]
                    except (KeyError, ValueError, TypeError):
                        raise Fail(400, "image_url must be a data URL")
        rf = body.get("response_format") or {}
        if image is not None:
            schema = (rf.get("json_schema") or {}).get("schema")
            if not isinstance(schema, dict):
                raise Fail(400, "vision needs response_format.json_schema")
            text = json.dumps(instance(schema, Stream(digest(image))))
        else:
            text = "standin %s: %s" % (model, last_user)
        if malformed:
            text = "Sure! Here is the JSON you asked for: {" if image \
                else None
        self.send(200, {
            "id": "chatcmpl-standin", "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                      "total_tokens": 2}})

    def openai_embed(self, body, malformed):
        model = body.get("model")
        inp = body.get("input")
        if isinstance(inp, str):
            inp = [inp]
        if not isinstance(model, str) or not isinstance(inp, list) or \
                not all(isinstance(t, str) for t in inp):
            raise Fail(400, "model and input are required")
        dims = int(body.get("dimensions") or DEFAULT_DIMS)
        data = [{"object": "embedding", "index": i,
                 "embedding": embed(t, dims)} for i, t in enumerate(inp)]
        if malformed:
            data[0]["embedding"] = data[0]["embedding"][:-1]
        self.send(200, {"object": "list", "model": model, "data": data,
                        "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    # -- Gemini

    def gemini_generate(self, body, malformed, model):
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise Fail(400, "contents is required")
        image = None
        last_user = ""
        for c in contents:
            for part in c.get("parts") or []:
                inline = part.get("inline_data") or part.get("inlineData")
                if inline:
                    try:
                        image = base64.b64decode(inline["data"],
                                                 validate=True)
                    except (KeyError, ValueError, TypeError):
                        raise Fail(400, "inline_data.data must be base64")
                elif "text" in part and c.get("role", "user") == "user":
                    last_user = part["text"]
        gc = body.get("generationConfig") or {}
        if image is not None:
            schema = gc.get("responseSchema")
            if not isinstance(schema, dict) or \
                    gc.get("responseMimeType") != "application/json":
                raise Fail(400, "vision needs responseMimeType and "
                           "responseSchema")
            text = json.dumps(instance(schema, Stream(digest(image))))
        else:
            text = "standin %s: %s" % (model, last_user)
        parts = [{"text": text}]
        if malformed:
            parts = [{"text": "```json\n{\"broken\": \n```"}] if image \
                else []
        self.send(200, {"candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": "STOP", "index": 0}],
            "modelVersion": model})

    def gemini_embed(self, body, malformed, model):
        parts = ((body.get("content") or {}).get("parts")) or []
        text = " ".join(p.get("text", "") for p in parts)
        dims = int(body.get("outputDimensionality") or DEFAULT_DIMS)
        values = embed(text, dims)
        if malformed:
            values = ["x"] * dims
        self.send(200, {"embedding": {"values": values}})

    def gemini_batch(self, body, malformed, model):
        reqs = body.get("requests")
        if not isinstance(reqs, list) or not reqs:
            raise Fail(400, "requests is required")
        out = []
        for r in reqs:
            if r.get("model") != "models/" + model:
                raise Fail(400, "each request names models/%s" % model)
            parts = ((r.get("content") or {}).get("parts")) or []
            text = " ".join(p.get("text", "") for p in parts)
            dims = int(r.get("outputDimensionality") or DEFAULT_DIMS)
            out.append({"values": embed(text, dims)})
        if malformed:
            out = out[:-1]
        self.send(200, {"embeddings": out})

    # -- try-on jobs

    def new_job(self, kind, inputs, model):
        images = []
        polls = 2
        for k, v in sorted(inputs.items()):
            if k == "polls":
                polls = int(v)
                continue
            for u in v if isinstance(v, list) else [v]:
                try:
                    images.append(data_url_bytes(u)[1])
                except ValueError:
                    raise Fail(422, "input %s must be data URLs" % k)
        if len(images) < 2:
            raise Fail(422, "a person and a garment image are needed")
        seed = digest(model, *images)
        jid = hashlib.sha256(seed + str(time.monotonic()).encode()) \
            .hexdigest()[:24]
        with LOCK:
            STATE["jobs"][jid] = {"kind": kind, "polls": polls,
                                  "seen": 0, "seed": seed,
                                  "model": model, "input": inputs,
                                  "created": time.time(),
                                  "n": len(STATE["jobs"])}
        return jid

    def job_status(self, jid):
        with LOCK:
            j = STATE["jobs"].get(jid)
            if not j:
                raise Fail(404, "no such request")
            j["seen"] += 1
            if j["seen"] > j["polls"]:
                return j, "done"
            return j, "queued" if j["seen"] == 1 else "running"

    def file_url(self, jid):
        host = self.headers.get("Host") or "127.0.0.1"
        return "http://%s/files/%s.png" % (host, jid)

    def fal_submit(self, body, malformed, app):
        if not isinstance(body, dict) or not body:
            raise Fail(422, "input is required")
        jid = self.new_job("fal", body, app)
        base = "http://%s/%s/requests/%s" % (
            self.headers.get("Host") or "127.0.0.1", app, jid)
        out = {"request_id": jid, "status_url": base + "/status",
               "response_url": base, "queue_position": 0}
        if malformed:
            del out["request_id"]
        self.send(200, out)

    def fal_status(self, body, malformed, jid):
        j, st = self.job_status(jid)
        out = {"status": {"queued": "IN_QUEUE", "running": "IN_PROGRESS",
                          "done": "COMPLETED"}[st]}
        if malformed:
            out = {"status": 7}
        self.send(200, out)

    def fal_result(self, body, malformed, jid):
        with LOCK:
            j = STATE["jobs"].get(jid)
        if not j:
            raise Fail(404, "no such request")
        if j["seen"] <= j["polls"]:
            raise Fail(400, "request is still in progress")
        out = {"image": {"url": self.file_url(jid),
                         "content_type": "image/png"},
               "images": [{"url": self.file_url(jid),
                           "content_type": "image/png"}]}
        if malformed:
            out = {"images": []}
        self.send(200, out)

    def replicate_create(self, body, malformed):
        version = body.get("version")
        inputs = body.get("input")
        if not isinstance(version, str) or not isinstance(inputs, dict):
            raise Fail(422, "version and input are required")
        jid = self.new_job("replicate", inputs, version)
        out = {"id": jid, "version": version, "status": "starting",
               "input": {}, "output": None, "error": None,
               "urls": {"get": "http://%s/v1/predictions/%s" % (
                   self.headers.get("Host") or "127.0.0.1", jid)}}
        if malformed:
            out["id"] = ""
        self.send(201, out)

    def replicate_get(self, body, malformed, jid):
        j, st = self.job_status(jid)
        out = {"id": jid, "version": j["model"], "error": None,
               "status": {"queued": "starting", "running": "processing",
                          "done": "succeeded"}[st],
               "output": self.file_url(jid) if st == "done" else None}
        if malformed:
            out["status"] = "exploded"
        self.send(200, out)

    def replicate_list(self, body, malformed):
        m = re.search(r"[?&]cursor=(\d+)", self.path)
        start = int(m.group(1)) if m else 0
        with LOCK:
            jobs = sorted(((jid, dict(j)) for jid, j in STATE["jobs"].items()
                           if j["kind"] == "replicate"),
                          key=lambda x: -x[1]["n"])
        page = jobs[start:start + 100]
        out = []
        for jid, j in page:
            st = "starting" if j["seen"] <= 1 else "processing" \
                if j["seen"] <= j["polls"] else "succeeded"
            t = j["created"]
            out.append({
                "id": jid, "version": j["model"], "input": j["input"],
                "status": st, "error": None,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S",
                                            time.gmtime(t)) +
                ".%06dZ" % int((t % 1) * 1e6)})
        nxt = None
        if start + 100 < len(jobs):
            nxt = "http://%s/v1/predictions?cursor=%d" % (
                self.headers.get("Host") or "127.0.0.1", start + 100)
        if malformed:
            out = {"results": 7}
        self.send(200, {"next": nxt, "previous": None, "results": out})

    def files(self, body, malformed, name):
        jid = name[:-4]
        with LOCK:
            j = STATE["jobs"].get(jid)
        if not j:
            raise Fail(404, "no such file")
        data = png(j["seed"])
        if malformed:
            data = data[:10]
        self.send(200, data, ctype="image/png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    # the worker opens many connections at once (curl multi): the
    # default backlog of 5 drops SYNs, and a connect then takes a second
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    print("port %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
