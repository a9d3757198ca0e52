"""`archlint mcp` end to end, with the official SDK's client over stdio: tools listed, a bad model checked (its
findings, fixes and measured effects as structured content), an edit seen by the next check in the same session,
and bad requests answered as tool errors while the server keeps serving."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

WIDE = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.body = nn.Conv2d(16, 32, KERNEL, padding=KERNEL // 2)
        self.head = nn.Linear(32, 2)

    def forward(self, x):
        return self.head(torch.relu(self.body(torch.relu(self.stem(x)))).mean(dim=(2, 3)))


def example_inputs():
    return (torch.randn(2, 3, 32, 32),)
'''


def _session(root: Path, steps):
    async def run():
        params = StdioServerParameters(command=sys.executable, args=["-m", "archlint", "mcp", "--root", str(root)],
                                       cwd=str(root))
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await steps(session)
    return asyncio.run(run())


def test_mcp_server_end_to_end(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    outside.mkdir()
    model = project / "net.py"
    model.write_text(WIDE.replace("KERNEL", "7"))
    (outside / "net.py").write_text(WIDE.replace("KERNEL", "7"))

    async def steps(session: ClientSession):
        seen = {}
        seen["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
        seen["rules"] = await session.call_tool("list_rules", {})
        seen["explain"] = await session.call_tool("explain_rule", {"rule": "AL501"})
        seen["first"] = await session.call_tool("check", {"target": "net.py", "select": ["large-kernel"]})
        model.write_text(WIDE.replace("KERNEL", "3"))     # the agent fixes the model
        seen["second"] = await session.call_tool("check", {"target": "net.py", "select": ["large-kernel"]})
        seen["outside"] = await session.call_tool("check", {"target": str(outside / "net.py")})
        seen["missing"] = await session.call_tool("check", {"target": "nope.py"})
        seen["bad option"] = await session.call_tool("check", {"target": "net.py", "select": ["AL999"]})
        seen["bad shape"] = await session.call_tool("check", {"target": "net.py", "input_shape": ["1,x"]})
        seen["malformed"] = await session.call_tool("check", {"select": "large-kernel"})
        seen["unknown rule"] = await session.call_tool("explain_rule", {"rule": "no-such-rule"})
        seen["module outside"] = await session.call_tool("check", {"target": "torchvision.models:resnet18"})
        seen["after errors"] = await session.call_tool("check", {"target": "net.py", "select": ["AL5"]})
        return seen

    seen = _session(project, steps)
    assert seen["tools"] == ["check", "explain_rule", "list_rules"]
    rules = seen["rules"].structured_content["rules"]
    assert {r["name"] for r in rules} >= {"large-kernel", "constant-init"} and not seen["rules"].is_error
    assert "Why" in seen["explain"].structured_content["docs"]

    first = seen["first"].structured_content
    assert not seen["first"].is_error and first["exit_code"] == 1
    [finding] = first["models"][0]["findings"]
    assert finding["code"] == "AL501" and finding["line"] == 10 and finding["fix"]["snippet"]
    assert {m["name"] for m in finding["effect"]} >= {"params", "MACs"} and all(m["method"] for m in finding["effect"])
    assert "AL501 [warning] 7×7 conv" in first["text"]

    second = seen["second"].structured_content
    assert second["exit_code"] == 0 and second["models"][0]["findings"] == []   # the edit was seen

    for key, words in [("outside", "outside the folders this server may read"), ("missing", "no such file"),
                       ("bad option", "AL999"), ("bad shape", "bad input shape"), ("malformed", "target"),
                       ("unknown rule", "no rule 'no-such-rule'"), ("module outside", "outside the folders this server may read")]:
        result = seen[key]
        text = " ".join(c.text for c in result.content)
        assert result.is_error and words in text, (key, text)
    assert not seen["after errors"].is_error and seen["after errors"].structured_content["exit_code"] == 0
