/* ui.js - the pool page: reads carved's API with a bearer token and
 * redraws when what it read changed.  No write actions; no third-party code.
 *
 * The token: taken once from a form or from #token=... in the address (then
 * removed from the address at once), kept in sessionStorage (this tab only),
 * sent in the Authorization header and never in a URL.
 * Live updates: polling every POLL_MS.  carved answers unchanged reads from
 * its read cache, so a poll of an idle pool costs a few cache hits; a page
 * redraws only when an answer differs.  (Server-sent events would hold one
 * of carved's connection threads per open page for as long as it is open,
 * and need a path through proxies that polling does not.) */
'use strict';
(function () {
	const KEY = 'carve-token';
	const POLL_MS = 2000;
	let timer = null;
	let shown = '';

	const $ = (id) => document.getElementById(id);

	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (k === 'class') e.className = v;
			else if (k === 'style') e.style.cssText = v; /* CSSOM: allowed by the page's CSP, a style attribute is not */
			else e.setAttribute(k, v);
		}
		for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
		return e;
	}

	function status(text, error) {
		const s = $('status');
		s.textContent = text;
		s.className = error ? 'error' : '';
	}

	function takeHashToken() {
		const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
		if (!m) return;
		sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
		history.replaceState(null, '', location.pathname + location.search);
	}

	async function api(path) {
		const r = await fetch(path, {
			headers: { Authorization: 'Bearer ' + sessionStorage.getItem(KEY), Accept: 'application/json' },
			cache: 'no-store',
			credentials: 'omit',
		});
		let j = null;
		try { j = await r.json(); } catch (e) { /* not JSON: reported below */ }
		if (!r.ok) {
			const e = new Error(j && j.code ? j.code + ': ' + j.message : 'HTTP ' + r.status);
			e.status = r.status;
			throw e;
		}
		return j;
	}

	async function load() {
		const names = ['hosts', 'gpu-groups', 'pgpus', 'vgpu-types', 'vms', 'vgpus'];
		const lists = await Promise.all(names.map((c) => api('/v1/' + c).then((j) => j.records)));
		const [hosts, groups, pgpus, types, vms, vgpus] = lists;
		const caps = [];
		for (const g of groups)
			for (const t of g['enabled-VGPU-types']) caps.push({ group: g.uuid, type: t });
		const remaining = await Promise.all(caps.map((c) =>
			api('/v1/gpu-groups/' + c.group + '/remaining-capacity?vgpu-type-uuid=' + encodeURIComponent(c.type))
				.then((j) => j.value)));
		caps.forEach((c, i) => { c.remaining = remaining[i]; });
		return { hosts, groups, pgpus, types, vms, vgpus, caps };
	}

	const byName = (a, b) => String(a['name-label']).localeCompare(String(b['name-label']));
	const yesNo = (v) => (v ? 'yes' : 'no');

	function hue(uuid) {
		let h = 0;
		for (const ch of uuid) h = (h * 31 + ch.charCodeAt(0)) % 360;
		return h;
	}

	function fill(tableId, rows) {
		const tbody = $(tableId).tBodies[0];
		tbody.replaceChildren(...rows);
	}

	function render(d) {
		const hostOf = new Map(d.hosts.map((h) => [h.uuid, h]));
		const typeOf = new Map(d.types.map((t) => [t.uuid, t]));
		const vgpuOf = new Map(d.vgpus.map((v) => [v.uuid, v]));
		const pgpuOf = new Map(d.pgpus.map((p) => [p.uuid, p]));

		fill('hosts', [...d.hosts].sort(byName).map((h) => el('tr', { 'data-uuid': h.uuid },
			el('th', { scope: 'row' }, h['name-label'], h.hostname !== h['name-label'] ? ' (' + h.hostname + ')' : ''),
			el('td', {}, yesNo(h.enabled)), el('td', {}, yesNo(h.live)),
			el('td', { class: 'num' }, h['PGPU-uuids'].length),
			el('td', {}, el('code', {}, h.backend)), el('td', {}, h['last-discovery'] || '—'))));

		const groupRows = [];
		for (const g of [...d.groups].sort(byName)) {
			const caps = d.caps.filter((c) => c.group === g.uuid);
			const head = [el('th', { scope: 'row', rowspan: Math.max(caps.length, 1) }, g['name-label']),
				el('td', { rowspan: Math.max(caps.length, 1) }, g['allocation-algorithm']),
				el('td', { class: 'num', rowspan: Math.max(caps.length, 1) }, g['PGPU-uuids'].length)];
			if (caps.length === 0) {
				groupRows.push(el('tr', { 'data-uuid': g.uuid }, ...head, el('td', { colspan: 3 }, 'no enabled vGPU type')));
				continue;
			}
			caps.map((c) => ({ c, t: typeOf.get(c.type) }))
				.sort((a, b) => String(a.t ? a.t['model-name'] : '').localeCompare(String(b.t ? b.t['model-name'] : '')))
				.forEach(({ c, t }, i) => {
					let total = 0;
					for (const pu of g['PGPU-uuids']) {
						const p = pgpuOf.get(pu);
						if (p && p['enabled-VGPU-types'].includes(c.type))
							total += p['supported-VGPU-max-capacities'][c.type] || 0;
					}
					groupRows.push(el('tr', { 'data-uuid': g.uuid }, ...(i === 0 ? head : []),
						el('td', {}, t ? t['model-name'] : c.type),
						el('td', { class: 'num remaining', 'data-group': g.uuid, 'data-type': c.type }, c.remaining),
						el('td', { class: 'num' }, total)));
				});
		}
		fill('groups', groupRows);

		const pgpus = [...d.pgpus].sort((a, b) =>
			String(a['host-name-label']).localeCompare(String(b['host-name-label'])) || a['pci-id'].localeCompare(b['pci-id']));
		fill('pgpus', pgpus.map((p) => {
			const bar = el('div', { class: 'bar', role: 'img' });
			let used = 0;
			const who = [];
			for (const vu of p['resident-VGPUs']) {
				const v = vgpuOf.get(vu);
				const t = v && typeOf.get(v['type-uuid']);
				const share = t && p.size ? (100 * t.size) / p.size : 0;
				used += share;
				const label = (v ? v['vm-name-label'] : vu) + ' · ' + (t ? t['model-name'] : '?');
				who.push(label);
				bar.append(el('span', { title: label, style: 'width:' + share.toFixed(2) + '%;background:hsl(' + hue(v ? v['vm-uuid'] : vu) + ',55%,42%)' },
					v ? v['vm-name-label'] : ''));
			}
			bar.setAttribute('aria-label', who.length ? Math.round(used) + '% in use by ' + who.join(', ') : 'free');
			const health = p.health || '—';
			return el('tr', { 'data-uuid': p.uuid, 'data-pci': p['pci-id'] },
				el('td', {}, p['host-name-label']), el('th', { scope: 'row' }, el('code', {}, p['pci-id'])),
				el('td', {}, p.board || p['device-name']), el('td', { class: 'num' }, p['numa-node']),
				el('td', {}, p['gpu-group-name-label'] || '—'), el('td', {}, health),
				el('td', {}, bar, el('div', { class: 'bar-label' },
					p['resident-VGPUs'].length + ' vGPU' + (p['resident-VGPUs'].length === 1 ? '' : 's') + ' · ' + Math.round(used) + '% in use')));
		}));

		fill('vms', [...d.vms].sort(byName).map((v) => {
			const host = v['resident-on'] && hostOf.get(v['resident-on']);
			const list = el('ul', {});
			for (const vu of v.VGPUs) {
				const g = vgpuOf.get(vu);
				if (g) list.append(el('li', {}, g['type-model-name'], g['device-pci'] ? ' @ ' : '', g['device-pci'] ? el('code', {}, g['device-pci']) : ''));
			}
			return el('tr', { 'data-uuid': v.uuid, 'data-power': v['power-state'] },
				el('th', { scope: 'row' }, v['name-label']),
				el('td', { class: 'state-' + v['power-state'] }, v['power-state']),
				el('td', {}, host ? host['name-label'] : '—'), el('td', {}, v.VGPUs.length ? list : '—'));
		}));
	}

	function showLogin(message) {
		clearTimeout(timer);
		$('pool').hidden = true;
		$('login').hidden = false;
		$('login-error').textContent = message || '';
		status(message ? 'Not signed in' : 'A token is needed', !!message);
		$('token').focus();
	}

	async function tick() {
		try {
			const d = await load();
			const s = JSON.stringify(d);
			if (s !== shown) {
				render(d);
				shown = s;
			}
			$('login').hidden = true;
			$('pool').hidden = false;
			document.body.setAttribute('data-ready', '1');
			status('Updated ' + new Date().toLocaleTimeString());
		} catch (e) {
			if (e.status === 401) {
				sessionStorage.removeItem(KEY);
				showLogin('carved refused the token (unknown or revoked).');
				return;
			}
			status('Cannot read carved: ' + e.message, true);
		}
		timer = setTimeout(tick, POLL_MS);
	}

	async function version() {
		try {
			const r = await fetch('/v1/health', { cache: 'no-store', credentials: 'omit' });
			const j = await r.json();
			$('version').textContent = 'carved ' + (j.version || '') + (j.status ? ' · ' + j.status : '');
		} catch (e) { /* the footer stays generic */ }
	}

	$('login').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const t = $('token').value.trim();
		$('token').value = '';
		if (!t) return;
		sessionStorage.setItem(KEY, t);
		tick();
	});

	takeHashToken();
	version();
	if (sessionStorage.getItem(KEY)) tick();
	else showLogin();
})();
