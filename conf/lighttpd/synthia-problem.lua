-- SPDX-License-Identifier: BSD-2-Clause
-- synthia-problem.lua - lighttpd mod_magnet script for synthia's site
-- (magnet.attract-response-start-to in the synthia drop-in).
--
-- The errors lighttpd makes itself on the application's URLs become
-- RFC 9457 application/problem+json in synthia's shape (API.md):
-- {type, title, status, detail, code, request_id}.  A request lighttpd
-- could not parse at all (400, 431: no URI to look at) is answered the
-- same way.  Responses that are problems already (the application's own)
-- and static files pass untouched.
--
--   400 bad_request          malformed request ("%00" in the path, ...)
--   413 payload_too_large    body over server.max-request-size
--   431 headers_too_large    request line or headers over
--                            server.max-request-field-size (lighttpd
--                            counts a long URI here too: no 414)
--   502 bad_gateway          a responder died mid-request (lighttpd's 500)
--   503 service_unavailable  the pool is down (cannot connect)
--   504 gateway_timeout      no answer within read-timeout
--
-- request_id (and X-Request-Id) is the client's X-Request-Id when it is
-- sane ([A-Za-z0-9._-]{1,64}), as synthia does, else a random id.
-- 502 and 503 carry Retry-After: 5.

local r = lighty.r
local status = r.req_item.http_status
if not status or status < 400 then
    return 0
end
local ctype = r.resp_header["Content-Type"]
if ctype and ctype:find("^application/problem%+json") then
    return 0
end

-- The application's URLs, as in the fastcgi.server prefixes.
local uri = r.req_attr["request.uri"]
if uri then
    local path = uri:match("^[^?]*")
    if not (path:find("^/api/") or path == "/health" or
            path:find("^/health/") or path == "/metrics" or
            path == "/.well-known/jwks.json") then
        return 0
    end
end

local problems = {
    [400] = {"bad_request", "Bad Request",
             "The web server could not parse this request."},
    [408] = {"request_timeout", "Request Timeout",
             "The request did not arrive in time."},
    [411] = {"length_required", "Length Required",
             "The request needs a Content-Length."},
    [413] = {"payload_too_large", "Payload Too Large",
             "The request body is larger than this server accepts."},
    [414] = {"uri_too_long", "URI Too Long",
             "The request URI is longer than this server accepts."},
    [417] = {"expectation_failed", "Expectation Failed",
             "The web server does not support this Expect header."},
    [431] = {"headers_too_large", "Request Header Fields Too Large",
             "The request line or headers are larger than this server accepts."},
    [501] = {"not_implemented", "Not Implemented",
             "The web server does not support this request."},
    [502] = {"bad_gateway", "Bad Gateway",
             "The application is not answering; try again shortly."},
    [503] = {"service_unavailable", "Service Unavailable",
             "The application is not answering; try again shortly."},
    [504] = {"gateway_timeout", "Gateway Timeout",
             "The application did not answer in time."},
}
-- lighttpd answers 500 when a responder closes the connection without a
-- (complete) answer: that is a gateway failure, not the application's.
local answer = status
if status == 500 then
    answer = 502
end
local p = problems[answer] or {"http_error", "Error",
                                "The web server could not complete this request."}

local rid = r.req_header["X-Request-Id"]
if not (rid and #rid <= 64 and rid:find("^[A-Za-z0-9._-]+$")) then
    rid = string.format("%08x%08x%08x%08x", lighty.c.rand() & 0xffffffff,
                        lighty.c.rand() & 0xffffffff,
                        lighty.c.rand() & 0xffffffff, os.time() & 0xffffffff)
end

r.resp_header["Content-Type"] = "application/problem+json"
r.resp_header["X-Request-Id"] = rid
if answer == 502 or answer == 503 then
    r.resp_header["Retry-After"] = "5"
end
r.resp_body.set({string.format(
    '{"type":"urn:synthia:problem:%s","title":"%s","status":%d,' ..
    '"detail":"%s","code":"%s","request_id":"%s"}\n',
    p[1], p[2], answer, p[3], p[1], rid)})
-- Returning the status ends the response here, with this body and a
-- Content-Length (without it lighttpd streams the body chunked and keeps
-- draining an oversized request body before it closes).
return answer
