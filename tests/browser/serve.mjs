// serve.mjs - a tiny static file server for the chat page (tests/browser/
// page/), so the browser tests load it from a real http:// origin that the
// bridge's Origin allowlist can accept (http://localhost:3000 by default)
// or refuse (another port).  Node's built-in http only, any Node >= 18.
//
//   node serve.mjs [--host localhost] [--port 3000] [--root DIR]
//
// GET and HEAD of files under DIR (default: page/ beside this file), "/"
// being index.html; nothing outside DIR (".." and encoded tricks answer
// 404, as does anything that is not a regular file).  Prints
// "listening on http://HOST:PORT/" once every socket is bound, exits 0 on
// SIGTERM or SIGINT, and exits 1 when it cannot listen.  --host localhost
// binds 127.0.0.1 and, where the machine has it, ::1 (browsers try both).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TYPES = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8',
	'.json': 'application/json',
	'.svg': 'image/svg+xml',
	'.png': 'image/png',
	'.ico': 'image/x-icon',
	'.txt': 'text/plain; charset=utf-8',
};

const { values: opt } = parseArgs({
	options: {
		host: { type: 'string', default: 'localhost' },
		port: { type: 'string', default: '3000' },
		root: { type: 'string', default: path.join(path.dirname(fileURLToPath(import.meta.url)), 'page') },
	},
});
const port = Number(opt.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
	console.error(`serve.mjs: bad --port ${opt.port}`);
	process.exit(2);
}
const root = fs.realpathSync(opt.root);

// resolve(urlPath): the file under root that urlPath names, or null.
function resolve(urlPath) {
	let rel;
	try {
		rel = decodeURIComponent(urlPath);
	} catch {
		return null;
	}
	if (rel.includes('\0') || rel.includes('\\'))
		return null;
	if (rel.endsWith('/'))
		rel += 'index.html';
	const file = path.join(root, path.normalize(rel));
	if (!file.startsWith(root + path.sep))
		return null;
	let real;
	try {
		real = fs.realpathSync(file); // a symlink must not lead out either
	} catch {
		return null;
	}
	if (!real.startsWith(root + path.sep) || !fs.statSync(real).isFile())
		return null;
	return real;
}

function answer(res, code, text) {
	res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
	res.end(`${text}\n`);
}

function handle(req, res) {
	if (req.method !== 'GET' && req.method !== 'HEAD') {
		res.setHeader('Allow', 'GET, HEAD');
		return answer(res, 405, 'method not allowed');
	}
	let pathname;
	try {
		pathname = new URL(req.url, 'http://x').pathname;
	} catch {
		return answer(res, 400, 'bad request');
	}
	const file = resolve(pathname);
	if (!file)
		return answer(res, 404, 'not found');
	const body = fs.readFileSync(file);
	res.writeHead(200, {
		'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
		'Content-Length': body.length,
		'Cache-Control': 'no-store',
		'X-Content-Type-Options': 'nosniff',
		'Referrer-Policy': 'no-referrer',
	});
	res.end(req.method === 'HEAD' ? undefined : body);
}

// listen(host, optional): a server on host:port; resolves false when an
// optional address (::1 on a machine without IPv6) cannot be bound.
function listen(host, optional) {
	return new Promise((done, fail) => {
		const s = http.createServer(handle);
		s.once('error', (e) => (optional ? done(false) : fail(e)));
		s.listen(port, host, () => done(true));
	});
}

const hosts = opt.host === 'localhost' ? [['127.0.0.1', false], ['::1', true]] : [[opt.host, false]];
try {
	for (const [h, optional] of hosts)
		await listen(h, optional);
} catch (e) {
	console.error(`serve.mjs: cannot listen on ${opt.host}:${port}: ${e.message}`);
	process.exit(1);
}
for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => process.exit(0));
const shown = opt.host.includes(':') ? `[${opt.host}]` : opt.host;
console.log(`serve.mjs: listening on http://${shown}:${port}/ (${root})`);
