-- SPDX-License-Identifier: BSD-2-Clause
-- mixed.lua - a wrk script: a mix of a shop's requests, every answer
-- classified (tests/integration/syload.py starts it; the soak and the
-- fault tests read its report).
--
--   wrk -s mixed.lua URL -- key=PK token=JWT products=ID,ID,... \
--       mix=read:60,list:10,search:10,order:15,login:5 \
--       login=EMAIL<TAB>PASSWORD<TAB>SLUG [limit=N done=PATH] [run=TAG]
--
-- read: GET /api/v1/products/{id} and list: GET /api/v1/products?limit=20
-- with the publishable key; search: GET /api/v1/products/search with
-- one of a few queries (so some are result-cache hits, some not);
-- order: POST /api/v1/orders with the shopper's token and a fresh
-- Idempotency-Key; login: POST /api/v1/auth/login (argon2id).  limit=N
-- stops each thread after N answers, and then creates the file PATH.<id>
-- (its thread's number): wrk itself runs on until its -d duration, so
-- the caller waits for a file per thread and ends wrk with SIGINT
-- (syload.Wrk does).  At the end one line
--   MIXED {"total":..,"ok":..,"problem":..,"bad":..,"status":{..},
--          "samples":[..]}
-- where bad counts answers that are neither 2xx/304 nor an
-- application/problem+json, and samples holds the first few of them.

local threads = {}
local counter = 1

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

local kinds = {}      -- one entry per weight unit, e.g. 60 x "read"
local products = {}
local searches = {"linen", "linen shirt", "shirt", "light linen",
                  "wool coat", "linnen", "shirts linen light"}
local key, token, login_body, run, done_path
local n = 0

local function split(s, sep)
    local out = {}
    for part in string.gmatch(s, "([^" .. sep .. "]+)") do
        table.insert(out, part)
    end
    return out
end

local function json_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
        return string.format("\\u%04x", c:byte())
    end) .. '"'
end

function init(args)
    limit = 0
    total, ok, problem, bad = 0, 0, 0, 0
    status = {}
    samples = {}
    run = tostring(id)
    for _, a in ipairs(args) do
        local k, v = a:match("^([%w_]+)=(.*)$")
        if k == "key" then key = v
        elseif k == "token" then token = v
        elseif k == "products" then products = split(v, ",")
        elseif k == "limit" then limit = tonumber(v)
        elseif k == "done" then done_path = v
        elseif k == "run" then run = v .. "-" .. id
        elseif k == "login" then
            local f = split(v, "\t")
            login_body = '{"email":' .. json_string(f[1]) ..
                ',"password":' .. json_string(f[2]) ..
                ',"tenant":' .. json_string(f[3]) .. '}'
        elseif k == "mix" then
            for _, w in ipairs(split(v, ",")) do
                local name, weight = w:match("^(%a+):(%d+)$")
                for _ = 1, tonumber(weight) do
                    table.insert(kinds, name)
                end
            end
        end
    end
    math.randomseed(os.time() + id * 7919)
    if #kinds == 0 then kinds = {"read"} end
end

local function product()
    return products[math.random(#products)]
end

function request()
    n = n + 1
    local kind = kinds[math.random(#kinds)]
    local h = {["X-API-Key"] = key}
    if kind == "list" then
        return wrk.format("GET", "/api/v1/products?limit=20", h)
    elseif kind == "search" then
        local q = searches[math.random(#searches)]:gsub(" ", "%%20")
        return wrk.format("GET", "/api/v1/products/search?q=" .. q ..
            "&limit=10", h)
    elseif kind == "order" then
        local body = '{"items":[{"product_id":"' .. product() ..
            '","quantity":1}]}'
        return wrk.format("POST", "/api/v1/orders", {
            ["Authorization"] = "Bearer " .. token,
            ["Content-Type"] = "application/json",
            ["Idempotency-Key"] = "wrk-" .. run .. "-" .. n,
        }, body)
    elseif kind == "login" then
        return wrk.format("POST", "/api/v1/auth/login",
            {["Content-Type"] = "application/json"}, login_body)
    end
    return wrk.format("GET", "/api/v1/products/" .. product(), h)
end

function response(st, headers, body)
    total = total + 1
    status[st] = (status[st] or 0) + 1
    local ct = headers["Content-Type"] or headers["content-type"] or ""
    if (st >= 200 and st < 300) or st == 304 then
        ok = ok + 1
    elseif ct:find("application/problem+json", 1, true) == 1 then
        problem = problem + 1
    else
        bad = bad + 1
        if #samples < 5 then
            table.insert(samples, st .. " " .. ct .. " " .. body:sub(1, 120))
        end
    end
    if limit > 0 and total == limit then
        if done_path then
            local f = assert(io.open(done_path .. "." .. id, "w"))
            f:close()
        end
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local t = {total = 0, ok = 0, problem = 0, bad = 0}
    local st, smp = {}, {}
    for _, thread in ipairs(threads) do
        for _, k in ipairs({"total", "ok", "problem", "bad"}) do
            t[k] = t[k] + thread:get(k)
        end
        for code, c in pairs(thread:get("status")) do
            st[tostring(code)] = (st[tostring(code)] or 0) + c
        end
        for _, s in ipairs(thread:get("samples")) do
            table.insert(smp, s)
        end
    end
    local parts = {}
    for code, c in pairs(st) do
        table.insert(parts, string.format('"%s":%d', code, c))
    end
    local quoted = {}
    for _, s in ipairs(smp) do
        table.insert(quoted, json_string(s))
    end
    io.write(string.format(
        'MIXED {"total":%d,"ok":%d,"problem":%d,"bad":%d,' ..
        '"status":{%s},"samples":[%s],"p50_ms":%.2f,"p99_ms":%.2f}\n',
        t.total, t.ok, t.problem, t.bad, table.concat(parts, ","),
        table.concat(quoted, ","), latency:percentile(50) / 1000,
        latency:percentile(99) / 1000))
end
