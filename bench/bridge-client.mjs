// make bench (bench/bridge.sh): the browser bridge's added round trip and
// its memory per idle connection.  Runs under the Node 24 of the pinned
// OpenClaw install and uses the `ws` package OpenClaw ships (a real
// WebSocket library on both sides of the comparison).
//
//   bridge-client.mjs direct URL TOKEN N      N health calls straight to the
//                                             OpenClaw gateway (run inside the
//                                             instance's netns: a loopback,
//                                             local client, as `openclaw` is)
//   bridge-client.mjs bridge URL ORIGIN N     N pings through the bridge: each
//                                             one an OpenClaw health call made
//                                             by the bridge on the browser's
//                                             behalf
//   bridge-client.mjs idle URL ORIGIN N PIDFILE
//                                             open N idle bridge connections,
//                                             print the gateway's RSS growth
//
// Prints one JSON line: {"mode","n","median_us","p90_us",...}.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";

const require = createRequire(process.env.OC_NODE_MODULES + "/");
const WebSocket = require("ws");
const [mode, url, arg, nStr, pidfile] = process.argv.slice(2);
const N = Number(nStr || 200);

const now = () => Number(process.hrtime.bigint() / 1000n); // µs, monotonic
const stats = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
	return { n: s.length, median_us: q(0.5), p90_us: q(0.9), min_us: s[0] };
};
const fail = (why) => {
	console.log(JSON.stringify({ mode, ok: false, error: String(why) }));
	process.exit(1);
};
setTimeout(() => fail("timeout"), 600000).unref();

function direct() {
	// A local CLI client with the shared token: OpenClaw grants the asked
	// scopes without a device (docs/openclaw-gateway-protocol.md §1).
	const ws = new WebSocket(url, { perMessageDeflate: false });
	const rtts = [];
	let sent = 0, t0 = 0;
	const next = () => {
		t0 = now();
		ws.send(JSON.stringify({ type: "req", id: "h" + ++sent, method: "health" }));
	};
	ws.on("error", fail);
	ws.on("message", (data) => {
		const m = JSON.parse(data);
		if (m.type === "event" && m.event === "connect.challenge") {
			ws.send(JSON.stringify({ type: "req", id: "c", method: "connect", params: {
				minProtocol: 4, maxProtocol: 4, role: "operator", scopes: ["operator.read"],
				client: { id: "cli", mode: "cli", version: "bench", platform: "linux" },
				auth: { token: arg } } }));
		} else if (m.type === "res" && m.id === "c") {
			if (!m.ok) fail(JSON.stringify(m.error));
			for (let i = 0; i < 10; i++) {} // warm
			next();
		} else if (m.type === "res" && m.id === "h" + sent) {
			if (!m.ok) fail(JSON.stringify(m.error));
			if (sent > 5) rtts.push(now() - t0); // 5 warm-up calls
			if (rtts.length >= N) {
				console.log(JSON.stringify({ mode, ...stats(rtts) }));
				ws.close();
				process.exit(0);
			}
			next();
		}
	});
}

function bridge() {
	const ws = new WebSocket(url, { headers: { Origin: arg }, rejectUnauthorized: false, perMessageDeflate: false });
	const rtts = [];
	let sent = 0, t0 = 0;
	const next = () => {
		t0 = now();
		ws.send(JSON.stringify({ type: "ping", id: ++sent }));
	};
	ws.on("error", fail);
	ws.on("message", (data) => {
		const m = JSON.parse(data);
		if (m.type === "bridge.ready") {
			if (m.payload.status !== "connected") fail("agent side down");
			next();
		} else if (m.type === "pong" && m.id === sent) {
			if (!m.payload.agent) fail("the agent did not answer a ping");
			if (sent > 5) rtts.push(now() - t0);
			if (rtts.length >= N) {
				console.log(JSON.stringify({ mode, ...stats(rtts) }));
				ws.close();
				process.exit(0);
			}
			next();
		}
	});
}

function rssKiB(pid) {
	return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
}

async function idle() {
	const pid = readFileSync(pidfile, "utf8").trim();
	const open = async (n) => {
		const conns = [];
		for (let i = 0; i < n; i += 50) {
			const batch = [];
			for (let j = i; j < Math.min(n, i + 50); j++)
				batch.push(new Promise((ok, ko) => {
					const ws = new WebSocket(url, { headers: { Origin: arg }, rejectUnauthorized: false,
									perMessageDeflate: false });
					ws.on("message", () => ok(ws)); // bridge.ready: fully open
					ws.on("error", ko);
					conns.push(ws);
				}));
			await Promise.all(batch);
		}
		return conns;
	};
	const settle = () => new Promise((r) => setTimeout(r, 1500));
	// Warm the allocator with one round, then measure a second one.
	const warm = await open(50);
	await settle();
	const before = rssKiB(pid);
	const conns = await open(N);
	await settle();
	const after = rssKiB(pid);
	for (const ws of [...warm, ...conns]) ws.terminate();
	console.log(JSON.stringify({ mode, n: N, rss_before_kib: before, rss_after_kib: after,
		per_conn_kib: +((after - before) / N).toFixed(2) }));
	process.exit(0);
}

if (mode === "direct") direct();
else if (mode === "bridge") bridge();
else if (mode === "idle") idle().catch(fail);
else fail("mode: direct, bridge or idle");
