-- write-mix.lua - wrk script: alternate POST /v1/vms and DELETE /v1/vms/{uuid}
-- of a VM this connection's thread made; every 2xx is a durable write.
-- (wrk.format's headers argument replaces wrk.headers, token included, so
-- the content type goes into wrk.headers once.)
local made, n = {}, 0
wrk.headers["Content-Type"] = "application/json"
request = function()
	n = n + 1
	if n % 2 == 0 and #made > 0 then
		return wrk.format("DELETE", "/v1/vms/" .. table.remove(made, 1))
	end
	return wrk.format("POST", "/v1/vms", nil, '{"name-label":"bench"}')
end
response = function(status, headers, body)
	if status == 201 then
		local u = body:match('"uuid":"([0-9a-f-]+)"')
		if u then table.insert(made, u) end
	end
end
