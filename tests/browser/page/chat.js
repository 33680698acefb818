/*
 * chat.js - the chat page's client of sentrix-gateway's browser bridge.
 *
 * Opens one WebSocket to the URL in ?bridge= (wss://HOST:PORT/), speaks
 * the bridge's JSON text frames (chat, abort and get_state out; bridge.ready,
 * bridge.status, response.delta, response, state and error in) and keeps the
 * page's elements in step, which is all tests/browser/chat.mjs looks at:
 *
 *   #status      data-status: connecting | connected | agent_down |
 *                refused (closed before it ever opened: a 403 for an
 *                origin off the allowlist, an untrusted certificate, nothing
 *                listening; the browser does not say which) | closed (after
 *                it opened) | invalid (no usable ?bridge=)
 *   .reply       one per chat, data-id; no data-state and aria-busy=true
 *                while it streams (its .text is the last "accumulated"),
 *                then data-state final | error | aborted; data-deltas
 *                counts the deltas; .outcome says why it stopped when not
 *                final
 *   #state       the last state payload, as JSON
 *
 * Everything the bridge sends is shown with textContent, never as markup.
 */
'use strict';

(function () {
	const $ = (id) => document.getElementById(id);
	const statusEl = $('status');
	const helpEl = $('help');
	const transcript = $('transcript');
	const form = $('composer');
	const input = $('message');
	const sendBtn = $('send');
	const abortBtn = $('abort');
	const refreshBtn = $('refresh');
	const stateEl = $('state');

	const STATES = new Set(['final', 'error', 'aborted']);
	const replies = new Map(); /* chat id -> .reply element */
	let ws = null;
	let opened = false; /* this socket's open event has fired */
	let agentUp = false; /* bridge.ready/bridge.status said "connected" */
	let current = null; /* id of the chat in flight, or null */
	let aborting = false; /* an abort of current was sent */
	let seq = 0;

	/* bridgeUrl(): the ?bridge= URL, or {error} when absent or unusable. */
	function bridgeUrl() {
		const raw = new URLSearchParams(location.search).get('bridge');
		const example = 'add ?bridge=wss://127.0.0.1:8766 to this page\u2019s address';
		if (!raw)
			return { error: `No bridge given: ${example}.` };
		let u;
		try {
			u = new URL(raw);
		} catch (e) {
			return { error: `The bridge address \u201c${raw}\u201d is not a URL: ${example}.` };
		}
		if (u.protocol !== 'wss:' && u.protocol !== 'ws:')
			return { error: `The bridge address must start with wss://: ${example}.` };
		return { url: u };
	}

	/* trustUrl(u): the bridge's certificate page, https on the port below. */
	function trustUrl(u) {
		const t = new URL(u.href);
		const port = Number(t.port || (t.protocol === 'wss:' ? 443 : 80));
		t.protocol = 'https:';
		t.port = String(port - 1);
		t.pathname = '/';
		t.search = '';
		t.hash = '';
		return t.href;
	}

	function setStatus(status, text) {
		statusEl.dataset.status = status;
		statusEl.textContent = text;
		updateControls();
	}

	/* showHelp(parts): the line under the status; strings become text,
	 * {href, text} links, {button, onclick} buttons; none hides it. */
	function showHelp(parts) {
		helpEl.replaceChildren();
		helpEl.hidden = !parts;
		for (const p of parts || []) {
			if (typeof p === 'string') {
				helpEl.append(p);
			} else if (p.href) {
				const a = document.createElement('a');
				a.href = p.href;
				a.target = '_blank';
				a.rel = 'noopener';
				a.textContent = p.text;
				helpEl.append(a);
			} else {
				const b = document.createElement('button');
				b.type = 'button';
				b.id = p.id;
				b.textContent = p.button;
				b.addEventListener('click', p.onclick);
				helpEl.append(b);
			}
		}
	}

	function isOpen() {
		return ws !== null && ws.readyState === WebSocket.OPEN;
	}

	function updateControls() {
		const usable = isOpen() && agentUp;
		input.disabled = !usable;
		sendBtn.disabled = !usable || current !== null;
		abortBtn.disabled = !isOpen() || current === null || aborting;
		refreshBtn.disabled = !isOpen();
	}

	function send(obj) {
		if (!isOpen())
			return false;
		ws.send(JSON.stringify(obj));
		return true;
	}

	/* addMessage(cls, who): a new transcript item with its .who label. */
	function addMessage(cls, who) {
		const li = document.createElement('li');
		li.className = `message ${cls}`;
		const w = document.createElement('span');
		w.className = 'who';
		w.textContent = who;
		li.append(w);
		transcript.append(li);
		li.scrollIntoView({ block: 'end' });
		return li;
	}

	function addText(li, cls, text) {
		const s = document.createElement('span');
		s.className = cls;
		s.textContent = text;
		li.append(s);
		return s;
	}

	function notice(text) {
		addText(addMessage('notice', 'Bridge'), 'text', text);
	}

	/* replyFor(id): the .reply of chat id, made when the bridge answers a
	 * chat this page did not start (another tab, a reload). */
	function replyFor(id) {
		const key = String(id);
		let li = replies.get(key);
		if (!li) {
			li = addMessage('reply', 'Agent');
			li.dataset.id = key;
			li.dataset.deltas = '0';
			li.setAttribute('aria-busy', 'true');
			addText(li, 'text', '');
			addText(li, 'outcome', '');
			replies.set(key, li);
		}
		return li;
	}

	/* finish(id, state, text): the chat's end; a reply ends once only. */
	function finish(id, state, text) {
		const li = replyFor(id);
		if (li.dataset.state)
			return;
		if (!STATES.has(state))
			state = 'error';
		const msg = typeof text === 'string' ? text : '';
		const body = li.querySelector('.text');
		if (state === 'final') {
			if (msg)
				body.textContent = msg;
			li.querySelector('.outcome').textContent = '';
		} else {
			const label = state === 'aborted' ? 'Aborted' : 'Error';
			li.querySelector('.outcome').textContent = msg ? `${label}: ${msg}` : label;
		}
		li.dataset.state = state;
		li.removeAttribute('aria-busy');
		li.scrollIntoView({ block: 'end' });
		if (current === String(id))
			current = null;
		updateControls();
	}

	function applyBridgeStatus(status, detail) {
		agentUp = status === 'connected';
		const d = typeof detail === 'string' && detail ? ` (${detail})` : '';
		if (agentUp)
			setStatus('connected', `Connected to the agent${d}`);
		else
			setStatus('agent_down', `Bridge connected, agent unavailable${d}`);
	}

	function onFrame(data) {
		let m;
		try {
			m = JSON.parse(data);
		} catch (e) {
			notice('The bridge sent a frame that is not JSON.');
			return;
		}
		if (!m || typeof m !== 'object')
			return;
		const p = m.payload && typeof m.payload === 'object' ? m.payload : {};
		switch (m.type) {
		case 'bridge.ready':
			showHelp(null);
			applyBridgeStatus(p.status, p.detail);
			send({ type: 'get_state' });
			break;
		case 'bridge.status':
			applyBridgeStatus(p.status, p.detail);
			break;
		case 'response.delta': {
			const li = replyFor(m.id);
			if (li.dataset.state)
				break; /* a delta after the end */
			const body = li.querySelector('.text');
			body.textContent = typeof p.accumulated === 'string' ? p.accumulated
				: body.textContent + (typeof p.text === 'string' ? p.text : '');
			li.dataset.deltas = String(Number(li.dataset.deltas) + 1);
			break;
		}
		case 'response':
			finish(m.id, p.state, p.text);
			break;
		case 'state':
			stateEl.textContent = JSON.stringify(p, null, 2);
			break;
		case 'error': {
			const msg = typeof p.message === 'string' ? p.message : 'unknown error';
			const li = m.id != null ? replies.get(String(m.id)) : undefined;
			if (li && !li.dataset.state)
				finish(m.id, 'error', msg);
			else
				notice(`Bridge error: ${msg}`);
			break;
		}
		default:
			break; /* newer frame types: ignored */
		}
	}

	function connect() {
		const b = bridgeUrl();
		if (b.error) {
			setStatus('invalid', 'Not connected');
			showHelp([b.error]);
			return;
		}
		const url = b.url.href;
		showHelp(null);
		opened = false;
		agentUp = false;
		setStatus('connecting', `Connecting to ${url}\u2026`);
		try {
			ws = new WebSocket(url);
		} catch (e) {
			setStatus('invalid', 'Not connected');
			showHelp([`Cannot connect to ${url}: ${e.message}`]);
			return;
		}
		const sock = ws;
		sock.addEventListener('open', () => {
			opened = true;
			setStatus('connecting', 'Connected to the bridge, waiting for it to be ready\u2026');
		});
		sock.addEventListener('message', (ev) => {
			if (typeof ev.data === 'string')
				onFrame(ev.data);
		});
		sock.addEventListener('close', (ev) => {
			if (sock !== ws)
				return;
			agentUp = false;
			if (current !== null)
				finish(current, 'error', 'the connection to the bridge closed before the reply was complete');
			const again = { id: 'reconnect', button: 'Reconnect', onclick: connect };
			if (!opened) {
				setStatus('refused', 'Could not connect: the bridge refused or could not be reached');
				showHelp(['The bridge refuses pages whose origin (', location.origin,
					') is not on its allowlist, and the browser must trust its certificate: open ',
					{ href: trustUrl(b.url), text: 'the bridge\u2019s certificate page' },
					' once and accept the certificate. ', again]);
			} else {
				const why = ev.reason ? `: ${ev.reason}` : '';
				setStatus('closed', `Disconnected (code ${ev.code}${why})`);
				showHelp([again]);
			}
		});
	}

	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const text = input.value.trim();
		if (!text || sendBtn.disabled)
			return;
		const id = `web-${Date.now().toString(36)}-${++seq}`;
		if (!send({ type: 'chat', id, payload: { text } }))
			return;
		addText(addMessage('user', 'You'), 'text', text);
		replyFor(id);
		current = id;
		aborting = false;
		input.value = '';
		updateControls();
	});

	function abort() {
		if (current === null || !send({ type: 'abort', id: current }))
			return;
		replies.get(current).querySelector('.outcome').textContent = 'Aborting\u2026';
		aborting = true;
		updateControls();
	}
	abortBtn.addEventListener('click', abort);
	input.addEventListener('keydown', (ev) => {
		if (ev.key === 'Escape')
			abort();
	});
	refreshBtn.addEventListener('click', () => send({ type: 'get_state' }));

	connect();
}());
