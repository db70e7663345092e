-- wrk script for Amazon WorkSpaces API benchmarks (awsJson1_1 or smithy rpc-v2-cbor).
--
-- Environment (read once at start):
--   SCENARIO   describe_empty | describe_one | create_tags | describe_tags | tags_mixed
--              | ipgroup_one (localspaces addition: DescribeIpGroups {"GroupIds":[IPG_ID]})
--              | describe_page (localspaces addition: DescribeWorkspaces {"Limit":25})
--              | create_workspaces (localspaces addition: CreateWorkspaces, 25 new users per
--                request in directory DIR_ID from bundle BUNDLE_ID; user names RUN-<n>)
--   IPG_ID     IP group id for ipgroup_one                               (default wsipg-000000000)
--   PROTO      json (default: POST /, X-Amz-Target) | cbor (POST /service/WorkspacesService/operation/<Op>)
--   WS_ID      workspace id for describe_one and create_tags           (default ws-000000000)
--   TAG_WS_ID  workspace id for describe_tags (keep its tag count fixed) (default WS_ID)
--   MIX_WS_ID  workspace id for tags_mixed                               (default WS_ID)
--   REGION     region put in the fake SigV4 credential scope             (default us-east-1)
--   LABEL      free text copied into the RESULT line
--
-- Every request carries a syntactically valid but unsigned SigV4 Authorization header:
-- moto routes requests to a service by the credential scope in it; servers that do not
-- verify signatures ignore it. A server that verifies SigV4 would reject these (see README).
--
-- Static scenarios do not define request(), so wrk builds the request once (no Lua per
-- request). tags_mixed alternates two pre-built requests (CreateTags, DescribeTags).
-- At the end a single machine-readable line is printed:
--   RESULT label=.. scenario=.. proto=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. p999_ms=.. max_ms=.. requests=.. errors=..

local scenario = os.getenv("SCENARIO") or "describe_empty"
local proto    = os.getenv("PROTO") or "json"
local ws_id    = os.getenv("WS_ID") or "ws-000000000"
local tag_ws   = os.getenv("TAG_WS_ID") or ws_id
local mix_ws   = os.getenv("MIX_WS_ID") or ws_id
local ipg_id   = os.getenv("IPG_ID") or "wsipg-000000000"
local region   = os.getenv("REGION") or "us-east-1"
local label    = os.getenv("LABEL") or ""
local dir_id   = os.getenv("DIR_ID") or "d-0000000000"
local bundle   = os.getenv("BUNDLE_ID") or "wsb-000000000"
local run_id   = os.getenv("RUN") or "bench"

---------------------------------------------------------------- encoders
-- Values: strings, arrays (tables with [1]..[n]; use EMPTY_MAP for {}), maps
-- (tables with string keys; emitted in the order given by a `__order` list).
local EMPTY_MAP = { __order = {} }

local function is_array(t) return t.__order == nil end

