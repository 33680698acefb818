// oc-connect.mjs URL TOKEN PROTOCOL: one `connect` to an OpenClaw gateway
// as a local CLI client speaking PROTOCOL (min = max), with the `ws`
// package OpenClaw ships (OC_NODE_MODULES).  Prints "ok" or the error's
// detail code (e.g. PROTOCOL_MISMATCH) and the close code; exit 0 when
// the gateway accepted.
import { createRequire } from "node:module";

const require = createRequire(process.env.OC_NODE_MODULES + "/");
const WebSocket = require("ws");
const [url, token, proto] = process.argv.slice(2);
const ws = new WebSocket(url, { perMessageDeflate: false });
let result = "no answer";
setTimeout(() => { console.log("timeout"); process.exit(2); }, 20000).unref();
ws.on("error", (e) => { console.log("error " + e.message); process.exit(2); });
ws.on("message", (data) => {
	const m = JSON.parse(data);
	if (m.type === "event" && m.event === "connect.challenge")
		ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params: {
			minProtocol: Number(proto), maxProtocol: Number(proto), role: "operator",
			scopes: ["operator.read"], auth: { token },
			client: { id: "cli", mode: "cli", version: "test", platform: "linux" } } }));
	else if (m.type === "res" && m.id === "c") {
		result = m.ok ? "ok" : (m.error.details && m.error.details.code) || m.error.code;
		if (m.ok) { console.log("ok"); process.exit(0); }
	}
});
ws.on("close", (code) => { console.log(`${result} close ${code}`); process.exit(result === "ok" ? 0 : 1); });
