"""`mpsysd top`: a live view of the fleet (Textual). Devices on the left
(online or not, heap, errors), the picked device's services and tasks on the
right, replies and logs below. Keys: s start, x stop, r restart the picked
task; l its log; q quits. Everything comes over MQTT as it is published."""
import asyncio
import json
import uuid

import aiomqtt
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, RichLog

from mpsysd_cli.fleet import Fleet


class FleetTop(App):
    TITLE = "mpsysd top"
    CSS = "#devices {width: 45%;} #tasks {width: 55%;} #out {height: 10;}"
    BINDINGS = [("s", "op('start')", "start"), ("x", "op('stop')", "stop"),
                ("r", "op('restart')", "restart"), ("l", "log", "log"), ("q", "quit", "quit"),
                ("ctrl+c", "quit", "quit")]  # as `make fleet` says: Ctrl-C stops it all

    def __init__(self, conf):
        super().__init__()
        self.conf = conf
        self.devices = {}  # name -> {"online", "status"}
        self.fleet = None
        self.picked = None
        self.waiting = {}  # command id -> what it was, for the reply line
        self.ready = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="devices", cursor_type="row")
            yield DataTable(id="tasks", cursor_type="row")
        yield RichLog(id="out", wrap=True)
        yield Footer()

    def on_mount(self):
        # where it looks, as `mpsysd` beside it needs (make fleet's port is new each time)
        self.sub_title = "%s:%s as %s" % (self.conf["host"], self.conf["port"],
                                          self.conf["user"] or "anonymous")
        dev = self.query_one("#devices", DataTable)
        dev.add_columns("device", "state", "heap free", "tasks", "errors")
        self.query_one("#tasks", DataTable).add_columns("task", "state", "result")
        self.run_worker(self.listen(), exclusive=True)

    async def listen(self):
        out = self.query_one("#out", RichLog)
        try:
            async with Fleet(self.conf) as fleet:
                self.fleet = fleet
                for what in ("online", "status", "reply"):
                    await fleet.client.subscribe(fleet.topic("+", what), qos=1)
                self.ready.set()
                async for m in fleet.client.messages:
                    parts = m.topic.value.split("/")
                    if len(parts) == 3 and parts[2] == "reply":
                        self.replied(m.payload)
                    elif fleet.take(self.devices, m):
                        self.redraw()
        except (aiomqtt.MqttError, Exception) as e:
            out.write("broker: %s" % e)

    def replied(self, payload):
        try:
            reply = json.loads(payload)
        except ValueError:
            return
        what = self.waiting.pop(reply.get("id"), None)
        if what is None:
            return
        out = self.query_one("#out", RichLog)
        if not reply.get("ok"):
            out.write("%s: %s" % (what, reply.get("error")))
        elif isinstance(reply.get("result"), list) and what.endswith(" log"):
            for line in reply["result"]:
                out.write(line)
        else:
            out.write("%s: ok %s" % (what, json.dumps(reply.get("result"))))

    def redraw(self):
        dev = self.query_one("#devices", DataTable)
        row = dev.cursor_row
        dev.clear()
        names = sorted(self.devices)
        for n in names:
            d = self.devices[n]
            st = d["status"] or {}
            dev.add_row(n, d["online"], str(st.get("mem_free", "")),
                        str(len(st.get("tasks", {}))), str(st.get("errors", "")), key=n)
        if names:
            dev.move_cursor(row=min(max(row, 0), len(names) - 1))
            self.picked = names[dev.cursor_row]
        self.draw_tasks()

    def draw_tasks(self):
        tasks = self.query_one("#tasks", DataTable)
        row = tasks.cursor_row
        tasks.clear()
        st = (self.devices.get(self.picked) or {}).get("status") or {}
        names = sorted(st.get("tasks", {}))
        for n in names:
            t = st["tasks"][n]
            tasks.add_row(n, t["state"], str(t.get("result") or ""), key=n)
        if names:
            tasks.move_cursor(row=min(max(row, 0), len(names) - 1))

    def on_data_table_row_highlighted(self, event):
        if event.data_table.id == "devices" and event.row_key.value in self.devices:
            if self.picked != event.row_key.value:
                self.picked = event.row_key.value
                self.draw_tasks()

    def task_name(self):
        tasks = self.query_one("#tasks", DataTable)
        if not tasks.row_count:
            return None
        return tasks.coordinate_to_cell_key((tasks.cursor_row, 0)).row_key.value

    async def send(self, op, name, what, **args):
        if self.fleet is None or self.picked is None or name is None:
            return
        cid = uuid.uuid4().hex[:12]
        self.waiting[cid] = what
        body = dict(args, id=cid, op=op, name=name)
        await self.fleet.client.publish(self.fleet.topic(self.picked, "cmd"), json.dumps(body),
                                        qos=1)

    async def action_op(self, op):
        name = self.task_name()
        await self.send(op, name, "%s %s %s" % (self.picked, op, name))

    async def action_log(self):
        name = self.task_name()
        if name is None:
            return
        await self.fleet.client.publish(self.fleet.topic(self.picked, "cmd"), json.dumps(
            {"id": self._log_id(name), "op": "log", "grep": name.split(".service")[0],
             "lines": 20}), qos=1)

    def _log_id(self, name):
        cid = uuid.uuid4().hex[:12]
        self.waiting[cid] = "%s %s log" % (self.picked, name)
        return cid
