"""An MCP server in the standard library alone (newline-delimited JSON-RPC on stdin/stdout), for sandbox
images that lack the SDK. Its one tool, ``where``, writes a file in the working directory and says whether
it runs in a container."""

import json
import os
import sys

TOOL = {"name": "where", "description": "Write a file here and say where here is.",
        "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}


def answer(request):
    method, params = request.get("method"), request.get("params") or {}
    if method == "initialize":
        return {"protocolVersion": params.get("protocolVersion", "2025-06-18"), "capabilities": {"tools": {}},
                "serverInfo": {"name": "stdlib", "version": "1"}}
    if method == "tools/list":
        return {"tools": [TOOL]}
    if method == "tools/call":
        name = params["arguments"]["name"]
        with open(name, "w") as f:
            f.write("written by the server")
        text = f"cwd={os.getcwd()} container={os.path.exists('/.dockerenv')} wrote={os.path.abspath(name)}"
        return {"content": [{"type": "text", "text": text}], "isError": False}
    return {}


for line in sys.stdin:
    request = json.loads(line)
    if "id" in request:
        print(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": answer(request)}), flush=True)
