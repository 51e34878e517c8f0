"""The receiver's guide (docs/plugins/webhooks.md) stays true: its copy-and-paste
``verify_signature`` accepts its own example request and agrees with ``rapport.api``'s."""

from __future__ import annotations

import re
from pathlib import Path

from rapport.api import verify_signature as shipped

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "webhooks.md"


def _documented():
    text = DOC.read_text(encoding="utf-8")
    code = next(
        block
        for block in re.findall(r"```python\n(.*?)```", text, re.S)
        if "def verify_signature" in block
    )
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    request = re.search(r"```http\n(.*?)```", text, re.S).group(1)
    header = re.search(r"^Rapport-Signature: (.+)$", request, re.M).group(1)
    body = request.rstrip("\n").split("\n\n", 1)[1].encode()
    return namespace["verify_signature"], header, body


def test_the_documented_function_verifies_the_documented_request():
    documented, header, body = _documented()
    moment = int(re.search(r"t=(\d+)", header).group(1))
    for verify in (documented, shipped):
        assert verify("whsec_example", header, body, now=moment + 60)
        assert not verify("whsec_example", header, body, now=moment + 301)  # a replay
        assert not verify("whsec_other", header, body, now=moment)
        assert not verify("whsec_example", header, body.replace(b"42", b"43"), now=moment)
        assert not verify("whsec_example", "v1=abc", body, now=moment)