local function json_str(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function to_json(v)
  if type(v) == "string" then return json_str(v) end
  if type(v) == "number" then return tostring(v) end
  if type(v) == "boolean" then return v and "true" or "false" end
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[#parts + 1] = to_json(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for _, k in ipairs(v.__order) do parts[#parts + 1] = json_str(k) .. ":" .. to_json(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function cbor_head(major, n)
  local m = major * 32
  if n < 24 then return string.char(m + n) end
  if n < 256 then return string.char(m + 24, n) end
  if n < 65536 then return string.char(m + 25, math.floor(n / 256), n % 256) end
  return string.char(m + 26, math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                     math.floor(n / 256) % 256, n % 256)
end

local function to_cbor(v)
  if type(v) == "string" then return cbor_head(3, #v) .. v end
  if type(v) == "boolean" then return string.char(v and 0xf5 or 0xf4) end
  if type(v) == "number" then return cbor_head(0, v) end -- non-negative ints only
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[#parts + 1] = to_cbor(v[i]) end
    return cbor_head(4, #v) .. table.concat(parts)
  end
  for _, k in ipairs(v.__order) do parts[#parts + 1] = to_cbor(k) .. to_cbor(v[k]) end
  return cbor_head(5, #v.__order) .. table.concat(parts)
end

local function map(...) -- map("k1", v1, "k2", v2, ...)
  local t, a = { __order = {} }, { ... }
  for i = 1, #a, 2 do t.__order[#t.__order + 1] = a[i]; t[a[i]] = a[i + 1] end
  return t
end

---------------------------------------------------------------- requests
local auth = "AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20260101/" .. region ..
  "/workspaces/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" ..
  string.rep("0", 64)

local function build(op, input)
  local h = { ["Authorization"] = auth, ["X-Amz-Date"] = "20260101T000000Z" }
  local path, body
  if proto == "cbor" then
    path = "/service/WorkspacesService/operation/" .. op
    h["smithy-protocol"] = "rpc-v2-cbor"
    h["Content-Type"] = "application/cbor"
    h["Accept"] = "application/cbor"
    body = to_cbor(input)
  elseif proto == "json" then
    path = "/"
    h["X-Amz-Target"] = "WorkspacesService." .. op
    h["Content-Type"] = "application/x-amz-json-1.1"
    body = to_json(input)
  else
    error("PROTO must be json or cbor, got " .. proto)
  end
  return path, h, body
end

local function tag_list(key, value) return { map("Key", key, "Value", value) } end

local specs = {
  describe_empty = { "DescribeWorkspaces", EMPTY_MAP },
  describe_one   = { "DescribeWorkspaces", map("WorkspaceIds", { ws_id }) },
  create_tags    = { "CreateTags", map("ResourceId", ws_id, "Tags", tag_list("bench", "v1")) },
  describe_tags  = { "DescribeTags", map("ResourceId", tag_ws) },
  ipgroup_one    = { "DescribeIpGroups", map("GroupIds", { ipg_id }) },
  describe_page  = { "DescribeWorkspaces", map("Limit", 25) },
}

wrk.method = "POST"
if scenario == "create_workspaces" then
  local n = 0
  request = function()
    local items = {}
    for _ = 1, 25 do
      n = n + 1
      items[#items + 1] = map("DirectoryId", dir_id, "UserName", run_id .. "-" .. n, "BundleId", bundle,
        "WorkspaceProperties", map("RunningMode", "AUTO_STOP", "RunningModeAutoStopTimeoutInMinutes", 60))
    end
    local path, h, body = build("CreateWorkspaces", map("Workspaces", items))
    for k, v in pairs(wrk.headers) do if h[k] == nil then h[k] = v end end
    return wrk.format("POST", path, h, body)
  end
elseif scenario == "tags_mixed" then
  local reqs = {}
  for i, s in ipairs({ { "CreateTags", map("ResourceId", mix_ws, "Tags", tag_list("mixed", "v1")) },
                       { "DescribeTags", map("ResourceId", mix_ws) } }) do
    local path, h, body = build(s[1], s[2])
    for k, v in pairs(wrk.headers) do if h[k] == nil then h[k] = v end end
    reqs[i] = wrk.format("POST", path, h, body)
  end
  local n = 0
  request = function()
    n = n + 1
    return reqs[(n % 2) + 1]
  end
else
  local s = specs[scenario]
  if not s then error("unknown SCENARIO " .. scenario) end
  local path, h, body = build(s[1], s[2])
  wrk.path = path
  wrk.body = body
  for k, v in pairs(h) do wrk.headers[k] = v end
end

---------------------------------------------------------------- report
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local function ms(p) return string.format("%.3f", latency:percentile(p) / 1000) end
  io.write(string.format(
    "RESULT label=%s scenario=%s proto=%s rps=%.1f p50_ms=%s p90_ms=%s p99_ms=%s p999_ms=%s max_ms=%.3f mean_ms=%.3f requests=%d errors=%d status_errors=%d connect_errors=%d read_errors=%d timeouts=%d bytes=%d\n",
    label, scenario, proto, summary.requests / secs, ms(50), ms(90), ms(99), ms(99.9),
    latency.max / 1000, latency.mean / 1000, summary.requests, errors, e.status, e.connect,
    e.read, e.timeout, summary.bytes))
end
