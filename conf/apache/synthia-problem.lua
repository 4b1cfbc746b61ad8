-- SPDX-License-Identifier: BSD-2-Clause
-- synthia-problem.lua - mod_lua handler for synthia's Apache site: the
-- ErrorDocument of the errors Apache makes itself (LuaMapHandler
-- "^/\.synthia-problem/" in the synthia site).
--
-- On the application's URLs, and for errors about the request as a whole
-- (whatever its path), it answers RFC 9457 application/problem+json in
-- synthia's shape (API.md): {type, title, status, detail, code,
-- request_id}.  A static file's error gets a short HTML page.  Apache
-- keeps the original status; REDIRECT_STATUS says which it was.
--
--   400 bad_request          malformed request line or header, header
--                            fields too large or too many
--   404 not_found            "%00" or an encoded "/" in an API path
--                            (Apache refuses them before routing)
--   413 payload_too_large    body over the 12 MiB fence
--   414 uri_too_long         URI over LimitRequestLine
--   500 internal_error       mod_proxy_fcgi could not use the answer
--   502 bad_gateway          the application's answer was malformed
--   503 service_unavailable  the pool is down, or a responder died
--   504 gateway_timeout      no answer within ProxyTimeout
--
-- request_id (and X-Request-Id) is the client's X-Request-Id when it is
-- sane ([A-Za-z0-9._-]{1,64}) and Apache still has the request headers,
-- else a random id.  502 and 503 carry Retry-After: 5.

local problems = {
    [400] = {"bad_request", "Bad Request",
             "The web server could not parse this request."},
    [404] = {"not_found", "Not Found",
             "No resource matches this path."},
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
    [500] = {"internal_error", "Internal Server Error",
             "The web server could not use the application's answer."},
    [501] = {"not_implemented", "Not Implemented",
             "The web server does not support this request."},
    [502] = {"bad_gateway", "Bad Gateway",
             "The application is not answering; try again shortly."},
    [503] = {"service_unavailable", "Service Unavailable",
             "The application is not answering; try again shortly."},
    [504] = {"gateway_timeout", "Gateway Timeout",
             "The application did not answer in time."},
}

-- Statuses about the request as a whole: a problem whatever the path.
local request_level = {[400] = true, [408] = true, [411] = true,
                       [413] = true, [414] = true, [417] = true,
                       [501] = true}

-- Is the original request for one of the application's URLs?  Its request
-- line survives the error redirect (r.the_request); nil when unknown.
local function api_request(r)
    local target = (r.the_request or ""):match("^%S+%s+(%S+)")
    if not target then
        return nil
    end
    local path = target:match("^[^?]*")
    return path:find("^/api/") ~= nil or path == "/health" or
        path:find("^/health/") ~= nil or path == "/metrics" or
        path == "/.well-known/jwks.json"
end

function handle(r)
    local status = tonumber(r.subprocess_env["REDIRECT_STATUS"] or "")
    if not status or status < 400 then
        return 404 -- asked for directly, not as an error document
    end
    local p = problems[status] or {"http_error", "Error",
                                   "The web server could not complete this request."}
    if api_request(r) == false and not request_level[status] then
        -- a static file's error: plain HTML, as Apache's own
        r.content_type = "text/html; charset=utf-8"
        r:puts(string.format("<!DOCTYPE html>\n<html><head><title>%d %s" ..
                             "</title></head><body><h1>%s</h1></body>" ..
                             "</html>\n", status, p[2], p[2]))
        return apache2.OK
    end
    local rid = r.headers_in["X-Request-Id"]
    if not (rid and #rid <= 64 and rid:find("^[A-Za-z0-9._-]+$")) then
        rid = r:sha1(string.format("%s %s %s %s", r:clock(),
                                   r.useragent_ip or "", tostring({}),
                                   math.random())):sub(1, 32)
    end
    r.content_type = "application/problem+json"
    r.headers_out["X-Request-Id"] = rid
    if status == 502 or status == 503 then
        r.headers_out["Retry-After"] = "5"
    end
    -- (for HEAD, Apache drops the body itself)
    r:puts(string.format(
        '{"type":"urn:synthia:problem:%s","title":"%s","status":%d,' ..
        '"detail":"%s","code":"%s","request_id":"%s"}\n',
        p[1], p[2], status, p[3], p[1], rid))
    return apache2.OK
end
