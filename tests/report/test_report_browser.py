"""The report in a real browser: headless Chromium over the DevTools protocol, with the network blocked.

Every request other than the page's own file:// load is failed and recorded, so a page that needs the
network shows up as a blocked request (and usually as a broken chart). The test asserts that every chart
drew, that the console stayed clean and that the workers table sorts; it keeps a full-page screenshot in
its temporary folder. Each check is shown to work by a control (a console error, a fetch) at the end.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gtproc.cli.main import main

from tests.report.report_support import CARS, PETS_TRUTH, cats_and_dogs

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium on this machine (.ci/run installs it with apt)")
websocket = pytest.importorskip("websocket", reason="websocket-client is in the dev extra")


class DevTools:
    """A minimal DevTools client: commands by id; events kept; paused requests answered at once."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.blocked: list[str] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        wanted = self.next_id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = self.receive()
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def receive(self) -> dict[str, Any]:
        message = json.loads(self.ws.recv())
        if message.get("method") == "Fetch.requestPaused":
            request = message["params"]
            self.next_id += 1
            if request["request"]["url"].startswith("file://"):
                reply = {"method": "Fetch.continueRequest", "params": {"requestId": request["requestId"]}}
            else:
                self.blocked.append(request["request"]["url"])
                reply = {
                    "method": "Fetch.failRequest",
                    "params": {"requestId": request["requestId"], "errorReason": "BlockedByClient"},
                }
            self.ws.send(json.dumps({"id": self.next_id, **reply}))
        elif "method" in message:
            self.events.append(message)
        return message

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["method"] == method:
                return event
        while time.monotonic() < deadline:
            message = self.receive()
            if message.get("method") == method:
                return message
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"].get("text")))
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"]["text"])
        return found


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    command = [
        BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--remote-debugging-port=0", f"--user-data-dir={tmp_path / 'profile'}",
        # Belt and braces under the Fetch interception: no proxy route and no name resolution either.
        "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            if match := re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line):
                port = int(match.group(1))
        assert port is not None, "chromium did not start its DevTools endpoint"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        for domain in ("Runtime", "Log", "Page", "Network"):
            tools.call(f"{domain}.enable")
        tools.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        yield tools
        tools.ws.close()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def open_report(tools: DevTools, page: Path, screenshot: Path) -> None:
    tools.call("Emulation.setDeviceMetricsOverride", width=1300, height=900, deviceScaleFactor=1, mobile=False)
    tools.call("Page.navigate", url=page.resolve().as_uri())
    tools.wait_for("Page.loadEventFired")
    height = int(tools.call("Page.getLayoutMetrics")["cssContentSize"]["height"])
    tools.call("Emulation.setDeviceMetricsOverride", width=1300, height=height, deviceScaleFactor=1, mobile=False)
    shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))


CHARTS_DRAWN = """
Array.from(document.querySelectorAll('figure.chart')).map(function (f) {
  var svg = f.querySelector('svg'), box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  var marks = svg ? svg.querySelectorAll('path, rect, use').length : 0;
  var drawn = svg ? svg.getBBox() : {width: 0, height: 0};
  return {name: f.dataset.chart, width: box.width, height: box.height, marks: marks,
          drawnWidth: drawn.width, drawnHeight: drawn.height, texts: svg ? svg.querySelectorAll('text').length : 0};
})
"""
COLUMN = "Array.from(document.querySelectorAll('#workers tbody tr')).map(r => parseFloat(r.cells[{n}].dataset.v))"


def make_reports(tmp_path: Path) -> dict[str, Path]:
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(PETS_TRUTH))
    pets = tmp_path / "pets.html"
    cars = tmp_path / "cars.html"
    assert main(["report", str(cats_and_dogs(tmp_path)), "-o", str(pets), "--truth", str(truth)]) == 0
    assert main(["report", str(CARS), "-o", str(cars)]) == 0
    return {"pets": pets, "cars": cars}


@pytest.mark.parametrize("job", ["pets", "cars"])
def test_report_renders_offline_in_chromium(tmp_path: Path, browser: DevTools, job: str):
    page = make_reports(tmp_path)[job]
    expected = re.findall(r'<figure class="chart" data-chart="([^"]+)">', page.read_text())
    assert len(expected) >= 5
    screenshot = tmp_path / f"{job}.png"
    open_report(browser, page, screenshot)

    drawn = browser.evaluate(CHARTS_DRAWN)
    assert [c["name"] for c in drawn] == expected
    for chart in drawn:
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["drawnWidth"] > 100 and chart["drawnHeight"] > 50, chart
        assert chart["marks"] >= 10 and chart["texts"] >= 3, chart
    assert browser.console_errors() == []
    assert browser.blocked == []  # the page asked for nothing beyond itself
    assert screenshot.stat().st_size > 50_000 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The workers table sorts on a click, both ways.
    browser.evaluate("document.querySelector('#workers th:nth-child(2)').click()")
    answers = browser.evaluate(COLUMN.replace("{n}", "1"))
    assert answers == sorted(answers)
    browser.evaluate("document.querySelector('#workers th:nth-child(3)').click()")
    browser.evaluate("document.querySelector('#workers th:nth-child(3)').click()")
    accuracy = browser.evaluate(COLUMN.replace("{n}", "2"))
    assert accuracy == sorted(accuracy, reverse=True) and len(accuracy) >= 3

    # Controls: the checks above would have seen a console error and a request to the network.
    outcome = browser.evaluate("fetch('http://example.com/x.js').then(() => 'fetched', () => 'blocked')")
    browser.evaluate("console.error('control error')")
    browser.wait_for("Runtime.consoleAPICalled")
    assert outcome == "blocked" and browser.blocked == ["http://example.com/x.js"]
    assert "control error" in browser.console_errors()
